//! Every file in `events/` (the API Gateway events users feed to `sam local invoke`) parses and
//! reaches its function's handler, so the examples stay true.

use shared::org::Org;
use shared::routes::match_path;
use shared::scim::user_name::UserName;
use shared::store::{GroupStore, NewUser, OrgStore, Session, SessionStore, StoreError, UserStore};
use shared::tokens::Secret;
use shared::App;

use crate::support::{body_text, config, store};

fn events_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

/// The events name the `demo` org, a placeholder SCIM token and a placeholder session cookie:
/// make them real in the test table.
async fn demo_org(
    app: &App<shared::store::DynamoStore>,
    ids: &mut Vec<(String, String)>,
) -> (Secret, Secret) {
    let scim = Secret::generate("scim");
    let mut org = Org::new("demo", "http://127.0.0.1:3000", 1);
    org.scim_token_hash = Some(scim.hash().into_string());
    match app.store.create_org(&org).await {
        Ok(()) => {}
        Err(StoreError::AlreadyExists(_)) => {
            let mut current = app.store.get_org("demo").await.unwrap().unwrap();
            current.scim_token_hash = Some(scim.hash().into_string());
            app.store.update_org(&current).await.unwrap();
        }
        Err(e) => panic!("{e}"),
    }
    let user = match app
        .store
        .find_user_by_user_name("demo", &UserName::parse("events@example.com").unwrap())
        .await
        .unwrap()
    {
        Some(u) => u,
        None => app
            .store
            .create_user(
                "demo",
                NewUser {
                    user_name: "events@example.com".into(),
                    external_id: None,
                    active: true,
                    attributes: serde_json::json!({}),
                },
                1,
            )
            .await
            .unwrap(),
    };
    // The group the member-add event patches, and the user it adds (also the one deactivated).
    let group = app
        .store
        .create_group(
            "demo",
            &format!("Events {}", shared::tokens::random_hex(4)),
            None,
            1,
        )
        .await
        .unwrap();
    ids.push(("9a3c2f10-8d7e-4c1b-a2f4-5e6d7c8b9a01".to_string(), group.id));
    ids.push((
        "6c1d4a0e-3b5f-4a58-9d8f-0c5b2a7e1f00".to_string(),
        user.id.clone(),
    ));
    let session = Secret::generate("sess");
    let now = app.now();
    app.store
        .create_session(
            "demo",
            &Session {
                token_hash: session.hash().into_string(),
                user_id: user.id,
                created_at: now,
                expires_at: now + 3600,
            },
        )
        .await
        .unwrap();
    (scim, session)
}

#[tokio::test]
async fn every_sample_event_parses_and_reaches_its_functions_handler() {
    let app = App::new(config(), store().await);
    let mut ids = Vec::new();
    let (scim, session) = demo_org(&app, &mut ids).await;
    let mut files: Vec<_> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    // The session check runs first, before the deactivation event revokes the user's sessions;
    // logout ends the session: last.
    files.sort_by_key(|p| {
        let name = p.to_string_lossy();
        let rank = if name.contains("session-get") {
            0
        } else if name.contains("logout") {
            2
        } else {
            1
        };
        (rank, p.clone())
    });
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let mut text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("scim_replace-with-the-token-ssoctl-printed", scim.expose())
            .replace("replace-with-a-session-token", session.expose());
        for (placeholder, real) in &ids {
            text = text.replace(placeholder.as_str(), real);
        }
        let req = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let route = shared::routes::match_deployment_path(req.uri().path())
            .or_else(|| match_path(req.uri().path()).map(|(_, r)| r))
            .unwrap_or_else(|| panic!("{name}: no route"));
        let Ok(resp) = app.handle(Some(route.function()), req).await;
        let status = resp.status().as_u16();
        assert!(
            status != 404 && (status < 500 || status == 501),
            "{name}: {status} {}",
            body_text(&resp)
        );
        match name.as_str() {
            "saml-metadata-get.json"
            | "oidc-discovery-get.json"
            | "scim-service-provider-config-get.json"
            | "session-get.json" => assert_eq!(status, 200, "{name}"),
            "logout-post.json" => assert_eq!(status, 204, "{name}"),
            "scim-users-create.json" | "scim-groups-create.json" => {
                assert_eq!(status, 201, "{name}")
            }
            _ => {}
        }
    }
}
