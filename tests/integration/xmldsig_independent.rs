//! Responses signed by an XML-DSig implementation independent of ours — signxml 5 (lxml/libxml2
//! exclusive C14N, pyca `cryptography` ECDSA; `infra/xmldsig_sign.py`, pinned in
//! infra/requirements.txt) — posted to the ACS as API Gateway events on the local DynamoDB-API
//! server: ECDSA P-256 and P-384 sign in, in both Okta shapes; tampered variants are refused
//! (issue 13, "Must show").

use std::io::Write;
use std::process::{Command, Stdio};

use shared::org::Provisioning;
use shared::saml::test_idp::{idp_ec_p256_certificate, idp_ec_p384_certificate, Signed, FIXTURES};
use shared::store::OrgStore;

use crate::saml::{env, store, Env};
use crate::support::body_text;

/// The signed XML signxml makes of `unsigned`, with the fixture key `key` (`p256`/`p384`).
fn signxml(unsigned: &str, key: &str, element: &str, algorithm: &str) -> String {
    let python = std::env::var("SSO_PYTHON")
        .expect("SSO_PYTHON names the venv's python: run the tests with `bash infra/test`");
    let script = format!("{}/../../infra/xmldsig_sign.py", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(python)
        .arg(script)
        .arg(format!("{FIXTURES}/idp-ec-{key}-key.pk8.der"))
        .arg(format!("{FIXTURES}/idp-ec-{key}-cert.b64"))
        .args([element, algorithm])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run infra/xmldsig_sign.py");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(unsigned.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "signxml: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(xml.contains("xmldsig-more#ecdsa-sha"), "{xml}");
    xml
}

fn unsigned(env: &Env, user: &str, assertion_id: &str) -> String {
    let mut spec = env.spec(user, assertion_id);
    spec.signed = Signed::Neither;
    spec.build()
}

async fn trust(env: &mut Env, certificates: Vec<String>) {
    let mut org = env.org.clone();
    if let Some(idp) = org.idp.as_mut() {
        idp.certificates = certificates;
    }
    env.org = env.app.store.update_org(&org).await.unwrap();
}

async fn refused_with(env: &Env, xml: &str, code: &str) {
    let resp = env.post_acs(xml, None).await;
    let body = body_text(&resp);
    assert_eq!(resp.status(), 400, "{code}: {body}");
    assert!(body.contains(&format!("error: {code}")), "{code}: {body}");
}

#[tokio::test]
async fn ecdsa_responses_signed_by_signxml_sign_in_and_their_tampered_variants_are_refused() {
    let mut env = env(Provisioning::Both, store().await).await;
    trust(&mut env, vec![idp_ec_p256_certificate()]).await;

    // P-256 / ecdsa-sha256, assertion signed (Okta's default) and Response signed.
    for (n, element) in ["assertion", "response"].into_iter().enumerate() {
        let user = format!("ecdsa-{n}@example.com");
        let xml = signxml(
            &unsigned(&env, &user, &format!("idxmlsec256{n}")),
            "p256",
            element,
            "ECDSA_SHA256",
        );
        let resp = env.post_acs(&xml, None).await;
        assert_eq!(resp.status(), 303, "{element}: {}", body_text(&resp));
    }

    // Tampered after signing: the NameID changed (digest), the SignatureValue changed (r ‖ s).
    let good = signxml(
        &unsigned(&env, "mallory@example.com", "idxmlsectamper"),
        "p256",
        "assertion",
        "ECDSA_SHA256",
    );
    let eve = good.replacen(">mallory@example.com<", ">admin@example.com<", 1);
    assert_ne!(eve, good);
    refused_with(&env, &eve, "digest_mismatch").await;
    let at = good.find("<ds:SignatureValue>").unwrap() + "<ds:SignatureValue>".len() + 3;
    let c = if &good[at..at + 1] == "A" { "B" } else { "A" };
    refused_with(
        &env,
        &format!("{}{c}{}", &good[..at], &good[at + 1..]),
        "signature_invalid",
    )
    .await;
    // Relabelled as SHA-1: refused before any key is tried.
    let sha1 = good.replacen(
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
        1,
    );
    refused_with(&env, &sha1, "unsupported_signature_algorithm").await;
    // Signed by a key the org does not trust (P-384, a valid signature).
    let other = signxml(
        &unsigned(&env, "p384@example.com", "idxmlsecforeign"),
        "p384",
        "assertion",
        "ECDSA_SHA384",
    );
    refused_with(&env, &other, "signature_invalid").await;
    // The untampered one still signs in: the refusals above consumed nothing.
    assert_eq!(env.post_acs(&good, None).await.status(), 303);

    // P-384 / ecdsa-sha384 once the org trusts that key.
    trust(&mut env, vec![idp_ec_p384_certificate()]).await;
    let xml = signxml(
        &unsigned(&env, "p384@example.com", "idxmlsec384"),
        "p384",
        "assertion",
        "ECDSA_SHA384",
    );
    let resp = env.post_acs(&xml, None).await;
    assert_eq!(resp.status(), 303, "{}", body_text(&resp));
    // And the P-256 key is no longer trusted, at once (the key cache follows the org).
    let stale = signxml(
        &unsigned(&env, "ecdsa-late@example.com", "idxmlsec256late"),
        "p256",
        "assertion",
        "ECDSA_SHA256",
    );
    refused_with(&env, &stale, "signature_invalid").await;
}
