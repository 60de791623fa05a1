//! The OpenID Connect provider the SaaS app signs in with (issue 11; docs/app-integration.md).
//!
//! Deployment-level, unlike everything under `/orgs/{org}/`: one issuer, one set of app clients,
//! one JWKS. The customer organization is chosen per sign-in by the `organization` parameter of
//! the authorization request, and every record of a sign-in stays org-scoped in the store.
//!
//! Flow: `/oauth2/authorize` stores the authorization request under the ID of a fresh SAML
//! AuthnRequest ([`linked_request_id`]) and starts that org's SAML login; the ACS, seeing an
//! InResponseTo it linked, attaches a code and 303s back to the app; `/oauth2/token` trades the
//! code (once) for an ES256 ID token signed in KMS and an opaque access token (a *grant*, which is
//! also the OIDC session); `/oauth2/userinfo` reads the grant and the user live; a grant that
//! ends early queues a back-channel logout notice (`backchannel.rs`).

pub mod backchannel;
pub mod claims;
pub mod discovery;
pub mod jwt;
pub mod params;
pub mod stream;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::config::{normalize_base_url, Config};
use crate::tokens::{random_hex, Secret};

/// Codes are redeemed by the app's backend right after the redirect (RFC 6749 §4.1.2: "a
/// maximum authorization code lifetime of 10 minutes is RECOMMENDED"; we keep it to a minute).
pub const CODE_SECONDS: i64 = 60;
pub use crate::store::oidc::CODE_MEMORY_SECONDS;
/// The scopes this provider knows (OIDC Core §5.4, plus `groups`). Others are ignored (RFC 6749
/// §3.3 lets the server fully or partially ignore the requested scope).
pub const SCOPES: [&str; 4] = ["openid", "email", "profile", "groups"];

/// Prefix of AuthnRequest IDs that carry an OIDC authorization request. The ACS runs the OIDC
/// hand-off only for these, so other sign-ins pay no extra round trip. It cannot be forged: the
/// ACS accepts an InResponseTo only if this SP issued it (the sign-in transaction consumes it).
/// `idoidc` + hex is still an `xsd:ID` (starts with a letter; SAML core §1.3.4).
pub const LINKED_REQUEST_PREFIX: &str = "idoidc";

pub fn linked_request_id() -> String {
    format!("{LINKED_REQUEST_PREFIX}{}", random_hex(16))
}

pub fn is_linked_request(id: &str) -> bool {
    id.strip_prefix(LINKED_REQUEST_PREFIX)
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The issuer: `PUBLIC_BASE_URL` when set; else the API Gateway domain the request came in on
/// (`requestContext.domainName`), else its Host header (the local stack): https, or http on
/// loopback. A template `!Sub` of the HttpApi URL into the environment would be a circular
/// dependency, hence the derivation. OIDC Discovery §3: "issuer ... using the https scheme".
pub fn issuer(config: &Config, req: &Request) -> Option<String> {
    if let Some(base) = &config.public_base_url {
        return Some(base.clone());
    }
    let from_context = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => c.domain_name.clone(),
        _ => None,
    };
    let host = from_context
        .or_else(|| crate::http::header(req, "host").map(str::to_string))
        .filter(|h| !h.is_empty())?;
    let loopback = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|l| host == *l || host.starts_with(&format!("{l}:")));
    let scheme = if loopback { "http" } else { "https" };
    normalize_base_url(&format!("{scheme}://{host}"))
        .ok()
        .filter(|u| url::Url::parse(u).is_ok_and(|p| p.path() == "/" || p.path().is_empty()))
}

/// Client ids are ours: `app_` + 32 hex characters. Anything else is not a client id, so a
/// lookup is not even tried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub fn generate() -> Self {
        ClientId(format!("app_{}", random_hex(16)))
    }
    pub fn parse(raw: &str) -> Option<Self> {
        raw.strip_prefix("app_")
            .filter(|h| h.len() == 32 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .map(|_| ClientId(raw.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A redirect (or post-logout redirect, or back-channel logout) URI an admin registers: absolute,
/// https (http only on loopback, RFC 8252 §7.3 / OAuth 2.0 Security BCP §4.1.1), no fragment
/// (RFC 6749 §3.1.2), no credentials. Matching is by exact string (BCP §4.1.3), so what is
/// stored is exactly what was given.
pub fn validate_registered_uri(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("{raw:?} is not an absolute URL: {e}"))?;
    let host = url
        .host_str()
        .ok_or_else(|| format!("{raw:?} has no host"))?;
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        other => {
            return Err(format!(
                "{raw:?} must use https (got {other}; http is allowed on loopback only)"
            ))
        }
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{raw:?} must not carry a fragment or credentials"));
    }
    if raw.len() > 2000 {
        return Err(format!("{raw:?} is longer than 2000 characters"));
    }
    Ok(raw.to_string())
}

/// Authorization codes: `{org}.{request id}.{secret}`. The org and request id name the record
/// (org-scoped, like every sign-in record); the secret is 256 random bits whose hash the record
/// keeps. None of the three parts can contain a dot (org names are `[a-z0-9-]`, request ids hex,
/// the secret base64url).
pub struct AuthorizationCode {
    pub org: String,
    pub request_id: String,
    pub secret: String,
}

impl AuthorizationCode {
    pub fn mint(org: &str, request_id: &str) -> (String, Secret) {
        let secret = Secret::generate("code");
        (format!("{org}.{request_id}.{}", secret.expose()), secret)
    }

    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() > 256 {
            return None;
        }
        let mut parts = raw.split('.');
        let (org, id, secret) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || crate::model::org::validate_org_name(org).is_err()
            || !is_linked_request(id)
            || secret.is_empty()
        {
            return None;
        }
        Some(AuthorizationCode {
            org: org.to_string(),
            request_id: id.to_string(),
            secret: secret.to_string(),
        })
    }
}

/// Access tokens: `{org}.{secret}`, opaque to the app (RFC 6749 §1.4). Only the SHA-256 of the
/// whole token is stored; the org part names the partition.
pub fn mint_access_token(org: &str) -> String {
    format!("{org}.{}", Secret::generate("at").expose())
}

pub fn access_token_org(token: &str) -> Option<&str> {
    let (org, secret) = token.split_once('.')?;
    (crate::model::org::validate_org_name(org).is_ok()
        && secret.starts_with("at_")
        && token.len() <= 128)
        .then_some(org)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linked_request_ids_are_recognised_and_ordinary_ones_are_not() {
        let id = linked_request_id();
        assert!(is_linked_request(&id));
        assert!(!is_linked_request(
            &crate::saml::authn_request::new_request_id()
        ));
        assert!(!is_linked_request("idoidc"));
        assert!(!is_linked_request(&format!("{id}0")));
    }

    #[test]
    fn registered_uris_must_be_https_or_loopback_http_without_fragment() {
        assert!(validate_registered_uri("https://app.example.com/callback").is_ok());
        assert!(validate_registered_uri("http://127.0.0.1:8080/cb").is_ok());
        assert!(validate_registered_uri("http://localhost/cb").is_ok());
        for bad in [
            "http://app.example.com/cb",
            "https://app.example.com/cb#x",
            "https://u:p@app.example.com/cb",
            "/relative",
            "javascript:alert(1)",
            "custom://cb",
        ] {
            assert!(validate_registered_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn codes_parse_back_into_their_parts_and_junk_does_not() {
        let id = linked_request_id();
        let (code, secret) = AuthorizationCode::mint("acme", &id);
        let parsed = AuthorizationCode::parse(&code).unwrap();
        assert_eq!(parsed.org, "acme");
        assert_eq!(parsed.request_id, id);
        assert_eq!(parsed.secret, secret.expose());
        for junk in [
            "",
            "acme",
            "acme.x.y",
            &format!("ACME.{id}.s"),
            &format!("acme.{id}."),
            &format!("acme.{id}.s.t"),
        ] {
            assert!(AuthorizationCode::parse(junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn access_tokens_name_their_org_and_nothing_else_passes() {
        let t = mint_access_token("acme");
        assert_eq!(access_token_org(&t), Some("acme"));
        assert_eq!(access_token_org("acme.sso_x"), None);
        assert_eq!(access_token_org("no-dot"), None);
        assert_eq!(access_token_org("Bad.at_x"), None);
    }

    #[test]
    fn client_ids_are_app_and_32_hex() {
        let c = ClientId::generate();
        assert_eq!(ClientId::parse(c.as_str()), Some(c));
        assert!(ClientId::parse("app_XYZ").is_none());
        assert!(ClientId::parse("../etc").is_none());
    }
}
