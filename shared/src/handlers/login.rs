//! The start of an SP-initiated sign-in (SAML 2.0 Profiles §4.1.3): an AuthnRequest to the
//! org's IdP, bound to this browser by a cookie. Both `GET /orgs/{org}/saml/login` (`saml.rs`)
//! and the OIDC authorization endpoint (`oidc.rs`) begin here; the ACS (`saml.rs`) finishes it.

use http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::{Ctx, Handled, Services};
use crate::error::AppError;
use crate::http::{cookies, host_cookie, login_cookie_name, NOSNIFF};
use crate::saml::authn_request::{authn_request_xml, redirect_url, REQUEST_TTL_SECONDS};
use crate::store::Store;
use crate::tokens::{Secret, TokenHash};

/// Prefix of the browser-binding secret (so a presented value can be recognised as ours).
const LOGIN_SECRET_PREFIX: &str = "login";

pub(super) fn require_idp(ctx: &Ctx) -> Result<&crate::model::org::IdpConfig, AppError> {
    ctx.org.idp.as_ref().ok_or_else(|| AppError::NotConfigured {
        code: "idp_not_configured",
        detail: format!(
            "organization {:?} has no identity provider yet: run `ssoctl org set-idp {} --metadata <Okta metadata URL or file>`",
            ctx.org.org, ctx.org.org
        ),
    })
}

/// The login itself, for request ID `id` (the OIDC authorization endpoint links its request to
/// the ID it passes here); `login_hint` names the subject in the AuthnRequest.
pub(super) async fn begin_login<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    req: &Request,
    id: &str,
    relay_state: Option<&str>,
    login_hint: Option<&str>,
) -> Handled {
    let idp = require_idp(ctx)?;
    let sso_url = idp.sso_url.as_deref().ok_or_else(|| AppError::NotConfigured {
        code: "idp_sso_url_missing",
        detail: "the IdP metadata has no HTTP-Redirect SingleSignOnService: sign in from the Okta dashboard, or set metadata that has one".into(),
    })?;
    // Bind the request ID to this browser (login CSRF, issue 9 finding 2): the ACS accepts an
    // answer to it only with this cookie. A browser that already holds a well-formed secret keeps
    // it, so two sign-ins started in two tabs both complete. Reusing a presented value is safe:
    // the `__Host-` cookie cannot be planted in someone else's browser, and a value an attacker
    // sends from their own client binds only the attacker's own requests.
    let cookie_name = login_cookie_name(&ctx.org.org);
    let presented = cookies(req, &cookie_name)
        .into_iter()
        .find(|v| is_login_secret(v));
    let fresh;
    let browser_secret = match presented {
        Some(v) => v,
        None => {
            fresh = Secret::generate(LOGIN_SECRET_PREFIX);
            fresh.expose()
        }
    };
    // The redirect first: a bad SSO URL is refused before anything is written.
    let mut xml = authn_request_xml(&ctx.org, id, sso_url, ctx.now);
    if let Some(hint) = login_hint {
        xml = crate::saml::authn_request::with_subject_hint(&xml, hint);
    }
    let url =
        redirect_url(sso_url, &xml, relay_state).map_err(|detail| AppError::NotConfigured {
            code: "idp_sso_url_invalid",
            detail,
        })?;
    app.store
        .remember_browser_request(
            &ctx.org.org,
            id,
            &TokenHash::of(browser_secret).into_string(),
            ctx.now + REQUEST_TTL_SECONDS,
        )
        .await?;
    let resp = Response::builder()
        .status(StatusCode::FOUND)
        .header("location", url.as_str())
        .header("cache-control", "no-store")
        .header(NOSNIFF.0, NOSNIFF.1)
        // SameSite=None: Okta's POST to the ACS is cross-site, and must carry it back.
        .header(
            "set-cookie",
            host_cookie(&cookie_name, browser_secret, REQUEST_TTL_SECONDS, "None"),
        )
        .body(Body::Empty)
        .map_err(AppError::BadResponse)?;
    Ok((resp, "ok"))
}

/// `login_` + 43 base64url characters: what [`Secret::generate`] makes (256 bits).
fn is_login_secret(v: &str) -> bool {
    v.strip_prefix(LOGIN_SECRET_PREFIX)
        .and_then(|r| r.strip_prefix('_'))
        .is_some_and(|r| {
            r.len() == 43
                && r.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_secrets_of_our_own_shape_are_kept_as_the_browser_binding() {
        assert!(is_login_secret(
            Secret::generate(LOGIN_SECRET_PREFIX).expose()
        ));
        for bad in [
            "",
            "login_",
            "login_short",
            "sso_x",
            &format!("login_{}", "!".repeat(43)),
        ] {
            assert!(!is_login_secret(bad), "{bad}");
        }
    }
}
