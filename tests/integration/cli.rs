//! The real `ssoctl` binary against the local DynamoDB API.

use std::process::{Command, Output};

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

fn corpus(case: &str) -> String {
    // The SSOReady corpus lives with the library crate's fixtures (shared/tests/fixtures).
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    workspace
        .join("shared/tests/fixtures/ssoready")
        .join(case)
        .join("metadata.xml")
        .display()
        .to_string()
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
        &corpus("assertions/okta"),
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
    assert_eq!(
        out["idp"]["entity_id"],
        "http://www.okta.com/exkdoocxa1VmjpXmX697"
    );
    let token = out["scim_token"].as_str().unwrap();
    let stored = s.get_org(&org).await.unwrap().unwrap();
    assert_eq!(stored.scim_token_hash, Some(TokenHash::of(token).0));
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
    assert!(TokenHash(hash.clone()).matches(second["scim_token"].as_str().unwrap()));
    assert!(!TokenHash(hash).matches(first["scim_token"].as_str().unwrap()));
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
    let xml = std::fs::read_to_string(corpus("assertions/okta"))
        .unwrap()
        .replace(r#"use="signing""#, r#"use="encryption""#);
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
        &corpus("assertions/okta"),
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
        &corpus("assertions/okta"),
    ]));
    assert_eq!(out["idp"]["signing_certificates"], 1);
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
    assert_eq!(stored.attribute_mapping["costCenter"], "costCenter");
    assert_eq!(stored.attribute_mapping["firstName"], "givenName");

    for bad in [
        vec!["--allow-redirect", "javascript:alert(1)"],
        vec!["--allow-redirect", "http://app.example.com/"],
        vec!["--default-app-url", "//evil.example.com"],
        vec!["--allow-redirect", "https://user:pw@app.example.com/"],
        vec!["--clock-skew", "3600"],
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
