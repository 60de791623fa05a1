//! Every file in `events/` (the API Gateway events users feed to `sam local invoke`) parses and
//! reaches its function's handler, so the examples stay true.

use shared::org::Org;
use shared::routes::match_path;
use shared::store::{NewUser, OrgStore, Session, SessionStore, StoreError, UserStore};
use shared::tokens::Secret;
use shared::App;

use crate::support::{body_text, config, store};

fn events_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

/// The events name the `demo` org, a placeholder SCIM token and a placeholder session cookie:
/// make them real in the test table.
async fn demo_org(app: &App<shared::store::DynamoStore>) -> (Secret, Secret) {
    let scim = Secret::generate("scim");
    let mut org = Org::new("demo", "http://127.0.0.1:3000", 1);
    org.scim_token_hash = Some(scim.hash().0);
    match app.store.create_org(&org).await {
        Ok(()) => {}
        Err(StoreError::AlreadyExists(_)) => {
            let mut current = app.store.get_org("demo").await.unwrap().unwrap();
            current.scim_token_hash = Some(scim.hash().0);
            app.store.update_org(&current).await.unwrap();
        }
        Err(e) => panic!("{e}"),
    }
    let user = match app
        .store
        .find_user_by_user_name("demo", "events@example.com")
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
    let session = Secret::generate("sess");
    let now = app.now();
    app.store
        .create_session(
            "demo",
            &Session {
                token_hash: session.hash().0,
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
    let (scim, session) = demo_org(&app).await;
    let mut files: Vec<_> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    // Logout ends the session the other events use: run it last.
    files.sort_by_key(|p| (p.to_string_lossy().contains("logout"), p.clone()));
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("scim_replace-with-the-token-ssoctl-printed", scim.expose())
            .replace("replace-with-a-session-token", session.expose());
        let req = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (_, route) = match_path(req.uri().path()).unwrap_or_else(|| panic!("{name}: no route"));
        let Ok(resp) = app.handle(Some(route.function()), req).await;
        let status = resp.status().as_u16();
        assert!(
            status != 404 && (status < 500 || status == 501),
            "{name}: {status} {}",
            body_text(&resp)
        );
        match name.as_str() {
            "saml-metadata-get.json"
            | "scim-service-provider-config-get.json"
            | "session-get.json" => assert_eq!(status, 200, "{name}"),
            "logout-post.json" => assert_eq!(status, 204, "{name}"),
            _ => {}
        }
    }
}
