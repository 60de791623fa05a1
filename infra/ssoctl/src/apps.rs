//! App clients of the OpenID Connect provider: what `ssoctl app ...` does, as functions tests
//! can call. Every command validates all its input before it writes anything. The client secret
//! is shown once, by `create` and `rotate-secret`, and stored only as a SHA-256 hash.

use serde_json::{json, Value};
use shared::oidc::{validate_registered_uri, ClientId};
use shared::store::{AppClient, OidcStore, SessionStore, StoreError};
use shared::tokens::Secret;

use crate::admin::AdminError;

/// Bounds on a registration (each URI is also capped at 2000 characters).
const MAX_URIS: usize = 20;
const MAX_NAME: usize = 200;

pub struct CreateApp<'a> {
    pub name: &'a str,
    pub redirect_uris: &'a [String],
    pub post_logout_redirect_uris: &'a [String],
    pub backchannel_logout_uri: Option<&'a str>,
    /// No secret: a public client (a SPA or native app), which must use PKCE.
    pub public: bool,
}

fn uris(kind: &str, raw: &[String]) -> Result<Vec<String>, AdminError> {
    if raw.len() > MAX_URIS {
        return Err(AdminError::Invalid(format!("at most {MAX_URIS} {kind}s")));
    }
    raw.iter()
        .map(|u| {
            validate_registered_uri(u).map_err(|e| AdminError::Invalid(format!("{kind}: {e}")))
        })
        .collect()
}

fn unknown(id: &str) -> AdminError {
    AdminError::Invalid(format!("app {id:?} not found (see `ssoctl app list`)"))
}

/// What an app's developer needs; `client_secret` only when one was just minted.
pub fn app_json(c: &AppClient, secret: Option<&Secret>) -> Value {
    let mut v = json!({
        "client_id": c.client_id,
        "name": c.name,
        "public_client": c.secret_hash.is_none(),
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "backchannel_logout_uri": c.backchannel_logout_uri,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    });
    if let Some(s) = secret {
        v["client_secret"] = json!(s.expose());
    }
    v
}

pub async fn create_app<S: OidcStore>(
    store: &S,
    req: CreateApp<'_>,
    now: i64,
) -> Result<Value, AdminError> {
    let name = req.name.trim();
    if name.is_empty() || name.len() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(AdminError::Invalid(format!(
            "the app name must be 1-{MAX_NAME} printable characters"
        )));
    }
    let redirect_uris = uris("redirect URI", req.redirect_uris)?;
    if redirect_uris.is_empty() {
        return Err(AdminError::Invalid(
            "give at least one --redirect-uri (matched exactly at sign-in)".into(),
        ));
    }
    let post_logout_redirect_uris =
        uris("post-logout redirect URI", req.post_logout_redirect_uris)?;
    let backchannel_logout_uri = match req.backchannel_logout_uri {
        Some(u) => Some(
            validate_registered_uri(u)
                .map_err(|e| AdminError::Invalid(format!("back-channel logout URI: {e}")))?,
        ),
        None => None,
    };
    let secret = (!req.public).then(|| Secret::generate("secret"));
    let client = AppClient {
        client_id: ClientId::generate().as_str().to_string(),
        name: name.to_string(),
        secret_hash: secret.as_ref().map(|s| s.hash().into_string()),
        redirect_uris,
        post_logout_redirect_uris,
        backchannel_logout_uri,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    store.create_app_client(&client).await?;
    Ok(app_json(&client, secret.as_ref()))
}

async fn load<S: OidcStore>(store: &S, id: &str) -> Result<AppClient, AdminError> {
    let parsed = ClientId::parse(id).ok_or_else(|| unknown(id))?;
    store
        .get_app_client(parsed.as_str())
        .await?
        .ok_or_else(|| unknown(id))
}

pub async fn show_app<S: OidcStore>(store: &S, id: &str) -> Result<Value, AdminError> {
    Ok(app_json(&load(store, id).await?, None))
}

pub async fn list_apps<S: OidcStore>(store: &S) -> Result<Value, AdminError> {
    let apps: Vec<Value> = store
        .list_app_clients()
        .await?
        .iter()
        .map(|c| app_json(c, None))
        .collect();
    Ok(json!({ "apps": apps }))
}

/// A new secret; the old one stops working at once (the hash is replaced).
pub async fn rotate_secret<S: OidcStore>(
    store: &S,
    id: &str,
    now: i64,
) -> Result<Value, AdminError> {
    let mut client = load(store, id).await?;
    if client.secret_hash.is_none() {
        return Err(AdminError::Invalid(format!(
            "app {id:?} is a public client: it has no secret to rotate"
        )));
    }
    let secret = Secret::generate("secret");
    client.secret_hash = Some(secret.hash().into_string());
    client.updated_at = now;
    let saved = store.update_app_client(&client).await?;
    Ok(app_json(&saved, Some(&secret)))
}

pub async fn delete_app<S: OidcStore>(store: &S, id: &str) -> Result<Value, AdminError> {
    let client = load(store, id).await?;
    match store.delete_app_client(&client.client_id).await {
        Ok(()) => Ok(json!({ "deleted": client.client_id })),
        Err(StoreError::NotFound(_)) => Err(unknown(id)),
        Err(e) => Err(e.into()),
    }
}

/// Admin revocation: ends every session of the user in `org`, browser and OIDC alike; each app
/// holding one gets a back-channel logout.
pub async fn sign_out_user<S: SessionStore>(
    store: &S,
    org: &str,
    user_id: &str,
) -> Result<Value, AdminError> {
    shared::org::validate_org_name(org).map_err(AdminError::Invalid)?;
    let ended = store.delete_user_sessions(org, user_id).await?;
    Ok(json!({ "org": org, "user_id": user_id, "sessions_ended": ended }))
}
