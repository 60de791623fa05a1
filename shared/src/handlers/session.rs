//! The session API: who is signed in (`GET /orgs/{org}/session`), sign-out
//! (`POST /orgs/{org}/logout`), and the signed-in page browsers land on when no app URL is set
//! (`GET /orgs/{org}/signed-in`). Sessions are found by the hash of their token, from the org's
//! session cookie or from `Authorization: Bearer`. Apps sign users in with OpenID Connect
//! (`handlers/oidc.rs`); the one-time code exchange that `POST /orgs/{org}/session` was is gone
//! (issue 11).

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::Handled;
use super::{Ctx, Services};
use crate::error::AppError;
use crate::http::{
    bearer_token, cookies, host_cookie, html_escape, html_page, json, session_cookie_name, NOSNIFF,
};
use crate::store::{Session, Store, User};
use crate::tokens::TokenHash;

/// The first presented token that is a live session of this org, with its hash: each of the org's
/// session cookies (a few at most, see `http::cookies`), then, if `bearer`, the bearer token. A
/// stale or foreign cookie sent first therefore cannot hide the real one (issue 9 finding 10).
async fn find_session<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    req: &Request,
    bearer: bool,
) -> Result<Option<(TokenHash, Session)>, AppError> {
    let name = session_cookie_name(&ctx.org.org);
    let bearer = bearer.then(|| bearer_token(req)).flatten();
    for token in cookies(req, &name).into_iter().chain(bearer) {
        let hash = TokenHash::of(token);
        if let Some(s) = app
            .store
            .get_session(&ctx.org.org, hash.as_str(), ctx.now)
            .await?
        {
            return Ok(Some((hash, s)));
        }
    }
    Ok(None)
}

/// The signed-in user of a live session; a deactivated or deleted user's session is dead, and is
/// removed now rather than at its TTL.
async fn signed_in_user<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    req: &Request,
    bearer: bool,
) -> Result<Option<(Session, User)>, AppError> {
    let Some((hash, session)) = find_session(app, ctx, req, bearer).await? else {
        return Ok(None);
    };
    let org = &ctx.org.org;
    match app.store.get_user(org, &session.user_id).await? {
        Some(u) if u.active => Ok(Some((session, u))),
        _ => {
            app.store.delete_session(org, hash.as_str()).await?;
            Ok(None)
        }
    }
}

pub(super) async fn current<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request) -> Handled {
    let (session, user) = signed_in_user(app, ctx, req, true)
        .await?
        .ok_or(AppError::Unauthorized("not signed in"))?;
    let body = json!({
        "org": ctx.org.org,
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

/// Ends the presented session and every other session of its sign-in (the one an app backend got
/// for the one-time code too), so a browser's logout leaves no token of that sign-in alive.
pub(super) async fn logout<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request) -> Handled {
    if let Some((hash, _)) = find_session(app, ctx, req, true).await? {
        app.store.end_sign_in(&ctx.org.org, hash.as_str()).await?;
    }
    let clear = host_cookie(&session_cookie_name(&ctx.org.org), "", 0, "Lax");
    let resp = Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header("set-cookie", clear)
        .header("cache-control", "no-store")
        .header(NOSNIFF.0, NOSNIFF.1)
        .body(Body::Empty)
        .map_err(AppError::BadResponse)?;
    Ok((resp, "ok"))
}

/// `GET /orgs/{org}/signed-in`: where a browser lands after sign-in when neither an allowed
/// RelayState, the org's default app URL nor the deployment's `DefaultAppUrl` says otherwise.
/// A GET page (POST/redirect/GET: a refresh re-posts nothing), from the session cookie only.
pub(super) async fn signed_in_page<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    req: &Request,
) -> Handled {
    let org = html_escape(&ctx.org.org);
    let Some((session, user)) = signed_in_user(app, ctx, req, false).await? else {
        let body = format!(
            "<h1>Not signed in</h1>\n<p>This browser has no session for organization <b>{org}</b>. \
             Sign in from your Okta dashboard or the product's sign-in page.</p>"
        );
        return Ok((
            html_page(StatusCode::UNAUTHORIZED, "Not signed in", &body),
            "unauthorized",
        ));
    };
    let until = time::OffsetDateTime::from_unix_timestamp(session.expires_at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>Signed in</h1>\n<p>You are signed in to <b>{org}</b> as <b>{user}</b> until {until}.</p>\n\
         <p>No app URL is set, so sign-in ends here. To send users to your app instead, run \
         <code>ssoctl org set {org} --default-app-url https://app.example.com/</code>, or deploy \
         with the <code>DefaultAppUrl</code> parameter.</p>",
        user = html_escape(&user.user_name),
        until = html_escape(&until),
    );
    Ok((html_page(StatusCode::OK, "Signed in", &body), "ok"))
}
