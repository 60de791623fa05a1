use super::testing::{metadata_xml, Served};
use super::*;
use crate::model::org::IdpConfig;
use crate::saml::test_idp::{idp_certificate, other_certificate, IDP_ENTITY_ID};
use crate::store::memory::MemoryStore;

const URL: &str = "https://acme.okta.com/app/exk1/sso/saml/metadata";
const SSO: &str = "https://acme.okta.com/app/acme/exk1/sso/saml";
const T0: i64 = 1_800_000_000;

fn served(certs: &[String]) -> Served {
    let s = Served::default();
    s.set(URL, Ok(metadata_xml(IDP_ENTITY_ID, SSO, certs)));
    s
}

async fn org_from_url(store: &MemoryStore, certs: Vec<String>) -> Org {
    let mut org = Org::new("acme", "https://sso.example.com", T0);
    org.idp = Some(IdpConfig {
        entity_id: IDP_ENTITY_ID.into(),
        sso_url: Some(SSO.into()),
        certificates: certs,
    });
    org.idp_refresh = Some(IdpRefresh {
        metadata_url: URL.into(),
        missing: Vec::new(),
    });
    store.create_org(&org).await.unwrap();
    store.get_org("acme").await.unwrap().unwrap()
}

async fn stored(store: &MemoryStore) -> Org {
    store.get_org("acme").await.unwrap().unwrap()
}

fn certs(org: &Org) -> Vec<String> {
    org.idp.as_ref().unwrap().certificates.clone()
}

#[tokio::test]
async fn a_new_certificate_in_the_metadata_is_trusted_next_to_the_old_one() {
    let store = MemoryStore::new();
    org_from_url(&store, vec![idp_certificate()]).await;
    let source = served(&[idp_certificate(), other_certificate()]);
    let r = refresh_org(&store, &source, "acme", T0).await.unwrap();
    let Outcome::Changed(c) = &r.outcome else {
        panic!("{r:?}")
    };
    assert_eq!(c.added, vec![fingerprint(&other_certificate())]);
    assert!(c.missing.is_empty() && c.dropped.is_empty());
    assert_eq!(
        certs(&stored(&store).await),
        vec![idp_certificate(), other_certificate()]
    );
    // The cache the ACS uses sees both at once.
    let keys = crate::saml::key_cache::keys_for("refresh-test-acme", &certs(&stored(&store).await))
        .unwrap();
    assert_eq!(keys.len(), 2);
}

#[tokio::test]
async fn a_certificate_gone_from_the_metadata_stays_trusted_for_the_grace_period_then_is_dropped() {
    let store = MemoryStore::new();
    org_from_url(&store, vec![idp_certificate(), other_certificate()]).await;
    let source = served(&[other_certificate()]);

    let r = refresh_org(&store, &source, "acme", T0).await.unwrap();
    let Outcome::Changed(c) = &r.outcome else {
        panic!("{r:?}")
    };
    assert_eq!(c.missing, vec![fingerprint(&idp_certificate())]);
    let org = stored(&store).await;
    assert_eq!(certs(&org), vec![idp_certificate(), other_certificate()]);
    assert_eq!(
        org.idp_refresh.as_ref().unwrap().missing[0].missing_since,
        T0
    );

    // Every run inside the grace period keeps it and writes nothing.
    let version = org.version;
    for day in 1..7 {
        let r = refresh_org(&store, &source, "acme", T0 + day * DAY)
            .await
            .unwrap();
        assert_eq!(r.outcome, Outcome::Unchanged, "day {day}");
    }
    let r = refresh_org(&store, &source, "acme", T0 + GRACE_PERIOD - 1)
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::Unchanged);
    assert_eq!(stored(&store).await.version, version);

    let r = refresh_org(&store, &source, "acme", T0 + GRACE_PERIOD)
        .await
        .unwrap();
    let Outcome::Changed(c) = &r.outcome else {
        panic!("{r:?}")
    };
    assert_eq!(c.dropped, vec![fingerprint(&idp_certificate())]);
    let org = stored(&store).await;
    assert_eq!(certs(&org), vec![other_certificate()]);
    assert!(org.idp_refresh.unwrap().missing.is_empty());
}

#[tokio::test]
async fn a_certificate_back_in_the_metadata_within_its_grace_period_is_simply_kept() {
    let store = MemoryStore::new();
    org_from_url(&store, vec![idp_certificate(), other_certificate()]).await;
    refresh_org(&store, &served(&[other_certificate()]), "acme", T0)
        .await
        .unwrap();
    let both = served(&[other_certificate(), idp_certificate()]);
    let r = refresh_org(&store, &both, "acme", T0 + DAY).await.unwrap();
    let Outcome::Changed(c) = &r.outcome else {
        panic!("{r:?}")
    };
    assert_eq!(c.returned, vec![fingerprint(&idp_certificate())]);
    let org = stored(&store).await;
    assert!(org.idp_refresh.as_ref().unwrap().missing.is_empty());
    // Long after the grace period it is still there: it is listed again.
    let r = refresh_org(&store, &both, "acme", T0 + 30 * DAY)
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::Unchanged);
    assert_eq!(certs(&stored(&store).await).len(), 2);
}

#[tokio::test]
async fn the_same_metadata_in_another_order_changes_nothing_and_writes_nothing() {
    let store = MemoryStore::new();
    let before = org_from_url(&store, vec![idp_certificate(), other_certificate()]).await;
    let source = served(&[other_certificate(), idp_certificate()]);
    let r = refresh_org(&store, &source, "acme", T0 + DAY)
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::Unchanged);
    assert_eq!(stored(&store).await, before);
}

#[tokio::test]
async fn an_unreachable_or_invalid_metadata_url_changes_nothing_and_is_reported() {
    let store = MemoryStore::new();
    let before = org_from_url(&store, vec![idp_certificate()]).await;
    let source = Served::default();
    for (document, expected) in [
        (
            Err(FetchError::Transport("connection refused".into())),
            "cannot fetch",
        ),
        (Err(FetchError::Status(503)), "HTTP 503"),
        (Ok("<not-xml".to_string()), "not well-formed"),
        (
            Ok(r#"<!DOCTYPE x [<!ENTITY a "b">]><x/>"#.to_string()),
            "DTDs are refused",
        ),
        (
            Ok(metadata_xml(IDP_ENTITY_ID, SSO, &[])),
            "no signing certificate",
        ),
        (
            Ok(metadata_xml(
                "http://www.okta.com/other",
                SSO,
                &[idp_certificate()],
            )),
            "only installed by `set-idp`",
        ),
    ] {
        source.set(URL, document);
        let r = refresh_org(&store, &source, "acme", T0 + DAY)
            .await
            .unwrap();
        let Outcome::Failed(why) = &r.outcome else {
            panic!("{r:?}")
        };
        assert!(why.contains(expected), "{why}");
        assert_eq!(r.to_json()["outcome"], "failed");
        assert_eq!(stored(&store).await, before);
    }
}

#[tokio::test]
async fn a_weak_key_in_fresh_metadata_is_skipped_as_set_idp_skips_it() {
    let store = MemoryStore::new();
    org_from_url(&store, vec![idp_certificate()]).await;
    let weak = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/certificates/rsa512.b64"
    ))
    .unwrap();
    let source = served(&[idp_certificate(), weak.trim().to_string()]);
    let r = refresh_org(&store, &source, "acme", T0).await.unwrap();
    assert_eq!(r.outcome, Outcome::Unchanged);
    assert_eq!(certs(&stored(&store).await), vec![idp_certificate()]);
}

#[tokio::test]
async fn an_org_whose_idp_came_from_a_file_has_nothing_to_refresh() {
    let store = MemoryStore::new();
    let mut org = Org::new("acme", "https://sso.example.com", T0);
    org.idp = Some(IdpConfig {
        entity_id: IDP_ENTITY_ID.into(),
        sso_url: None,
        certificates: vec![idp_certificate()],
    });
    store.create_org(&org).await.unwrap();
    let source = served(&[other_certificate()]);
    let err = refresh_org(&store, &source, "acme", T0).await.unwrap_err();
    assert!(err.to_string().contains("no metadata URL"), "{err}");
    let all = refresh_all(&store, &source, T0, None, |_| {})
        .await
        .unwrap();
    assert!(all.is_empty());
    assert_eq!(source.fetches(), 0);
}

#[tokio::test]
async fn a_run_reports_every_org_with_a_url_and_its_outcome() {
    let store = MemoryStore::new();
    org_from_url(&store, vec![idp_certificate()]).await;
    let mut other = Org::new("globex", "https://sso.example.com", T0);
    other.idp = stored(&store).await.idp;
    other.idp_refresh = Some(IdpRefresh {
        metadata_url: "https://globex.okta.com/metadata".into(),
        missing: Vec::new(),
    });
    store.create_org(&other).await.unwrap();
    let source = served(&[idp_certificate(), other_certificate()]);
    let mut emitted = Vec::new();
    let reports = refresh_all(&store, &source, T0, None, |r| {
        emitted.push((r.org.clone(), r.outcome_name()))
    })
    .await
    .unwrap();
    emitted.sort();
    assert_eq!(
        emitted,
        vec![("acme".into(), "changed"), ("globex".into(), "failed")]
    );
    assert_eq!(reports.len(), 2);
}

#[test]
fn the_metric_line_declares_its_dimension_and_names_the_org() {
    let r = Report {
        org: "acme".into(),
        metadata_url: Some(URL.into()),
        outcome: Outcome::Failed("HTTP 503".into()),
    };
    let v: Value = serde_json::from_str(&r.to_emf(1_000)).unwrap();
    let decl = &v["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(decl["Metrics"][0]["Name"], METRIC);
    assert_eq!(decl["Dimensions"][0][0], "Outcome");
    assert_eq!(v["Outcome"], "failed");
    assert_eq!(v[METRIC], 1);
    assert_eq!(v["org"], "acme");
    assert_eq!(v["error"], "HTTP 503");
}

#[tokio::test]
async fn org_show_flags_a_certificate_gone_from_the_metadata_with_the_day_it_stops_being_trusted() {
    let store = MemoryStore::new();
    org_from_url(&store, vec![idp_certificate(), other_certificate()]).await;
    refresh_org(&store, &served(&[other_certificate()]), "acme", T0)
        .await
        .unwrap();
    let shown = super::super::show_org(&store, "acme", T0).await.unwrap();
    let certs = shown["idp"]["signing_certificates"].as_array().unwrap();
    assert_eq!(shown["idp"]["metadata_url"], URL);
    assert_eq!(certs[0]["trusted_until"], rfc3339(T0 + GRACE_PERIOD));
    assert!(certs[0]["retiring"]
        .as_str()
        .unwrap()
        .contains("still trusted"));
    assert!(certs[1].get("retiring").is_none());
}

#[tokio::test]
async fn set_idp_from_a_url_remembers_it_and_from_a_file_forgets_it_and_its_grace_periods() {
    let store = MemoryStore::new();
    org_from_url(&store, vec![idp_certificate(), other_certificate()]).await;
    refresh_org(&store, &served(&[other_certificate()]), "acme", T0)
        .await
        .unwrap();
    let checked = crate::admin::check_metadata(
        "file",
        &metadata_xml(IDP_ENTITY_ID, SSO, &[other_certificate()]),
    )
    .unwrap();
    crate::admin::set_idp(&store, "acme", checked.clone(), None, |_| Ok(()), T0)
        .await
        .unwrap();
    let org = stored(&store).await;
    assert_eq!(org.idp_refresh, None);
    assert_eq!(certs(&org), vec![other_certificate()]);
    let err = refresh_org(&store, &served(&[]), "acme", T0)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no metadata URL"));

    crate::admin::set_idp(&store, "acme", checked, Some(URL), |_| Ok(()), T0)
        .await
        .unwrap();
    let org = stored(&store).await;
    assert_eq!(org.idp_refresh.unwrap().metadata_url, URL);
}
