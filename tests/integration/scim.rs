//! SCIM Users and Groups through `App::handle`, from the API Gateway HTTP API events Lambda
//! receives, against the DynamoDB API (moto).

use std::sync::Arc;

use serde_json::{json, Value};
use shared::org::{Org, Reactivation};
use shared::routes::Function;
use shared::store::{
    DynamoStore, GroupStore, MemoryStore, Session, SessionStore, Store, UserStore,
};
use shared::tokens::Secret;
use shared::App;

use crate::support::{app, body_json, body_text, event, memory_app, unique_org};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:okta-sso:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// An org with a SCIM token, and a way to call its SCIM API as Okta does: on the in-memory store
/// unless the test is about DynamoDB's behaviour ([`Scim::on_dynamo`]).
pub struct Scim<S = MemoryStore> {
    pub app: Arc<App<S>>,
    pub org: String,
    bearer: String,
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: http::HeaderMap,
}

impl Scim {
    pub async fn new(reactivation: Reactivation) -> Scim {
        Scim::with_app(Arc::new(memory_app()), reactivation).await
    }
}

impl Scim<DynamoStore> {
    /// On the local DynamoDB-API server: for what only DynamoDB can show (concurrent writers'
    /// conditional writes, read capacity).
    pub async fn on_dynamo(reactivation: Reactivation) -> Scim<DynamoStore> {
        Scim::with_app(Arc::new(app().await), reactivation).await
    }
}

impl<S: Store + 'static> Scim<S> {
    /// A second org with a token of its own, on the same app and store.
    pub async fn another_org(&self) -> Scim<S> {
        Scim::with_app(self.app.clone(), Reactivation::Restore).await
    }

    async fn with_app(app: Arc<App<S>>, reactivation: Reactivation) -> Scim<S> {
        let token = Secret::generate("scim");
        let mut org = Org::new(&unique_org("scim"), "https://sso.example.com", 1);
        org.scim_token_hash = Some(token.hash().into_string());
        org.reactivation = reactivation;
        app.store.create_org(&org).await.unwrap();
        Scim {
            app,
            org: org.org,
            bearer: format!("Bearer {}", token.expose()),
        }
    }

    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut headers = vec![
            ("authorization", self.bearer.as_str()),
            ("content-type", "application/scim+json; charset=utf-8"),
            ("accept", "application/scim+json"),
            ("user-agent", "Okta SCIM Client 1.0.0"),
        ];
        headers.extend_from_slice(extra);
        let function = if path.starts_with("/Groups") {
            Function::ScimGroups
        } else {
            Function::ScimUsers
        };
        let full = format!("/orgs/{}/scim/v2{path}", self.org);
        let Ok(resp) = self
            .app
            .handle(Some(function), event(method, &full, &headers, body))
            .await;
        let text = body_text(&resp);
        let body = if text.is_empty() {
            Value::Null
        } else {
            body_json(&resp)
        };
        if resp.status().as_u16() >= 400 {
            assert_eq!(
                resp.headers()["content-type"],
                "application/scim+json",
                "{text}"
            );
            assert_eq!(body["schemas"][0], ERROR, "{text}");
            assert_eq!(body["status"], resp.status().as_u16().to_string());
            assert!(!body["detail"].as_str().unwrap_or("").is_empty(), "{text}");
        }
        Resp {
            status: resp.status().as_u16(),
            body,
            headers: resp.headers().clone(),
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let text = body.map(|b| b.to_string());
        self.call_with(method, path, text.as_deref(), &[]).await
    }

    pub async fn create_user(&self, user_name: &str) -> Value {
        let r = self
            .call("POST", "/Users", Some(okta_user(user_name)))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    pub async fn create_group(&self, name: &str, members: &[&str]) -> Value {
        let ms: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let r = self
            .call(
                "POST",
                "/Groups",
                Some(json!({"schemas": [GROUP], "displayName": name, "members": ms})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }
}

/// The body Okta's SCIM 2.0 reference shows for a user creation.
pub fn okta_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": format!("00u{}", user_name.len()),
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

pub fn filter_path(resource: &str, filter: &str, rest: &str) -> String {
    let enc: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    format!("/{resource}?filter={enc}{rest}")
}

fn deactivate() -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": false}}]})
}

#[tokio::test]
async fn okta_user_creation_answers_201_with_a_stable_id_and_never_the_password() {
    let s = Scim::new(Reactivation::Restore).await;
    let r = s
        .call("POST", "/Users", Some(okta_user("ann@example.com")))
        .await;
    assert_eq!(r.status, 201);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["userName"], "ann@example.com");
    assert_eq!(r.body["name"]["familyName"], "User");
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["groups"], json!([]));
    assert!(!r.body.to_string().contains("1mz050nq"));
    assert!(r.headers["location"]
        .to_str()
        .unwrap()
        .ends_with(&format!("/Users/{id}")));
    assert_eq!(
        r.headers["etag"],
        r.body["meta"]["version"].as_str().unwrap()
    );
    let g = s.call("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body["id"], id.as_str());
    assert_eq!(g.body["emails"][0]["value"], "ann@example.com");
    let stored = s.app.store.get_user(&s.org, &id).await.unwrap().unwrap();
    assert!(!stored.attributes.to_string().contains("1mz050nq"));
    // Okta may also send plain application/json.
    let body = okta_user("ann2@example.com").to_string();
    let r = s
        .call_with(
            "POST",
            "/Users",
            Some(&body),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn a_user_name_taken_in_any_case_is_409_uniqueness() {
    let s = Scim::new(Reactivation::Restore).await;
    s.create_user("Bob@Example.com").await;
    let r = s
        .call("POST", "/Users", Some(okta_user("bob@example.COM")))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["scimType"], "uniqueness");
}

#[tokio::test]
async fn an_unknown_user_id_is_a_404_scim_error() {
    let s = Scim::new(Reactivation::Restore).await;
    let r = s.call("GET", "/Users/010101", None).await;
    assert_eq!(r.status, 404);
    assert!(r.body["detail"].as_str().unwrap().contains("010101"));
}

#[tokio::test]
async fn okta_existence_check_finds_users_case_insensitively_with_integer_counts() {
    let s = Scim::new(Reactivation::Restore).await;
    let u = s.create_user("carol@example.com").await;
    s.create_user("dave@example.com").await;
    let r = s
        .call(
            "GET",
            &filter_path(
                "Users",
                r#"userName eq "CAROL@example.com""#,
                "&startIndex=1&count=100",
            ),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["itemsPerPage"], 1);
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(r.body["Resources"][0]["id"], u["id"]);
    let none = s
        .call(
            "GET",
            &filter_path(
                "Users",
                r#"userName eq "nobody@example.com""#,
                "&startIndex=1&count=100",
            ),
            None,
        )
        .await;
    assert_eq!(
        (
            none.body["totalResults"].as_u64(),
            none.body["Resources"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn external_id_id_and_or_filters_are_served_and_the_rest_refused() {
    let s = Scim::new(Reactivation::Restore).await;
    let a = s.create_user("e1@example.com").await;
    let b = s.create_user("e22@example.com").await;
    let ext = a["externalId"].as_str().unwrap();
    let r = s
        .call(
            "GET",
            &filter_path("Users", &format!(r#"externalId eq "{ext}""#), ""),
            None,
        )
        .await;
    assert_eq!(r.body["totalResults"], 1);
    let f = format!(
        r#"id eq "{}" or userName eq "e22@example.com""#,
        a["id"].as_str().unwrap()
    );
    let r = s.call("GET", &filter_path("Users", &f, ""), None).await;
    assert_eq!(r.body["totalResults"], 2);
    let f = r#"userName eq "e22@example.com" and active eq false"#;
    assert_eq!(
        s.call("GET", &filter_path("Users", f, ""), None).await.body["totalResults"],
        0
    );
    let f = format!(
        r#"userName eq "e22@example.com" and id eq "{}""#,
        b["id"].as_str().unwrap()
    );
    assert_eq!(
        s.call("GET", &filter_path("Users", &f, ""), None)
            .await
            .body["totalResults"],
        1
    );
    for bad in [
        r#"userName sw "e""#,
        r#"emails[type eq "work"].value eq "e1@example.com""#,
        "title pr",
        r#"userName eq "x" or"#,
    ] {
        let r = s.call("GET", &filter_path("Users", bad, ""), None).await;
        assert_eq!(
            (r.status, r.body["scimType"].as_str()),
            (400, Some("invalidFilter")),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn walking_user_pages_as_okta_does_returns_every_user_exactly_once() {
    let s = Scim::new(Reactivation::Restore).await;
    let mut ids = Vec::new();
    for i in 0..11 {
        ids.push(
            s.create_user(&format!("walk{i}@example.com")).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let r = s
            .call("GET", &format!("/Users?startIndex={start}&count=4"), None)
            .await;
        assert_eq!(r.body["totalResults"], 11);
        assert_eq!(r.body["startIndex"], start);
        let page = r.body["Resources"].as_array().unwrap().clone();
        assert_eq!(r.body["itemsPerPage"], page.len());
        if page.is_empty() {
            break;
        }
        seen.extend(page.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        start += page.len();
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    ids.sort();
    assert_eq!(seen.len(), 11, "no duplicates");
    assert_eq!(sorted, ids);
    // A page asked for out of order (no cursor) is still right.
    let r = s.call("GET", "/Users?startIndex=10&count=4", None).await;
    assert_eq!(r.body["Resources"][0]["id"], seen[9].as_str());
    assert_eq!(r.body["itemsPerPage"], 2);
}

#[tokio::test]
async fn put_replaces_the_profile_and_extensions_round_trip() {
    let s = Scim::new(Reactivation::Restore).await;
    let u = s.create_user("frank@example.com").await;
    let id = u["id"].as_str().unwrap();
    let mut full = s.call("GET", &format!("/Users/{id}"), None).await.body;
    full["schemas"] = json!([USER, ENTERPRISE, CUSTOM]);
    full["name"]["givenName"] = json!("Franklin");
    full["title"] = json!("CTO");
    full[ENTERPRISE] = json!({"department": "R&D", "employeeNumber": "7", "manager": {"value": "m1", "displayName": "Boss"}});
    full[CUSTOM] = json!({"badge": "B-12"});
    let r = s.call("PUT", &format!("/Users/{id}"), Some(full)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let g = s.call("GET", &format!("/Users/{id}"), None).await.body;
    assert_eq!(g["name"]["givenName"], "Franklin");
    assert_eq!(g["title"], "CTO");
    assert_eq!(g[ENTERPRISE]["manager"]["displayName"], "Boss");
    assert_eq!(g[CUSTOM]["badge"], "B-12");
    assert!(g["schemas"]
        .as_array()
        .unwrap()
        .contains(&json!(ENTERPRISE)));
    assert_ne!(g["meta"]["version"], u["meta"]["version"]);
    // A PUT may rename: the new userName is found, the old one is free again.
    let mut renamed = g.clone();
    renamed["userName"] = json!("franklin@example.com");
    assert_eq!(
        s.call("PUT", &format!("/Users/{id}"), Some(renamed))
            .await
            .status,
        200
    );
    let f = s
        .call(
            "GET",
            &filter_path("Users", r#"userName eq "franklin@example.com""#, ""),
            None,
        )
        .await;
    assert_eq!(f.body["Resources"][0]["id"], id);
    s.create_user("frank@example.com").await;
}

#[tokio::test]
async fn deactivation_in_either_patch_shape_revokes_every_session_and_keeps_the_user_readable() {
    let s = Scim::new(Reactivation::Restore).await;
    for shape in [
        deactivate(),
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": false}]}),
    ] {
        let u = s
            .create_user(&format!("gina{}@example.com", shape.to_string().len()))
            .await;
        let id = u["id"].as_str().unwrap();
        for t in ["h1", "h2"] {
            let sess = Session {
                token_hash: format!("{id}{t}"),
                user_id: id.into(),
                created_at: 1,
                expires_at: i64::MAX,
            };
            s.app.store.create_session(&s.org, &sess).await.unwrap();
        }
        let r = s.call("PATCH", &format!("/Users/{id}"), Some(shape)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["active"], false);
        for t in ["h1", "h2"] {
            assert!(s
                .app
                .store
                .get_session(&s.org, &format!("{id}{t}"), 2)
                .await
                .unwrap()
                .is_none());
        }
        let g = s.call("GET", &format!("/Users/{id}"), None).await;
        assert_eq!((g.status, g.body["active"].as_bool()), (200, Some(false)));
    }
}

#[tokio::test]
async fn patch_paths_reach_sub_attributes_filtered_values_and_extensions() {
    let s = Scim::new(Reactivation::Restore).await;
    let id = s.create_user("hank@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ops = json!({"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "name.givenName", "value": "Henry"},
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "henry@example.com"},
        {"op": "add", "path": format!("{ENTERPRISE}:department"), "value": "Ops"},
        {"op": "add", "path": "phoneNumbers", "value": [{"type": "work", "value": "+1 555"}]},
        {"op": "remove", "path": "locale"}
    ]});
    let r = s.call("PATCH", &format!("/Users/{id}"), Some(ops)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let g = s.call("GET", &format!("/Users/{id}"), None).await.body;
    assert_eq!(g["name"]["givenName"], "Henry");
    assert_eq!(g["emails"][0]["value"], "henry@example.com");
    assert_eq!(g[ENTERPRISE]["department"], "Ops");
    assert_eq!(g["phoneNumbers"][0]["value"], "+1 555");
    assert!(g.get("locale").is_none());
}

#[tokio::test]
async fn bad_requests_get_clear_4xx_scim_errors_and_write_nothing() {
    let s = Scim::new(Reactivation::Restore).await;
    let u = s.create_user("ivy@example.com").await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let cases: Vec<(&str, &str, String, u16, Option<&str>)> = vec![
        ("POST", "/Users", "{not json".into(), 400, Some("invalidSyntax")),
        ("POST", "/Users", json!({"userName": "x"}).to_string(), 400, Some("invalidSyntax")),
        ("POST", "/Users", json!({"schemas": ["urn:nope"], "userName": "x"}).to_string(), 400, Some("invalidValue")),
        ("POST", "/Users", json!({"schemas": [USER]}).to_string(), 400, Some("invalidValue")),
        ("PATCH", &path, json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "favoriteColor", "value": "red"}]}).to_string(), 400, Some("invalidPath")),
        ("PATCH", &path, json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "id", "value": "x"}]}).to_string(), 400, Some("mutability")),
        ("PATCH", &path, json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove"}]}).to_string(), 400, Some("noTarget")),
        ("PATCH", &path, json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "a"}]}).to_string(), 400, Some("noTarget")),
        ("PATCH", &path, json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": "sometimes"}]}).to_string(), 400, Some("invalidValue")),
        ("PATCH", &path, json!({"Operations": []}).to_string(), 400, Some("invalidSyntax")),
        ("PUT", &path, format!("{{\"schemas\":[\"{USER}\"],\"userName\":\"{}\"}}", "a".repeat(1 << 20)), 413, None),
        ("GET", "/Users?count=abc", String::new(), 400, Some("invalidValue")),
        ("DELETE", "/Users", String::new(), 405, None),
    ];
    for (method, p, body, status, scim_type) in cases {
        let b = (!body.is_empty()).then_some(body.as_str());
        let r = s.call_with(method, p, b, &[]).await;
        assert_eq!(r.status, status, "{method} {p}: {}", r.body);
        assert_eq!(
            r.body["scimType"].as_str(),
            scim_type,
            "{method} {p}: {}",
            r.body
        );
    }
    let r = s
        .call_with(
            "POST",
            "/Users",
            Some(&okta_user("j@x.y").to_string()),
            &[("content-type", "text/plain")],
        )
        .await;
    assert_eq!(r.status, 400);
    let huge = s
        .call("GET", "/Users?count=100000000&startIndex=-4", None)
        .await;
    assert_eq!(
        (huge.status, huge.body["startIndex"].as_u64()),
        (200, Some(1))
    );
    let after = s.call("GET", &path, None).await.body;
    assert_eq!(
        after["meta"]["version"], u["meta"]["version"],
        "nothing was written"
    );
}

#[tokio::test]
async fn if_match_with_a_stale_etag_is_412_and_with_the_current_one_succeeds() {
    let s = Scim::new(Reactivation::Restore).await;
    let u = s.create_user("jack@example.com").await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let v1 = u["meta"]["version"].as_str().unwrap().to_string();
    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "A"}]}).to_string();
    let r = s
        .call_with("PATCH", &path, Some(&body), &[("if-match", &v1)])
        .await;
    assert_eq!(r.status, 200);
    let r = s
        .call_with("PATCH", &path, Some(&body), &[("if-match", &v1)])
        .await;
    assert_eq!(r.status, 412);
    let r = s
        .call_with("DELETE", &path, None, &[("if-match", &v1)])
        .await;
    assert_eq!(r.status, 412);
    assert_eq!(s.call("GET", &path, None).await.body["title"], "A");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_to_one_user_lose_no_update() {
    // DynamoDB's conditional writes decide the race (the memory store serializes every write).
    let s = Arc::new(Scim::on_dynamo(Reactivation::Restore).await);
    let id = s.create_user("kim@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (s, id) = (s.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            let ops = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "phoneNumbers", "value": [{"value": format!("{i}")}]}]});
            s.call("PATCH", &format!("/Users/{id}"), Some(ops)).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let g = s.call("GET", &format!("/Users/{id}"), None).await.body;
    assert_eq!(g["phoneNumbers"].as_array().unwrap().len(), 8, "{g}");
}

#[tokio::test]
async fn deleting_a_user_removes_memberships_and_sessions_then_404s() {
    let s = Scim::new(Reactivation::Restore).await;
    let id = s.create_user("lee@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let gid = s.create_group("Leavers", &[&id]).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sess = Session {
        token_hash: format!("{id}-s"),
        user_id: id.clone(),
        created_at: 1,
        expires_at: i64::MAX,
    };
    s.app.store.create_session(&s.org, &sess).await.unwrap();
    assert_eq!(
        s.call("DELETE", &format!("/Users/{id}"), None).await.status,
        204
    );
    assert_eq!(
        s.call("GET", &format!("/Users/{id}"), None).await.status,
        404
    );
    assert_eq!(
        s.call("DELETE", &format!("/Users/{id}"), None).await.status,
        404
    );
    assert!(s
        .app
        .store
        .get_session(&s.org, &sess.token_hash, 2)
        .await
        .unwrap()
        .is_none());
    let g = s.call("GET", &format!("/Groups/{gid}"), None).await.body;
    assert_eq!(g["members"], json!([]));
    assert_eq!(
        s.call("GET", "/Users?count=10", None).await.body["totalResults"],
        0
    );
}

#[tokio::test]
async fn one_orgs_token_and_ids_reach_nothing_of_another_org() {
    let a = Scim::new(Reactivation::Restore).await;
    let b = a.another_org().await;
    let id = a.create_user("mia@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        b.call("GET", &format!("/Users/{id}"), None).await.status,
        404
    );
    let r = b
        .call(
            "GET",
            &filter_path("Users", r#"userName eq "mia@example.com""#, ""),
            None,
        )
        .await;
    assert_eq!(r.body["totalResults"], 0);
    let foreign = Scim {
        app: b.app.clone(),
        org: a.org.clone(),
        bearer: b.bearer.clone(),
    };
    assert_eq!(
        foreign
            .call("GET", &format!("/Users/{id}"), None)
            .await
            .status,
        401
    );
    let g = b
        .call(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "X", "members": [{"value": id}]})),
        )
        .await;
    assert_eq!(
        (g.status, g.body["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    let groups = b
        .call("GET", "/Groups?startIndex=1&count=10", None)
        .await
        .body;
    assert_eq!(groups["totalResults"], 0, "nothing written");
}

#[tokio::test]
async fn groups_are_created_read_filtered_patched_replaced_and_deleted_as_okta_does() {
    let s = Scim::new(Reactivation::Restore).await;
    let u1 = s.create_user("n1@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let u2 = s.create_user("n2@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let u3 = s.create_user("n3@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let g = s.create_group("Engineering", &[&u1]).await;
    let gid = g["id"].as_str().unwrap().to_string();
    let gp = format!("/Groups/{gid}");
    assert_eq!(g["members"][0]["value"], u1.as_str());
    let r = s
        .call("GET", &format!("{gp}?excludedAttributes=members"), None)
        .await;
    assert_eq!((r.status, r.body.get("members")), (200, None));
    let r = s
        .call(
            "GET",
            &filter_path(
                "Groups",
                r#"displayName eq "engineering""#,
                "&excludedAttributes=members",
            ),
            None,
        )
        .await;
    assert_eq!(
        (
            r.body["totalResults"].as_u64(),
            r.body["Resources"][0]["id"].as_str()
        ),
        (Some(1), Some(gid.as_str()))
    );
    // Okta's member add, filtered remove, rename.
    let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": u2, "display": "n2"}, {"value": u3}]}]});
    assert_eq!(s.call("PATCH", &gp, Some(add)).await.status, 204);
    let rm = json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": format!("members[value eq \"{u1}\"]")}]});
    assert_eq!(s.call("PATCH", &gp, Some(rm)).await.status, 204);
    let rename = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"id": gid, "displayName": "Eng"}}]});
    assert_eq!(s.call("PATCH", &gp, Some(rename)).await.status, 204);
    let got = s.call("GET", &gp, None).await.body;
    assert_eq!(got["displayName"], "Eng");
    let mut ms: Vec<&str> = got["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    ms.sort();
    let mut want = vec![u2.as_str(), u3.as_str()];
    want.sort();
    assert_eq!(ms, want);
    // The user's groups attribute follows memberships.
    let user = s.call("GET", &format!("/Users/{u2}"), None).await.body;
    assert_eq!(
        user["groups"],
        json!([{"value": gid, "display": "Eng", "$ref": format!("https://sso.example.com/orgs/{}/scim/v2/Groups/{gid}", s.org), "type": "direct"}])
    );
    // A member that is not a user of the org: 400, nothing written (u1 not re-added).
    let bad = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": u1}, {"value": "not-a-user"}]}]});
    let r = s.call("PATCH", &gp, Some(bad)).await;
    assert_eq!(
        (r.status, r.body["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    assert!(r.body["detail"].as_str().unwrap().contains("not-a-user"));
    assert_eq!(
        s.call("GET", &gp, None).await.body["members"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // PUT replaces the member list; replace members via PATCH too.
    let put =
        json!({"schemas": [GROUP], "id": gid, "displayName": "Eng", "members": [{"value": u1}]});
    let r = s.call("PUT", &gp, Some(put)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ms = s.call("GET", &gp, None).await.body["members"].clone();
    assert_eq!(ms.as_array().map(Vec::len), Some(1), "{ms}");
    assert_eq!(ms[0]["value"], u1.as_str());
    // RFC 7643 §4.2: each member carries its reference and type.
    assert_eq!(ms[0]["type"], "User");
    assert!(ms[0]["$ref"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/Users/{u1}")));
    let rep = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "members", "value": [{"value": u3}]}]});
    assert_eq!(s.call("PATCH", &gp, Some(rep)).await.status, 204);
    assert_eq!(
        s.call("GET", &gp, None).await.body["members"][0]["value"],
        u3.as_str()
    );
    let page = s
        .call("GET", "/Groups?startIndex=1&count=100", None)
        .await
        .body;
    assert_eq!(page["totalResults"], 1);
    assert_eq!(page["Resources"][0]["id"], gid.as_str());
    assert!(
        page["Resources"][0].get("members").is_none(),
        "unfiltered pages omit members"
    );
    assert_eq!(s.call("DELETE", &gp, None).await.status, 204);
    assert_eq!(s.call("GET", &gp, None).await.status, 404);
    assert_eq!(
        s.call("GET", &format!("/Users/{u3}"), None).await.body["groups"],
        json!([])
    );
    assert_eq!(
        s.call("GET", "/Groups?startIndex=1&count=100", None)
            .await
            .body["totalResults"],
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_concurrent_member_adds_to_one_group_all_land() {
    // DynamoDB's transactions decide the race (the memory store serializes every write).
    let s = Arc::new(Scim::on_dynamo(Reactivation::Restore).await);
    let gid = s.create_group("Crowd", &[]).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut users = Vec::new();
    for i in 0..30 {
        users.push(
            s.create_user(&format!("crowd{i}@example.com")).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut tasks = Vec::new();
    for u in users.clone() {
        let (s, gid) = (s.clone(), gid.clone());
        tasks.push(tokio::spawn(async move {
            let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": u}]}]});
            s.call("PATCH", &format!("/Groups/{gid}"), Some(add)).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 204);
    }
    let page = s
        .app
        .store
        .list_members(&s.org, &gid, None, 1000)
        .await
        .unwrap();
    let mut got = page.items;
    got.sort();
    users.sort();
    assert_eq!(got, users);
}

#[tokio::test]
async fn reactivation_restore_keeps_the_id_and_groups() {
    let s = Scim::new(Reactivation::Restore).await;
    let id = s.create_user("olga@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.create_group("Keepers", &[&id]).await;
    s.call("PATCH", &format!("/Users/{id}"), Some(deactivate()))
        .await;
    let on = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": true}}]});
    let r = s.call("PATCH", &format!("/Users/{id}"), Some(on)).await;
    assert_eq!(
        (r.status, r.body["id"].as_str(), r.body["active"].as_bool()),
        (200, Some(id.as_str()), Some(true))
    );
    assert_eq!(r.body["groups"][0]["display"], "Keepers");
}

#[tokio::test]
async fn reactivation_fresh_retires_the_old_record_and_creates_a_new_user() {
    let s = Scim::new(Reactivation::Fresh).await;
    let id = s.create_user("pia@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.create_group("Old", &[&id]).await;
    s.call("PATCH", &format!("/Users/{id}"), Some(deactivate()))
        .await;
    let on = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": true}}]});
    let r = s.call("PATCH", &format!("/Users/{id}"), Some(on)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new_id = r.body["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);
    assert_eq!(
        (r.body["active"].as_bool(), r.body["groups"].clone()),
        (Some(true), json!([]))
    );
    assert_eq!(
        s.call("GET", &format!("/Users/{id}"), None).await.status,
        404
    );
    let f = s
        .call(
            "GET",
            &filter_path("Users", r#"userName eq "pia@example.com""#, ""),
            None,
        )
        .await;
    assert_eq!(
        (
            f.body["totalResults"].as_u64(),
            f.body["Resources"][0]["id"].as_str()
        ),
        (Some(1), Some(new_id.as_str()))
    );
    assert_eq!(
        s.call("GET", "/Users?count=10", None).await.body["totalResults"],
        1
    );
}
