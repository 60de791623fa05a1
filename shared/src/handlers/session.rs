//! The session API: who is signed in (`GET /orgs/{org}/session`), and sign-out
//! (`POST /orgs/{org}/logout`). Sessions are found by the hash of their token, from the cookie or
//! from `Authorization: Bearer`. Apps sign users in with OpenID Connect (`handlers/oidc.rs`); the
//! one-time code exchange that `POST /orgs/{org}/session` was is gone (issue 11).

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::Handled;
use crate::app::{App, Ctx};
use crate::error::AppError;
use crate::http::{bearer_token, cookie, json, SESSION_COOKIE};
use crate::store::Store;
use crate::tokens::TokenHash;

fn presented_token(req: &Request) -> Option<&str> {
    cookie(req, SESSION_COOKIE).or_else(|| bearer_token(req))
}

pub(super) async fn current<S: Store>(app: &App<S>, ctx: &Ctx, req: &Request) -> Handled {
    let unauthorized = || AppError::Unauthorized("not signed in");
    let token = presented_token(req).ok_or_else(unauthorized)?;
    let hash = TokenHash::of(token);
    let org = &ctx.org.org;
    let session = app
        .store
        .get_session(org, &hash.0, ctx.now)
        .await?
        .ok_or_else(unauthorized)?;
    let user = match app.store.get_user(org, &session.user_id).await? {
        Some(u) if u.active => u,
        // A deactivated or deleted user's session is dead: remove it now rather than wait for TTL.
        _ => {
            app.store.delete_session(org, &hash.0).await?;
            return Err(unauthorized());
        }
    };
    let body = json!({
        "org": org,
        "user": {
            "id": user.id,
            "userName": user.user_name,
            "externalId": user.external_id,
            "active": user.active,
            "attributes": user.attributes,
        },
        "session": { "created_at": session.created_at, "expires_at": session.expires_at },
    });
    Ok((json(StatusCode::OK, &body), "ok"))
}

pub(super) async fn logout<S: Store>(app: &App<S>, ctx: &Ctx, req: &Request) -> Handled {
    if let Some(token) = presented_token(req) {
        app.store
            .delete_session(&ctx.org.org, &TokenHash::of(token).0)
            .await?;
    }
    let clear = format!(
        "{SESSION_COOKIE}=; Path=/orgs/{}; Max-Age=0; HttpOnly; Secure; SameSite=Lax",
        ctx.org.org
    );
    let resp = Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header("set-cookie", clear)
        .header("cache-control", "no-store")
        .body(Body::Empty)
        .map_err(|e| AppError::bad_request("bad_response", e.to_string()))?;
    Ok((resp, "ok"))
}
