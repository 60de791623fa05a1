//! SCIM routes: bearer-token auth per organization, discovery, and the dispatch to Users
//! (`scim_users.rs`) and Groups (`scim_groups.rs`); the request helpers they share are in
//! `scim_common.rs`. Every error is rendered as an RFC 7644 §3.12 body by `App::handle`.

use http::{Method, StatusCode};
use lambda_http::Request;

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
        Some(h) if TokenHash(h.clone()).matches(token) => Ok(()),
        _ => Err(AppError::Unauthorized("invalid bearer token")),
    }
}

pub(super) async fn dispatch<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    req: &Request,
    method: Method,
) -> Handled {
    authenticate(ctx, req)?;
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
        Route::ScimUsers(id) => scim_users::handle(app, ctx, req, method, id.as_deref()).await,
        Route::ScimGroups(id) => scim_groups::handle(app, ctx, req, method, id.as_deref()).await,
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
