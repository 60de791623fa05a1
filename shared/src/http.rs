//! HTTP glue shared by the handlers: reading headers, cookies and bodies safely, building responses.

use http::StatusCode;
use lambda_http::{Body, Request, Response};

use crate::error::AppError;

/// The session cookie's name for `org`: `__Host-sso_session_{org}`.
///
/// Why this name (issue 9 finding 10): with one name for every org, Path-scoped to `/orgs/{org}`,
/// a sibling subdomain could toss an `sso_session` cookie with a longer Path that browsers send
/// first. The `__Host-` prefix (RFC 6265bis §4.1.3.2) makes browsers refuse any such cookie not
/// set by this very host with `Secure`, no `Domain` and `Path=/`, so nothing else can set or shadow
/// it; `Path=/` is then mandatory, so the org moves from the Path into the name, which keeps orgs
/// apart (and each org's sessions are keyed by org server-side anyway). Org names are
/// `[a-z0-9-]`, valid in a cookie name (RFC 6265 §4.1.1 token).
pub fn session_cookie_name(org: &str) -> String {
    format!("__Host-sso_session_{org}")
}

/// The browser-binding cookie of SP-initiated sign-in (login CSRF, issue 9 finding 2): a random
/// secret whose hash is stored with each AuthnRequest ID `/saml/login` issues to this browser.
/// `__Host-` for the same reason as the session cookie.
pub fn login_cookie_name(org: &str) -> String {
    format!("__Host-sso_login_{org}")
}

/// At most this many same-named cookies are looked at: the `__Host-` prefix means there should be
/// one, and every loop over input is bounded.
pub const MAX_SAME_NAME_COOKIES: usize = 4;

// The security headers live in `headers` so that `error` (which renders pages) needs nothing
// from this module, which depends on `error`.
pub use crate::headers::{NOSNIFF, PAGE_CSP};

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
    cookies(req, name).into_iter().next()
}

/// Every non-empty value of cookie `name`, in the order sent, at most [`MAX_SAME_NAME_COOKIES`].
pub fn cookies<'a>(req: &'a Request, name: &str) -> Vec<&'a str> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .take(MAX_SAME_NAME_COOKIES)
        .collect()
}

/// `Set-Cookie` for a `__Host-` cookie (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain).
/// `same_site` is `Lax` for the session; `None` for the login binding, which must come back on
/// Okta's cross-site POST to the ACS (RFC 6265bis §5.4.7).
pub fn host_cookie(name: &str, value: &str, max_age: i64, same_site: &str) -> String {
    format!("{name}={value}; Path=/; HttpOnly; Secure; SameSite={same_site}; Max-Age={max_age}")
}

/// Escapes text for HTML content and attribute values.
pub fn html_escape(s: &str) -> String {
    crate::saml::metadata::xml_escape(s)
}

/// An HTML page: escaped by the caller, never cached, never sniffed, under [`PAGE_CSP`].
pub fn html_page(status: StatusCode, title: &str, body_html: &str) -> Response<Body> {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{body_html}\n</body></html>\n",
        html_escape(title)
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header(NOSNIFF.0, NOSNIFF.1)
        .header("content-security-policy", PAGE_CSP)
        .header("referrer-policy", "no-referrer")
        .body(Body::Text(page))
        .unwrap_or_else(|_| crate::error::bare_500())
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
        .header(NOSNIFF.0, NOSNIFF.1)
        .body(body.into())
        .unwrap_or_else(|_| crate::error::bare_500())
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
        .header(NOSNIFF.0, NOSNIFF.1)
        .body(Body::Empty)
        .unwrap_or_else(|_| crate::error::bare_500())
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
        assert_eq!(cookie(&r, "sso_session"), Some("tok"));
        assert_eq!(cookie(&r, "missing"), None);
    }

    #[test]
    fn every_same_named_cookie_is_offered_in_order_but_only_a_few() {
        let many = (0..100).map(|i| format!("n=v{i}")).collect::<Vec<_>>();
        let r = req(&[
            ("cookie", "n=; n=first; other=x; n=second"),
            ("cookie", &many.join("; ")),
        ]);
        let got = cookies(&r, "n");
        assert_eq!(got, ["first", "second", "v0", "v1"]);
    }

    #[test]
    fn session_cookies_are_host_only_and_named_for_their_org() {
        assert_eq!(session_cookie_name("acme"), "__Host-sso_session_acme");
        let c = host_cookie(&session_cookie_name("acme"), "tok", 60, "Lax");
        assert_eq!(
            c,
            "__Host-sso_session_acme=tok; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=60"
        );
    }

    #[test]
    fn pages_escape_their_title_and_carry_nosniff_and_a_strict_csp() {
        let r = html_page(StatusCode::OK, "<script>", "<p>x</p>");
        let Body::Text(t) = r.body() else { panic!() };
        assert!(t.contains("<title>&lt;script&gt;</title>"), "{t}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'"));
        assert_eq!(
            response(StatusCode::OK, "text/plain", "x").headers()["x-content-type-options"],
            "nosniff"
        );
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
