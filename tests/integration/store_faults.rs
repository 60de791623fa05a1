//! When DynamoDB cannot be reached: retryable answers in each route's own error format, never a
//! 500. The store here points at a loopback port nothing listens on (connection refused), which is
//! what the handlers see when the local DynamoDB-API server is stopped.

use shared::store::DynamoStore;
use shared::App;

use crate::support::{body_json, body_text, config, event, unique_org};

/// A port that was free a moment ago and is closed now: every connection is refused at once.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn app_without_dynamodb() -> App<DynamoStore> {
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(&shared)
        .endpoint_url(format!("http://127.0.0.1:{}", closed_port()))
        .timeout_config(shared::app::dynamodb_timeouts())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(dynamodb);
    App::new(config(), DynamoStore::new(client, "unreachable"))
}

fn retry_after(resp: &lambda_http::Response<lambda_http::Body>) -> u32 {
    resp.headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in integer seconds")
}

#[tokio::test]
async fn with_dynamodb_unreachable_scim_answers_503_with_retry_after_and_a_scim_error_body() {
    let app = app_without_dynamodb().await;
    let org = unique_org("down");
    let req = event(
        "GET",
        &format!("/orgs/{org}/scim/v2/Users?filter=userName%20eq%20%22a%40b.c%22"),
        &[("authorization", "Bearer scim_x")],
        None,
    );
    let Ok(resp) = app.handle(None, req).await;
    assert_eq!(resp.status(), 503, "{}", body_text(&resp));
    assert!(retry_after(&resp) >= 1);
    let body = body_json(&resp);
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(body["status"], "503");
    assert!(body["detail"].as_str().unwrap().contains("retry"), "{body}");
}

#[tokio::test]
async fn with_dynamodb_unreachable_the_acs_answers_a_503_page_not_a_server_error() {
    let app = app_without_dynamodb().await;
    let org = unique_org("down");
    let req = event(
        "POST",
        &format!("/orgs/{org}/saml/acs"),
        &[("content-type", "application/x-www-form-urlencoded")],
        Some("SAMLResponse=PHg%2B"),
    );
    let Ok(resp) = app.handle(None, req).await;
    assert_eq!(resp.status(), 503, "{}", body_text(&resp));
    assert!(retry_after(&resp) >= 1);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/"));
    assert!(body_text(&resp).contains("store_unavailable"));
}

/// infra/dynamodb_fault_proxy.py in front of the test's DynamoDB-API server.
pub struct FaultProxy {
    pub endpoint: String,
    _guard: crate::support::Killed,
}

impl FaultProxy {
    pub async fn start() -> FaultProxy {
        crate::support::require_local_dynamodb();
        let python = std::env::var("SSO_PYTHON")
            .expect("SSO_PYTHON names the venv's python: run the tests with `bash infra/test`");
        let upstream = std::env::var("AWS_ENDPOINT_URL").unwrap();
        let port = closed_port();
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../infra/dynamodb_fault_proxy.py");
        let child = std::process::Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .arg(&upstream)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start the fault proxy");
        let proxy = FaultProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            _guard: crate::support::Killed::new(child),
        };
        for _ in 0..100 {
            if reqwest::get(format!("{}/fault-proxy/stats", proxy.endpoint))
                .await
                .is_ok()
            {
                return proxy;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the fault proxy did not start");
    }

    pub async fn configure(&self, config: serde_json::Value) {
        let resp = reqwest::Client::new()
            .post(format!("{}/fault-proxy/config", self.endpoint))
            .body(config.to_string())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
    }

    pub async fn stats(&self) -> serde_json::Value {
        let text = reqwest::get(format!("{}/fault-proxy/stats", self.endpoint))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// An app whose DynamoDB traffic goes through the proxy, on the test table.
    pub async fn app(&self) -> App<DynamoStore> {
        self.app_with_timeouts(30_000, 90_000).await
    }

    /// Same, with the SDK's per-attempt and per-operation timeouts (ms): short ones make the
    /// proxy's stalls time out as they would against a stalled DynamoDB.
    pub async fn app_with_timeouts(&self, attempt_ms: u64, operation_ms: u64) -> App<DynamoStore> {
        self.app_with(attempt_ms, operation_ms, config()).await
    }

    pub async fn app_with(
        &self,
        attempt_ms: u64,
        operation_ms: u64,
        config: shared::Config,
    ) -> App<DynamoStore> {
        let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(1))
            .operation_attempt_timeout(std::time::Duration::from_millis(attempt_ms))
            .operation_timeout(std::time::Duration::from_millis(operation_ms))
            .build();
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(&shared)
            .endpoint_url(&self.endpoint)
            .timeout_config(timeouts)
            .retry_config(
                aws_config::retry::RetryConfig::standard()
                    .with_max_attempts(shared::app::DYNAMODB_ATTEMPTS),
            )
            .build();
        crate::support::store().await; // creates the test table if needed
        let client = aws_sdk_dynamodb::Client::from_conf(dynamodb);
        App::new(
            config,
            DynamoStore::new(client, crate::support::table_name()),
        )
    }
}

async fn org_with_scim_token(app: &App<DynamoStore>) -> (String, String) {
    use shared::store::OrgStore;
    let token = shared::tokens::Secret::generate("scim");
    let mut org = shared::org::Org::new(&unique_org("fault"), "https://sso.example.com", 1);
    org.scim_token_hash = Some(token.hash().into_string());
    app.store.create_org(&org).await.unwrap();
    (org.org, format!("Bearer {}", token.expose()))
}

async fn scim(
    app: &App<DynamoStore>,
    org: &str,
    bearer: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let headers = [
        ("authorization", bearer),
        ("content-type", "application/scim+json"),
    ];
    let req = event(
        method,
        &format!("/orgs/{org}/scim/v2{path}"),
        &headers,
        body,
    );
    let Ok(resp) = app.handle(None, req).await;
    let text = body_text(&resp);
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (resp.status().as_u16(), json)
}

#[tokio::test]
async fn a_group_create_whose_answer_was_lost_after_the_commit_succeeds_once_and_leaves_one_group()
{
    let proxy = FaultProxy::start().await;
    let app = proxy.app().await;
    let (org, bearer) = org_with_scim_token(&app).await;
    proxy
        .configure(serde_json::json!({
            "rate": 1.0, "weights": {"drop_after": 1}, "operations": ["TransactWriteItems"],
            "max_faults": 1, "reset_stats": true
        }))
        .await;
    let (status, body) = scim(
        &app,
        &org,
        &bearer,
        "POST",
        "/Groups",
        Some(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Lost answers"}"#),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let stats = proxy.stats().await;
    assert_eq!(stats["faults"]["drop_after"], 1, "{stats}");
    let (status, list) = scim(
        &app,
        &org,
        &bearer,
        "GET",
        "/Groups?filter=displayName%20eq%20%22Lost%20answers%22",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["totalResults"], 1, "{list}");
    assert_eq!(list["Resources"][0]["id"], body["id"]);
}

#[tokio::test]
async fn a_user_create_whose_answer_was_lost_after_the_commit_succeeds_once() {
    let proxy = FaultProxy::start().await;
    let app = proxy.app().await;
    let (org, bearer) = org_with_scim_token(&app).await;
    proxy
        .configure(serde_json::json!({
            "rate": 1.0, "weights": {"drop_after": 1}, "operations": ["TransactWriteItems"],
            "max_faults": 1, "reset_stats": true
        }))
        .await;
    let (status, body) = scim(
        &app,
        &org,
        &bearer,
        "POST",
        "/Users",
        Some(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"lost@example.com","active":true}"#),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(proxy.stats().await["faults"]["drop_after"], 1);
    let (_, list) = scim(
        &app,
        &org,
        &bearer,
        "GET",
        "/Users?filter=userName%20eq%20%22lost%40example.com%22",
        None,
    )
    .await;
    assert_eq!(list["totalResults"], 1, "{list}");
}

#[tokio::test]
async fn injected_dynamodb_5xx_and_throttling_are_503_and_429_never_500() {
    let proxy = FaultProxy::start().await;
    let app = proxy.app().await;
    let (org, bearer) = org_with_scim_token(&app).await;
    for (kind, want) in [("internal", 503), ("throttle", 429), ("drop_before", 503)] {
        proxy
            .configure(serde_json::json!({
                "rate": 1.0, "weights": {kind: 1}, "operations": null, "max_faults": null,
                "reset_stats": true
            }))
            .await;
        let (status, body) = scim(&app, &org, &bearer, "GET", "/Users", None).await;
        assert_eq!(status, want, "{kind}: {body}");
        assert_eq!(
            body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
    }
    proxy
        .configure(serde_json::json!({"rate": 0.0, "max_faults": null}))
        .await;
    let (status, _) = scim(&app, &org, &bearer, "GET", "/Users", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_group_create_with_members_that_fails_leaves_no_group_behind_for_the_retry_to_duplicate()
{
    let proxy = FaultProxy::start().await;
    let app = proxy.app().await;
    let (org, bearer) = org_with_scim_token(&app).await;
    let (status, user) = scim(
        &app,
        &org,
        &bearer,
        "POST",
        "/Users",
        Some(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"member@example.com"}"#),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    // The create's first transaction passes; every later one fails (all the SDK's attempts).
    proxy
        .configure(serde_json::json!({
            "rate": 1.0, "weights": {"internal": 1}, "operations": ["TransactWriteItems"],
            "skip": 1, "max_faults": null, "reset_stats": true
        }))
        .await;
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Half written",
        "members": [{"value": user["id"]}]
    })
    .to_string();
    let (status, _) = scim(&app, &org, &bearer, "POST", "/Groups", Some(&body)).await;
    proxy
        .configure(serde_json::json!({"rate": 0.0, "skip": 0}))
        .await;
    let (_, list) = scim(
        &app,
        &org,
        &bearer,
        "GET",
        "/Groups?filter=displayName%20eq%20%22Half%20written%22",
        None,
    )
    .await;
    match status {
        // One transaction held the group and its member: it landed whole.
        201 => {
            assert_eq!(list["totalResults"], 1, "{list}");
            assert_eq!(list["Resources"][0]["members"][0]["value"], user["id"]);
        }
        // Or nothing landed, and Okta's retry creates it once.
        503 => assert_eq!(list["totalResults"], 0, "a group was left behind: {list}"),
        other => panic!("unexpected status {other}"),
    }
}

#[tokio::test]
async fn sp_metadata_is_served_from_the_last_copy_seen_while_dynamodb_is_down() {
    let proxy = FaultProxy::start().await;
    let mut cfg = config();
    cfg.org_cache_ttl = std::time::Duration::ZERO; // every copy is stale at once
    let app = proxy.app_with(30_000, 90_000, cfg).await;
    let (org, _) = org_with_scim_token(&app).await;
    let path = format!("/orgs/{org}/saml/metadata");
    let Ok(warm) = app.handle(None, event("GET", &path, &[], None)).await;
    assert_eq!(warm.status(), 200);
    proxy
        .configure(serde_json::json!({
            "rate": 1.0, "weights": {"internal": 1}, "operations": null, "max_faults": null,
            "skip": 0, "reset_stats": true
        }))
        .await;
    let Ok(down) = app.handle(None, event("GET", &path, &[], None)).await;
    assert_eq!(down.status(), 200, "{}", body_text(&down));
    assert_eq!(body_text(&down), body_text(&warm));
    assert!(proxy.stats().await["faults"]["internal"].as_u64().unwrap() > 0);
    // Routes that decide trust do not fall back: the ACS refuses cleanly.
    let Ok(acs) = app
        .handle(
            None,
            event(
                "POST",
                &format!("/orgs/{org}/saml/acs"),
                &[("content-type", "application/x-www-form-urlencoded")],
                Some("SAMLResponse=PHg%2B"),
            ),
        )
        .await;
    assert_eq!(acs.status(), 503, "{}", body_text(&acs));
    proxy.configure(serde_json::json!({"rate": 0.0})).await;
}

#[tokio::test]
async fn a_request_still_waiting_on_dynamodb_at_its_deadline_gets_a_503_with_retry_after() {
    let proxy = FaultProxy::start().await;
    let mut cfg = config();
    cfg.request_deadline = std::time::Duration::from_millis(500);
    let app = proxy.app_with(30_000, 90_000, cfg).await;
    let (org, bearer) = org_with_scim_token(&app).await;
    proxy
        .configure(serde_json::json!({
            "rate": 1.0, "weights": {"delay": 1}, "delay": 3.0, "operations": null,
            "max_faults": null, "skip": 0, "reset_stats": true
        }))
        .await;
    let req = event(
        "GET",
        &format!("/orgs/{org}/scim/v2/Users"),
        &[("authorization", bearer.as_str())],
        None,
    );
    let Ok(resp) = app.handle(None, req).await;
    proxy.configure(serde_json::json!({"rate": 0.0})).await;
    assert_eq!(resp.status(), 503, "{}", body_text(&resp));
    assert!(retry_after(&resp) >= 1);
    assert_eq!(
        body_json(&resp)["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
}

/// Queues a back-channel logout notice as `end_grants` writes it (layout: store/keys.rs).
async fn queue_notice(app: &App<DynamoStore>, org: &str, now: i64) -> String {
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    let hash = shared::tokens::random_hex(16);
    let key = format!("ORG#{org}#BCL#{hash}");
    app.store
        .client()
        .put_item()
        .table_name(app.store.table())
        .item("pk", S(key.clone()))
        .item("sk", S("BCL".into()))
        .item("gsi1pk", S("BCLQUEUE".into()))
        .item("gsi1sk", S(format!("{now:012}#{org}#{hash}")))
        .item("type", S("backchannel_logout".into()))
        .item("org", S(org.into()))
        .item("client_id", S("client-1".into()))
        .item("user_id", S("user-1".into()))
        .item("sid", S("sid-1".into()))
        .item("issuer", S("https://sso.example.com".into()))
        .item("expires_at", N((now + 86_400).to_string()))
        .send()
        .await
        .unwrap();
    key
}

#[tokio::test]
async fn a_logout_notice_claim_whose_answer_was_lost_still_gets_the_notice_and_only_once() {
    use shared::store::OidcStore;
    let proxy = FaultProxy::start().await;
    let app = proxy.app().await;
    let org = unique_org("bcl-lost");
    let now = app.now();
    let key = queue_notice(&app, &org, now).await;
    proxy
        .configure(serde_json::json!({
            "rate": 1.0, "weights": {"drop_after": 1}, "operations": ["UpdateItem"],
            "max_faults": 1, "reset_stats": true
        }))
        .await;
    // The lease was written, its answer lost, the SDK re-sent the same request: that retry
    // must recognise its own lease, not report the notice as someone else's.
    let notice = app.store.claim_logout(&key, now).await.unwrap();
    assert_eq!(proxy.stats().await["faults"]["drop_after"], 1);
    assert_eq!(notice.map(|n| n.sid), Some("sid-1".to_string()));
    assert!(
        app.store.claim_logout(&key, now).await.unwrap().is_none(),
        "a second claimer gets nothing while the lease holds"
    );
    app.store.complete_logout(&key).await.unwrap();
    assert!(
        app.store
            .claim_logout(&key, now + 3_600)
            .await
            .unwrap()
            .is_none(),
        "a completed notice is gone for good"
    );
}

#[tokio::test]
async fn a_claimed_logout_notice_that_was_not_delivered_is_claimed_again_not_lost() {
    use shared::store::{OidcStore, LOGOUT_LEASE_SECONDS};
    let app = crate::support::app().await;
    let org = unique_org("bcl-lease");
    let now = app.now();
    let key = queue_notice(&app, &org, now).await;
    assert!(app.store.claim_logout(&key, now).await.unwrap().is_some());
    // A claimer that crashed: nobody else gets it until its lease runs out, then someone does.
    assert!(app
        .store
        .claim_logout(&key, now + 1)
        .await
        .unwrap()
        .is_none());
    let later = now + LOGOUT_LEASE_SECONDS + 1;
    assert!(app.store.claim_logout(&key, later).await.unwrap().is_some());
    // A claimer that failed and gave it back: claimable at once, and still queued.
    app.store.release_logout(&key).await.unwrap();
    assert!(app.store.queued_logouts(1000).await.unwrap().contains(&key));
    assert!(app.store.claim_logout(&key, later).await.unwrap().is_some());
}
