//! The management API, `/api/v1` (the contract: docs/api.md and docs/openapi.json): the SaaS app's
//! backend creates orgs, reads their directories and follows their events with an API key.
//!
//! Every answer is JSON; every error is `{"error": "<stable code>", "message": "..."}`
//! (`error::render` with `Flavor::Json`), 4xx for bad input. Listings page with an opaque,
//! validated cursor (`cursor` → `next_cursor`, null at the end) and `limit` ≤ [`MAX_LIMIT`].

mod directory;
mod events;
pub mod keys;
mod orgs;

pub mod shape;
pub mod store;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::Value;

pub use crate::api_routes::ApiRoute;
use crate::error::AppError;
use crate::handlers::Services as App;
use crate::http::{bearer_token, body_bytes, header};
use crate::store::Store;
use crate::tokens::TokenHash;
use keys::{ApiKey, API_KEY_PREFIX};
pub use orgs::purge_pending;

type Handled = Result<(Response<Body>, &'static str), AppError>;

/// The OpenAPI 3.1 document of this API, kept in the repository and checked against the routes.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// Largest page a listing returns.
pub const MAX_LIMIT: usize = 100;
/// The page size when the caller names none.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest request body (IdP metadata is a few KiB; Okta's ~2 KiB).
pub const MAX_BODY: usize = 1 << 20;
/// Query parameters looked at: every loop over input is bounded.
const MAX_QUERY_PARAMS: usize = 16;

pub(crate) async fn dispatch<S: Store>(app: &App<S>, route: ApiRoute, req: &Request) -> Handled {
    let method = req.method().clone();
    if route == ApiRoute::OpenApi {
        return match method {
            Method::GET => Ok((
                crate::http::response(StatusCode::OK, "application/json", OPENAPI),
                "ok",
            )),
            m => Err(AppError::MethodNotAllowed(m)),
        };
    }
    // Who asks decides nothing below until the key is checked (verify before you read).
    authenticate(app, req).await?;
    match (route, method) {
        (ApiRoute::Orgs, Method::POST) => orgs::create(app, req).await,
        (ApiRoute::Orgs, Method::GET) => orgs::list(app, req).await,
        (ApiRoute::Org(o), Method::GET) => orgs::show(app, &o).await,
        (ApiRoute::Org(o), Method::PATCH) => orgs::patch(app, &o, req).await,
        (ApiRoute::Org(o), Method::DELETE) => orgs::delete(app, &o).await,
        (ApiRoute::OrgIdp(o), Method::PUT) => orgs::put_idp(app, &o, req).await,
        (ApiRoute::OrgScimToken(o), Method::POST) => orgs::rotate(app, &o).await,
        (ApiRoute::Users(o), Method::GET) => directory::users(app, &o, req).await,
        (ApiRoute::User(o, id), Method::GET) => directory::user(app, &o, &id).await,
        (ApiRoute::Groups(o), Method::GET) => directory::groups(app, &o, req).await,
        (ApiRoute::Group(o, id), Method::GET) => directory::group(app, &o, &id).await,
        (ApiRoute::GroupMembers(o, id), Method::GET) => directory::members(app, &o, &id, req).await,
        (ApiRoute::Events, Method::GET) => events::list(app, req).await,
        (ApiRoute::Unknown, _) => Err(AppError::NoRoute),
        (_, m) => Err(AppError::MethodNotAllowed(m)),
    }
}

/// The API key the request carries, or 401. A SCIM token (another prefix, and never stored as an
/// API key) is refused like any wrong key.
pub(crate) async fn authenticate<S: Store>(
    app: &App<S>,
    req: &Request,
) -> Result<ApiKey, AppError> {
    let token = bearer_token(req).ok_or(AppError::Unauthorized(
        "an API key is required: Authorization: Bearer <api_key>",
    ))?;
    let invalid = AppError::Unauthorized("the API key is not valid (revoked, or never issued)");
    if !token.starts_with(&format!("{API_KEY_PREFIX}_")) || token.len() > 128 {
        return Err(invalid);
    }
    match app
        .store
        .find_api_key(TokenHash::of(token).as_str())
        .await?
    {
        Some(key) if key.matches(token) => Ok(key),
        _ => Err(invalid),
    }
}

/// The query parameters (at most [`MAX_QUERY_PARAMS`]).
pub(crate) fn query(req: &Request) -> Vec<(String, String)> {
    req.uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .take(MAX_QUERY_PARAMS)
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `limit`: 1..=[`MAX_LIMIT`], default [`DEFAULT_LIMIT`].
pub(crate) fn limit(q: &[(String, String)]) -> Result<usize, AppError> {
    match param(q, "limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                AppError::bad_request(
                    "invalid_limit",
                    format!("limit must be an integer from 1 to {MAX_LIMIT} (got {v:?})"),
                )
            }),
    }
}

/// An opaque paging cursor: where a walk of one listing (its `scope`, e.g. `users:acme`) left
/// off. Base64url JSON; a cursor of another listing or org, or one that is not ours, is a 400.
pub(crate) fn encode_cursor(scope: &str, after: &str) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::json!({ "s": scope, "a": after }).to_string())
}

/// Cursors are short: a scope and a key.
const MAX_CURSOR: usize = 1024;

pub(crate) fn decode_cursor(raw: &str, scope: &str) -> Result<String, AppError> {
    let bad = || {
        AppError::bad_request(
            "invalid_cursor",
            "cursor is not a next_cursor this listing returned",
        )
    };
    if raw.len() > MAX_CURSOR {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    match (v["s"].as_str(), v["a"].as_str()) {
        (Some(s), Some(a)) if s == scope && !a.is_empty() => Ok(a.to_string()),
        _ => Err(bad()),
    }
}

/// The cursor parameter of a listing, decoded.
pub(crate) fn cursor(q: &[(String, String)], scope: &str) -> Result<Option<String>, AppError> {
    param(q, "cursor")
        .filter(|c| !c.is_empty())
        .map(|c| decode_cursor(c, scope))
        .transpose()
}

/// A JSON body (`application/json`), or 400.
pub(crate) fn read_json(req: &Request) -> Result<Value, AppError> {
    if let Some(ct) = header(req, "content-type") {
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/json") {
            return Err(AppError::bad_request(
                "unsupported_media_type",
                format!("Content-Type must be application/json (got {mime:?})"),
            ));
        }
    }
    let bytes = body_bytes(req, MAX_BODY)?;
    if bytes.is_empty() {
        return Err(AppError::bad_request(
            "invalid_json",
            "the request body is empty",
        ));
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        AppError::bad_request("invalid_json", format!("the body is not valid JSON: {e}"))
    })?;
    if !v.is_object() {
        return Err(AppError::bad_request(
            "invalid_json",
            "the body must be a JSON object",
        ));
    }
    Ok(v)
}

pub(crate) fn page(data: Vec<Value>, next: Option<String>) -> Value {
    serde_json::json!({ "data": data, "next_cursor": next })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_query(q: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn the_openapi_document_describes_exactly_the_api_routes_and_their_methods() {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        let documented: std::collections::BTreeSet<&str> =
            paths.keys().map(String::as_str).collect();
        let routed: std::collections::BTreeSet<&str> = crate::routes::ROUTES
            .iter()
            .filter(|(_, f)| *f == crate::Function::Api)
            .map(|(t, _)| *t)
            .filter(|t| !t.ends_with("{proxy+}"))
            .collect();
        assert_eq!(documented, routed, "left: docs/openapi.json, right: ROUTES");
        for t in routed {
            let sample = t.replace("{org}", "acme").replace("{id}", "x");
            let route = ApiRoute::parse(&sample).unwrap();
            let mut allowed: Vec<String> = route
                .allowed_methods()
                .split(", ")
                .map(str::to_ascii_lowercase)
                .collect();
            let mut ops: Vec<String> = paths[t]
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "parameters")
                .cloned()
                .collect();
            allowed.sort();
            ops.sort();
            assert_eq!(ops, allowed, "{t}");
        }
    }

    #[test]
    fn limits_outside_one_to_a_hundred_are_refused() {
        assert_eq!(limit(&with_query("")).unwrap(), DEFAULT_LIMIT);
        assert_eq!(limit(&with_query("limit=100")).unwrap(), 100);
        for bad in ["limit=0", "limit=101", "limit=-1", "limit=ten"] {
            let e = limit(&with_query(bad)).unwrap_err();
            assert_eq!(e.code(), "invalid_limit", "{bad}");
        }
    }

    #[test]
    fn a_cursor_is_accepted_only_by_the_listing_that_issued_it() {
        let c = encode_cursor("users:acme", "USER#1");
        assert_eq!(decode_cursor(&c, "users:acme").unwrap(), "USER#1");
        assert_eq!(
            decode_cursor(&c, "users:other").unwrap_err().code(),
            "invalid_cursor"
        );
        for junk in ["", "!!", "bm90LWpzb24", &"A".repeat(2000)] {
            assert_eq!(
                decode_cursor(junk, "users:acme").unwrap_err().code(),
                "invalid_cursor"
            );
        }
    }
}
