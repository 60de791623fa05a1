//! SCIM routes: bearer-token auth per organization, discovery, and the dispatch to Users
//! (`scim_users.rs`) and Groups (`scim_groups.rs`), with the request helpers they share. Every
//! error is rendered as an RFC 7644 §3.12 body by `App::handle`.

use http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Value;

use super::{scim_groups, scim_users, Handled};
use crate::app::{App, Ctx};
use crate::error::AppError;
use crate::http::{bearer_token, body_bytes, header, scim_json};
use crate::routes::Route;
use crate::scim::{discovery, etag, ScimError};
use crate::store::Store;
use crate::tokens::TokenHash;

/// Largest request body we read (the issue: > 1 MiB is 413).
pub(super) const MAX_BODY: usize = 1 << 20;

/// The JSON body, refused with a SCIM 400 when it is not JSON (or 413 when too large). Okta sends
/// `application/scim+json` or `application/json`; both are accepted.
pub(super) fn read_json(req: &Request) -> Result<Value, AppError> {
    if let Some(ct) = header(req, "content-type") {
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime != "application/scim+json" && mime != "application/json" {
            return Err(ScimError::new(
                "invalidSyntax",
                format!(
                    "Content-Type must be application/scim+json or application/json (got {mime:?})"
                ),
            )
            .into());
        }
    }
    let bytes = body_bytes(req, MAX_BODY)?;
    if bytes.is_empty() {
        return Err(ScimError::new("invalidSyntax", "the request body is empty").into());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ScimError::new("invalidSyntax", format!("the body is not valid JSON: {e}")).into()
    })
}

pub(super) fn query_pairs(req: &Request) -> Vec<(String, String)> {
    match req.uri().query() {
        Some(q) => url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect(),
        None => req
            .query_string_parameters_ref()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Whether the request carries `If-Match` (then a version conflict is the client's 412, not ours
/// to retry).
pub(super) fn has_if_match(req: &Request) -> bool {
    header(req, "if-match").is_some()
}

/// RFC 7644 §3.14 / RFC 7232 §3.1: `If-Match` must name the current ETag (or be `*`).
pub(super) fn check_if_match(req: &Request, version: u64) -> Result<(), AppError> {
    let Some(v) = header(req, "if-match") else {
        return Ok(());
    };
    let current = etag(version);
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_string();
    if v.trim() == "*" || v.split(',').any(|t| strip(t) == strip(&current)) {
        Ok(())
    } else {
        Err(AppError::PreconditionFailed(format!(
            "If-Match {v} does not match the current version {current}"
        )))
    }
}

/// Randomized, growing pause before re-trying a read-modify-write that lost a race, so that
/// contending writers spread out instead of colliding again.
pub(super) async fn backoff(attempt: usize) {
    use rand::RngExt;
    let cap = 10u64 << attempt.min(5);
    let ms = rand::rng().random_range(1..=cap);
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// A resource response with its ETag and (on creation) Location.
pub(super) fn resource(status: StatusCode, value: &Value, version: u64) -> Response<Body> {
    let mut resp = scim_json(status, value);
    let h = resp.headers_mut();
    if let Ok(v) = etag(version).parse() {
        h.insert("etag", v);
    }
    if status == StatusCode::CREATED {
        if let Some(Ok(loc)) = value["meta"]["location"].as_str().map(str::parse) {
            h.insert("location", loc);
        }
    }
    resp
}

/// The org's token, compared in constant time against its stored hash. A token of another org
/// never matches: each org has its own hash, and the org comes from the path.
fn authenticate(ctx: &Ctx, req: &Request) -> Result<(), AppError> {
    let token = bearer_token(req).ok_or(AppError::Unauthorized("missing bearer token"))?;
    match &ctx.org.scim_token_hash {
        Some(h) if TokenHash(h.clone()).matches(token) => Ok(()),
        _ => Err(AppError::Unauthorized("invalid bearer token")),
    }
}

/// The routes of the `scim-users` function: discovery, Users, and the SCIM catch-all.
pub(super) async fn dispatch_users<S: Store>(
    app: &App<S>,
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
        _ => Err(AppError::NotFound("no such SCIM endpoint".into())),
    }
}

/// The routes of the `scim-groups` function. A separate entry point so that `scim-users` does not
/// link the Groups code, nor `scim-groups` the Users code (issue 10 item 8).
pub(super) async fn dispatch_groups<S: Store>(
    app: &App<S>,
    ctx: &Ctx,
    req: &Request,
    method: Method,
) -> Handled {
    authenticate(ctx, req)?;
    match &ctx.route {
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
