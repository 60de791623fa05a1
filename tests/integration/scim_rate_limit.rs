//! Per-organization SCIM rate limit (shared/src/scim/rate_limit.rs): over the limit, 429 with an
//! integer Retry-After and a SCIM error body, and the refused request writes nothing.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use shared::org::Org;
use shared::routes::Function;
use shared::store::{DynamoStore, OrgStore, UserStore};
use shared::tokens::Secret;
use shared::App;

use crate::scim::{okta_user, ERROR};
use crate::support::{body_json, event, store, table_name, unique_org};

/// The app's clock stands still unless the test moves it: the window a request falls in does not
/// depend on how fast a busy machine runs the test.
async fn limited_app(per_second: u32, clock: Arc<AtomicI64>) -> App<DynamoStore> {
    let config = shared::Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some(table_name()),
        "REQUEST_DEADLINE_MS" => std::env::var(k).ok(),
        "SCIM_REQUESTS_PER_SECOND" => Some(per_second.to_string()),
        _ => None,
    })
    .unwrap();
    App::new(config, store().await).with_clock(move || clock.load(Ordering::Relaxed))
}

async fn org_with_token(app: &App<DynamoStore>) -> (String, String) {
    let token = Secret::generate("scim");
    let mut org = Org::new(&unique_org("rate"), "https://sso.example.com", 1);
    org.scim_token_hash = Some(token.hash().into_string());
    app.store.create_org(&org).await.unwrap();
    (org.org, format!("Bearer {}", token.expose()))
}

#[tokio::test]
async fn over_the_per_org_limit_scim_answers_429_with_an_integer_retry_after_and_writes_nothing() {
    let clock = Arc::new(AtomicI64::new(1_800_000_000));
    let app = limited_app(2, clock.clone()).await;
    let (org, bearer) = org_with_token(&app).await;
    let (other, other_bearer) = org_with_token(&app).await;
    let headers = |b: &str| {
        vec![
            ("authorization", b.to_string()),
            ("content-type", "application/scim+json".to_string()),
        ]
    };
    let mut refused = Vec::new();
    let mut created = 0;
    // Eight in one second, at 2 a second.
    for i in 0..8 {
        let name = format!("rate{i}@example.com");
        let body = okta_user(&name).to_string();
        let h = headers(&bearer);
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let Ok(resp) = app
            .handle(
                Some(Function::ScimUsers),
                event(
                    "POST",
                    &format!("/orgs/{org}/scim/v2/Users"),
                    &h,
                    Some(&body),
                ),
            )
            .await;
        match resp.status().as_u16() {
            201 => created += 1,
            429 => {
                let retry: u64 = resp.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .expect("Retry-After is an integer number of seconds");
                assert!(retry >= 1);
                assert_eq!(resp.headers()["content-type"], "application/scim+json");
                let b = body_json(&resp);
                assert_eq!(
                    (b["schemas"][0].as_str(), b["status"].as_str()),
                    (Some(ERROR), Some("429"))
                );
                refused.push(name);
            }
            s => panic!("unexpected {s}"),
        }
    }
    assert_eq!((created, refused.len()), (2, 6));
    // Nothing half-written: no refused user exists.
    for name in &refused {
        let n = shared::scim::user_name::UserName::parse(name).unwrap();
        assert!(
            app.store
                .find_user_by_user_name(&org, &n)
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
    }
    // The next second has a fresh budget.
    clock.fetch_add(1, Ordering::Relaxed);
    let h = headers(&bearer);
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let Ok(resp) = app
        .handle(
            Some(Function::ScimUsers),
            event(
                "GET",
                &format!("/orgs/{org}/scim/v2/Users?count=1"),
                &h,
                None,
            ),
        )
        .await;
    assert_eq!(resp.status(), 200);
    // Another organization's budget is its own (same second as the refusals above).
    clock.fetch_sub(1, Ordering::Relaxed);
    let h = headers(&other_bearer);
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let Ok(resp) = app
        .handle(
            Some(Function::ScimUsers),
            event(
                "GET",
                &format!("/orgs/{other}/scim/v2/Users?count=1"),
                &h,
                None,
            ),
        )
        .await;
    assert_eq!(resp.status(), 200);
}
