//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3, §4).

use serde_json::{json, Value};

use super::claims::SUPPORTED;
use super::SCOPES;

pub const AUTHORIZE_PATH: &str = "/oauth2/authorize";
pub const TOKEN_PATH: &str = "/oauth2/token";
pub const USERINFO_PATH: &str = "/oauth2/userinfo";
pub const JWKS_PATH: &str = "/oauth2/jwks";
pub const LOGOUT_PATH: &str = "/oauth2/logout";

/// The provider metadata for `issuer` (Discovery §4.3: the issuer is exactly the base URL the
/// document is served under, so clients can check it).
pub fn provider_metadata(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{AUTHORIZE_PATH}"),
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "userinfo_endpoint": format!("{issuer}{USERINFO_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        // OIDC RP-Initiated Logout 1.0 §2.1.
        "end_session_endpoint": format!("{issuer}{LOGOUT_PATH}"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": SCOPES,
        "claims_supported": SUPPORTED,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        // OIDC Back-Channel Logout 1.0 §2.1.
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    })
}
