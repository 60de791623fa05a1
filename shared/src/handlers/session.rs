//! The session API: who is signed in (`GET /orgs/{org}/session`), and sign-out
//! (`POST /orgs/{org}/logout`). Sessions are found by the hash of their token, from the cookie or
//! from `Authorization: Bearer` (for app backends on another domain).

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::Handled;
use crate::app::{App, Ctx};
use crate::error::AppError;
use crate::http::{bearer_token, body_bytes, cookie, header, json, SESSION_COOKIE};
use crate::store::{Session, Store};
use crate::tokens::{Secret, TokenHash};

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

/// `POST /orgs/{org}/session` with a one-time code (form `code=...` or JSON `{"code": "..."}`): the
/// app's backend trades it, once, for a session token of its own and the user. The new session
/// ends when the browser's does (24 hours after sign-in).
pub(super) async fn exchange<S: Store>(app: &App<S>, ctx: &Ctx, req: &Request) -> Handled {
    let body = body_bytes(req, 4096)?;
    let is_json = header(req, "content-type").is_some_and(|c| c.contains("json"));
    let code = if is_json {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_string))
    } else {
        url::form_urlencoded::parse(body)
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
    }
    .filter(|c| !c.is_empty())
    .ok_or_else(|| AppError::bad_request("missing_code", "send the one-time code as `code`"))?;
    let org = &ctx.org.org;
    let invalid = || AppError::Unauthorized("the code is unknown, used or expired");
    let grant = app
        .store
        .redeem_code(org, &TokenHash::of(&code).0, ctx.now)
        .await?
        .ok_or_else(invalid)?;
    let user = match app.store.get_user(org, &grant.user_id).await? {
        Some(u) if u.active => u,
        _ => return Err(invalid()),
    };
    let token = Secret::generate("sso");
    let session = Session {
        token_hash: token.hash().0,
        user_id: user.id.clone(),
        created_at: ctx.now,
        expires_at: grant.session_expires_at,
    };
    app.store.create_session(org, &session).await?;
    let body = json!({
        "session_token": token.expose(),
        "expires_at": session.expires_at,
        "user": {
            "id": user.id,
            "userName": user.user_name,
            "externalId": user.external_id,
            "active": user.active,
            "attributes": user.attributes,
        },
    });
    Ok((json(StatusCode::OK, &body), "ok"))
}
