//! Management API figures (not a test): run with `bash infra/bench-api` (starts moto).
//!
//! Reports, from the store's own counters (`DynamoStore::stats`): DynamoDB round trips and items
//! read/written per API call; what a SCIM change costs with its event (the same SCIM request
//! with the outbox, compared with the items of the change alone); and a walk of
//! API_BENCH_EVENTS (10000) events 100 at a time, whose items read must equal the events read.

use serde_json::{json, Value};
use shared::store::{DynamoStore, NewUser, UserStore};
use shared::{App, Config};
use ssoctl::template::{self, Template};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn event(
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Result<lambda_http::Request, Error> {
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut ev = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": raw_path, "rawQueryString": query,
        "headers": {"authorization": format!("Bearer {token}"), "content-type": "application/json",
                    "host": "bench.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {"accountId": "1", "apiId": "bench", "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "bench", "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.1", "userAgent": "bench"}, "requestId": "bench",
            "routeKey": "$default", "stage": "$default", "time": "28/Nov/2026:13:00:00 +0000", "timeEpoch": 0},
        "isBase64Encoded": false
    });
    if let Some(b) = body {
        ev["body"] = json!(b.to_string());
    }
    Ok(lambda_http::request::from_str(&ev.to_string())?)
}

async fn call(
    app: &App<DynamoStore>,
    name: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Result<Value, Error> {
    let before = app.store.stats().snapshot();
    let Ok(resp) = app
        .handle(None, event(method, path, token, body.as_ref())?)
        .await;
    let after = app.store.stats().snapshot();
    println!(
        "{name:<44} {:>4}  round trips {:>3}  items read {:>5}  items written {:>3}",
        resp.status().as_u16(),
        after.0 - before.0,
        after.1 - before.1,
        after.2 - before.2
    );
    Ok(match resp.body() {
        lambda_http::Body::Text(t) if !t.is_empty() => serde_json::from_str(t)?,
        _ => Value::Null,
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let n_events: u64 = std::env::var("API_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let client = shared::app::dynamodb_client().await;
    let table = "sso-bench-api";
    let def = Template::load(&template::default_path())?.table()?;
    ssoctl::local::create_table(&client, table, &def).await?;
    let config = Config::from_lookup(|k| (k == "TABLE_NAME").then(|| table.to_string()))?;
    let app = App::new(config, DynamoStore::new(client, table));
    let key = ssoctl::api_keys::create(
        &app.store,
        &format!("bench-{}", shared::tokens::random_hex(3)),
        1,
    )
    .await?;
    let key = key["api_key"].as_str().unwrap_or_default().to_string();
    let org = format!("bench-{}", shared::tokens::random_hex(4));

    println!("== API calls");
    let created = call(
        &app,
        "POST /api/v1/orgs",
        "POST",
        "/api/v1/orgs",
        &key,
        Some(json!({"org": org, "base_url": "https://sso.example.com"})),
    )
    .await?;
    let scim = created["scim_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for i in 0..20 {
        app.store
            .create_user(
                &org,
                NewUser {
                    user_name: format!("u{i}@example.com"),
                    external_id: None,
                    active: true,
                    attributes: json!({}),
                },
                1,
            )
            .await?;
    }
    call(
        &app,
        "GET /api/v1/orgs/{org}",
        "GET",
        &format!("/api/v1/orgs/{org}"),
        &key,
        None,
    )
    .await?;
    let page = call(
        &app,
        "GET /api/v1/orgs/{org}/users?limit=10",
        "GET",
        &format!("/api/v1/orgs/{org}/users?limit=10"),
        &key,
        None,
    )
    .await?;
    let uid = page["data"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    call(
        &app,
        "GET /api/v1/orgs/{org}/users/{id}",
        "GET",
        &format!("/api/v1/orgs/{org}/users/{uid}"),
        &key,
        None,
    )
    .await?;
    call(
        &app,
        "GET /api/v1/events?org=&limit=10",
        "GET",
        &format!("/api/v1/events?org={org}&limit=10"),
        &key,
        None,
    )
    .await?;

    println!("== a SCIM change with its event (the outbox adds no round trip and 2 items written)");
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "scim@example.com", "active": true,
                      "name": {"givenName": "S", "familyName": "C"}, "emails": [{"value": "scim@example.com", "primary": true}]});
    let u = call(
        &app,
        "SCIM POST /Users",
        "POST",
        &format!("/orgs/{org}/scim/v2/Users"),
        &scim,
        Some(user),
    )
    .await?;
    let id = u["id"].as_str().unwrap_or_default().to_string();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": false}}]});
    call(
        &app,
        "SCIM PATCH /Users/{id} active=false",
        "PATCH",
        &format!("/orgs/{org}/scim/v2/Users/{id}"),
        &scim,
        Some(patch),
    )
    .await?;

    println!("== walk of {n_events} events, limit=100");
    let walk_org = format!("walk-{}", shared::tokens::random_hex(4));
    app.store.bulk_import_events(&walk_org, n_events, 1).await?;
    let before = app.store.stats().snapshot();
    let mut cursor: Option<String> = None;
    let mut seen = 0u64;
    let mut pages = 0u64;
    loop {
        let mut path = format!("/api/v1/events?org={walk_org}&limit=100");
        if let Some(c) = &cursor {
            path.push_str(&format!("&after={c}"));
        }
        let Ok(resp) = app.handle(None, event("GET", &path, &key, None)?).await;
        let v: Value = match resp.body() {
            lambda_http::Body::Text(t) => serde_json::from_str(t)?,
            _ => Value::Null,
        };
        pages += 1;
        seen += v["data"].as_array().map(|d| d.len() as u64).unwrap_or(0);
        cursor = v["next_cursor"].as_str().map(str::to_string);
        if v["has_more"] != json!(true) {
            break;
        }
    }
    let after = app.store.stats().snapshot();
    println!(
        "events read {seen} in {pages} calls: round trips {} (2 per call: key + query), items read {} (key items {pages} + events {seen})",
        after.0 - before.0,
        after.1 - before.1
    );
    Ok(())
}
