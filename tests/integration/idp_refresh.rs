//! IdP metadata refresh on the local stack (issue 13 item 4): the DynamoDB-API server, the real
//! ACS handler with an injected clock, metadata served by a test source the tests change between
//! runs (`admin::refresh::testing::Served`), and the real `ssoctl idp refresh` over the network.

use std::process::{Command, Output};
use std::sync::atomic::Ordering;

use serde_json::{json, Value};
use shared::admin::fetch::FetchError;
use shared::admin::refresh::testing::{metadata_xml, Served};
use shared::admin::refresh::{refresh_org, Outcome, GRACE_PERIOD};
use shared::org::{IdpRefresh, Org, Provisioning};
use shared::saml::test_idp::{idp_certificate, other_certificate, other_key, IDP_ENTITY_ID};
use shared::store::events::EventStore;
use shared::store::{DynamoStore, OrgStore};

use crate::saml::{env, store, Env};
use crate::support::{body_text, table_name, unique_org};

const SSO: &str = "https://acme.okta.com/app/acme_app/exk1/sso/saml";

fn url_of(org: &str) -> String {
    format!("https://{org}.okta.test/app/exk1/sso/saml/metadata")
}

/// The env's org, switched to "set from a metadata URL".
async fn from_url(env: &Env) -> Org {
    let mut org = env.app.store.get_org(&env.org.org).await.unwrap().unwrap();
    org.idp_refresh = Some(IdpRefresh {
        metadata_url: url_of(&org.org),
        missing: Vec::new(),
    });
    env.app.store.update_org(&org).await.unwrap()
}

fn serving(org: &str, certs: &[String]) -> Served {
    let s = Served::default();
    s.set(&url_of(org), Ok(metadata_xml(IDP_ENTITY_ID, SSO, certs)));
    s
}

async fn refresh(env: &Env, source: &Served) -> Outcome {
    let now = env.clock.load(Ordering::SeqCst);
    refresh_org(&env.app.store, source, &env.org.org, now)
        .await
        .unwrap()
        .outcome
}

/// Signs a new user in with a response signed by the IdP's first key, or by the rotated one:
/// whether it was accepted (a refusal must be the signature's).
async fn signs_in(env: &Env, rotated_key: bool) -> bool {
    let user = format!("{}@example.com", shared::tokens::random_hex(6));
    let mut spec = env.spec(&user, &format!("idasrt-{}", shared::tokens::random_hex(8)));
    if rotated_key {
        spec.key = Some(other_key());
    }
    let resp = env.post_acs(&spec.build(), None).await;
    let body = body_text(&resp);
    match resp.status().as_u16() {
        303 => true,
        400 if body.contains("error: signature_invalid") => false,
        other => panic!("{other}: {body}"),
    }
}

async fn connection_events(store: &DynamoStore, org: &str, now: i64) -> usize {
    let page = store.org_events_after(org, 0, 100, now).await.unwrap();
    page.events
        .iter()
        .filter(|e| e.kind == "connection.updated")
        .count()
}

fn advance(env: &Env, seconds: i64) -> i64 {
    env.clock.fetch_add(seconds, Ordering::SeqCst) + seconds
}

#[tokio::test]
async fn a_refresh_trusts_a_rotated_certificate_next_to_the_old_one_and_both_sign_in() {
    let env = env(Provisioning::Both, store().await).await;
    from_url(&env).await;
    assert!(signs_in(&env, false).await);
    assert!(
        !signs_in(&env, true).await,
        "the rotated key is not trusted yet"
    );

    let source = serving(&env.org.org, &[idp_certificate(), other_certificate()]);
    let Outcome::Changed(c) = refresh(&env, &source).await else {
        panic!("no change")
    };
    assert_eq!(c.added.len(), 1);
    // The very next sign-in (same warm process, same key cache) sees the change.
    assert!(signs_in(&env, true).await);
    assert!(signs_in(&env, false).await);
}

#[tokio::test]
async fn the_old_certificate_is_dropped_only_after_the_grace_period_and_each_change_is_one_event() {
    let env = env(Provisioning::Both, store().await).await;
    let org = env.org.org.clone();
    from_url(&env).await;
    let now = env.clock.load(Ordering::SeqCst);
    let events_before = connection_events(&env.app.store, &org, now).await;
    let both = serving(&org, &[idp_certificate(), other_certificate()]);
    assert!(matches!(refresh(&env, &both).await, Outcome::Changed(_)));

    // Okta stops publishing the old certificate: it stays trusted through the grace period.
    let rotated = serving(&org, &[other_certificate()]);
    let Outcome::Changed(c) = refresh(&env, &rotated).await else {
        panic!("no change")
    };
    assert_eq!(c.missing.len(), 1);
    let shown = shared::admin::show_org(&env.app.store, &org, now)
        .await
        .unwrap();
    assert!(
        shown["idp"]["signing_certificates"][0]["retiring"].is_string(),
        "{shown}"
    );
    advance(&env, GRACE_PERIOD - 60);
    assert_eq!(refresh(&env, &rotated).await, Outcome::Unchanged);
    assert!(
        signs_in(&env, false).await,
        "dropped before the grace period ended"
    );
    assert!(signs_in(&env, true).await);

    advance(&env, 60);
    let Outcome::Changed(c) = refresh(&env, &rotated).await else {
        panic!("not dropped")
    };
    assert_eq!(c.dropped.len(), 1);
    assert!(!signs_in(&env, false).await, "a dropped key still signs in");
    assert!(signs_in(&env, true).await);
    assert_eq!(refresh(&env, &rotated).await, Outcome::Unchanged);

    // Added, gone missing, dropped: three changes, three events; the unchanged runs wrote none.
    let now = env.clock.load(Ordering::SeqCst) + 60;
    assert_eq!(
        connection_events(&env.app.store, &org, now).await,
        events_before + 3
    );
}

#[tokio::test]
async fn an_unreachable_or_invalid_metadata_url_changes_nothing_writes_no_event_and_is_reported() {
    let env = env(Provisioning::Both, store().await).await;
    let org = env.org.org.clone();
    let before = from_url(&env).await;
    let now = env.clock.load(Ordering::SeqCst);
    let events_before = connection_events(&env.app.store, &org, now).await;
    let source = Served::default();
    for (document, expected) in [
        (None, "connection refused"),
        (Some(Err(FetchError::Status(500))), "HTTP 500"),
        (
            Some(Ok("<md:EntityDescriptor".to_string())),
            "not well-formed",
        ),
        (
            Some(Ok(metadata_xml(IDP_ENTITY_ID, SSO, &[]))),
            "no signing certificate",
        ),
    ] {
        if let Some(d) = document {
            source.set(&url_of(&org), d);
        }
        let Outcome::Failed(why) = refresh(&env, &source).await else {
            panic!("{expected}: not reported as failed")
        };
        assert!(why.contains(expected), "{why}");
    }
    assert_eq!(env.app.store.get_org(&org).await.unwrap().unwrap(), before);
    assert!(signs_in(&env, false).await);
    assert_eq!(
        connection_events(&env.app.store, &org, now + 60).await,
        events_before
    );
}

fn ssoctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ssoctl"))
        .args(args)
        .env("TABLE_NAME", table_name())
        .env_remove("PUBLIC_BASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ssoctl")
}

#[tokio::test]
async fn ssoctl_idp_refresh_reports_an_unreachable_url_and_refuses_an_org_without_one() {
    let s = crate::support::store().await;
    let org = unique_org("refresh");
    let mut o = Org::new(&org, "https://sso.example.com", 1);
    o.idp = Some(shared::org::IdpConfig {
        entity_id: IDP_ENTITY_ID.into(),
        sso_url: None,
        certificates: vec![idp_certificate()],
    });
    s.create_org(&o).await.unwrap();
    let out = ssoctl(&["idp", "refresh", &org]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no metadata URL"));

    // A URL on loopback with nothing listening (infra/lib.sh allows loopback for the local
    // stack): the real fetch fails, nothing changes.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut o = s.get_org(&org).await.unwrap().unwrap();
    o.idp_refresh = Some(IdpRefresh {
        metadata_url: format!("https://127.0.0.1:{port}/metadata"),
        missing: Vec::new(),
    });
    let before = s.update_org(&o).await.unwrap();
    let out = ssoctl(&["idp", "refresh", &org]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("nothing changed"), "{err}");
    assert_eq!(s.get_org(&org).await.unwrap().unwrap(), before);

    // Every org: a report per org with a URL, the failure on stderr, exit 0.
    let out = ssoctl(&["idp", "refresh"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mine: Vec<&Value> = v["refreshed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["org"] == json!(org))
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["outcome"], "failed");
}

#[tokio::test]
async fn the_management_api_never_fetches_metadata_from_loopback_private_or_instance_metadata_addresses(
) {
    use shared::routes::Function;
    let app = crate::support::app().await;
    let key = ssoctl::api_keys::create(&app.store, &unique_org("key"), 1)
        .await
        .unwrap()["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    let org = unique_org("ssrf");
    app.store
        .create_org(&Org::new(&org, "https://sso.example.com", 1))
        .await
        .unwrap();
    // Something listening on loopback, counting connections.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        while let Ok((c, _)) = listener.accept().await {
            h.fetch_add(1, Ordering::SeqCst);
            drop(c);
        }
    });
    let auth = format!("Bearer {key}");
    for url in [
        format!("https://127.0.0.1:{port}/metadata"),
        format!("https://localhost:{port}/metadata"),
        "https://169.254.169.254/latest/meta-data/".into(),
        "https://10.0.0.1/metadata".into(),
        "https://[fd00::1]/metadata".into(),
    ] {
        let body = json!({ "metadata_url": url }).to_string();
        let req = crate::support::event(
            "PUT",
            &format!("/api/v1/orgs/{org}/idp"),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            Some(&body),
        );
        let Ok(resp) = app.handle(Some(Function::Api), req).await;
        let v = crate::support::body_json(&resp);
        assert_eq!(resp.status(), 400, "{url}: {v}");
        assert_eq!(v["error"], "metadata_unreadable", "{url}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains("public addresses"),
            "{url}: {v}"
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the API connected to loopback"
    );
    assert_eq!(app.store.get_org(&org).await.unwrap().unwrap().idp, None);
}

#[tokio::test]
async fn the_daily_job_refreshes_the_orgs_with_a_url_then_runs_the_expiry_check() {
    let env = env(Provisioning::Both, store().await).await;
    let org = env.org.org.clone();
    from_url(&env).await;
    let source = serving(&org, &[idp_certificate(), other_certificate()]);
    let out = shared::functions::idp_certificates::handle(&env.app, &source, None)
        .await
        .unwrap();
    assert!(out["refreshed"]["changed"].as_u64().unwrap() >= 1, "{out}");
    assert!(out["notices"].is_u64(), "{out}");
    let stored = env.app.store.get_org(&org).await.unwrap().unwrap();
    assert_eq!(stored.idp.unwrap().certificates.len(), 2);
    // A second run finds nothing new for this org.
    let before = env.app.store.get_org(&org).await.unwrap().unwrap().version;
    shared::functions::idp_certificates::handle(&env.app, &source, None)
        .await
        .unwrap();
    assert_eq!(
        env.app.store.get_org(&org).await.unwrap().unwrap().version,
        before
    );
}
