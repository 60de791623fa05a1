//! The real `ssoctl` binary against the local DynamoDB API.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use shared::saml::test_idp::{idp_certificate, other_certificate};
use shared::store::OrgStore;
use shared::tokens::TokenHash;

use crate::support::{store, table_name, unique_org};

fn ssoctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ssoctl"))
        .args(args)
        .env("TABLE_NAME", table_name())
        .env_remove("PUBLIC_BASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ssoctl")
}

fn json_of(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "ssoctl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

const IDP_ENTITY_ID: &str = "http://www.okta.com/exk1testidp0000000";
/// `openssl x509 -noout -fingerprint -sha256` of the test IdP's certificate.
const IDP_FINGERPRINT: &str = "2B:F7:B1:9A:E3:48:DC:51:DD:1C:91:A9:AB:23:73:00:86:6C:80:F1:C4:18:BA:F2:1C:29:16:02:73:6E:31:57";

/// A certificate from shared/tests/fixtures/certificates (see the README there).
fn unusable_certificate(name: &str) -> String {
    let path = format!(
        "{}/../../shared/tests/fixtures/certificates/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .to_string()
}

/// Okta-shaped IdP metadata carrying `certs` as signing certificates.
fn metadata_xml(certs: &[String]) -> String {
    let keys: String = certs
        .iter()
        .map(|c| {
            format!(
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{IDP_ENTITY_ID}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://example.okta.com/app/x/sso/saml"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
    )
}

/// [`metadata_xml`] written to a file of its own.
fn metadata_file(certs: &[String]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{}-metadata.xml", unique_org("md")));
    std::fs::write(&path, metadata_xml(certs)).unwrap();
    path
}

fn okta_metadata() -> String {
    metadata_file(&[idp_certificate()])
        .to_string_lossy()
        .into_owned()
}

fn failure(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected failure, got: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn org_create_prints_every_url_an_okta_admin_pastes_and_stores_only_the_token_hash() {
    let s = store().await;
    let org = unique_org("cli");
    let out = json_of(&ssoctl(&[
        "org",
        "create",
        &org,
        "--idp-metadata",
        &okta_metadata(),
        "--base-url",
        "https://sso.example.com/",
    ]));
    let base = format!("https://sso.example.com/orgs/{org}");
    assert_eq!(out["org"], org);
    assert_eq!(out["entity_id"], format!("{base}/saml/metadata"));
    assert_eq!(out["metadata_url"], format!("{base}/saml/metadata"));
    assert_eq!(out["acs_url"], format!("{base}/saml/acs"));
    assert_eq!(out["login_url"], format!("{base}/saml/login"));
    assert_eq!(out["scim_base_url"], format!("{base}/scim/v2"));
    assert_eq!(out["idp"]["entity_id"], IDP_ENTITY_ID);
    let token = out["scim_token"].as_str().unwrap();
    let stored = s.get_org(&org).await.unwrap().unwrap();
    assert_eq!(
        stored.scim_token_hash,
        Some(TokenHash::of(token).into_string())
    );
    assert!(!serde_json::to_string(&stored).unwrap().contains(token));

    // show never prints the token; list includes the org.
    let shown = json_of(&ssoctl(&["org", "show", &org]));
    assert_eq!(shown["acs_url"], out["acs_url"]);
    assert!(shown.get("scim_token").is_none());
    let listed = json_of(&ssoctl(&["org", "list"]));
    assert!(listed["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["org"] == org));

    // A second create of the same name fails and leaves the first untouched.
    let err = failure(&ssoctl(&["org", "create", &org]));
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(s.get_org(&org).await.unwrap().unwrap(), stored);
}

#[tokio::test]
async fn rotating_the_scim_token_replaces_the_stored_hash() {
    let s = store().await;
    let org = unique_org("rot");
    let first = json_of(&ssoctl(&["org", "create", &org]));
    let second = json_of(&ssoctl(&["org", "rotate-scim-token", &org]));
    assert_ne!(first["scim_token"], second["scim_token"]);
    let hash = s
        .get_org(&org)
        .await
        .unwrap()
        .unwrap()
        .scim_token_hash
        .unwrap();
    assert!(TokenHash::from_stored(&hash).matches(second["scim_token"].as_str().unwrap()));
    assert!(!TokenHash::from_stored(&hash).matches(first["scim_token"].as_str().unwrap()));
}

#[tokio::test]
async fn bad_input_fails_clearly_and_writes_nothing() {
    let s = store().await;
    let org = unique_org("bad");

    let err = failure(&ssoctl(&[
        "org",
        "create",
        &org,
        "--idp-metadata",
        "/no/such/file.xml",
    ]));
    assert!(err.contains("cannot read IdP metadata"), "{err}");
    assert_eq!(s.get_org(&org).await.unwrap(), None);

    let no_cert = std::env::temp_dir().join(format!("{org}-nocert.xml"));
    let xml = metadata_xml(&[idp_certificate()]).replace(r#"use="signing""#, r#"use="encryption""#);
    std::fs::write(&no_cert, xml).unwrap();
    let err = failure(&ssoctl(&[
        "org",
        "create",
        &org,
        "--idp-metadata",
        no_cert.to_str().unwrap(),
    ]));
    assert!(err.contains("no signing certificate"), "{err}");
    assert_eq!(s.get_org(&org).await.unwrap(), None);

    let err = failure(&ssoctl(&["org", "create", "Not A Name"]));
    assert!(err.contains("organization name"), "{err}");
    let err = failure(&ssoctl(&[
        "org",
        "create",
        &org,
        "--base-url",
        "http://public.example.com",
    ]));
    assert!(err.contains("https"), "{err}");
    assert_eq!(s.get_org(&org).await.unwrap(), None);

    for args in [
        vec!["org", "show", "no-such-org-x"],
        vec!["org", "rotate-scim-token", "no-such-org-x"],
    ] {
        let err = failure(&ssoctl(&args));
        assert!(err.contains("not found"), "{err}");
    }
    let err = failure(&ssoctl(&[
        "org",
        "set-idp",
        "no-such-org-x",
        "--metadata",
        &okta_metadata(),
    ]));
    assert!(err.contains("not found"), "{err}");

    // set-idp with unusable metadata leaves the existing org as it was.
    json_of(&ssoctl(&["org", "create", &org]));
    let before = s.get_org(&org).await.unwrap().unwrap();
    let err = failure(&ssoctl(&[
        "org",
        "set-idp",
        &org,
        "--metadata",
        no_cert.to_str().unwrap(),
    ]));
    assert!(err.contains("no signing certificate"), "{err}");
    assert_eq!(s.get_org(&org).await.unwrap().unwrap(), before);
    let out = json_of(&ssoctl(&[
        "org",
        "set-idp",
        &org,
        "--metadata",
        &okta_metadata(),
    ]));
    let certs = out["idp"]["signing_certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0]["sha256_fingerprint"], IDP_FINGERPRINT);
}

#[tokio::test]
async fn the_reactivation_policy_is_chosen_at_creation_and_defaults_to_restore() {
    let s = store().await;
    let fresh = unique_org("fresh");
    let shown = json_of(&ssoctl(&[
        "org",
        "create",
        &fresh,
        "--reactivation",
        "fresh",
    ]));
    assert_eq!(shown["reactivation"], "fresh");
    let org = s.get_org(&fresh).await.unwrap().unwrap();
    assert_eq!(org.reactivation, shared::org::Reactivation::Fresh);
    let plain = unique_org("restore");
    assert_eq!(
        json_of(&ssoctl(&["org", "create", &plain]))["reactivation"],
        "restore"
    );
    let err = failure(&ssoctl(&[
        "org",
        "create",
        &unique_org("bad"),
        "--reactivation",
        "sometimes",
    ]));
    assert!(err.contains("restore or fresh"), "{err}");
}

#[tokio::test]
async fn org_set_changes_sign_in_settings_and_refuses_unsafe_ones_without_writing() {
    let s = store().await;
    let org = unique_org("set");
    json_of(&ssoctl(&["org", "create", &org]));
    let out = json_of(&ssoctl(&[
        "org",
        "set",
        &org,
        "--default-app-url",
        "https://app.example.com/home",
        "--allow-redirect",
        "https://app.example.com/",
        "--idp-initiated",
        "false",
        "--clock-skew",
        "60",
        "--session-hours",
        "8",
        "--provisioning",
        "both",
        "--map-attribute",
        "costCenter=costCenter",
    ]));
    assert_eq!(out["default_app_url"], "https://app.example.com/home");
    assert_eq!(out["allowed_redirect_urls"][0], "https://app.example.com/");
    let stored = s.get_org(&org).await.unwrap().unwrap();
    assert!(!stored.allow_idp_initiated);
    assert_eq!(stored.clock_skew_seconds, 60);
    assert_eq!(out["session_hours"], 8);
    assert_eq!(stored.session_hours, Some(8));
    assert_eq!(stored.attribute_mapping["costCenter"], "costCenter");
    assert_eq!(stored.attribute_mapping["firstName"], "givenName");

    for bad in [
        vec!["--allow-redirect", "javascript:alert(1)"],
        vec!["--allow-redirect", "http://app.example.com/"],
        vec!["--default-app-url", "//evil.example.com"],
        vec!["--allow-redirect", "https://user:pw@app.example.com/"],
        vec!["--clock-skew", "3600"],
        vec!["--session-hours", "25"],
        vec!["--session-hours", "0"],
        vec!["--map-attribute", "nothing"],
        // A valid change next to an invalid one: neither lands.
        vec![
            "--idp-initiated",
            "true",
            "--allow-redirect",
            "ftp://x.example.com/",
        ],
    ] {
        let mut args = vec!["org", "set", org.as_str()];
        args.extend(bad.iter().copied());
        let err = failure(&ssoctl(&args));
        assert!(!err.is_empty());
        assert_eq!(
            s.get_org(&org).await.unwrap().unwrap(),
            stored,
            "{bad:?} wrote something"
        );
    }
}

// --- IdP metadata over the network (issue 9, finding 3) -----------------------------------------

/// A plain-http server on 127.0.0.1 that serves `body` to anyone, counting connections.
fn http_metadata_server(body: String) -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/app/x/sso/saml/metadata",
        listener.local_addr().unwrap()
    );
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().map_while(Result::ok) {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, hits)
}

#[tokio::test]
async fn plain_http_metadata_urls_are_refused_before_any_connection_and_nothing_is_installed() {
    let s = store().await;
    let (url, hits) = http_metadata_server(metadata_xml(&[other_certificate()]));

    let org = unique_org("http");
    json_of(&ssoctl(&[
        "org",
        "create",
        &org,
        "--idp-metadata",
        &okta_metadata(),
    ]));
    let before = s.get_org(&org).await.unwrap().unwrap();
    for yes in [false, true] {
        let mut args = vec!["org", "set-idp", org.as_str(), "--metadata", url.as_str()];
        if yes {
            args.push("--yes");
        }
        let err = failure(&ssoctl(&args));
        assert!(err.contains("must be https"), "{err}");
    }
    assert_eq!(s.get_org(&org).await.unwrap().unwrap(), before);

    let fresh = unique_org("http");
    let err = failure(&ssoctl(&["org", "create", &fresh, "--idp-metadata", &url]));
    assert!(err.contains("must be https"), "{err}");
    assert_eq!(s.get_org(&fresh).await.unwrap(), None);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "ssoctl connected over plain http"
    );
}

#[test]
fn redirects_are_followed_only_to_https_urls_of_the_same_origin() {
    use http::StatusCode;
    use ssoctl::fetch::{metadata_url, next_hop, FetchError};
    let first = metadata_url("https://acme.okta.com/app/x/sso/saml/metadata").unwrap();
    let hop = |status: u16, location: Option<&str>| {
        next_hop(
            &first,
            &first,
            StatusCode::from_u16(status).unwrap(),
            location,
        )
    };
    assert_eq!(hop(200, None), Ok(None));
    assert_eq!(hop(404, Some("https://elsewhere.example/")), Ok(None));
    for status in [301, 302, 303, 307, 308] {
        assert_eq!(
            hop(status, Some("/app/y/sso/saml/metadata"))
                .unwrap()
                .unwrap()
                .as_str(),
            "https://acme.okta.com/app/y/sso/saml/metadata"
        );
    }
    assert!(matches!(
        hop(302, Some("http://acme.okta.com/app/x/sso/saml/metadata")),
        Err(FetchError::RedirectNotHttps(_))
    ));
    for other in [
        "https://evil.example/metadata",
        "https://acme.okta.com:8443/metadata",
        "//evil.example/metadata",
        "https://acme.okta.com.evil.example/",
    ] {
        assert!(
            matches!(
                hop(302, Some(other)),
                Err(FetchError::RedirectOtherOrigin(..))
            ),
            "{other}"
        );
    }
    assert_eq!(
        hop(302, None),
        Err(FetchError::RedirectWithoutLocation(302))
    );
    for raw in [
        "http://acme.okta.com/metadata",
        "ftp://acme.okta.com/metadata",
        "file:///etc/passwd",
    ] {
        assert!(
            matches!(metadata_url(raw), Err(FetchError::NotHttps(_))),
            "{raw}"
        );
    }
}

/// A body that never ends, one 64 KiB frame at a time, counting the frames it was asked for.
struct Endless(Arc<AtomicUsize>);

impl hyper::body::Body for Endless {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, Self::Error>>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        static CHUNK: [u8; 65536] = [b'x'; 65536];
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(
            bytes::Bytes::from_static(&CHUNK),
        ))))
    }
}

#[tokio::test]
async fn the_metadata_reader_stops_at_one_mebibyte_however_much_the_server_sends() {
    use http_body_util::Full;
    use ssoctl::fetch::{read_capped, FetchError, MAX_METADATA_BYTES};
    let frames = Arc::new(AtomicUsize::new(0));
    assert_eq!(
        read_capped(Endless(frames.clone()), MAX_METADATA_BYTES).await,
        Err(FetchError::TooLarge)
    );
    // 16 frames fill the cap exactly; the 17th is refused, nothing more is read.
    assert_eq!(
        frames.load(Ordering::SeqCst),
        MAX_METADATA_BYTES / 65536 + 1
    );

    // A declared length over the cap is refused before reading; at the cap it is read whole.
    let big = Full::new(bytes::Bytes::from(vec![b'x'; MAX_METADATA_BYTES + 1]));
    assert_eq!(
        read_capped(big, MAX_METADATA_BYTES).await,
        Err(FetchError::TooLarge)
    );
    let xml = metadata_xml(&[idp_certificate()]);
    let ok = Full::new(bytes::Bytes::from(xml.clone()));
    assert_eq!(
        read_capped(ok, MAX_METADATA_BYTES).await.unwrap(),
        xml.as_bytes()
    );
}

#[tokio::test]
async fn replacing_an_orgs_signing_keys_without_a_terminal_needs_yes() {
    let s = store().await;
    let org = unique_org("keys");
    json_of(&ssoctl(&[
        "org",
        "create",
        &org,
        "--idp-metadata",
        &okta_metadata(),
    ]));
    let before = s.get_org(&org).await.unwrap().unwrap();
    let rotated = metadata_file(&[other_certificate()]);
    let rotated = rotated.to_str().unwrap();

    let out = ssoctl(&["org", "set-idp", &org, "--metadata", rotated]);
    let err = failure(&out);
    assert!(err.contains("--yes"), "{err}");
    // Both sets are shown, by fingerprint and expiry.
    assert!(err.contains(IDP_FINGERPRINT), "{err}");
    assert!(err.contains("not after 2126-11-04T13:39:07Z"), "{err}");
    assert_eq!(s.get_org(&org).await.unwrap().unwrap(), before);

    // The same keys again (e.g. a new SSO URL) need no confirmation.
    json_of(&ssoctl(&[
        "org",
        "set-idp",
        &org,
        "--metadata",
        &okta_metadata(),
    ]));

    let out = json_of(&ssoctl(&[
        "org",
        "set-idp",
        &org,
        "--metadata",
        rotated,
        "--yes",
    ]));
    let stored = s.get_org(&org).await.unwrap().unwrap();
    assert_eq!(stored.idp.unwrap().certificates, vec![other_certificate()]);
    assert_ne!(
        out["idp"]["signing_certificates"][0]["sha256_fingerprint"],
        IDP_FINGERPRINT
    );
}

#[test]
fn on_a_terminal_only_y_or_yes_replaces_the_keys() {
    use shared::saml::metadata::{check_signing_certificates, parse_idp_metadata};
    use ssoctl::admin::KeyReplacement;
    use ssoctl::cli::confirm_replacement;
    let new = check_signing_certificates(
        parse_idp_metadata(&metadata_xml(&[other_certificate()])).unwrap(),
    )
    .unwrap();
    let change = KeyReplacement {
        org: "acme",
        current: vec![
            serde_json::json!({"sha256_fingerprint": IDP_FINGERPRINT, "key": "RSA-2048", "not_after": "2126-11-04T13:39:07Z"}),
        ],
        new: &new,
    };
    for (answer, replaced) in [
        ("y\n", true),
        ("YES\n", true),
        ("\n", false),
        ("n\n", false),
        ("", false),
        ("yes please\n", false),
    ] {
        let mut shown = Vec::new();
        let got = confirm_replacement(&change, false, true, &mut answer.as_bytes(), &mut shown);
        assert_eq!(got.is_ok(), replaced, "{answer:?}");
        let shown = String::from_utf8(shown).unwrap();
        assert!(
            shown.contains("Replace the IdP signing certificates of \"acme\"? [y/N]"),
            "{shown}"
        );
        assert!(shown.contains(IDP_FINGERPRINT), "{shown}");
    }
    // --yes never reads an answer; no terminal and no --yes never replaces.
    assert!(confirm_replacement(&change, true, false, &mut &b""[..], &mut Vec::new()).is_ok());
    assert!(confirm_replacement(&change, false, false, &mut &b"y\n"[..], &mut Vec::new()).is_err());
}

// --- IdP keys (issue 9, finding 7) --------------------------------------------------------------

#[tokio::test]
async fn weak_or_unsupported_idp_keys_are_refused_and_nothing_is_written() {
    let s = store().await;
    let org = unique_org("weak");
    json_of(&ssoctl(&["org", "create", &org]));
    let before = s.get_org(&org).await.unwrap().unwrap();
    for (cert, problem) in [
        ("rsa512.b64", "RSA-512 key is too weak"),
        ("rsa1024-expired.b64", "RSA-1024 key is too weak"),
        (
            "ec-p521.b64",
            "EC P-521 key: only RSA (2048 to 8192 bits) and EC P-256/P-384",
        ),
        (
            "ed25519.b64",
            "only RSA (2048 to 8192 bits) and EC P-256/P-384",
        ),
    ] {
        let md = metadata_file(&[unusable_certificate(cert)]);
        let err = failure(&ssoctl(&[
            "org",
            "set-idp",
            &org,
            "--metadata",
            md.to_str().unwrap(),
            "--yes",
        ]));
        assert!(err.contains(problem), "{cert}: {err}");
        let fresh = unique_org("weak");
        let err = failure(&ssoctl(&[
            "org",
            "create",
            &fresh,
            "--idp-metadata",
            md.to_str().unwrap(),
        ]));
        assert!(err.contains(problem), "{cert}: {err}");
        assert_eq!(s.get_org(&fresh).await.unwrap(), None);
    }
    assert_eq!(s.get_org(&org).await.unwrap().unwrap(), before);
}

#[tokio::test]
async fn an_unusable_extra_certificate_is_skipped_with_a_warning_and_show_lists_fingerprints() {
    let s = store().await;
    let org = unique_org("extra");
    let md = metadata_file(&[unusable_certificate("ec-p521.b64"), idp_certificate()]);
    let out = ssoctl(&[
        "org",
        "create",
        &org,
        "--idp-metadata",
        md.to_str().unwrap(),
    ]);
    let created = json_of(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: skipped signing certificate 1"),
        "{stderr}"
    );
    assert!(stderr.contains("EC P-521"), "{stderr}");
    assert_eq!(created["skipped_certificates"][0]["key"], "EC P-521");
    let stored = s.get_org(&org).await.unwrap().unwrap();
    assert_eq!(stored.idp.unwrap().certificates, vec![idp_certificate()]);

    let shown = json_of(&ssoctl(&["org", "show", &org]));
    let certs = shown["idp"]["signing_certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0]["sha256_fingerprint"], IDP_FINGERPRINT);
    assert_eq!(certs[0]["key"], "RSA-2048");
    assert_eq!(certs[0]["not_after"], "2126-11-04T13:39:07Z");
}

// --- org create's base URL (issue 8, item 5) ----------------------------------------------------

#[test]
fn org_create_against_a_deployed_table_refuses_without_a_base_url() {
    let out = Command::new(env!("CARGO_BIN_EXE_ssoctl"))
        .args(["org", "create", "acme"])
        .env("TABLE_NAME", "sso-prod")
        .env(
            "AWS_ENDPOINT_URL",
            "https://dynamodb.eu-west-1.amazonaws.com",
        )
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .env_remove("PUBLIC_BASE_URL")
        .output()
        .unwrap();
    let err = failure(&out);
    assert!(
        err.contains("no base URL") && err.contains("--base-url"),
        "{err}"
    );
}

#[test]
fn the_local_base_url_is_the_default_only_against_a_local_table() {
    use ssoctl::cli::base_url_for_create;
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let deployed: &[(&str, &str)] = &[];
    assert!(base_url_for_create(None, env(deployed)).is_err());
    assert!(base_url_for_create(
        None,
        env(&[(
            "AWS_ENDPOINT_URL",
            "https://dynamodb.eu-west-1.amazonaws.com"
        )])
    )
    .is_err());
    // A service-specific endpoint wins over the general one.
    assert!(base_url_for_create(
        None,
        env(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:8000"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "https://dynamodb.example.com")
        ])
    )
    .is_err());
    assert_eq!(
        base_url_for_create(Some("https://sso.example.com".into()), env(deployed)).unwrap(),
        "https://sso.example.com"
    );
    assert_eq!(
        base_url_for_create(None, env(&[("PUBLIC_BASE_URL", "https://sso.example.com")])).unwrap(),
        "https://sso.example.com"
    );
    for local in [
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
    ] {
        let vars: &'static [(&str, &str)] = Box::leak(Box::new([("AWS_ENDPOINT_URL", local)]));
        assert_eq!(
            base_url_for_create(None, env(vars)).unwrap(),
            "http://127.0.0.1:3000",
            "{local}"
        );
    }
}

// --- certificate expiry (issue 13, item 5) ------------------------------------------------------

/// The test IdP certificate's notAfter, 2126-11-04T13:39:07Z.
const IDP_NOT_AFTER: i64 = 4_949_473_147;
const DAY: i64 = 86_400;

fn expired_idp_certificate() -> String {
    let path = format!(
        "{}/../../shared/tests/fixtures/saml/idp-test-cert-expired.b64",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .to_string()
}

#[tokio::test]
async fn org_show_flags_an_expired_certificate_that_is_still_trusted() {
    let org = unique_org("expired");
    let md = metadata_file(&[expired_idp_certificate(), idp_certificate()]);
    let out = ssoctl(&[
        "org",
        "create",
        &org,
        "--idp-metadata",
        md.to_str().unwrap(),
    ]);
    json_of(&out);
    let shown = json_of(&ssoctl(&["org", "show", &org]));
    let certs = shown["idp"]["signing_certificates"].as_array().unwrap();
    assert_eq!(
        certs.len(),
        2,
        "both are stored: expiry never makes one unusable"
    );
    assert_eq!(certs[0]["not_after"], "2025-01-01T00:00:00Z");
    assert_eq!(certs[0]["expired"], true);
    assert!(certs[0]["warning"]
        .as_str()
        .unwrap()
        .contains("still trusted"));
    assert!(certs[0].get("unusable").is_none());
    assert_eq!(certs[1]["sha256_fingerprint"], IDP_FINGERPRINT);
    assert_eq!(certs[1]["expired"], false);
    assert!(certs[1]["days_left"].as_i64().unwrap() > 30_000);
}

/// The daily check at injected instants: each threshold is reported by the run after it is
/// crossed, and by no other daily run.
#[tokio::test]
async fn the_daily_certificate_check_warns_30_7_and_1_days_before_expiry() {
    let org = unique_org("expiring");
    let md = metadata_file(&[idp_certificate()]);
    json_of(&ssoctl(&[
        "org",
        "create",
        &org,
        "--idp-metadata",
        md.to_str().unwrap(),
    ]));
    let check = |at: i64| -> Vec<i64> {
        let out = ssoctl(&["org", "check-certificates", "--now", &at.to_string()]);
        let v = json_of(&out);
        let mine: Vec<i64> = v["notices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["org"] == org.as_str())
            .map(|n| {
                assert_eq!(n["event"], "connection.certificate_expiring");
                assert_eq!(n["sha256_fingerprint"], IDP_FINGERPRINT);
                assert_eq!(n["not_after"], IDP_NOT_AFTER);
                n["days_before"].as_i64().unwrap()
            })
            .collect();
        if !mine.is_empty() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains(&org) && stderr.contains("expires in"),
                "{stderr}"
            );
        }
        mine
    };
    let hour = 3_600;
    assert_eq!(check(IDP_NOT_AFTER - 31 * DAY + hour), Vec::<i64>::new());
    assert_eq!(check(IDP_NOT_AFTER - 30 * DAY + hour), vec![30]);
    assert_eq!(check(IDP_NOT_AFTER - 29 * DAY + hour), Vec::<i64>::new());
    assert_eq!(check(IDP_NOT_AFTER - 7 * DAY + hour), vec![7]);
    assert_eq!(check(IDP_NOT_AFTER - DAY + hour), vec![1]);
    assert_eq!(check(IDP_NOT_AFTER + hour), Vec::<i64>::new());
}
