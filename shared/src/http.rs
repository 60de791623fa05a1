//! HTTP glue shared by the handlers: reading headers, cookies and bodies safely, building responses.

use http::StatusCode;
use lambda_http::{Body, Request, Response};

use crate::error::AppError;

/// Name of the session cookie. Path-scoped to `/orgs/{org}` so orgs never see each other's.
pub const SESSION_COOKIE: &str = "sso_session";

pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// `Authorization: Bearer <token>` (scheme case-insensitive, RFC 6750 §2.1).
pub fn bearer_token(req: &Request) -> Option<&str> {
    let value = header(req, "authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// One cookie's value from every `Cookie` header (HTTP API v2 events join `cookies` into one).
pub fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The body's bytes, refused with 413 past `limit` (API Gateway has already decoded base64).
pub fn body_bytes(req: &Request, limit: usize) -> Result<&[u8], AppError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if bytes.len() > limit {
        return Err(AppError::PayloadTooLarge { limit });
    }
    Ok(bytes)
}

pub fn response(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("cache-control", "no-store")
        .body(body.into())
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    response(status, "application/json", value.to_string())
}

pub fn scim_json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    response(status, "application/scim+json", value.to_string())
}

pub fn empty(status: StatusCode) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("cache-control", "no-store")
        .body(Body::Empty)
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> Request {
        let mut b = http::Request::builder().uri("https://x/orgs/acme/session");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::Empty).unwrap()
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_empty_ones_ignored() {
        assert_eq!(
            bearer_token(&req(&[("authorization", "bearer abc")])),
            Some("abc")
        );
        assert_eq!(bearer_token(&req(&[("authorization", "Bearer  ")])), None);
        assert_eq!(bearer_token(&req(&[("authorization", "Basic abc")])), None);
        assert_eq!(bearer_token(&req(&[])), None);
    }

    #[test]
    fn cookies_are_found_among_several() {
        let r = req(&[("cookie", "a=1; sso_session=tok; b=2")]);
        assert_eq!(cookie(&r, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&r, "missing"), None);
    }

    #[test]
    fn oversized_bodies_are_refused_with_413() {
        let r = http::Request::builder()
            .body(Body::Text("x".repeat(11)))
            .unwrap();
        assert!(matches!(
            body_bytes(&r, 10),
            Err(AppError::PayloadTooLarge { limit: 10 })
        ));
        assert_eq!(body_bytes(&r, 11).unwrap().len(), 11);
    }
}
