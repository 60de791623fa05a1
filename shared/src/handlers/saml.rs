//! SAML routes: SP metadata, SP-initiated login, and the ACS.
//!
//! The ACS costs at most two DynamoDB round trips on the happy path (the org comes from the warm
//! cache): (1) find the user by NameID, (2) one TransactWriteItems that records the assertion ID,
//! consumes the request ID, writes the session and one-time code, and creates or updates the user.

use http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::Handled;
use crate::app::{App, Ctx};
use crate::error::AppError;
use crate::http::{body_bytes, response, SESSION_COOKIE};
use crate::org::{Org, Provisioning};
use crate::saml::attributes::apply;
use crate::saml::authn_request::{
    authn_request_xml, new_request_id, redirect_url, REQUEST_TTL_SECONDS,
};
use crate::saml::metadata::sp_metadata_xml;
use crate::saml::validate::{validate, AcsInput, SamlConfig, SamlError};
use crate::store::{OneTimeCode, Session, SignIn, SignInError, Store, StoreError, User, UserWrite};
use crate::tokens::Secret;

/// SAML responses from Okta are a few KB; 64 KiB fits an Okta response with 20 profile
/// attributes and 242 group memberships of 32 characters, both signatures (measured:
/// `the_largest_okta_response_under_the_body_limit_validates`). Every byte past what real
/// responses need is attacker budget: the body bounds the work done before a signature is known
/// to be good (docs/operations.md, "Limits and scale"; the `saml_worst` benchmark).
pub const ACS_BODY_LIMIT: usize = 64 * 1024;
/// Sessions last 24 hours from sign-in, whatever happens in between.
pub const SESSION_SECONDS: i64 = 24 * 60 * 60;
/// One-time codes on the redirect URL live a minute: the app's backend redeems them at once.
pub const CODE_SECONDS: i64 = 60;

pub(super) fn metadata(ctx: &Ctx) -> Handled {
    let xml = sp_metadata_xml(&ctx.org);
    Ok((
        response(
            StatusCode::OK,
            "application/samlmetadata+xml; charset=utf-8",
            xml,
        ),
        "ok",
    ))
}

fn require_idp(ctx: &Ctx) -> Result<&crate::org::IdpConfig, AppError> {
    ctx.org.idp.as_ref().ok_or_else(|| AppError::NotConfigured {
        code: "idp_not_configured",
        detail: format!(
            "organization {:?} has no identity provider yet: run `ssoctl org set-idp {} --metadata <Okta metadata URL or file>`",
            ctx.org.org, ctx.org.org
        ),
    })
}

fn query_param(req: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `GET /orgs/{org}/saml/login?RelayState=...`: 302 to Okta with an AuthnRequest.
pub(super) async fn login<S: Store>(app: &App<S>, ctx: &Ctx, req: &Request) -> Handled {
    let idp = require_idp(ctx)?;
    let sso_url = idp.sso_url.as_deref().ok_or_else(|| AppError::NotConfigured {
        code: "idp_sso_url_missing",
        detail: "the IdP metadata has no HTTP-Redirect SingleSignOnService: sign in from the Okta dashboard, or set metadata that has one".into(),
    })?;
    let relay_state = query_param(req, "RelayState");
    let id = new_request_id();
    app.store
        .remember_request_id(&ctx.org.org, &id, ctx.now + REQUEST_TTL_SECONDS)
        .await?;
    let xml = authn_request_xml(&ctx.org, &id, sso_url, ctx.now);
    let url = redirect_url(sso_url, &xml, relay_state.as_deref()).map_err(|detail| {
        AppError::NotConfigured {
            code: "idp_sso_url_invalid",
            detail,
        }
    })?;
    let resp = Response::builder()
        .status(StatusCode::FOUND)
        .header("location", url.as_str())
        .header("cache-control", "no-store")
        .body(Body::Empty)
        .map_err(|e| AppError::bad_request("bad_response", e.to_string()))?;
    Ok((resp, "ok"))
}

/// Where to send the browser after sign-in: RelayState if the org allows it, else the default app.
/// Never an open redirect: the candidate must be an absolute URL with the origin of an allowed
/// entry and its path equal to or under that entry's path.
pub fn redirect_target(org: &Org, relay_state: Option<&str>) -> Option<url::Url> {
    let allowed = |candidate: &url::Url| {
        candidate.username().is_empty()
            && candidate.password().is_none()
            && matches!(candidate.scheme(), "https" | "http")
            && org.allowed_redirect_urls.iter().any(|entry| {
                let Ok(e) = url::Url::parse(entry) else {
                    return false;
                };
                let (cp, ep) = (candidate.path(), e.path());
                candidate.origin() == e.origin()
                    && (cp == ep
                        || (ep.ends_with('/') && cp.starts_with(ep))
                        || cp
                            .strip_prefix(ep)
                            .is_some_and(|rest| rest.starts_with('/')))
            })
    };
    relay_state
        .and_then(|r| url::Url::parse(r).ok())
        .filter(allowed)
        .or_else(|| {
            org.default_app_url
                .as_deref()
                .and_then(|d| url::Url::parse(d).ok())
        })
}

fn saml(e: SamlError) -> AppError {
    AppError::Saml(e)
}

/// `POST /orgs/{org}/saml/acs` (HTTP-POST binding, bindings §3.5).
pub(super) async fn acs<S: Store>(app: &App<S>, ctx: &Ctx, req: &Request) -> Handled {
    let body = body_bytes(req, ACS_BODY_LIMIT)?;
    require_idp(ctx)?;
    let org = &ctx.org;
    let (mut saml_response, mut relay_state) = (None, None);
    for (k, v) in url::form_urlencoded::parse(body) {
        match k.as_ref() {
            "SAMLResponse" => saml_response = Some(v.into_owned()),
            "RelayState" => relay_state = Some(v.into_owned()),
            _ => {}
        }
    }
    let saml_response = saml_response.ok_or(saml(SamlError::MalformedResponse))?;
    let cfg = SamlConfig::for_org(org).map_err(saml)?;
    let verified = validate(
        &AcsInput {
            saml_response: &saml_response,
        },
        &cfg,
        ctx.now,
    )
    .map_err(saml)?;

    // Round trip 1: the user, by NameID (userName is case-insensitive, RFC 7643 §4.1.1).
    let existing = app
        .store
        .find_user_by_user_name(
            &org.org,
            &crate::scim::user_name::UserName::parse(&verified.name_id)
                .map_err(|_| saml(SamlError::InvalidNameId))?,
        )
        .await?;
    let (user_id, user_write) = match existing {
        Some(u) if !u.active => return Err(saml(SamlError::UserInactive)),
        Some(mut u) => {
            let id = u.id.clone();
            if apply(
                &mut u.attributes,
                &verified.attributes,
                &org.attribute_mapping,
            ) {
                u.version += 1;
                u.updated_at = ctx.now;
                (id, UserWrite::Update(u))
            } else {
                (id, UserWrite::Unchanged)
            }
        }
        None if org.provisioning == Provisioning::Scim => {
            return Err(saml(SamlError::UserNotProvisioned))
        }
        None => {
            let mut attributes = serde_json::json!({});
            apply(
                &mut attributes,
                &verified.attributes,
                &org.attribute_mapping,
            );
            let user = User {
                id: uuid::Uuid::new_v4().to_string(),
                user_name: verified.name_id.clone(),
                external_id: None,
                active: true,
                attributes,
                created_at: ctx.now,
                updated_at: ctx.now,
                version: 1,
            };
            (user.id.clone(), UserWrite::Create(user))
        }
    };

    let token = Secret::generate("sso");
    let expires_at = ctx.now + SESSION_SECONDS;
    let target = redirect_target(org, relay_state.as_deref());
    let code = target.as_ref().map(|_| Secret::generate("code"));
    let sign_in = SignIn {
        assertion_id: verified.assertion_id.clone(),
        assertion_expires_at: verified.replay_until.max(ctx.now + 1),
        in_response_to: verified.in_response_to.clone(),
        session: Session {
            token_hash: token.hash().0,
            user_id,
            created_at: ctx.now,
            expires_at,
        },
        code: code.as_ref().map(|c| OneTimeCode {
            code_hash: c.hash().0,
            expires_at: ctx.now + CODE_SECONDS,
        }),
        user: user_write,
    };
    // Round trip 2: everything else, atomically.
    app.store
        .sign_in(&org.org, &sign_in, ctx.now)
        .await
        .map_err(|e| match e {
            SignInError::Replayed => saml(SamlError::AssertionReplayed),
            SignInError::UnknownRequest => saml(SamlError::UnknownInResponseTo),
            SignInError::UserConflict => AppError::Store(StoreError::VersionConflict),
            SignInError::Store(e) => AppError::Store(e),
        })?;

    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/orgs/{}; HttpOnly; Secure; SameSite=Lax; Max-Age={SESSION_SECONDS}",
        token.expose(),
        org.org
    );
    let builder = Response::builder()
        .header("set-cookie", cookie)
        .header("cache-control", "no-store");
    let resp = match (target, code) {
        (Some(mut url), Some(code)) => {
            url.query_pairs_mut().append_pair("code", code.expose());
            builder
                .status(StatusCode::SEE_OTHER)
                .header("location", url.as_str())
                .body(Body::Empty)
        }
        _ => builder
            .status(StatusCode::OK)
            .header("content-type", "text/plain; charset=utf-8")
            .body(Body::Text("Signed in.\n".into())),
    }
    .map_err(|e| AppError::bad_request("bad_response", e.to_string()))?;
    Ok((resp, "ok"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Org {
        let mut org = Org::new("acme", "https://sso.example.com", 0);
        org.allowed_redirect_urls = vec![
            "https://app.example.com/".into(),
            "https://other.example.com/portal".into(),
        ];
        org.default_app_url = Some("https://app.example.com/home".into());
        org
    }

    fn target(relay: &str) -> String {
        redirect_target(&org(), Some(relay)).unwrap().to_string()
    }

    #[test]
    fn relay_state_on_or_under_an_allowed_url_is_followed() {
        assert_eq!(
            target("https://app.example.com/reports?id=1"),
            "https://app.example.com/reports?id=1"
        );
        assert_eq!(
            target("https://other.example.com/portal"),
            "https://other.example.com/portal"
        );
        assert_eq!(
            target("https://other.example.com/portal/x"),
            "https://other.example.com/portal/x"
        );
    }

    #[test]
    fn anything_else_goes_to_the_default_app_never_elsewhere() {
        for evil in [
            "https://evil.example.com/",
            "https://app.example.com.evil.example/",
            "http://app.example.com/",
            "https://app.example.com:8443/",
            "https://other.example.com/portalx",
            "https://other.example.com/",
            "https://user:pw@app.example.com/",
            "//evil.example.com/",
            "/relative",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(target(evil), "https://app.example.com/home", "{evil}");
        }
        let mut bare = org();
        bare.default_app_url = None;
        assert_eq!(
            redirect_target(&bare, Some("https://evil.example.com/")),
            None
        );
    }
}
