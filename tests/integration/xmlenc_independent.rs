//! Encrypted assertions end to end (issue 13 item 3, "Must show"): responses signed by signxml
//! (`infra/xmldsig_sign.py`) and then encrypted by python-xmlsec (`infra/xmlenc_encrypt.py`: the
//! xmlsec1 C library on OpenSSL, nothing of ours), posted to the ACS as API Gateway events, with
//! the SP key in the local AWS API server's Secrets Manager, written by `ssoctl sp-key`'s code.
//! They sign in; their tampered variants are refused, decryption and signature failures alike.

use std::io::Write;
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use shared::org::Provisioning;
use shared::saml::sp_keys::{SpKey, SpKeySet};
use shared::saml::test_encrypt::{other_sp_encryption_certificate, sp_encryption_certificate};
use shared::saml::test_idp::{Signed, FIXTURES};
use shared::store::OrgStore;

use crate::saml::{env_with, store, Env};
use crate::support::{body_text, config, event, unique_org};

fn python(script: &str, args: &[&str], input: &str) -> String {
    let python = std::env::var("SSO_PYTHON")
        .expect("SSO_PYTHON names the venv's python: run the tests with `bash infra/test`");
    let script = format!("{}/../../infra/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(python)
        .arg(&script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the venv's python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// signxml's RSA-SHA256 signature on `element` with the IdP's fixture key.
fn signxml(xml: &str, element: &str) -> String {
    python(
        "xmldsig_sign.py",
        &[
            &format!("{FIXTURES}/idp-test-key.pk8.der"),
            &format!("{FIXTURES}/idp-test-cert.b64"),
            element,
            "RSA_SHA256",
        ],
        xml,
    )
}

/// python-xmlsec's encryption of the assertion, to the certificate in `cert_file`.
fn xmlsec(xml: &str, cert_file: &str, content: &str, transport: &str) -> String {
    let out = python("xmlenc_encrypt.py", &[cert_file, content, transport], xml);
    assert!(out.contains("EncryptedAssertion") && !out.contains("<saml2:Assertion"));
    out
}

fn sp_cert_file() -> String {
    format!("{FIXTURES}/sp-enc-cert.b64")
}

fn unsigned(env: &Env, user: &str, id: &str) -> String {
    let mut spec = env.spec(user, id);
    spec.signed = Signed::Neither;
    spec.build()
}

/// Okta's order: the assertion signed, then encrypted.
fn okta(env: &Env, user: &str, id: &str, content: &str, transport: &str) -> String {
    xmlsec(
        &signxml(&unsigned(env, user, id), "assertion"),
        &sp_cert_file(),
        content,
        transport,
    )
}

/// One byte of the EncryptedData's CipherValue flipped, `from_end` bytes before its end.
fn flip_content(xml: &str, from_end: usize) -> String {
    let tag = "<xenc:CipherValue>";
    let start = xml.rfind(tag).unwrap() + tag.len();
    let end = start + xml[start..].find("</xenc:CipherValue>").unwrap();
    let compact: String = xml[start..end].split_whitespace().collect();
    let mut bytes = STANDARD.decode(compact).unwrap();
    let at = bytes.len() - 1 - from_end;
    bytes[at] ^= 0x01;
    format!("{}{}{}", &xml[..start], STANDARD.encode(bytes), &xml[end..])
}

/// The fixture SP key in fresh Secrets Manager slots; the App reads them from there.
async fn env_with_sp_key() -> Env {
    let secrets = ssoctl::sp_key::Secrets {
        keys: format!("sso-test/{}/sp-keys", unique_org("enc")),
        certificates: format!("sso-test/{}/sp-certificates", unique_org("enc")),
    };
    let key = SpKey {
        id: "sp-fixture".into(),
        created_at: 1,
        private_key: STANDARD
            .encode(std::fs::read(format!("{FIXTURES}/sp-enc-key.pk8.der")).unwrap()),
        certificate: sp_encryption_certificate(),
    };
    let client = shared::saml::sp_keys::secrets_client().await;
    ssoctl::sp_key::save(&client, &secrets, &SpKeySet { keys: vec![key] })
        .await
        .unwrap();
    let mut cfg = config();
    cfg.sp_encryption_keys_secret = Some(secrets.keys);
    cfg.sp_encryption_certificates_secret = Some(secrets.certificates);
    env_with(Provisioning::Both, store().await, cfg).await
}

async fn refused(env: &Env, xml: &str, code: &str) -> String {
    let resp = env.post_acs(xml, None).await;
    let body = body_text(&resp);
    assert_eq!(resp.status(), 400, "{code}: {body}");
    assert!(body.contains(&format!("error: {code}")), "{code}: {body}");
    body
}

#[tokio::test]
async fn assertions_signed_by_signxml_and_encrypted_by_xmlsec_sign_in_and_tampered_ones_are_refused(
) {
    let mut env = env_with_sp_key().await;

    // Every content algorithm, with both OAEP flavours Okta offers.
    let combos = [
        ("aes256-gcm", "rsa-oaep-mgf1p"),
        ("aes128-gcm", "rsa-oaep-sha256"),
        ("aes256-cbc", "rsa-oaep-sha256"),
        ("aes128-cbc", "rsa-oaep-mgf1p"),
    ];
    for (n, (content, transport)) in combos.into_iter().enumerate() {
        let xml = okta(
            &env,
            &format!("enc{n}@example.com"),
            &format!("idenc{n}"),
            content,
            transport,
        );
        let resp = env.post_acs(&xml, None).await;
        assert_eq!(
            resp.status(),
            303,
            "{content} {transport}: {}",
            body_text(&resp)
        );
    }
    // Encrypted first, then the Response signed over the ciphertext.
    let xml = signxml(
        &xmlsec(
            &unsigned(&env, "encresp@example.com", "idencresp"),
            &sp_cert_file(),
            "aes256-gcm",
            "rsa-oaep-mgf1p",
        ),
        "response",
    );
    let resp = env.post_acs(&xml, None).await;
    assert_eq!(resp.status(), 303, "{}", body_text(&resp));

    // Tampered and foreign variants: one outcome, one page, whatever failed.
    let good_cbc = okta(
        &env,
        "mallory@example.com",
        "idenctamper",
        "aes128-cbc",
        "rsa-oaep-mgf1p",
    );
    let good_gcm = okta(
        &env,
        "mallory@example.com",
        "idenctamper2",
        "aes256-gcm",
        "rsa-oaep-mgf1p",
    );
    let other_cert = format!("{FIXTURES}/sp-enc-other-cert.b64");
    assert_ne!(
        other_sp_encryption_certificate(),
        sp_encryption_certificate()
    );
    let variants = [
        ("CBC ciphertext byte flipped", flip_content(&good_cbc, 40)),
        (
            "CBC last block flipped (padding)",
            flip_content(&good_cbc, 0),
        ),
        ("GCM tag flipped", flip_content(&good_gcm, 0)),
        (
            "encrypted to another SP key",
            xmlsec(
                &signxml(
                    &unsigned(&env, "mallory@example.com", "idencother"),
                    "assertion",
                ),
                &other_cert,
                "aes256-gcm",
                "rsa-oaep-mgf1p",
            ),
        ),
        (
            "unsigned assertion, encrypted",
            xmlsec(
                &unsigned(&env, "mallory@example.com", "idencunsigned"),
                &sp_cert_file(),
                "aes256-gcm",
                "rsa-oaep-mgf1p",
            ),
        ),
        (
            "assertion altered after signing, then encrypted",
            xmlsec(
                &signxml(
                    &unsigned(&env, "mallory@example.com", "idencaltered"),
                    "assertion",
                )
                .replacen(">mallory@example.com<", ">admin@example.com<", 1),
                &sp_cert_file(),
                "aes256-gcm",
                "rsa-oaep-mgf1p",
            ),
        ),
    ];
    let mut pages = Vec::new();
    for (name, xml) in &variants {
        let body = refused(&env, xml, "encrypted_assertion_invalid").await;
        pages.push((name, body));
    }
    for (name, body) in &pages {
        assert_eq!(
            body, &pages[0].1,
            "{name} looks different from {}",
            pages[0].0
        );
    }
    // An algorithm combination we refuse, before any key is used.
    let mixed = okta(
        &env,
        "mallory@example.com",
        "idencmixed",
        "aes256-gcm",
        "rsa-oaep-mgf1p-sha256",
    );
    refused(&env, &mixed, "unsupported_key_transport").await;
    // The untampered ones still sign in: nothing above consumed them.
    for xml in [&good_cbc, &good_gcm] {
        assert_eq!(env.post_acs(xml, None).await.status(), 303);
    }

    // The org requires encryption: a plain signed assertion is refused, an encrypted one is not.
    let mut org = env.org.clone();
    org.require_encrypted_assertions = true;
    env.org = env.app.store.update_org(&org).await.unwrap();
    let plain = signxml(
        &unsigned(&env, "plain@example.com", "idencplain"),
        "assertion",
    );
    refused(&env, &plain, "encrypted_assertion_required").await;
    let xml = okta(
        &env,
        "plain@example.com",
        "idencreq",
        "aes256-gcm",
        "rsa-oaep-sha256",
    );
    assert_eq!(env.post_acs(&xml, None).await.status(), 303);

    // And the SP metadata publishes the certificate for encryption.
    let path = format!("/orgs/{}/saml/metadata", env.org.org);
    let resp = env.call(event("GET", &path, &[], None)).await;
    let xml = body_text(&resp);
    assert_eq!(resp.status(), 200);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let kd = doc
        .descendants()
        .find(|n| n.tag_name().name() == "KeyDescriptor")
        .expect("a KeyDescriptor");
    assert_eq!(kd.attribute("use"), Some("encryption"));
    let cert = kd
        .descendants()
        .find(|n| n.tag_name().name() == "X509Certificate")
        .and_then(|n| n.text())
        .unwrap();
    assert_eq!(cert, sp_encryption_certificate());
}

/// `ssoctl sp-key`'s rotation: generate, rotate (both decrypt, the new one is published),
/// retire the old (it stops decrypting once a Lambda reads the keys again).
#[tokio::test]
async fn an_sp_key_rotation_publishes_the_new_key_and_decrypts_with_both_until_the_old_is_retired()
{
    let secrets = ssoctl::sp_key::Secrets {
        keys: format!("sso-test/{}/sp-keys", unique_org("rot")),
        certificates: format!("sso-test/{}/sp-certificates", unique_org("rot")),
    };
    let client = shared::saml::sp_keys::secrets_client().await;
    let now = 1_768_478_400;
    let first = ssoctl::sp_key::add(
        &client,
        &secrets,
        ssoctl::sp_key::new_key(now).unwrap(),
        true,
        now,
    )
    .await
    .unwrap();
    let again = ssoctl::sp_key::add(
        &client,
        &secrets,
        ssoctl::sp_key::new_key(now).unwrap(),
        true,
        now,
    )
    .await;
    assert!(again.is_err(), "generate twice");
    let old_id = first["published"].as_str().unwrap().to_string();
    let second = ssoctl::sp_key::add(
        &client,
        &secrets,
        ssoctl::sp_key::new_key(now).unwrap(),
        false,
        now,
    )
    .await
    .unwrap();
    let new_id = second["published"].as_str().unwrap().to_string();
    assert_ne!(old_id, new_id);
    let set = ssoctl::sp_key::load(&client, &secrets).await.unwrap();
    assert_eq!(set.keys.len(), 2);
    assert_eq!(set.keys[1].id, new_id);

    let mut cfg = config();
    cfg.sp_encryption_keys_secret = Some(secrets.keys.clone());
    cfg.sp_encryption_certificates_secret = Some(secrets.certificates.clone());
    let env = env_with(Provisioning::Both, store().await, cfg).await;
    // The metadata publishes the new certificate.
    let resp = env
        .call(event(
            "GET",
            &format!("/orgs/{}/saml/metadata", env.org.org),
            &[],
            None,
        ))
        .await;
    assert!(body_text(&resp).contains(&set.keys[1].certificate));
    assert!(!body_text(&resp).contains(&set.keys[0].certificate));
    // Both keys decrypt.
    let dir = std::env::temp_dir();
    for (n, key) in set.keys.iter().enumerate() {
        let cert_file = dir.join(format!("{}-{n}.b64", env.org.org));
        std::fs::write(&cert_file, &key.certificate).unwrap();
        let xml = xmlsec(
            &signxml(
                &unsigned(&env, &format!("rot{n}@example.com"), &format!("idrot{n}")),
                "assertion",
            ),
            cert_file.to_str().unwrap(),
            "aes256-gcm",
            "rsa-oaep-mgf1p",
        );
        let resp = env.post_acs(&xml, None).await;
        assert_eq!(resp.status(), 303, "key {}: {}", key.id, body_text(&resp));
    }
    // Retire the old one; the last one cannot be retired.
    ssoctl::sp_key::retire(&client, &secrets, &old_id, now)
        .await
        .unwrap();
    assert!(ssoctl::sp_key::retire(&client, &secrets, &new_id, now)
        .await
        .is_err());
    let set = ssoctl::sp_key::load(&client, &secrets).await.unwrap();
    assert_eq!(
        set.keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
        [new_id.as_str()]
    );
    // A Lambda that reads the keys afresh no longer decrypts with the retired key.
    let fresh = shared::saml::sp_keys::SpKeyStore::new(Some(secrets.keys.clone()), None);
    let keys = fresh.keys().await.unwrap().unwrap();
    assert_eq!(keys.len(), 1);
}
