//! The one error type of the HTTP boundary, and the one place that turns it into a response:
//! RFC 7644 §3.12 bodies on SCIM routes, a plain page on SAML routes, JSON on the session API.
//! Every error has a stable outcome code, which is also what the log line and metrics carry.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;

use crate::saml::validate::SamlError;
use crate::scim::ScimType;
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
        scim_type: Option<ScimType>,
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
    /// The SP encryption keys or certificates could not be read (`saml::sp_keys`).
    #[error(transparent)]
    SpKeys(#[from] crate::saml::sp_keys::SpKeyError),
    /// A refused SAML response or sign-in: the page names the failed check and nothing else.
    #[error(transparent)]
    Saml(#[from] SamlError),
    /// Our own response could not be built (a header value we made is invalid): our fault, a
    /// 500, never the client's 400 nor an empty 200.
    #[error("the response could not be built")]
    BadResponse(#[from] http::Error),
}

/// Everything the boundary derives from an error, decided in one match ([`AppError::outcome`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub status: StatusCode,
    /// Stable outcome code: shown to admins for troubleshooting, logged, counted.
    pub code: &'static str,
    /// The RFC 7644 §3.12 `scimType`, where one applies.
    pub scim_type: Option<ScimType>,
    /// Seconds a client should wait before retrying (429, 503). Integer seconds (RFC 9110
    /// §10.2.3): Okta reads a missing or HTTP-date value as 5 minutes.
    pub retry_after: Option<u32>,
}

impl From<crate::scim::ScimError> for AppError {
    fn from(e: crate::scim::ScimError) -> Self {
        AppError::BadRequest {
            code: e.scim_type.as_str(),
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

    /// Status, outcome code, scimType and Retry-After: one match, so they cannot drift apart.
    pub fn outcome(&self) -> Outcome {
        let o = |status, code| Outcome {
            status,
            code,
            scim_type: None,
            retry_after: None,
        };
        match self {
            AppError::NoRoute => o(StatusCode::NOT_FOUND, "no_route"),
            AppError::OrgNotFound(_) => o(StatusCode::NOT_FOUND, "org_not_found"),
            AppError::NotFound(_) => o(StatusCode::NOT_FOUND, "not_found"),
            AppError::MethodNotAllowed(_) => {
                o(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            AppError::Unauthorized(_) => o(StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::PayloadTooLarge { .. } => {
                o(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            AppError::BadRequest {
                code, scim_type, ..
            } => Outcome {
                scim_type: *scim_type,
                ..o(StatusCode::BAD_REQUEST, code)
            },
            AppError::NotConfigured { code, .. } => o(StatusCode::CONFLICT, code),
            AppError::NotImplemented(_) => o(StatusCode::NOT_IMPLEMENTED, "not_implemented"),
            AppError::PreconditionFailed(_) => {
                o(StatusCode::PRECONDITION_FAILED, "precondition_failed")
            }
            AppError::Saml(e) => o(e.status(), e.code()),
            AppError::Kms(_) => o(StatusCode::INTERNAL_SERVER_ERROR, "kms_failed"),
            // Okta and browsers retry a 503; a bad secret is fixed by the operator meanwhile.
            AppError::SpKeys(_) => Outcome {
                retry_after: Some(RETRY_AFTER_UNAVAILABLE),
                ..o(StatusCode::SERVICE_UNAVAILABLE, "sp_keys_unavailable")
            },
            AppError::BadResponse(_) => o(StatusCode::INTERNAL_SERVER_ERROR, "bad_response"),
            AppError::RateLimited(seconds) => Outcome {
                retry_after: Some(*seconds),
                ..o(StatusCode::TOO_MANY_REQUESTS, "rate_limited")
            },
            AppError::Store(e) => match e {
                StoreError::AlreadyExists(_) => Outcome {
                    scim_type: Some(ScimType::Uniqueness),
                    ..o(StatusCode::CONFLICT, "already_exists")
                },
                StoreError::Uniqueness { .. } => Outcome {
                    scim_type: Some(ScimType::Uniqueness),
                    ..o(StatusCode::CONFLICT, "uniqueness")
                },
                StoreError::VersionConflict => {
                    o(StatusCode::PRECONDITION_FAILED, "version_conflict")
                }
                StoreError::NotFound(_) => o(StatusCode::NOT_FOUND, "not_found"),
                StoreError::Throttled => Outcome {
                    retry_after: Some(1),
                    ..o(StatusCode::TOO_MANY_REQUESTS, "throttled")
                },
                StoreError::Unavailable(_) => Outcome {
                    retry_after: Some(RETRY_AFTER_UNAVAILABLE),
                    ..o(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
                },
                StoreError::BadCursor => Outcome {
                    scim_type: Some(ScimType::InvalidValue),
                    ..o(StatusCode::BAD_REQUEST, "invalid_cursor")
                },
                StoreError::Corrupt(_) | StoreError::Backend(_) => {
                    o(StatusCode::INTERNAL_SERVER_ERROR, "internal")
                }
            },
        }
    }

    pub fn status(&self) -> StatusCode {
        self.outcome().status
    }

    /// Stable outcome code: shown to admins for troubleshooting, logged, counted.
    pub fn code(&self) -> &'static str {
        self.outcome().code
    }

    fn scim_type(&self) -> Option<ScimType> {
        self.outcome().scim_type
    }

    /// Seconds a client should wait before retrying, for answers that ask it to (429, 503).
    pub fn retry_after(&self) -> Option<u32> {
        self.outcome().retry_after
    }

    /// What the client may see. Server-side failures say only that: the cause goes to the log.
    fn public_detail(&self) -> String {
        if let AppError::SpKeys(_) = self {
            return format!(
                "the SP encryption keys are briefly unavailable; retry after {RETRY_AFTER_UNAVAILABLE} seconds"
            );
        }
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
                body["scimType"] = json!(t.as_str());
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
        .unwrap_or_else(|_| bare_500())
}

/// The answer when even an error response cannot be built: a 500, never an empty 200.
pub fn bare_500() -> Response<Body> {
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r
}

#[cfg(test)]
mod tests {
    mod encrypted_assertions {
        //! Here, not in saml/: what the outside sees is this boundary's rendering.
        use crate::error::{render, AppError, Flavor};
        use crate::saml::encryption_tests::{encrypted, outcome};
        use crate::saml::test_encrypt::*;
        use crate::saml::test_idp::*;
        use crate::saml::xmlenc::AES128_CBC;

        /// Decryption failures and signature failures: same status, same page, same outcome code.
        #[test]
        fn decryption_and_signature_failures_look_the_same_from_outside() {
            let failures = [
                encrypted(Signed::Assertion, |e, _| {
                    e.certificate = other_sp_encryption_certificate()
                }),
                encrypted(Signed::Assertion, |e, _| {
                    e.content = AES128_CBC.into();
                    e.pad_byte = Some(0);
                }),
                flip_cipher_byte(&encrypted(Signed::Assertion, |_, _| {}), Cipher::Data, 0),
                encrypted(Signed::Assertion, |_, s| s.key = Some(other_key())),
                encrypted(Signed::Neither, |_, _| {}),
                flip_cipher_byte(&encrypted(Signed::Response, |_, _| {}), Cipher::Data, 0),
            ];
            let pages: Vec<(u16, String, &str)> = failures
                .iter()
                .map(|xml| {
                    let err = AppError::Saml(outcome(xml).unwrap_err());
                    let resp = render(&err, Flavor::Page);
                    let body = match resp.body() {
                        lambda_http::Body::Text(t) => t.clone(),
                        other => format!("{other:?}"),
                    };
                    (resp.status().as_u16(), body, err.code())
                })
                .collect();
            for page in &pages {
                assert_eq!(page, &pages[0]);
            }
            assert_eq!(pages[0].0, 400);
        }
    }

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
    fn a_response_that_cannot_be_built_is_a_500_never_a_400_or_a_200() {
        let Err(e) = Response::builder().header("location", "a\nb").body(()) else {
            panic!("a header with a newline must not build");
        };
        let e = AppError::from(e);
        assert_eq!(e.status(), 500);
        assert_eq!(e.code(), "bad_response");
        assert_eq!(bare_500().status(), 500);
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
