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
