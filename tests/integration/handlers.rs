//! Handlers, driven by the API Gateway HTTP API event JSON Lambda receives, on the in-memory
//! store: nothing here tests DynamoDB's behaviour (the store conformance suite does, on both).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use serde_json::json;
use shared::org::Org;
use shared::routes::{Function, ROUTES};
use shared::store::{MemoryStore, NewUser, Session, SessionStore, Store, UserStore};
use shared::tokens::Secret;
use shared::App;

use crate::support::{body_json, body_text, config, event, memory_app, unique_org};

async fn org_with_token<S: Store>(app: &App<S>) -> (Org, Secret) {
    let token = Secret::generate("scim");
    let mut org = Org::new(&unique_org("h"), "https://sso.example.com", 1);
    org.scim_token_hash = Some(token.hash().into_string());
    app.store.create_org(&org).await.unwrap();
    (org, token)
}

async fn call<S: Store>(
    app: &App<S>,
    f: Option<Function>,
    req: lambda_http::Request,
) -> lambda_http::Response<lambda_http::Body> {
    let Ok(resp) = app.handle(f, req).await;
    resp
}

fn sample(template: &str, org: &str) -> String {
    template
        .replace("{org}", org)
        .replace("{id}", "x1")
        .replace("{proxy+}", "Bulk")
}

#[tokio::test]
async fn metadata_is_real_sp_metadata_for_the_org() {
    let app = memory_app();
    let (org, _) = org_with_token(&app).await;
    let resp = call(
        &app,
        Some(Function::SamlMetadata),
        event(
            "GET",
            &format!("/orgs/{}/saml/metadata", org.org),
            &[],
            None,
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/samlmetadata+xml"));
    let xml = body_text(&resp);
    assert!(
        xml.contains(&format!(
            r#"entityID="https://sso.example.com/orgs/{}/saml/metadata""#,
            org.org
        )),
        "{xml}"
    );
    assert!(xml.contains(&format!(
        r#"Location="https://sso.example.com/orgs/{}/saml/acs""#,
        org.org
    )));
}

#[tokio::test]
async fn an_unknown_org_gets_a_clear_404_on_every_route_and_method() {
    let app = memory_app();
    for (template, function) in ROUTES {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            for org in ["no-such-org-anywhere", "Bad%20Name", "x%23y"] {
                let resp = call(
                    &app,
                    Some(*function),
                    event(
                        method,
                        &sample(template, org),
                        &[("authorization", "Bearer x")],
                        Some("{}"),
                    ),
                )
                .await;
                if !template.starts_with("/orgs/") {
                    // The OIDC routes name no org in the path (oidc.rs tests them); whatever
                    // arrives, never a 5xx.
                    assert!(!resp.status().is_server_error(), "{method} {template}");
                    continue;
                }
                assert_eq!(resp.status(), 404, "{method} {template} {org}");
                let body = body_text(&resp);
                assert!(body.contains("not found"), "{method} {template}: {body}");
                if template.contains("/scim/") {
                    assert_eq!(
                        body_json(&resp)["schemas"][0],
                        "urn:ietf:params:scim:api:messages:2.0:Error"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn a_function_answers_404_for_routes_of_other_functions() {
    let app = memory_app();
    let (org, _) = org_with_token(&app).await;
    let resp = call(
        &app,
        Some(Function::ScimUsers),
        event(
            "GET",
            &format!("/orgs/{}/saml/metadata", org.org),
            &[],
            None,
        ),
    )
    .await;
    assert_eq!(resp.status(), 404);
    let resp = call(
        &app,
        Some(Function::SamlMetadata),
        event("GET", "/nope", &[], None),
    )
    .await;
    assert_eq!(resp.status(), 404);
    assert!(body_text(&resp).contains("no_route"));
}

#[tokio::test]
async fn scim_needs_the_orgs_own_bearer_token() {
    let app = memory_app();
    let (a, token_a) = org_with_token(&app).await;
    let (b, _) = org_with_token(&app).await;
    let spc = |org: &str| format!("/orgs/{org}/scim/v2/ServiceProviderConfig");

    let resp = call(
        &app,
        Some(Function::ScimUsers),
        event("GET", &spc(&a.org), &[], None),
    )
    .await;
    assert_eq!(resp.status(), 401);
    assert_eq!(body_json(&resp)["status"], "401");
    let resp = call(
        &app,
        Some(Function::ScimUsers),
        event(
            "GET",
            &spc(&a.org),
            &[("authorization", "Bearer scim_wrong")],
            None,
        ),
    )
    .await;
    assert_eq!(resp.status(), 401);
    let bearer = format!("Bearer {}", token_a.expose());
    // Org a's token opens nothing of org b.
    let resp = call(
        &app,
        Some(Function::ScimUsers),
        event("GET", &spc(&b.org), &[("authorization", &bearer)], None),
    )
    .await;
    assert_eq!(resp.status(), 401);
    let resp = call(
        &app,
        Some(Function::ScimUsers),
        event("GET", &spc(&a.org), &[("authorization", &bearer)], None),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/scim+json");
    assert_eq!(
        body_json(&resp)["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );
}

#[tokio::test]
async fn scim_discovery_is_read_only_and_lists_resource_types_and_schemas() {
    let app = memory_app();
    let (org, token) = org_with_token(&app).await;
    let bearer = format!("Bearer {}", token.expose());
    let auth = [("authorization", bearer.as_str())];
    let base = format!("/orgs/{}/scim/v2", org.org);

    let resp = call(
        &app,
        Some(Function::ScimUsers),
        event(
            "POST",
            &format!("{base}/ServiceProviderConfig"),
            &auth,
            Some("{}"),
        ),
    )
    .await;
    assert_eq!(resp.status(), 405);
    assert_eq!(
        body_json(&resp)["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );

    let resp = call(
        &app,
        Some(Function::ScimUsers),
        event("GET", &format!("{base}/ResourceTypes"), &auth, None),
    )
    .await;
    assert_eq!(body_json(&resp)["totalResults"], 2);
    let resp = call(
        &app,
        Some(Function::ScimUsers),
        event("GET", &format!("{base}/ResourceTypes/User"), &auth, None),
    )
    .await;
    assert_eq!(body_json(&resp)["endpoint"], "/Users");
    let resp = call(
        &app,
        Some(Function::ScimUsers),
        event(
            "GET",
            &format!("{base}/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"),
            &auth,
            None,
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body_json(&resp)["name"], "User");
    let resp = call(
        &app,
        Some(Function::ScimUsers),
        event("GET", &format!("{base}/Schemas/urn:nope"), &auth, None),
    )
    .await;
    assert_eq!(resp.status(), 404);
    let resp = call(
        &app,
        Some(Function::ScimUsers),
        event("GET", &format!("{base}/Bulk"), &auth, None),
    )
    .await;
    assert_eq!(resp.status(), 404);
    assert_eq!(body_json(&resp)["status"], "404");
}

/// The ACS body limit is the deployment's (`ACS_BODY_LIMIT_KIB`), and a post over it gets a page
/// that tells the Okta admin what to change, not a bare 413.
#[tokio::test]
async fn the_acs_body_limit_is_the_deployments_and_its_413_page_says_how_to_filter_groups() {
    let form = [("content-type", "application/x-www-form-urlencoded")];
    // 20 KiB: under the default limit, over a deployment limit of 16 KiB. Without an IdP, a
    // body the limit lets through is refused next for that (409), one over it first (413).
    let body = format!("SAMLResponse={}", "A".repeat(20 * 1024));
    let mut small = config();
    small.acs_body_limit = 16 * 1024;
    for (cfg, status) in [(config(), 409u16), (small, 413u16)] {
        let app = App::new(cfg, MemoryStore::new());
        let (org, _) = org_with_token(&app).await;
        let path = format!("/orgs/{}/saml/acs", org.org);
        let resp = call(
            &app,
            Some(Function::SamlAcs),
            event("POST", &path, &form, Some(&body)),
        )
        .await;
        assert_eq!(resp.status(), status);
        if status == 413 {
            let page = body_text(&resp);
            assert!(page.contains("error: response_too_large"), "{page}");
            assert!(page.contains("16 KiB"), "{page}");
            assert!(page.contains("groups attribute statement"), "{page}");
            assert!(page.contains("SCIM group push"), "{page}");
            assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
        }
    }
}

#[tokio::test]
async fn the_acs_refuses_oversized_bodies_with_413_and_says_when_no_idp_is_set_up() {
    let app = memory_app();
    let (org, _) = org_with_token(&app).await;
    let path = format!("/orgs/{}/saml/acs", org.org);
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let big = format!("SAMLResponse={}", "A".repeat(300 * 1024));
    let resp = call(
        &app,
        Some(Function::SamlAcs),
        event("POST", &path, &form, Some(&big)),
    )
    .await;
    assert_eq!(resp.status(), 413);
    let resp = call(
        &app,
        Some(Function::SamlAcs),
        event("POST", &path, &form, Some("SAMLResponse=abc")),
    )
    .await;
    assert_eq!(resp.status(), 409);
    assert!(body_text(&resp).contains("idp_not_configured"));
    let resp = call(
        &app,
        Some(Function::SamlAcs),
        event("GET", &path, &[], None),
    )
    .await;
    assert_eq!(resp.status(), 405);
}

#[tokio::test]
async fn the_session_endpoint_shows_the_signed_in_user_until_logout_or_expiry() {
    let now = 1_800_000_000;
    let clock = Arc::new(AtomicI64::new(now));
    let c = clock.clone();
    let app = App::new(config(), MemoryStore::new()).with_clock(move || c.load(Ordering::SeqCst));
    let (org, _) = org_with_token(&app).await;
    let user = app
        .store
        .create_user(
            &org.org,
            NewUser {
                user_name: "ada@example.com".into(),
                external_id: None,
                active: true,
                attributes: json!({}),
            },
            now,
        )
        .await
        .unwrap();
    let token = Secret::generate("sess");
    let session = Session {
        token_hash: token.hash().into_string(),
        user_id: user.id.clone(),
        created_at: now,
        expires_at: now + 86_400,
    };
    app.store.create_session(&org.org, &session).await.unwrap();
    let path = format!("/orgs/{}/session", org.org);
    let cookie = format!(
        "{}={}",
        shared::http::session_cookie_name(&org.org),
        token.expose()
    );

    let resp = call(
        &app,
        Some(Function::Session),
        event("GET", &path, &[], None),
    )
    .await;
    assert_eq!(resp.status(), 401);
    assert_eq!(body_json(&resp)["error"], "unauthorized");
    let resp = call(
        &app,
        Some(Function::Session),
        event("GET", &path, &[("cookie", &cookie)], None),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body_json(&resp)["user"]["userName"], "ada@example.com");
    let bearer = format!("Bearer {}", token.expose());
    let resp = call(
        &app,
        Some(Function::Session),
        event("GET", &path, &[("authorization", &bearer)], None),
    )
    .await;
    assert_eq!(resp.status(), 200);

    // 24 hours later the same session is refused.
    clock.store(now + 86_400, Ordering::SeqCst);
    let resp = call(
        &app,
        Some(Function::Session),
        event("GET", &path, &[("cookie", &cookie)], None),
    )
    .await;
    assert_eq!(resp.status(), 401);
    clock.store(now, Ordering::SeqCst);

    let resp = call(
        &app,
        Some(Function::Session),
        event(
            "POST",
            &format!("/orgs/{}/logout", org.org),
            &[("cookie", &cookie)],
            None,
        ),
    )
    .await;
    assert_eq!(resp.status(), 204);
    assert!(resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let resp = call(
        &app,
        Some(Function::Session),
        event("GET", &path, &[("cookie", &cookie)], None),
    )
    .await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn a_deactivated_users_session_is_refused_and_removed() {
    let app = memory_app();
    let (org, _) = org_with_token(&app).await;
    let now = app.now();
    let mut user = app
        .store
        .create_user(
            &org.org,
            NewUser {
                user_name: "gone@example.com".into(),
                external_id: None,
                active: true,
                attributes: json!({}),
            },
            now,
        )
        .await
        .unwrap();
    let token = Secret::generate("sess");
    app.store
        .create_session(
            &org.org,
            &Session {
                token_hash: token.hash().into_string(),
                user_id: user.id.clone(),
                created_at: now,
                expires_at: now + 3600,
            },
        )
        .await
        .unwrap();
    user.active = false;
    app.store.update_user(&org.org, &user, now).await.unwrap();
    let cookie = format!(
        "{}={}",
        shared::http::session_cookie_name(&org.org),
        token.expose()
    );
    let resp = call(
        &app,
        Some(Function::Session),
        event(
            "GET",
            &format!("/orgs/{}/session", org.org),
            &[("cookie", &cookie)],
            None,
        ),
    )
    .await;
    assert_eq!(resp.status(), 401);
    assert_eq!(
        app.store
            .get_session(&org.org, &token.hash().into_string(), now)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn hostile_paths_methods_and_bodies_never_get_a_server_error() {
    let app = memory_app();
    let (org, token) = org_with_token(&app).await;
    let bearer = format!("Bearer {}", token.expose());
    let o = &org.org;
    let paths = [
        format!("/orgs/{o}/saml/acs"),
        format!("/orgs/{o}/saml/login?RelayState=%00%ff"),
        format!("/orgs/{o}/saml/metadata?x=%"),
        format!("/orgs/{o}/session"),
        format!("/orgs/{o}/logout"),
        format!("/orgs/{o}/scim/v2/Users/%2e%2e"),
        format!("/orgs/{o}/scim/v2/Schemas/%zz"),
        format!("/orgs/{o}/scim/v2/Groups/a/b/c"),
        format!("/orgs/{o}/../../etc/passwd"),
        "/orgs/%/saml/acs".to_string(),
        format!("/orgs/{}/session", "a".repeat(5000)),
    ];
    let bodies = [
        None,
        Some(""),
        Some("{"),
        Some("SAMLResponse=%%%"),
        Some("\u{0}\u{ffff}"),
    ];
    for path in &paths {
        for method in ["GET", "POST", "PUT", "DELETE", "OPTIONS"] {
            for body in bodies {
                for auth in [None, Some(bearer.as_str()), Some("Bearer"), Some("garbage")] {
                    let mut headers = vec![("cookie", "sso_session=; sso_session=%00")];
                    if let Some(a) = auth {
                        headers.push(("authorization", a));
                    }
                    let resp = call(&app, None, event(method, path, &headers, body)).await;
                    assert!(
                        resp.status().as_u16() < 500 || resp.status() == 501,
                        "{method} {path} {body:?} -> {}",
                        resp.status()
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn a_405_lists_the_methods_the_route_accepts_and_never_the_refused_one() {
    let app = memory_app();
    let (org, token) = org_with_token(&app).await;
    let bearer = format!("Bearer {}", token.expose());
    let auth = [("authorization", bearer.as_str())];
    let o = &org.org;
    for (method, path, headers, allow) in [
        ("DELETE", format!("/orgs/{o}/saml/metadata"), &[][..], "GET"),
        ("GET", format!("/orgs/{o}/saml/acs"), &[][..], "POST"),
        ("PUT", format!("/orgs/{o}/logout"), &[][..], "POST"),
        (
            "POST",
            format!("/orgs/{o}/scim/v2/ServiceProviderConfig"),
            &auth[..],
            "GET",
        ),
        (
            "DELETE",
            format!("/orgs/{o}/scim/v2/Users"),
            &auth[..],
            "GET, POST",
        ),
        (
            "POST",
            format!("/orgs/{o}/scim/v2/Groups/g1"),
            &auth[..],
            "GET, PUT, PATCH, DELETE",
        ),
    ] {
        let resp = call(&app, None, event(method, &path, headers, None)).await;
        assert_eq!(resp.status(), 405, "{method} {path}");
        let got = resp.headers()["allow"].to_str().unwrap();
        assert_eq!(got, allow, "{method} {path}");
        assert!(!got.contains(method), "{method} {path}: Allow: {got}");
    }
}
