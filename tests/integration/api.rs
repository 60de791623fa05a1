//! The management API (`/api/v1`, docs/api.md), driven by API Gateway HTTP API v2 events.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use shared::routes::Function;
use shared::saml::test_idp::idp_certificate;
use shared::store::{DynamoStore, GroupStore, NewUser, Session, SessionStore, UserStore};
use shared::App;

use crate::support::{app, body_json, event, table_name, unique_org};

async fn call(
    app: &App<DynamoStore>,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<(&str, &str)>,
) -> (u16, Value) {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    if let Some((ct, _)) = body {
        headers.push(("content-type", ct));
    }
    let req = event(method, path, &headers, body.map(|(_, b)| b));
    let Ok(resp) = app.handle(Some(Function::Api), req).await;
    let status = resp.status().as_u16();
    let v = if status == 204 {
        Value::Null
    } else {
        assert_eq!(resp.headers()["content-type"], "application/json");
        body_json(&resp)
    };
    (status, v)
}

async fn api_key(app: &App<DynamoStore>) -> String {
    let out = ssoctl::api_keys::create(&app.store, &unique_org("key"), 1)
        .await
        .unwrap();
    out["api_key"].as_str().unwrap().to_string()
}

fn json_body(v: &Value) -> String {
    v.to_string()
}

async fn create_org(app: &App<DynamoStore>, key: &str) -> (String, Value) {
    let org = unique_org("api");
    let body = json_body(&json!({"org": org, "base_url": "https://sso.example.com"}));
    let (status, v) = call(
        app,
        "POST",
        "/api/v1/orgs",
        Some(key),
        Some(("application/json", &body)),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    (org, v)
}

fn assert_error(status: u16, v: &Value, want_status: u16, code: &str) {
    assert_eq!(status, want_status, "{v}");
    assert_eq!(v["error"], code, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
}

#[tokio::test]
async fn requests_without_a_valid_api_key_are_refused_and_a_revoked_key_at_once() {
    let app = app().await;
    let name = unique_org("key");
    let created = ssoctl::api_keys::create(&app.store, &name, 1)
        .await
        .unwrap();
    let key = created["api_key"].as_str().unwrap();
    assert!(created["id"].as_str().is_some());
    let (s, v) = call(&app, "GET", "/api/v1/orgs", None, None).await;
    assert_error(s, &v, 401, "unauthorized");
    let wrong = format!("{key}x");
    let (s, v) = call(&app, "GET", "/api/v1/orgs", Some(&wrong), None).await;
    assert_error(s, &v, 401, "unauthorized");
    let (s, _) = call(&app, "GET", "/api/v1/orgs", Some(key), None).await;
    assert_eq!(s, 200);
    let listed = ssoctl::api_keys::list(&app.store).await.unwrap();
    assert!(!listed.to_string().contains(key), "list never shows a key");
    ssoctl::api_keys::revoke(&app.store, &name).await.unwrap();
    let (s, v) = call(&app, "GET", "/api/v1/orgs", Some(key), None).await;
    assert_error(s, &v, 401, "unauthorized");
}

#[tokio::test]
async fn a_scim_token_is_refused_on_the_api_and_an_api_key_on_scim() {
    let app = app().await;
    let key = api_key(&app).await;
    let (org, created) = create_org(&app, &key).await;
    let scim = created["scim_token"].as_str().unwrap();
    let (s, v) = call(
        &app,
        "GET",
        &format!("/api/v1/orgs/{org}"),
        Some(scim),
        None,
    )
    .await;
    assert_error(s, &v, 401, "unauthorized");
    let scim_call = |token: String| {
        let path = format!("/orgs/{org}/scim/v2/Users");
        let app = &app;
        async move {
            let auth = format!("Bearer {token}");
            let Ok(r) = app
                .handle(
                    None,
                    event("GET", &path, &[("authorization", auth.as_str())], None),
                )
                .await;
            r.status().as_u16()
        }
    };
    assert_eq!(scim_call(key.clone()).await, 401);
    assert_eq!(scim_call(scim.to_string()).await, 200);
}

#[tokio::test]
async fn orgs_are_created_shown_changed_rotated_and_refused_when_bad() {
    let app = app().await;
    let key = api_key(&app).await;
    let (org, created) = create_org(&app, &key).await;
    // Exactly the fields `ssoctl org create` prints.
    let cli = ssoctl::admin::create_org(
        &app.store,
        ssoctl::admin::CreateOrg {
            name: &unique_org("cli"),
            base_url: "https://sso.example.com",
            idp_metadata: None,
            provisioning: Default::default(),
            reactivation: Default::default(),
        },
        1,
    )
    .await
    .unwrap();
    let keys = |v: &Value| {
        v.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(keys(&created), keys(&cli));
    let body = json_body(&json!({"org": org, "base_url": "https://sso.example.com"}));
    let (s, v) = call(
        &app,
        "POST",
        "/api/v1/orgs",
        Some(&key),
        Some(("application/json", &body)),
    )
    .await;
    assert_error(s, &v, 409, "org_exists");
    for bad in [
        json!({"org": "Not A Name", "base_url": "https://x.example.com"}),
        json!({"org": "ok-name", "base_url": "ftp://x"}),
        json!({"org": "ok-name", "base_url": "https://x.example.com", "extra": 1}),
    ] {
        let body = json_body(&bad);
        let (s, v) = call(
            &app,
            "POST",
            "/api/v1/orgs",
            Some(&key),
            Some(("application/json", &body)),
        )
        .await;
        assert_error(s, &v, 400, "invalid_request");
    }
    let (s, v) = call(
        &app,
        "POST",
        "/api/v1/orgs",
        Some(&key),
        Some(("application/json", "{not json")),
    )
    .await;
    assert_error(s, &v, 400, "invalid_json");

    let path = format!("/api/v1/orgs/{org}");
    let (s, shown) = call(&app, "GET", &path, Some(&key), None).await;
    assert_eq!(s, 200);
    assert!(shown.get("scim_token").is_none());
    assert!(!shown
        .to_string()
        .contains(created["scim_token"].as_str().unwrap()));

    let body =
        json_body(&json!({"clock_skew": 60, "default_app_url": "https://app.example.com/home"}));
    let (s, v) = call(
        &app,
        "PATCH",
        &path,
        Some(&key),
        Some(("application/json", &body)),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["clock_skew_seconds"], 60);
    let body = json_body(&json!({"clock_skew": 6000}));
    let (s, v) = call(
        &app,
        "PATCH",
        &path,
        Some(&key),
        Some(("application/json", &body)),
    )
    .await;
    assert_error(s, &v, 400, "invalid_request");

    // Bad metadata: 400, nothing changed; good metadata installs the IdP.
    let idp = format!("{path}/idp");
    let (s, v) = call(
        &app,
        "PUT",
        &idp,
        Some(&key),
        Some(("application/xml", "<nope/>")),
    )
    .await;
    assert_error(s, &v, 400, "metadata_invalid");
    let (_, after) = call(&app, "GET", &path, Some(&key), None).await;
    assert_eq!(after["idp"], Value::Null);
    let cert = idp_certificate();
    let xml = format!(
        r#"<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://www.okta.com/exk1"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://example.okta.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
    );
    let (s, v) = call(
        &app,
        "PUT",
        &idp,
        Some(&key),
        Some(("application/samlmetadata+xml", &xml)),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["idp"]["entity_id"], "http://www.okta.com/exk1");
    let body = json_body(&json!({"metadata_url": "http://example.okta.com/metadata"}));
    let (s, v) = call(
        &app,
        "PUT",
        &idp,
        Some(&key),
        Some(("application/json", &body)),
    )
    .await;
    assert_error(s, &v, 400, "metadata_unreadable");

    // Rotation: the new token works on SCIM, the old one no longer.
    let old = created["scim_token"].as_str().unwrap().to_string();
    let (s, rotated) = call(
        &app,
        "POST",
        &format!("{path}/scim-token"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let scim_status = |token: String| {
        let path = format!("/orgs/{org}/scim/v2/Users");
        let app = &app;
        async move {
            let auth = format!("Bearer {token}");
            let Ok(r) = app
                .handle(
                    None,
                    event("GET", &path, &[("authorization", auth.as_str())], None),
                )
                .await;
            r.status().as_u16()
        }
    };
    assert_eq!(scim_status(old).await, 401);
    assert_eq!(
        scim_status(rotated["scim_token"].as_str().unwrap().to_string()).await,
        200
    );
}

#[tokio::test]
async fn bad_paging_unknown_routes_and_wrong_methods_get_json_errors() {
    let app = app().await;
    let key = api_key(&app).await;
    let (org, _) = create_org(&app, &key).await;
    let users = format!("/api/v1/orgs/{org}/users");
    for (q, code) in [
        ("limit=0", "invalid_limit"),
        ("limit=101", "invalid_limit"),
        ("cursor=garbage", "invalid_cursor"),
        ("active=maybe", "invalid_filter"),
        ("updated_since=yesterday", "invalid_filter"),
    ] {
        let (s, v) = call(&app, "GET", &format!("{users}?{q}"), Some(&key), None).await;
        assert_error(s, &v, 400, code);
    }
    // A cursor of another org's listing is not accepted here.
    let (other, _) = create_org(&app, &key).await;
    for _ in 0..2 {
        app.store
            .create_user(&other, new_user(&unique_org("u")), 1)
            .await
            .unwrap();
    }
    let (_, page) = call(
        &app,
        "GET",
        &format!("/api/v1/orgs/{other}/users?limit=1"),
        Some(&key),
        None,
    )
    .await;
    let c = page["next_cursor"].as_str().unwrap();
    let (s, v) = call(
        &app,
        "GET",
        &format!("{users}?cursor={c}"),
        Some(&key),
        None,
    )
    .await;
    assert_error(s, &v, 400, "invalid_cursor");
    let (s, v) = call(&app, "GET", "/api/v1/nothing/here", Some(&key), None).await;
    assert_error(s, &v, 404, "no_route");
    let (s, v) = call(&app, "DELETE", &users, Some(&key), None).await;
    assert_error(s, &v, 405, "method_not_allowed");
    let (s, v) = call(
        &app,
        "GET",
        "/api/v1/orgs/no-such-org/users",
        Some(&key),
        None,
    )
    .await;
    assert_error(s, &v, 404, "org_not_found");
    let (s, v) = call(&app, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, 200);
    assert_eq!(v["openapi"], "3.1.0");
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        user_name: format!("{name}@example.com"),
        external_id: None,
        active: true,
        attributes: json!({
            "name": {"givenName": "G", "familyName": "F"},
            "emails": [{"value": format!("{name}@mail.example.com"), "primary": true}],
        }),
    }
}

/// Walks a listing to the end, `limit` at a time, calling `between` after each page.
async fn walk(
    app: &App<DynamoStore>,
    key: &str,
    path: &str,
    limit: usize,
    mut between: impl AsyncFnMut(),
) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let (s, v) = call(app, "GET", &url, Some(key), None).await;
        assert_eq!(s, 200, "{v}");
        let data = v["data"].as_array().unwrap();
        assert!(data.len() <= limit);
        all.extend(data.iter().cloned());
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return all,
        }
        between().await;
    }
    panic!("the walk did not end");
}

#[tokio::test]
async fn a_user_walk_returns_every_user_once_while_users_are_being_created() {
    let app = app().await;
    let key = api_key(&app).await;
    let (org, _) = create_org(&app, &key).await;
    let mut before = BTreeSet::new();
    for i in 0..7 {
        let u = app
            .store
            .create_user(&org, new_user(&format!("u{i}")), 100 + i)
            .await
            .unwrap();
        before.insert(u.id);
    }
    let mut n = 0;
    let store = app.store.clone();
    let org2 = org.clone();
    let seen = walk(
        &app,
        &key,
        &format!("/api/v1/orgs/{org}/users"),
        3,
        async || {
            n += 1;
            store
                .create_user(&org2, new_user(&format!("late{n}")), 500)
                .await
                .unwrap();
        },
    )
    .await;
    let ids: Vec<String> = seen
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "no user twice: {ids:?}");
    assert!(
        before.is_subset(&unique),
        "every user that existed throughout"
    );
    let u = &seen[0];
    for field in [
        "id",
        "userName",
        "email",
        "active",
        "name",
        "externalId",
        "attributes",
        "created",
        "updated",
    ] {
        assert!(u.get(field).is_some(), "{field} in {u}");
    }

    // Filters.
    let victim = before.iter().next().unwrap().clone();
    let mut user = app.store.get_user(&org, &victim).await.unwrap().unwrap();
    user.active = false;
    app.store.update_user(&org, &user, 900).await.unwrap();
    let inactive = walk(
        &app,
        &key,
        &format!("/api/v1/orgs/{org}/users?active=false"),
        100,
        async || {},
    )
    .await;
    assert_eq!(inactive.len(), 1);
    assert_eq!(inactive[0]["id"], victim.as_str());
    let recent = walk(
        &app,
        &key,
        &format!("/api/v1/orgs/{org}/users?updated_since=1970-01-01T00:08:20Z"),
        100,
        async || {},
    )
    .await;
    assert!(recent
        .iter()
        .all(|u| u["updated"].as_str().unwrap() >= "1970-01-01T00:08:20Z"));
    assert!(recent.iter().any(|u| u["id"] == victim.as_str()));
    assert!(recent.len() < seen.len());
    let email = inactive[0]["email"].as_str().unwrap().to_uppercase();
    let by_email = walk(
        &app,
        &key,
        &format!("/api/v1/orgs/{org}/users?email={email}"),
        100,
        async || {},
    )
    .await;
    assert_eq!(by_email.len(), 1);
    assert_eq!(by_email[0]["id"], victim.as_str());
}

#[tokio::test]
async fn users_show_their_groups_and_groups_list_their_members() {
    let app = app().await;
    let key = api_key(&app).await;
    let (org, _) = create_org(&app, &key).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.store
                .create_user(&org, new_user(&format!("m{i}")), 1)
                .await
                .unwrap()
                .id,
        );
    }
    let g = app
        .store
        .create_group(&org, "Engineering", None, 1)
        .await
        .unwrap();
    let other = app
        .store
        .create_group(&org, "Sales", None, 1)
        .await
        .unwrap();
    app.store
        .add_members(&org, &g.id, &ids[..4], 2)
        .await
        .unwrap();
    app.store
        .add_members(&org, &other.id, &ids[..1], 2)
        .await
        .unwrap();
    let (s, u) = call(
        &app,
        "GET",
        &format!("/api/v1/orgs/{org}/users/{}", ids[0]),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let names: Vec<&str> = u["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Engineering", "Sales"]);
    let members = walk(
        &app,
        &key,
        &format!("/api/v1/orgs/{org}/groups/{}/members", g.id),
        3,
        async || {},
    )
    .await;
    let got: BTreeSet<&str> = members.iter().map(|m| m["id"].as_str().unwrap()).collect();
    let want: BTreeSet<&str> = ids[..4].iter().map(String::as_str).collect();
    assert_eq!(got, want);
    let groups = walk(
        &app,
        &key,
        &format!("/api/v1/orgs/{org}/groups"),
        1,
        async || {},
    )
    .await;
    assert_eq!(groups.len(), 2);
    let (s, one) = call(
        &app,
        "GET",
        &format!("/api/v1/orgs/{org}/groups/{}", g.id),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(one["displayName"], "Engineering");
    let (s, v) = call(
        &app,
        "GET",
        &format!("/api/v1/orgs/{org}/users/nobody"),
        Some(&key),
        None,
    )
    .await;
    assert_error(s, &v, 404, "not_found");
}

#[tokio::test]
async fn a_deleted_org_answers_404_everywhere_its_sessions_end_and_its_data_goes() {
    let app = app().await;
    let key = api_key(&app).await;
    let (org, created) = create_org(&app, &key).await;
    let scim = created["scim_token"].as_str().unwrap().to_string();
    let user = app
        .store
        .create_user(&org, new_user("gone"), 1)
        .await
        .unwrap();
    let g = app.store.create_group(&org, "G", None, 1).await.unwrap();
    app.store
        .add_members(&org, &g.id, std::slice::from_ref(&user.id), 1)
        .await
        .unwrap();
    let token = shared::tokens::Secret::generate("sess");
    let now = app.now();
    app.store
        .create_session(
            &org,
            &Session {
                token_hash: token.hash().into_string(),
                user_id: user.id.clone(),
                created_at: now,
                expires_at: now + 3600,
            },
        )
        .await
        .unwrap();
    let session_status = async |app: &App<DynamoStore>| {
        let auth = format!("Bearer {}", token.expose());
        let Ok(r) = app
            .handle(
                None,
                event(
                    "GET",
                    &format!("/orgs/{org}/session"),
                    &[("authorization", auth.as_str())],
                    None,
                ),
            )
            .await;
        r.status().as_u16()
    };
    assert_eq!(session_status(&app).await, 200);
    // Warm the org cache, as a busy Lambda would have it.
    let Ok(_) = app
        .handle(
            None,
            event("GET", &format!("/orgs/{org}/saml/metadata"), &[], None),
        )
        .await;

    let (s, _) = call(
        &app,
        "DELETE",
        &format!("/api/v1/orgs/{org}"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(session_status(&app).await, 404);
    for path in [
        format!("/api/v1/orgs/{org}"),
        format!("/api/v1/orgs/{org}/users"),
        format!("/api/v1/orgs/{org}/groups/{}", g.id),
    ] {
        let (s, v) = call(&app, "GET", &path, Some(&key), None).await;
        assert_error(s, &v, 404, "org_not_found");
    }
    let (s, _) = call(
        &app,
        "DELETE",
        &format!("/api/v1/orgs/{org}"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let auth = format!("Bearer {scim}");
    let Ok(r) = app
        .handle(
            None,
            event(
                "GET",
                &format!("/orgs/{org}/scim/v2/Users"),
                &[("authorization", auth.as_str())],
                None,
            ),
        )
        .await;
    assert_eq!(r.status(), 404);
    // The purge (finished within the DELETE for an org this small) left nothing of the org.
    shared::api::purge_pending(&app.store, 100).await;
    assert_eq!(app.store.get_user(&org, &user.id).await.unwrap(), None);
    assert!(app
        .store
        .get_session(&org, token.hash().as_str(), now)
        .await
        .unwrap()
        .is_none());
    assert!(app
        .store
        .groups_of_user(&org, &user.id)
        .await
        .unwrap()
        .is_empty());
    // The name is free again.
    let body = json_body(&json!({"org": org, "base_url": "https://sso.example.com"}));
    let (s, _) = call(
        &app,
        "POST",
        "/api/v1/orgs",
        Some(&key),
        Some(("application/json", &body)),
    )
    .await;
    assert_eq!(s, 201);
    let (_, users) = call(
        &app,
        "GET",
        &format!("/api/v1/orgs/{org}/users"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(users["data"], json!([]));
}

/// Every event of `org` after `cursor`, walking `limit` at a time; and the cursor to continue.
async fn org_events(
    app: &App<DynamoStore>,
    key: &str,
    org: &str,
    cursor: Option<String>,
    limit: usize,
) -> (Vec<Value>, Option<String>) {
    let mut all = Vec::new();
    let mut cursor = cursor;
    for _ in 0..1000 {
        let mut url = format!("/api/v1/events?org={org}&limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&after={c}"));
        }
        let (s, v) = call(app, "GET", &url, Some(key), None).await;
        assert_eq!(s, 200, "{v}");
        let data = v["data"].as_array().unwrap();
        assert!(data.len() <= limit);
        all.extend(data.iter().cloned());
        cursor = v["next_cursor"].as_str().map(str::to_string);
        if v["has_more"] == json!(false) {
            return (all, cursor);
        }
    }
    panic!("the event walk did not end");
}

fn types_of(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn every_directory_change_has_its_event_in_order_and_after_returns_only_newer_ones() {
    let app = app().await;
    let key = api_key(&app).await;
    let (org, _) = create_org(&app, &key).await;
    let a = app
        .store
        .create_user(&org, new_user("ev-a"), 10)
        .await
        .unwrap();
    let b = app
        .store
        .create_user(&org, new_user("ev-b"), 11)
        .await
        .unwrap();
    let mut a2 = a.clone();
    a2.attributes["title"] = json!("CTO");
    let a2 = app.store.update_user(&org, &a2, 12).await.unwrap();
    let mut a3 = a2.clone();
    a3.active = false;
    let a3 = app.store.update_user(&org, &a3, 13).await.unwrap();
    let mut a4 = a3.clone();
    a4.active = true;
    app.store.update_user(&org, &a4, 14).await.unwrap();
    let g = app
        .store
        .create_group_with_members(&org, "Ops", None, std::slice::from_ref(&a.id), 15)
        .await
        .unwrap();
    app.store
        .add_members(&org, &g.id, std::slice::from_ref(&b.id), 16)
        .await
        .unwrap();
    // Removing a non-member changes nothing and writes no event.
    app.store
        .remove_members(&org, &g.id, &[b.id.clone(), "not-a-member".into()])
        .await
        .unwrap();
    let mut g2 = g.clone();
    g2.display_name = "Operations".into();
    app.store.update_group(&org, &g2, 17).await.unwrap();
    app.store.delete_group(&org, &g.id, None).await.unwrap();
    app.store.delete_user(&org, &b.id, None).await.unwrap();

    let (events, cursor) = org_events(&app, &key, &org, None, 3).await;
    assert_eq!(
        types_of(&events),
        [
            "org.created",
            "user.created",
            "user.created",
            "user.updated",
            "user.deactivated",
            "user.reactivated",
            "group.created",
            "group.member_added",
            "group.member_added",
            "group.member_removed",
            "group.updated",
            "group.deleted",
            "user.deleted",
        ]
    );
    let ids: BTreeSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "no event twice");
    assert!(events.iter().all(|e| e["org"] == org.as_str()));
    assert_eq!(events[1]["data"]["id"], a.id.as_str());
    assert_eq!(events[1]["data"]["userName"], a.user_name.as_str());
    assert_eq!(events[8]["data"]["user"]["userName"], b.user_name.as_str());
    assert_eq!(events[8]["data"]["group"]["displayName"], "Ops");
    assert_eq!(events[4]["data"]["active"], false);

    // Caught up: nothing new until the next change, then exactly it.
    let (none, cursor) = org_events(&app, &key, &org, cursor, 10).await;
    assert!(none.is_empty(), "{none:?}");
    app.store
        .create_user(&org, new_user("ev-c"), 20)
        .await
        .unwrap();
    let (one, _) = org_events(&app, &key, &org, cursor, 10).await;
    assert_eq!(types_of(&one), ["user.created"]);

    // Filtered by type.
    let (s, v) = call(
        &app,
        "GET",
        &format!("/api/v1/events?org={org}&types=user.deactivated,user.reactivated"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        types_of(v["data"].as_array().unwrap()),
        ["user.deactivated", "user.reactivated"]
    );
    let (s, v) = call(
        &app,
        "GET",
        "/api/v1/events?types=user.exploded",
        Some(&key),
        None,
    )
    .await;
    assert_error(s, &v, 400, "invalid_types");
}

#[tokio::test]
async fn concurrent_changes_of_one_org_get_distinct_increasing_sequence_numbers() {
    let app = std::sync::Arc::new(app().await);
    let key = api_key(&app).await;
    let (org, _) = create_org(&app, &key).await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let app = app.clone();
        let org = org.clone();
        tasks.push(tokio::spawn(async move {
            app.store
                .create_user(&org, new_user(&format!("race{i}")), 30)
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (events, _) = org_events(&app, &key, &org, None, 100).await;
    let seqs: Vec<u64> = events
        .iter()
        .map(|e| {
            e["id"]
                .as_str()
                .unwrap()
                .rsplit('_')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    // Time-ordered numbers (store/dynamo/events.rs): increasing in the order the changes
    // committed, each once; not consecutive.
    assert_eq!(seqs.len(), 7, "{seqs:?}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(
        types_of(&events)
            .iter()
            .filter(|t| **t == "user.created")
            .count(),
        6
    );
}

#[tokio::test]
async fn org_admin_changes_and_deletion_are_events_and_the_deletion_stays_readable() {
    let app = app().await;
    let key = api_key(&app).await;
    let (org, _) = create_org(&app, &key).await;
    let path = format!("/api/v1/orgs/{org}");
    let (s, _) = call(
        &app,
        "POST",
        &format!("{path}/scim-token"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let cert = idp_certificate();
    let xml = format!(
        r#"<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://www.okta.com/exk2"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor></md:EntityDescriptor>"#
    );
    let (s, v) = call(
        &app,
        "PUT",
        &format!("{path}/idp"),
        Some(&key),
        Some(("application/xml", &xml)),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let body = json_body(&json!({"clock_skew": 30}));
    let (s, _) = call(
        &app,
        "PATCH",
        &path,
        Some(&key),
        Some(("application/json", &body)),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call(&app, "DELETE", &path, Some(&key), None).await;
    assert_eq!(s, 204);
    shared::api::purge_pending(&app.store, 100).await;
    let (events, _) = org_events(&app, &key, &org, None, 100).await;
    assert_eq!(
        types_of(&events),
        [
            "org.created",
            "scim_token.rotated",
            "connection.updated",
            "org.deleted"
        ]
    );
}

#[tokio::test]
async fn the_cross_org_feed_holds_each_orgs_events_in_order_once_settled() {
    let app = app().await;
    let key = api_key(&app).await;
    let (a, _) = create_org(&app, &key).await;
    let (b, _) = create_org(&app, &key).await;
    for i in 0..3 {
        app.store
            .create_user(&a, new_user(&format!("xa{i}")), 1)
            .await
            .unwrap();
        app.store
            .create_user(&b, new_user(&format!("xb{i}")), 1)
            .await
            .unwrap();
    }
    // Not before the settle window has passed (docs/api.md: in-flight transactions).
    let settle = std::time::Duration::from_millis(shared::events::SETTLE_MS as u64 + 1500);
    tokio::time::sleep(settle).await;
    let mut cursor: Option<String> = None;
    let mut mine = Vec::new();
    for _ in 0..100_000 {
        let mut url = "/api/v1/events?limit=100".to_string();
        if let Some(c) = &cursor {
            url.push_str(&format!("&after={c}"));
        }
        let (s, v) = call(&app, "GET", &url, Some(&key), None).await;
        assert_eq!(s, 200, "{v}");
        for e in v["data"].as_array().unwrap() {
            if e["org"] == a.as_str() || e["org"] == b.as_str() {
                mine.push(e.clone());
            }
        }
        cursor = v["next_cursor"].as_str().map(str::to_string);
        if v["has_more"] == json!(false) {
            break;
        }
    }
    for org in [&a, &b] {
        let seqs: Vec<u64> = mine
            .iter()
            .filter(|e| e["org"] == org.as_str())
            .map(|e| {
                e["id"]
                    .as_str()
                    .unwrap()
                    .rsplit('_')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        // Each org's events in the order of its own feed, every one once.
        let (own, _) = org_events(&app, &key, org, None, 100).await;
        let own: Vec<u64> = own.iter().map(seq_of).collect();
        assert_eq!(seqs, own, "{org}");
        assert_eq!(seqs.len(), 4, "{org}");
    }
}

/// The sequence number of an event (the end of its id, `evt_{org}_{seq:020}`).
fn seq_of(e: &Value) -> u64 {
    e["id"]
        .as_str()
        .unwrap()
        .rsplit('_')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_change_whose_number_is_below_the_orgs_counter_is_renumbered_above_it_and_not_lost() {
    let app = app().await;
    let key = api_key(&app).await;
    let (org, _) = create_org(&app, &key).await;
    let (seen, cursor) = org_events(&app, &key, &org, None, 100).await;
    assert_eq!(types_of(&seen), ["org.created"]);
    // Another Lambda whose clock runs an hour ahead has committed: the counter is far above
    // any number this process would take now.
    let ahead = (seq_of(&seen[0]) >> 10).saturating_add(3_600_000) << 10;
    app.store
        .client()
        .update_item()
        .table_name(table_name())
        .key("pk", AttributeValue::S(format!("ORG#{org}#EVENTS")))
        .key("sk", AttributeValue::S("SEQ".into()))
        .update_expression("SET seq = :s")
        .expression_attribute_values(":s", AttributeValue::N(ahead.to_string()))
        .send()
        .await
        .unwrap();
    app.store
        .create_user(&org, new_user("behind"), 40)
        .await
        .unwrap();
    // A reader continuing where it stopped gets the change, numbered above the counter.
    let (newer, _) = org_events(&app, &key, &org, cursor, 100).await;
    assert_eq!(types_of(&newer), ["user.created"]);
    assert!(seq_of(&newer[0]) > ahead, "{}", newer[0]["id"]);
}
