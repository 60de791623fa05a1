//! The management API end to end on the local stack (`ssoctl local serve`, real HTTP): an API key
//! from the CLI → create an org → Okta-shaped SCIM pushes → directory reads and the org's events
//! in order with cursors → `ssoctl events`.

use std::process::Command;

use serde_json::{json, Value};

use crate::support::{local_stack, require_local_dynamodb, unique_org};

fn ssoctl(table: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_ssoctl"))
        .args(args)
        .env("TABLE_NAME", table)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
    content_type: &str,
) -> (u16, Value) {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.header("content-type", content_type).body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_app_creates_an_org_reads_what_okta_pushed_and_follows_its_events_over_http() {
    require_local_dynamodb();
    let table = format!("sso-api-e2e-{}", std::process::id());
    let (base, _guard) = local_stack(&table, &unique_org("demo"));
    let key: Value =
        serde_json::from_slice(&ssoctl(&table, &["api-key", "create", &unique_org("app")]))
            .unwrap();
    let key = key["api_key"].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    let api = format!("{base}/api/v1");
    use reqwest::Method;

    let org = unique_org("acme");
    let (s, created) = send(
        &http,
        Method::POST,
        &format!("{api}/orgs"),
        &key,
        Some(json!({"org": org, "base_url": base})),
        "application/json",
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let scim = created["scim_token"].as_str().unwrap().to_string();
    let scim_base = created["scim_base_url"].as_str().unwrap().to_string();

    // What Okta sends: POST /Users, PATCH active=false, POST /Groups with members, PATCH add.
    let user = |name: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("{name}@example.com"),
            "name": {"givenName": name, "familyName": "Okta"},
            "emails": [{"primary": true, "value": format!("{name}@example.com"), "type": "work"}],
            "active": true, "externalId": format!("00u{name}"),
        })
    };
    let mut ids = Vec::new();
    for name in ["ada", "bob", "cy"] {
        let (s, u) = send(
            &http,
            Method::POST,
            &format!("{scim_base}/Users"),
            &scim,
            Some(user(name)),
            "application/scim+json",
        )
        .await;
        assert_eq!(s, 201, "{u}");
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let (s, _) = send(
        &http,
        Method::PATCH,
        &format!("{scim_base}/Users/{}", ids[2]),
        &scim,
        Some(deactivate),
        "application/scim+json",
    )
    .await;
    assert_eq!(s, 200);
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering",
        "members": [{"value": ids[0]}]});
    let (s, g) = send(
        &http,
        Method::POST,
        &format!("{scim_base}/Groups"),
        &scim,
        Some(group),
        "application/scim+json",
    )
    .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": ids[1]}]}]});
    let (s, _) = send(
        &http,
        Method::PATCH,
        &format!("{scim_base}/Groups/{gid}"),
        &scim,
        Some(add),
        "application/scim+json",
    )
    .await;
    assert!(s == 200 || s == 204, "{s}");

    // Directory reads.
    let (s, active) = send(
        &http,
        Method::GET,
        &format!("{api}/orgs/{org}/users?active=true"),
        &key,
        None,
        "",
    )
    .await;
    assert_eq!(s, 200);
    let mut names: Vec<&str> = active["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["ada@example.com", "bob@example.com"]);
    let (_, ada) = send(
        &http,
        Method::GET,
        &format!("{api}/orgs/{org}/users/{}", ids[0]),
        &key,
        None,
        "",
    )
    .await;
    assert_eq!(
        ada["groups"],
        json!([{"id": gid, "displayName": "Engineering"}])
    );
    assert_eq!(ada["externalId"], "00uada");
    let (_, members) = send(
        &http,
        Method::GET,
        &format!("{api}/orgs/{org}/groups/{gid}/members?limit=1"),
        &key,
        None,
        "",
    )
    .await;
    assert_eq!(members["data"].as_array().unwrap().len(), 1);
    assert!(members["next_cursor"].is_string());

    // Events in order, two at a time.
    let mut cursor: Option<String> = None;
    let mut types = Vec::new();
    for _ in 0..50 {
        let mut url = format!("{api}/events?org={org}&limit=2");
        if let Some(c) = &cursor {
            url.push_str(&format!("&after={c}"));
        }
        let (s, page) = send(&http, Method::GET, &url, &key, None, "").await;
        assert_eq!(s, 200, "{page}");
        types.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["type"].as_str().unwrap().to_string()),
        );
        cursor = page["next_cursor"].as_str().map(str::to_string);
        if page["has_more"] == json!(false) {
            break;
        }
    }
    assert_eq!(
        types,
        [
            "org.created",
            "user.created",
            "user.created",
            "user.created",
            "user.deactivated",
            "group.created",
            "group.member_added",
            "group.member_added"
        ]
    );

    // The CLI prints the same feed, one object per line.
    let lines = String::from_utf8(ssoctl(&table, &["events", "--org", &org])).unwrap();
    let cli: Vec<String> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(cli, types);
}
