//! Protocol parameters, parsed and checked before anything is looked up: authorization requests
//! (RFC 6749 §4.1.1, OIDC Core §3.1.2.1), token requests (RFC 6749 §4.1.3), client
//! authentication (§2.3.1) and PKCE (RFC 7636).

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::SCOPES;

/// Bounds on what we read: a query or form body past these is refused before it is parsed.
pub const MAX_PARAMS_BYTES: usize = 8 * 1024;
const MAX_PARAMS: usize = 32;
/// `state` and `nonce` are echoed back, so they are bounded too.
const MAX_ECHOED: usize = 1024;

/// `error` codes of RFC 6749 §4.1.2.1 / §5.2 and OIDC Core §3.1.2.6.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    pub error: &'static str,
    pub description: String,
}

pub fn invalid_request(description: impl Into<String>) -> ProtocolError {
    ProtocolError {
        error: "invalid_request",
        description: description.into(),
    }
}

/// Parameters of a query string or form body. RFC 6749 §3.1: "Request and response parameters
/// MUST NOT be included more than once"; empty values count as absent (§3.1).
pub fn parse_params(raw: &[u8]) -> Result<BTreeMap<String, String>, ProtocolError> {
    if raw.len() > MAX_PARAMS_BYTES {
        return Err(invalid_request("the request is too large"));
    }
    let mut out = BTreeMap::new();
    for (i, (k, v)) in url::form_urlencoded::parse(raw).enumerate() {
        if i >= MAX_PARAMS {
            return Err(invalid_request("too many parameters"));
        }
        if v.is_empty() {
            continue;
        }
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(invalid_request(format!("parameter {k} is repeated")));
        }
    }
    Ok(out)
}

/// An authorization request after the checks that follow the client and redirect_uri ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// The known scopes requested, space-separated, `openid` first.
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub organization: String,
    pub login_hint: Option<String>,
}

/// The checks of an authorization request whose client and redirect_uri are already known good:
/// every failure here is reported to the app by redirect (RFC 6749 §4.1.2.1).
pub fn check_authorize(
    p: &BTreeMap<String, String>,
    public_client: bool,
) -> Result<AuthorizeRequest, ProtocolError> {
    let get = |k: &str| p.get(k).cloned();
    match p.get("response_type").map(String::as_str) {
        Some("code") => {}
        Some(_) => {
            return Err(ProtocolError {
                error: "unsupported_response_type",
                description: "only response_type=code is supported".into(),
            })
        }
        None => return Err(invalid_request("response_type is required")),
    }
    // OIDC Core §6: request objects are optional to support, and say so with these codes.
    if p.contains_key("request") {
        return Err(ProtocolError {
            error: "request_not_supported",
            description: "request objects are not supported".into(),
        });
    }
    if p.contains_key("request_uri") {
        return Err(ProtocolError {
            error: "request_uri_not_supported",
            description: "request_uri is not supported".into(),
        });
    }
    let requested: Vec<&str> = p
        .get("scope")
        .map(|s| s.split(' ').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    if !requested.contains(&"openid") {
        return Err(ProtocolError {
            error: "invalid_scope",
            description: "scope must include openid".into(),
        });
    }
    let scope = SCOPES
        .iter()
        .filter(|s| requested.contains(s))
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    for k in ["state", "nonce", "login_hint"] {
        if p.get(k).is_some_and(|v| v.len() > MAX_ECHOED) {
            return Err(invalid_request(format!(
                "{k} is longer than {MAX_ECHOED} bytes"
            )));
        }
    }
    // PKCE (RFC 7636 §4.3): S256 only ("plain" is the default method, so a challenge without a
    // method is plain and refused); required of clients that have no secret (BCP §2.1.1).
    let code_challenge = match (get("code_challenge"), p.get("code_challenge_method")) {
        (Some(c), Some(m)) if m == "S256" => {
            let ok = c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(invalid_request(
                    "code_challenge must be 43 base64url characters (S256)",
                ));
            }
            Some(c)
        }
        (Some(_), _) => {
            return Err(invalid_request(
                "code_challenge_method must be S256 (plain is not supported)",
            ))
        }
        (None, Some(_)) => {
            return Err(invalid_request(
                "code_challenge_method without code_challenge",
            ))
        }
        (None, None) if public_client => {
            return Err(invalid_request(
                "PKCE (code_challenge with S256) is required for this client",
            ))
        }
        (None, None) => None,
    };
    let organization = get("organization").ok_or_else(|| {
        invalid_request("organization is required: the customer organization to sign in with")
    })?;
    if crate::model::org::validate_org_name(&organization).is_err() {
        return Err(invalid_request("unknown organization"));
    }
    Ok(AuthorizeRequest {
        scope,
        state: get("state"),
        nonce: get("nonce"),
        code_challenge,
        organization,
        login_hint: get("login_hint"),
    })
}

/// RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) == code_challenge, compared in constant time.
/// The verifier must be 43–128 unreserved characters (§4.1).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

/// Client credentials from `Authorization: Basic` (RFC 6749 §2.3.1: the id and secret are
/// form-urlencoded before base64, so they are decoded after).
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") || value.len() > 1024 {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(value.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> Option<String> {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> BTreeMap<String, String> {
        parse_params(q.as_bytes()).unwrap()
    }

    const GOOD: &str = "response_type=code&scope=openid%20email%20groups%20unknown&state=s&nonce=n&organization=acme&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";

    #[test]
    fn a_good_request_keeps_the_known_scopes_and_its_echoed_values() {
        let r = check_authorize(&params(GOOD), true).unwrap();
        assert_eq!(r.scope, "openid email groups");
        assert_eq!(r.state.as_deref(), Some("s"));
        assert_eq!(r.organization, "acme");
        assert!(r.code_challenge.is_some());
    }

    #[test]
    fn each_broken_parameter_gets_its_rfc_6749_error_code() {
        let cases = [
            ("response_type=token", "unsupported_response_type"),
            ("response_type=", "invalid_request"),
            ("scope=email", "invalid_scope"),
            ("code_challenge_method=plain", "invalid_request"),
            ("code_challenge=short", "invalid_request"),
            ("organization=Not%20An%20Org", "invalid_request"),
            ("organization=", "invalid_request"),
            ("request=eyJ", "request_not_supported"),
        ];
        for (change, want) in cases {
            let key = change.split('=').next().unwrap();
            let mut p = params(GOOD);
            p.remove(key);
            let extra = params(change);
            p.extend(extra);
            let err = check_authorize(&p, true).unwrap_err();
            assert_eq!(err.error, want, "{change}");
        }
    }

    #[test]
    fn pkce_is_required_of_public_clients_only() {
        let mut p = params(GOOD);
        p.remove("code_challenge");
        p.remove("code_challenge_method");
        assert_eq!(
            check_authorize(&p, true).unwrap_err().error,
            "invalid_request"
        );
        assert_eq!(check_authorize(&p, false).unwrap().code_challenge, None);
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(parse_params(b"state=a&state=b").is_err());
        assert!(parse_params("x=1&".repeat(40).as_bytes()).is_err());
    }

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge_and_others_do_not() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(&verifier.replace('d', "e"), challenge));
        assert!(!pkce_matches("short", challenge));
    }

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        let h = format!("Basic {}", STANDARD.encode("app_1:s%3Ae+cret"));
        assert_eq!(
            basic_credentials(&h),
            Some(("app_1".into(), "s:e cret".into()))
        );
        assert_eq!(basic_credentials("Bearer x"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
    }
}
