//! Okta's documented SCIM 2.0 request sequence (its "SCIM 2.0 protocol reference" and the public
//! SCIM spec test Okta asks integrators to pass), replayed over real HTTP against the local stack
//! (`ssoctl local serve` on moto), with the headers and bodies Okta sends.

use std::process::Command;

use serde_json::{json, Value};

use crate::scim::{filter_path, okta_user, ERROR, GROUP, PATCH_OP};
use crate::support::{local_stack, require_local_dynamodb, unique_org};

struct Okta {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Okta {
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .request(method.parse().unwrap(), url)
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Accept", "application/scim+json")
            .header("Accept-Charset", "utf-8")
            .header("User-Agent", "Okta SCIM Client 1.0.0");
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/scim+json; charset=utf-8")
                .body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        if text.is_empty() {
            return (status, Value::Null);
        }
        assert_eq!(
            ct.as_deref(),
            Some("application/scim+json"),
            "{method} {path}"
        );
        (status, serde_json::from_str(&text).unwrap())
    }
}

fn assert_list(v: &Value) {
    assert_eq!(
        v["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    for k in ["totalResults", "startIndex", "itemsPerPage"] {
        assert!(v[k].is_u64(), "{k} is a number in {v}");
    }
}

#[tokio::test]
async fn okta_spec_test_and_protocol_reference_sequence_passes_on_the_local_stack() {
    require_local_dynamodb();
    let table = format!("sso-replay-{}", std::process::id());
    let (base, _guard) = local_stack(&table, &unique_org("replaydemo"));
    let org = unique_org("replay");
    let out = Command::new(env!("CARGO_BIN_EXE_ssoctl"))
        .args(["org", "create", &org, "--base-url", &base])
        .env("TABLE_NAME", &table)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let okta = Okta {
        http: reqwest::Client::new(),
        base: created["scim_base_url"].as_str().unwrap().to_string(),
        token: created["scim_token"].as_str().unwrap().to_string(),
    };

    // Connection test: ServiceProviderConfig, then a first page of users and groups.
    let (st, spc) = okta.send("GET", "/ServiceProviderConfig", None).await;
    assert_eq!((st, spc["patch"]["supported"].as_bool()), (200, Some(true)));
    let seed = okta
        .send(
            "POST",
            "/Users",
            Some(okta_user("existing.user@okta.local")),
        )
        .await;
    assert_eq!(seed.0, 201);
    let (st, page) = okta.send("GET", "/Users?count=2&startIndex=1", None).await;
    assert_eq!(st, 200);
    assert_list(&page);
    assert!(!page["Resources"].as_array().unwrap().is_empty());
    let (st, groups) = okta
        .send("GET", "/Groups?count=100&startIndex=1", None)
        .await;
    assert_eq!(st, 200);
    assert_list(&groups);
    let (_, one) = okta.send("GET", "/Users?count=1&startIndex=1", None).await;
    let first = &one["Resources"][0];
    assert!(
        first["id"].is_string()
            && first["userName"].is_string()
            && first["name"]["familyName"].is_string()
    );

    // Existence check for a user that does not exist yet, then create, then duplicate.
    let user_name = format!("{}@okta.local", unique_org("u"));
    let (st, none) = okta
        .send(
            "GET",
            &filter_path(
                "Users",
                &format!(r#"userName eq "{user_name}""#),
                "&startIndex=1&count=100",
            ),
            None,
        )
        .await;
    assert_eq!((st, none["totalResults"].as_u64()), (200, Some(0)));
    let (st, user) = okta
        .send("POST", "/Users", Some(okta_user(&user_name)))
        .await;
    assert_eq!(st, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_string();
    assert_eq!(
        (user["active"].as_bool(), user["userName"].as_str()),
        (Some(true), Some(user_name.as_str()))
    );
    assert!(user.get("password").is_none());
    let (st, dup) = okta
        .send("POST", "/Users", Some(okta_user(&user_name)))
        .await;
    assert_eq!(
        (st, dup["scimType"].as_str(), dup["schemas"][0].as_str()),
        (409, Some("uniqueness"), Some(ERROR))
    );

    // Get by id; filter in another case; unknown id.
    let (st, got) = okta.send("GET", &format!("/Users/{id}"), None).await;
    assert_eq!((st, got["id"].as_str()), (200, Some(id.as_str())));
    let (_, upper) = okta
        .send(
            "GET",
            &filter_path(
                "Users",
                &format!(r#"userName eq "{}""#, user_name.to_uppercase()),
                "&startIndex=1&count=100",
            ),
            None,
        )
        .await;
    assert_eq!(
        (
            upper["totalResults"].as_u64(),
            upper["Resources"][0]["id"].as_str()
        ),
        (Some(1), Some(id.as_str()))
    );
    let (st, missing) = okta.send("GET", "/Users/010101", None).await;
    assert_eq!((st, missing["schemas"][0].as_str()), (404, Some(ERROR)));

    // Profile push: Okta PUTs the full object it read.
    let mut full = got.clone();
    full["name"]["givenName"] = json!("Changed");
    full["password"] = json!("newpass1");
    let (st, put) = okta.send("PUT", &format!("/Users/{id}"), Some(full)).await;
    assert_eq!(
        (st, put["name"]["givenName"].as_str()),
        (200, Some("Changed"))
    );
    assert!(put.get("password").is_none());

    // Group push: existence check, create, member add, member remove, rename.
    let (_, gnone) = okta
        .send(
            "GET",
            &filter_path(
                "Groups",
                r#"displayName eq "Replay Team""#,
                "&excludedAttributes=members&startIndex=1&count=100",
            ),
            None,
        )
        .await;
    assert_eq!(gnone["totalResults"], 0);
    let (st, group) = okta
        .send(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Replay Team", "members": []})),
        )
        .await;
    assert_eq!(st, 201, "{group}");
    let gid = group["id"].as_str().unwrap().to_string();
    let seed_id = seed.1["id"].as_str().unwrap().to_string();
    let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": id, "display": user_name}, {"value": seed_id, "display": "existing"}]}]});
    assert_eq!(
        okta.send("PATCH", &format!("/Groups/{gid}"), Some(add))
            .await
            .0,
        204
    );
    let (_, user_now) = okta.send("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(user_now["groups"][0]["value"], gid.as_str());
    let rm = json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": format!("members[value eq \"{seed_id}\"]")}]});
    assert_eq!(
        okta.send("PATCH", &format!("/Groups/{gid}"), Some(rm))
            .await
            .0,
        204
    );
    let rename = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"id": gid, "displayName": "Replay Team 2"}}]});
    assert_eq!(
        okta.send("PATCH", &format!("/Groups/{gid}"), Some(rename))
            .await
            .0,
        204
    );
    let (st, g) = okta.send("GET", &format!("/Groups/{gid}"), None).await;
    assert_eq!(
        (st, g["displayName"].as_str()),
        (200, Some("Replay Team 2"))
    );
    assert_eq!(
        g["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec![id.as_str()]
    );
    let (_, gx) = okta
        .send(
            "GET",
            &format!("/Groups/{gid}?excludedAttributes=members"),
            None,
        )
        .await;
    assert!(gx.get("members").is_none());

    // Deactivation (Okta's PATCH shape); the user is still readable, inactive.
    let off = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": false}}]});
    let (st, offr) = okta.send("PATCH", &format!("/Users/{id}"), Some(off)).await;
    assert_eq!((st, offr["active"].as_bool()), (200, Some(false)));
    let (st, after) = okta.send("GET", &format!("/Users/{id}"), None).await;
    assert_eq!((st, after["active"].as_bool()), (200, Some(false)));

    // Group delete, user delete.
    assert_eq!(
        okta.send("DELETE", &format!("/Groups/{gid}"), None).await.0,
        204
    );
    assert_eq!(
        okta.send("GET", &format!("/Groups/{gid}"), None).await.0,
        404
    );
    assert_eq!(
        okta.send("DELETE", &format!("/Users/{id}"), None).await.0,
        204
    );
    assert_eq!(okta.send("GET", &format!("/Users/{id}"), None).await.0, 404);
}
