//! The one error type of the HTTP boundary, and the one place that turns it into a response:
//! RFC 7644 §3.12 bodies on SCIM routes, a plain page on SAML routes, JSON on the session API.
//! Every error has a stable outcome code, which is also what the log line and metrics carry.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;

use crate::saml::validate::SamlError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("no such route")]
    NoRoute,
    #[error("organization {0:?} not found")]
    OrgNotFound(String),
    #[error("method {0} is not allowed on this route")]
    MethodNotAllowed(http::Method),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// `scim_type` is the RFC 7644 §3.12 keyword, where one applies.
    #[error("{detail}")]
    BadRequest {
        code: &'static str,
        scim_type: Option<&'static str>,
        detail: String,
    },
    /// A precondition of the organization's setup is missing (e.g. no IdP configured yet).
    #[error("{detail}")]
    NotConfigured { code: &'static str, detail: String },
    /// `If-Match` named a version that is no longer current (RFC 7644 §3.14).
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("not implemented yet: {0}")]
    NotImplemented(&'static str),
    /// The organization's SCIM traffic is over its rate limit (`scim/rate_limit.rs`); the
    /// client may retry after this many seconds.
    #[error("too many SCIM requests for this organization; retry after {0} seconds")]
    RateLimited(u32),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// AWS KMS could not sign or give out a public key (OIDC tokens, JWKS).
    #[error("the signing key is unavailable")]
    Kms(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A refused SAML response or sign-in: the page names the failed check and nothing else.
    #[error(transparent)]
    Saml(#[from] SamlError),
}

impl From<crate::scim::ScimError> for AppError {
    fn from(e: crate::scim::ScimError) -> Self {
        AppError::BadRequest {
            code: e.scim_type,
            scim_type: Some(e.scim_type),
            detail: e.detail,
        }
    }
}

/// A DynamoDB outage is usually over within seconds; Okta and Entra retry on 503 with backoff.
pub const RETRY_AFTER_UNAVAILABLE: u32 = 5;

/// How a route wants its errors rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Scim,
    Page,
    Json,
}

impl AppError {
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            scim_type: None,
            detail: detail.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NoRoute | AppError::OrgNotFound(_) | AppError::NotFound(_) => {
                StatusCode::NOT_FOUND
            }
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::NotConfigured { .. } => StatusCode::CONFLICT,
            AppError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::Saml(e) => e.status(),
            AppError::Kms(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Store(e) => match e {
                StoreError::AlreadyExists(_) | StoreError::Uniqueness { .. } => {
                    StatusCode::CONFLICT
                }
                StoreError::VersionConflict => StatusCode::PRECONDITION_FAILED,
                StoreError::NotFound(_) => StatusCode::NOT_FOUND,
                StoreError::Throttled => StatusCode::TOO_MANY_REQUESTS,
                StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                StoreError::BadCursor => StatusCode::BAD_REQUEST,
                StoreError::Corrupt(_) | StoreError::Backend(_) => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            },
        }
    }

    /// Stable outcome code: shown to admins for troubleshooting, logged, counted.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NoRoute => "no_route",
            AppError::OrgNotFound(_) => "org_not_found",
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::NotFound(_) => "not_found",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::BadRequest { code, .. } | AppError::NotConfigured { code, .. } => code,
            AppError::NotImplemented(_) => "not_implemented",
            AppError::PreconditionFailed(_) => "precondition_failed",
            AppError::Saml(e) => e.code(),
            AppError::Kms(_) => "kms_failed",
            AppError::RateLimited(_) => "rate_limited",
            AppError::Store(e) => match e {
                StoreError::AlreadyExists(_) => "already_exists",
                StoreError::Uniqueness { .. } => "uniqueness",
                StoreError::VersionConflict => "version_conflict",
                StoreError::NotFound(_) => "not_found",
                StoreError::Throttled => "throttled",
                StoreError::Unavailable(_) => "store_unavailable",
                StoreError::BadCursor => "invalid_cursor",
                StoreError::Corrupt(_) | StoreError::Backend(_) => "internal",
            },
        }
    }

    fn scim_type(&self) -> Option<&'static str> {
        match self {
            AppError::BadRequest { scim_type, .. } => *scim_type,
            AppError::Store(StoreError::Uniqueness { .. } | StoreError::AlreadyExists(_)) => {
                Some("uniqueness")
            }
            AppError::Store(StoreError::BadCursor) => Some("invalidValue"),
            _ => None,
        }
    }

    /// Seconds a client should wait before retrying, for answers that ask it to (429, 503).
    /// Integer seconds (RFC 9110 §10.2.3): Okta reads a missing or HTTP-date value as 5 minutes.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            AppError::Store(StoreError::Throttled) => Some(1),
            AppError::RateLimited(seconds) => Some(*seconds),
            AppError::Store(StoreError::Unavailable(_)) => Some(RETRY_AFTER_UNAVAILABLE),
            _ => None,
        }
    }

    /// What the client may see. Server-side failures say only that: the cause goes to the log.
    fn public_detail(&self) -> String {
        if let Some(seconds) = self
            .retry_after()
            .filter(|_| self.status().is_server_error())
        {
            return format!(
                "the service's database is briefly unavailable or slow to answer; retry after {seconds} seconds"
            );
        }
        match self.status() {
            s if s.is_server_error() && !matches!(self, AppError::NotImplemented(_)) => {
                "internal error; the request id in the logs has the cause".to_string()
            }
            _ => self.to_string(),
        }
    }
}

/// Renders an error for a route's flavor. The only place errors become responses.
pub fn render(err: &AppError, flavor: Flavor) -> Response<Body> {
    let status = err.status();
    let detail = err.public_detail();
    let mut builder = Response::builder().status(status);
    if let Some(seconds) = err.retry_after() {
        builder = builder.header("retry-after", seconds.to_string());
    }
    if let AppError::Unauthorized(_) = err {
        builder = builder.header("www-authenticate", "Bearer");
    }
    let (content_type, body) = match flavor {
        Flavor::Scim => {
            let mut body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": status.as_u16().to_string(),
                "detail": detail,
            });
            if let Some(t) = err.scim_type() {
                body["scimType"] = json!(t);
            }
            ("application/scim+json", body.to_string())
        }
        Flavor::Json => (
            "application/json",
            json!({ "error": err.code(), "message": detail }).to_string(),
        ),
        Flavor::Page => (
            "text/plain; charset=utf-8",
            format!(
                "{} {}\n\nerror: {}\n{}\n",
                status.as_u16(),
                status.canonical_reason().unwrap_or(""),
                err.code(),
                detail
            ),
        ),
    };
    if flavor == Flavor::Page {
        // Pages repeat the org name from the URL: never let a browser render them as anything
        // else (issue 9 finding 11).
        builder = builder.header("content-security-policy", crate::headers::PAGE_CSP);
    }
    builder
        .header("content-type", content_type)
        .header("cache-control", "no-store")
        .header(crate::headers::NOSNIFF.0, crate::headers::NOSNIFF.1)
        .body(Body::Text(body))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Response<Body>) -> String {
        match r.body() {
            Body::Text(t) => t.clone(),
            _ => String::new(),
        }
    }

    #[test]
    fn scim_errors_carry_the_rfc7644_error_schema_status_string_and_scim_type() {
        let r = render(
            &AppError::Store(StoreError::Uniqueness {
                attribute: "userName",
            }),
            Flavor::Scim,
        );
        assert_eq!(r.status(), 409);
        assert_eq!(r.headers()["content-type"], "application/scim+json");
        let v: serde_json::Value = serde_json::from_str(&body(&r)).unwrap();
        assert_eq!(
            v["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(v["status"], "409");
        assert_eq!(v["scimType"], "uniqueness");
    }

    #[test]
    fn server_errors_do_not_leak_their_cause() {
        let e = AppError::Store(StoreError::Corrupt("secret-ish internal detail".into()));
        let r = render(&e, Flavor::Page);
        assert_eq!(r.status(), 500);
        assert!(!body(&r).contains("secret-ish"));
    }

    #[test]
    fn throttling_asks_the_client_to_retry() {
        let r = render(&AppError::Store(StoreError::Throttled), Flavor::Scim);
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "1");
    }

    #[test]
    fn pages_name_the_outcome_code() {
        let r = render(&AppError::OrgNotFound("nope".into()), Flavor::Page);
        assert_eq!(r.status(), 404);
        assert!(body(&r).contains("error: org_not_found"));
    }

    #[test]
    fn error_pages_that_echo_the_org_name_are_never_sniffed_and_load_nothing() {
        let r = render(
            &AppError::OrgNotFound("<script>alert(1)</script>".into()),
            Flavor::Page,
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'"));
        let r = render(&AppError::NoRoute, Flavor::Json);
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }

    #[test]
    fn refused_sign_ins_render_a_page_naming_the_failed_check() {
        let r = render(&AppError::Saml(SamlError::AudienceMismatch), Flavor::Page);
        assert_eq!(r.status(), 400);
        assert!(body(&r).contains("error: audience_mismatch"));
        let r = render(&AppError::Saml(SamlError::UserNotProvisioned), Flavor::Page);
        assert_eq!(r.status(), 403);
        assert!(body(&r).contains("error: user_not_provisioned"));
        assert_eq!(
            render(&AppError::Saml(SamlError::UserInactive), Flavor::Page).status(),
            403
        );
    }
}
