//! What the SCIM Users and Groups handlers share: reading the body and query, If-Match
//! (RFC 7644 §3.14), the backoff between retries, and resource responses with their ETag.

use http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Value;

use std::future::Future;

use crate::error::AppError;
use crate::http::{body_bytes, header, scim_json};
use crate::scim::{etag, ScimError, ScimType};
use crate::store::StoreError;

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
                ScimType::InvalidSyntax,
                format!(
                    "Content-Type must be application/scim+json or application/json (got {mime:?})"
                ),
            )
            .into());
        }
    }
    let bytes = body_bytes(req, MAX_BODY)?;
    if bytes.is_empty() {
        return Err(ScimError::new(ScimType::InvalidSyntax, "the request body is empty").into());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ScimError::new(
            ScimType::InvalidSyntax,
            format!("the body is not valid JSON: {e}"),
        )
        .into()
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

/// Attempts at a read-modify-write that lost a race to another writer (without If-Match, the
/// later request re-applies itself to the winner's result: no update is lost).
pub(super) const ATTEMPTS: usize = 12;

/// The SCIM 404 for a resource of `kind` ("User", "Group") (RFC 7644 §3.12).
pub(super) fn not_found(kind: &str, id: &str) -> AppError {
    AppError::NotFound(format!("{kind} {id} not found"))
}

/// Runs one read-modify-write (`attempt(n)`, n = 1, 2, …: read, check If-Match, write at the
/// version read) under optimistic concurrency, the one place Users and Groups decide what a
/// version conflict means (RFC 7644 §3.14): when the client pinned a version with If-Match, its
/// 412; otherwise another attempt after a backoff, at most [`ATTEMPTS`], then 429 + Retry-After
/// (Okta retries those).
pub(super) async fn retry_on_conflict<T, F, Fut>(
    req: &Request,
    what: &str,
    mut attempt: F,
) -> Result<T, AppError>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let pinned = has_if_match(req);
    for n in 1..=ATTEMPTS {
        match attempt(n).await {
            Err(AppError::Store(StoreError::VersionConflict)) if pinned => {
                return Err(AppError::PreconditionFailed(format!(
                    "the {what} changed since If-Match's version"
                )))
            }
            Err(AppError::Store(StoreError::VersionConflict)) if n < ATTEMPTS => backoff(n).await,
            other => return other,
        }
    }
    // Still contended after every attempt: ask the client to retry later.
    Err(AppError::Store(StoreError::Throttled))
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
