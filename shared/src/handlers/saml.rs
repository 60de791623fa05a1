//! SAML routes: SP metadata, SP-initiated login, and the ACS.
//!
//! The ACS costs three DynamoDB round trips on the happy path: (1) read the org (never cached
//! here: trust changes take effect at once, issue 9 finding 8), (2) find the user by NameID,
//! (3) one TransactWriteItems that records the assertion ID, consumes the request ID, writes the
//! session, and creates or updates the user. An answer to an OIDC authorization request costs one
//! more: attaching the code (`handlers/oidc.rs`).

use http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::Handled;
use super::{Ctx, Services};
use crate::error::AppError;
use crate::http::{
    body_bytes, cookies, host_cookie, login_cookie_name, response, session_cookie_name, NOSNIFF,
};
use crate::model::org::{Org, Provisioning};
use crate::saml::attributes::apply;
use crate::saml::authn_request::new_request_id;
use crate::saml::metadata::sp_metadata_xml;
use crate::saml::validate::VerifiedAssertion;
use crate::saml::validate::{validate, AcsInput, SamlConfig, SamlError};
use crate::store::{
    AnsweredRequest, Session, SignIn, SignInError, Store, StoreError, User, UserWrite,
};
use crate::tokens::{Secret, TokenHash};

pub use crate::saml::limits::DEFAULT_ACS_BODY_LIMIT;
/// A RelayState longer than this is not followed (bindings §3.4.3 asks for at most 80 bytes; app
/// deep links are longer, but not this long), which also bounds the query rewrite below.
pub const MAX_RELAY_STATE: usize = 2048;
/// Two first sign-ins of one new user race to create them; the loser retries, finds the winner's
/// user and signs in (issue 9 finding 11). A few attempts are plenty; the bound keeps a stuck
/// conflict from looping.
const SIGN_IN_ATTEMPTS: u32 = 3;
/// `GET /orgs/{org}/saml/metadata`, with the deployment's SP encryption certificate when there
/// is one (`saml::sp_keys`: read once per warm Lambda and [`crate::saml::sp_keys::CACHE_TTL`]).
pub(super) async fn metadata<S>(app: &Services<S>, ctx: &Ctx) -> Handled {
    let certificate = app.sp_keys.published_certificate().await?;
    let xml = sp_metadata_xml(&ctx.org, certificate.as_deref());
    Ok((
        response(
            StatusCode::OK,
            "application/samlmetadata+xml; charset=utf-8",
            xml,
        ),
        "ok",
    ))
}

fn query_param(req: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `GET /orgs/{org}/saml/login?RelayState=...`: 302 to Okta with an AuthnRequest.
pub(super) async fn login<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request) -> Handled {
    let relay_state = query_param(req, "RelayState");
    super::login::begin_login(
        app,
        ctx,
        req,
        &new_request_id(),
        relay_state.as_deref(),
        None,
    )
    .await
}

/// Where to send the browser after sign-in: RelayState if the org allows it, else the default app.
/// Never an open redirect: the candidate must be an absolute URL with the origin of an allowed
/// entry and its path equal to or under that entry's path, written plainly (see [`plain_path`]).
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
        .filter(|r| r.len() <= MAX_RELAY_STATE && plain_path(r))
        .and_then(|r| url::Url::parse(r).ok())
        .filter(allowed)
        .or_else(|| {
            org.default_app_url
                .as_deref()
                .and_then(|d| url::Url::parse(d).ok())
        })
}

/// Is the RelayState's path written plainly? The allow-list compares the path the URL parser
/// makes, but the app's server may decode `%2f` (/), `%2e` (.) or `%5c` (\) before resolving dot
/// segments, and WHATWG parsers turn `\` into `/` and drop tabs and newlines (URL Standard §4.4),
/// so `…/portal/..%2fadmin` would pass the check and land on `/admin` (issue 9 finding 6).
/// Refused: any of those, any control character or space, anywhere before the query.
fn plain_path(raw: &str) -> bool {
    if raw.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return false;
    }
    let before_query = raw.split(['?', '#']).next().unwrap_or_default();
    let lower = before_query.to_ascii_lowercase();
    !lower.contains('\\') && !["%2f", "%2e", "%5c"].iter().any(|e| lower.contains(e))
}

fn saml(e: SamlError) -> AppError {
    AppError::Saml(e)
}

/// `POST /orgs/{org}/saml/acs` (HTTP-POST binding, bindings §3.5).
pub(super) async fn acs<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request) -> Handled {
    // The deployment's limit (ACS_BODY_LIMIT_KIB): refused before anything is decoded, with a
    // page that tells the admin what to change (issue 9: what a post may cost unauthenticated).
    let limit = app.config.acs_body_limit;
    let body = body_bytes(req, limit).map_err(|_| {
        saml(SamlError::ResponseTooLarge {
            limit_kib: limit / 1024,
        })
    })?;
    super::login::require_idp(ctx)?;
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
    let mut cfg = SamlConfig::for_org(org).map_err(saml)?;
    cfg.decryption = app.sp_keys.cached_keys();
    let input = AcsInput {
        saml_response: &saml_response,
    };
    let verified = match validate(&input, &cfg, ctx.now) {
        // Encrypted, and this Lambda has not read the SP keys lately: one Secrets Manager call,
        // then the same validation again. Plain responses never wait for Secrets Manager.
        Err(SamlError::DecryptionKeysNeeded) => {
            let keys = app.sp_keys.keys().await?;
            cfg.decryption = Some(keys.ok_or(saml(SamlError::EncryptedAssertionUnsupported))?);
            validate(&input, &cfg, ctx.now)
        }
        other => other,
    }
    .map_err(saml)?;

    // An answer to a request of ours must come back to the browser that started it: the binding
    // cookie /saml/login set, whose hash the sign-in transaction compares with the one stored
    // with the request ID (issue 9 finding 2). IdP-initiated responses carry no InResponseTo.
    let request = match &verified.in_response_to {
        Some(id) => {
            let presented = cookies(req, &login_cookie_name(&org.org))
                .into_iter()
                .next()
                .ok_or(saml(SamlError::RequestNotFromThisBrowser))?;
            Some(AnsweredRequest {
                id: id.clone(),
                browser_hash: TokenHash::of(presented).into_string(),
            })
        }
        None => None,
    };
    // Our session never outlives the IdP's (core §2.7.2 SessionNotOnOrAfter), nor the org's
    // session length (24 hours unless the org set fewer).
    let longest = ctx.now + org.session_seconds();
    let expires_at = match verified.session_not_on_or_after {
        Some(end) if end <= ctx.now => return Err(saml(SamlError::SessionAlreadyEnded)),
        Some(end) => end.min(longest),
        None => longest,
    };

    let token = Secret::generate("sso");
    // Apps learn who signed in through OpenID Connect (handlers/oidc.rs): the redirect to the
    // app carries no code of ours any more (issue 11).
    let app_target =
        redirect_target(org, relay_state.as_deref()).or_else(|| app.config.default_app_url.clone());
    let sign_in_id = uuid::Uuid::new_v4().to_string();
    let mut signed_in_user = String::new();
    for attempt in 1..=SIGN_IN_ATTEMPTS {
        let (user_id, user) = resolve_user(app, org, &verified, ctx.now).await?;
        let sign_in = SignIn {
            assertion_id: verified.assertion_id.clone(),
            assertion_expires_at: verified.replay_until.max(ctx.now + 1),
            request: request.clone(),
            sign_in_id: sign_in_id.clone(),
            session: Session {
                token_hash: token.hash().into_string(),
                user_id,
                created_at: ctx.now,
                expires_at,
            },
            user,
        };
        // Everything else, atomically, in one round trip.
        match app.store.sign_in(&org.org, &sign_in, ctx.now).await {
            Ok(()) => {
                signed_in_user = sign_in.session.user_id;
                break;
            }
            // Someone created or changed this user between our read and our write (two first
            // sign-ins at once): nothing was written, so read again and retry.
            Err(SignInError::UserConflict) if attempt < SIGN_IN_ATTEMPTS => {
                tokio::time::sleep(std::time::Duration::from_millis(25 * u64::from(attempt))).await;
            }
            Err(e) => {
                return Err(match e {
                    SignInError::Replayed => saml(SamlError::AssertionReplayed),
                    SignInError::UnknownRequest => saml(SamlError::UnknownInResponseTo),
                    SignInError::UserConflict => AppError::Store(StoreError::VersionConflict),
                    SignInError::Store(e) => AppError::Store(e),
                })
            }
        }
    }

    // POST/redirect/GET, always (issue 8 item 4): a refresh must never re-post the response.
    // An answer to an OIDC authorization request goes back to the app with a code (issue 11).
    let oidc_location = match verified.in_response_to.as_deref() {
        Some(id) if crate::oidc::is_linked_request(id) => Some(
            super::oidc::complete_sign_in(app, &org.org, id, &signed_in_user, expires_at, ctx.now)
                .await?,
        ),
        _ => None,
    };
    let location = match (oidc_location, app_target) {
        (Some(location), _) => location,
        (None, Some(url)) => url.to_string(),
        (None, None) => org.signed_in_url(),
    };
    let resp = Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("location", location)
        .header(
            "set-cookie",
            host_cookie(
                &session_cookie_name(&org.org),
                token.expose(),
                expires_at - ctx.now,
                "Lax",
            ),
        )
        .header("cache-control", "no-store")
        .header(NOSNIFF.0, NOSNIFF.1)
        .body(Body::Empty)
        .map_err(AppError::BadResponse)?;
    Ok((resp, "ok"))
}

/// The user this assertion signs in, and what the sign-in writes to them (a round trip: the
/// user, by NameID; userName is case-insensitive, RFC 7643 §4.1.1).
async fn resolve_user<S: Store>(
    app: &Services<S>,
    org: &Org,
    verified: &VerifiedAssertion,
    now: i64,
) -> Result<(String, UserWrite), AppError> {
    let existing = app
        .store
        .find_user_by_user_name(
            &org.org,
            &crate::model::user_name::UserName::parse(&verified.name_id)
                .map_err(|_| saml(SamlError::InvalidNameId))?,
        )
        .await?;
    Ok(match existing {
        Some(u) if !u.active => return Err(saml(SamlError::UserInactive)),
        Some(mut u) => {
            let id = u.id.clone();
            if apply(
                &mut u.attributes,
                &verified.attributes,
                &org.attribute_mapping,
            ) {
                // Only the attributes changed: `u` still carries the stored creation time.
                (id, UserWrite::Update(User::successor(&u, &u, now)))
            } else {
                let version = u.version;
                (
                    id.clone(),
                    UserWrite::Unchanged {
                        user_id: id,
                        version,
                    },
                )
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
            let user = User::create(
                crate::model::NewUser {
                    user_name: verified.name_id.clone(),
                    external_id: None,
                    active: true,
                    attributes,
                },
                now,
            );
            (user.id.clone(), UserWrite::Create(user))
        }
    })
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

    #[test]
    fn encoded_separators_backslashes_and_control_characters_in_an_allowed_path_are_not_followed() {
        for evil in [
            "https://other.example.com/portal/..%2fadmin",
            "https://other.example.com/portal/..%2Fadmin",
            "https://other.example.com/portal/%2e%2e/admin",
            "https://other.example.com/portal/%2E./admin",
            "https://other.example.com/portal/..%5cadmin",
            "https://other.example.com/portal\\..\\admin",
            "https://other.example.com/portal/\t../admin",
            "https://other.example.com/portal/x y",
        ] {
            assert_eq!(target(evil), "https://app.example.com/home", "{evil}");
        }
        // Encoded characters in the query are the app's business.
        assert_eq!(
            target("https://other.example.com/portal/x?next=%2Fa%2E"),
            "https://other.example.com/portal/x?next=%2Fa%2E"
        );
        let long = format!("https://app.example.com/{}", "a".repeat(MAX_RELAY_STATE));
        assert_eq!(target(&long), "https://app.example.com/home");
    }
}
