//! SCIM routes: bearer-token auth per organization, discovery, and the dispatch to Users
//! (`scim_users.rs`) and Groups (`scim_groups.rs`); the request helpers they share are in
//! `scim_common.rs`. Every error is rendered as an RFC 7644 §3.12 body by `App::handle`.

use http::{Method, StatusCode};
use lambda_http::Request;

use super::scim_search::{self, project, projection_of, Target, SEARCH};
use super::{scim_groups, scim_users, Handled};
use super::{Ctx, Services};
use crate::error::AppError;
use crate::http::{bearer_token, scim_json};
use crate::routes::Route;
use crate::scim::discovery;
use crate::store::Store;
use crate::tokens::TokenHash;

/// The org's token, compared in constant time against its stored hash. A token of another org
/// never matches: each org has its own hash, and the org comes from the path.
fn authenticate(ctx: &Ctx, req: &Request) -> Result<(), AppError> {
    let token = bearer_token(req).ok_or(AppError::Unauthorized("missing bearer token"))?;
    match &ctx.org.scim_token_hash {
        Some(h) if TokenHash::from_stored(h).matches(token) => Ok(()),
        _ => Err(AppError::Unauthorized("invalid bearer token")),
    }
}

/// The org's per-second SCIM budget (`scim/rate_limit.rs`); 429 with Retry-After when spent.
async fn rate_limit<S: Store>(app: &Services<S>, ctx: &Ctx) -> Result<(), AppError> {
    let limit = app.config.scim_requests_per_second;
    if limit == 0
        || app
            .store
            .take_scim_request(&ctx.org.org, ctx.now, limit)
            .await?
    {
        return Ok(());
    }
    // The window is one second: the next one starts within a second.
    Err(AppError::RateLimited(1))
}

/// The routes of the `scim-users` function: discovery, Users, and the SCIM catch-all.
pub(super) async fn dispatch_users<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    req: &Request,
    method: Method,
) -> Handled {
    authenticate(ctx, req)?;
    // After authentication (an unauthenticated caller cannot spend an org's budget), before any
    // other read or write: a refused request changes nothing.
    rate_limit(app, ctx).await?;
    let base = ctx.org.scim_base_url();
    let read_only = |m: &Method| {
        if *m == Method::GET {
            Ok(())
        } else {
            Err(AppError::MethodNotAllowed(m.clone()))
        }
    };
    match &ctx.route {
        Route::ScimServiceProviderConfig => {
            read_only(&method)?;
            Ok((
                scim_json(StatusCode::OK, &discovery::service_provider_config(&base)),
                "ok",
            ))
        }
        Route::ScimResourceTypes(id) => {
            read_only(&method)?;
            one_or_all(
                discovery::resource_types(&base),
                id.as_deref(),
                "resource type",
            )
        }
        Route::ScimSchemas(id) => {
            read_only(&method)?;
            one_or_all(discovery::schemas(&base), id.as_deref(), "schema")
        }
        // `.search` (RFC 7644 §3.4.3) is not an id: no resource id is ever ".search".
        Route::ScimUsers(Some(s)) if s == SEARCH => {
            scim_search::search(app, ctx, req, method, Target::Users).await
        }
        Route::ScimUnknown if req.uri().path().ends_with(&format!("/scim/v2/{SEARCH}")) => {
            scim_search::search(app, ctx, req, method, Target::All).await
        }
        // The projection is read before the handler runs: a bad `attributes` on a POST is a 400
        // before anything is written, never after.
        Route::ScimUsers(id) => {
            let projection = projection_of(req)?;
            project(
                &projection,
                scim_users::handle(app, ctx, req, method, id.as_deref()).await,
            )
        }
        _ => Err(AppError::NotFound("no such SCIM endpoint".into())),
    }
}

/// The routes of the `scim-groups` function. A separate entry point so that `scim-users` does not
/// link the Groups code, nor `scim-groups` the Users code (issue 10 item 8).
pub(super) async fn dispatch_groups<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    req: &Request,
    method: Method,
) -> Handled {
    authenticate(ctx, req)?;
    rate_limit(app, ctx).await?;
    match &ctx.route {
        Route::ScimGroups(Some(s)) if s == SEARCH => {
            scim_search::search(app, ctx, req, method, Target::Groups).await
        }
        Route::ScimGroups(id) => {
            let projection = projection_of(req)?;
            project(
                &projection,
                scim_groups::handle(app, ctx, req, method, id.as_deref()).await,
            )
        }
        _ => Err(AppError::NotFound("no such SCIM endpoint".into())),
    }
}

fn one_or_all(all: Vec<serde_json::Value>, id: Option<&str>, what: &str) -> Handled {
    match id {
        None => Ok((scim_json(StatusCode::OK, &discovery::list(all)), "ok")),
        Some(id) => match all.into_iter().find(|r| r["id"] == id) {
            Some(r) => Ok((scim_json(StatusCode::OK, &r), "ok")),
            None => Err(AppError::NotFound(format!("no {what} {id:?}"))),
        },
    }
}
