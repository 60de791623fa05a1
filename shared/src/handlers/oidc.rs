//! The OpenID Connect provider's routes (`crate::oidc` has the protocol pieces): discovery,
//! JWKS, the authorization endpoint (which hands over to the org's SAML login), the token
//! endpoint, userinfo and RP-initiated logout; plus [`complete_sign_in`], the ACS's hook.
//!
//! Protocol errors are answered here, in the protocol's own shapes: RFC 6749 §4.1.2.1 redirects
//! or an error page from the authorization endpoint, §5.2 JSON from the token endpoint, RFC 6750
//! §3 from userinfo. Only failures of our own (database, KMS) go through `AppError`.

use std::collections::BTreeMap;

use http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{json, Map, Value};

use super::Handled;
use super::{Ctx, Services};
use crate::error::{AppError, Flavor};
use crate::http::{bearer_token, body_bytes, header, response};
use crate::oidc::claims::{user_claims, MAX_GROUPS};
use crate::oidc::discovery::provider_metadata;
use crate::oidc::params::{
    basic_credentials, check_authorize, invalid_request, parse_params, pkce_matches, ProtocolError,
    MAX_PARAMS_BYTES,
};
use crate::oidc::{
    access_token_org, issuer, linked_request_id, mint_access_token, AuthorizationCode, ClientId,
    CODE_SECONDS,
};
use crate::routes::Route;
use crate::saml::authn_request::REQUEST_TTL_SECONDS;
use crate::store::{AppClient, AuthorizationRequest, Grant, IssuedCode, Store, User};
use crate::tokens::{random_hex, TokenHash};

/// Browser routes render errors as pages; the rest as JSON.
pub(crate) fn flavor(route: &Route) -> Flavor {
    match route {
        Route::OidcAuthorize | Route::OidcLogout => Flavor::Page,
        _ => Flavor::Json,
    }
}

pub(crate) async fn dispatch<S: Store>(app: &Services<S>, route: Route, req: &Request) -> Handled {
    let m = req.method().clone();
    match (&route, &m) {
        (Route::OidcDiscovery, &Method::GET) => discovery(app, req),
        (Route::OidcJwks, &Method::GET) => jwks(app).await,
        (Route::OidcAuthorize, &Method::GET | &Method::POST) => authorize(app, req).await,
        (Route::OidcToken, &Method::POST) => token(app, req).await,
        (Route::OidcUserinfo, &Method::GET | &Method::POST) => userinfo(app, req).await,
        (Route::OidcLogout, &Method::GET | &Method::POST) => logout(app, req).await,
        _ => Err(AppError::MethodNotAllowed(m)),
    }
}

fn the_issuer<S: Store>(app: &Services<S>, req: &Request) -> Result<String, AppError> {
    issuer(&app.config, req).ok_or_else(|| {
        AppError::bad_request(
            "no_issuer",
            "cannot tell this deployment's public URL: set PUBLIC_BASE_URL",
        )
    })
}

/// Public, cacheable JSON (discovery and keys change rarely; clients cache them anyway).
fn cacheable_json(value: &Value) -> Result<Response<Body>, AppError> {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("cache-control", "public, max-age=300")
        .body(Body::Text(value.to_string()))
        .map_err(AppError::BadResponse)
}

fn discovery<S: Store>(app: &Services<S>, req: &Request) -> Handled {
    let issuer = the_issuer(app, req)?;
    Ok((cacheable_json(&provider_metadata(&issuer))?, "ok"))
}

async fn jwks<S: Store>(app: &Services<S>) -> Handled {
    Ok((cacheable_json(&app.signer.jwks().await?)?, "ok"))
}

/// Query string (GET) or form body (POST): OIDC Core §3.1.2.1 allows both.
fn request_params(
    req: &Request,
) -> Result<Result<BTreeMap<String, String>, ProtocolError>, AppError> {
    let raw: &[u8] = if req.method() == Method::POST {
        body_bytes(req, MAX_PARAMS_BYTES)?
    } else {
        req.uri().query().unwrap_or("").as_bytes()
    };
    Ok(parse_params(raw))
}

/// An error page for the browser (never a redirect to an unverified URI, RFC 6749 §4.1.2.1).
fn error_page(status: StatusCode, e: &ProtocolError) -> Response<Body> {
    response(
        status,
        "text/plain; charset=utf-8",
        format!(
            "{} {}\n\nerror: {}\n{}\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            e.error,
            e.description
        ),
    )
}

fn see_other(location: &str) -> Result<Response<Body>, AppError> {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("location", location)
        .header("cache-control", "no-store")
        .body(Body::Empty)
        .map_err(AppError::BadResponse)
}

/// RFC 6749 §4.1.2.1: the error goes back to the (verified) redirect URI, with `state`.
fn redirect_error(redirect_uri: &str, e: &ProtocolError, state: Option<&String>) -> Handled {
    let mut url = url::Url::parse(redirect_uri)
        .map_err(|err| AppError::bad_request("invalid_redirect_uri", err.to_string()))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("error", e.error)
            .append_pair("error_description", &e.description);
        if let Some(s) = state {
            q.append_pair("state", s);
        }
    }
    Ok((see_other(url.as_str())?, e.error))
}

async fn find_client<S: Store>(
    app: &Services<S>,
    raw: Option<&String>,
) -> Result<Option<AppClient>, AppError> {
    match raw.and_then(|r| ClientId::parse(r)) {
        Some(id) => Ok(app.store.get_app_client(id.as_str()).await?),
        None => Ok(None),
    }
}

/// `/oauth2/authorize`: checks the request, stores it under a fresh AuthnRequest ID and starts
/// the org's SAML login (as `/orgs/{org}/saml/login` does).
async fn authorize<S: Store>(app: &Services<S>, req: &Request) -> Handled {
    let p = match request_params(req)? {
        Ok(p) => p,
        Err(e) => return Ok((error_page(StatusCode::BAD_REQUEST, &e), e.error)),
    };
    let Some(client) = find_client(app, p.get("client_id")).await? else {
        let e = invalid_request("unknown client_id");
        return Ok((error_page(StatusCode::BAD_REQUEST, &e), "unknown_client"));
    };
    let redirect_uri = match p.get("redirect_uri") {
        Some(r) if client.redirect_uris.iter().any(|u| u == r) => r.clone(),
        _ => {
            let e = invalid_request("redirect_uri is missing or not registered for this client");
            return Ok((
                error_page(StatusCode::BAD_REQUEST, &e),
                "unregistered_redirect_uri",
            ));
        }
    };
    let state = p.get("state");
    let checked = match check_authorize(&p, client.secret_hash.is_none()) {
        Ok(c) => c,
        Err(e) => return redirect_error(&redirect_uri, &e, state),
    };
    let Some(mut org) = app.store.get_org(&checked.organization).await? else {
        return redirect_error(
            &redirect_uri,
            &invalid_request("unknown organization"),
            state,
        );
    };
    if org.idp.as_ref().and_then(|i| i.sso_url.as_ref()).is_none() {
        let e = invalid_request(
            "this organization cannot start a sign-in yet (no identity provider sign-on URL)",
        );
        return redirect_error(&redirect_uri, &e, state);
    }
    if let Some(base) = &app.config.public_base_url {
        org.base_url = base.clone();
    }
    let now = app.now();
    let id = linked_request_id();
    app.store
        .put_authorization_request(
            &org.org,
            &AuthorizationRequest {
                id: id.clone(),
                client_id: client.client_id.clone(),
                redirect_uri,
                scope: checked.scope,
                state: checked.state,
                nonce: checked.nonce,
                code_challenge: checked.code_challenge,
                expires_at: now + REQUEST_TTL_SECONDS,
                code: None,
            },
        )
        .await?;
    let ctx = Ctx {
        org,
        route: Route::SamlLogin,
        now,
    };
    super::login::begin_login(app, &ctx, req, &id, None, checked.login_hint.as_deref()).await
}

/// The ACS's hook, for an answered AuthnRequest that [`authorize`] linked: attaches a code to the
/// authorization request and returns where to send the browser (`redirect_uri?code&state`).
pub(crate) async fn complete_sign_in<S: Store>(
    app: &Services<S>,
    org: &str,
    request_id: &str,
    user_id: &str,
    session_expires_at: i64,
    now: i64,
) -> Result<String, AppError> {
    let (code, secret) = AuthorizationCode::mint(org, request_id);
    let issued = IssuedCode {
        code_hash: secret.hash().into_string(),
        user_id: user_id.to_string(),
        sid: random_hex(16),
        auth_time: now,
        session_expires_at,
        code_expires_at: now + CODE_SECONDS,
        redeemed_token_hash: None,
    };
    let request = app
        .store
        .issue_code(org, request_id, &issued, now)
        .await?
        .ok_or_else(|| {
            AppError::bad_request(
                "authorization_request_expired",
                "the sign-in took longer than 10 minutes: go back to the app and sign in again",
            )
        })?;
    let mut url = url::Url::parse(&request.redirect_uri)
        .map_err(|e| AppError::bad_request("invalid_redirect_uri", e.to_string()))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("code", &code);
        if let Some(s) = &request.state {
            q.append_pair("state", s);
        }
    }
    Ok(url.to_string())
}

/// RFC 6749 §5.2 error body; 401 with a challenge for client authentication failures.
fn token_error(status: StatusCode, e: ProtocolError) -> Handled {
    let mut b = Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .header("pragma", "no-cache");
    if status == StatusCode::UNAUTHORIZED {
        b = b.header("www-authenticate", r#"Basic realm="oidc""#);
    }
    let body = json!({ "error": e.error, "error_description": e.description });
    let resp = b
        .body(Body::Text(body.to_string()))
        .map_err(AppError::BadResponse)?;
    Ok((resp, e.error))
}

fn err(error: &'static str, description: &str) -> ProtocolError {
    ProtocolError {
        error,
        description: description.to_string(),
    }
}

fn invalid_grant(description: &str) -> Handled {
    token_error(StatusCode::BAD_REQUEST, err("invalid_grant", description))
}

/// Display names of the user's groups (sorted, at most [`MAX_GROUPS`]), if the scope asks.
async fn group_names<S: Store>(
    app: &Services<S>,
    org: &str,
    user_id: &str,
    scope: &str,
) -> Result<Vec<String>, AppError> {
    if !scope.split(' ').any(|s| s == "groups") {
        return Ok(Vec::new());
    }
    let mut ids = app.store.groups_of_user(org, user_id).await?;
    ids.truncate(MAX_GROUPS);
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut names: Vec<String> = app
        .store
        .get_groups(org, &ids)
        .await?
        .into_iter()
        .map(|g| g.display_name)
        .collect();
    names.sort();
    Ok(names)
}

async fn active_user<S: Store>(
    app: &Services<S>,
    org: &str,
    id: &str,
) -> Result<Option<User>, AppError> {
    Ok(app.store.get_user(org, id).await?.filter(|u| u.active))
}

/// `POST /oauth2/token`: the authorization_code grant (RFC 6749 §4.1.3, OIDC Core §3.1.3).
async fn token<S: Store>(app: &Services<S>, req: &Request) -> Handled {
    let p = match parse_params(body_bytes(req, MAX_PARAMS_BYTES)?) {
        Ok(p) => p,
        Err(e) => return token_error(StatusCode::BAD_REQUEST, e),
    };
    // Client authentication (§2.3.1): basic or post, never both (§2.3: "MUST NOT use more than
    // one authentication method in each request").
    let basic = header(req, "authorization").and_then(basic_credentials);
    let (client_id, secret) = match (basic, p.get("client_id"), p.get("client_secret")) {
        (Some(_), _, Some(_)) => {
            return token_error(
                StatusCode::BAD_REQUEST,
                invalid_request("use one client authentication method, not two"),
            )
        }
        (Some((id, _)), Some(body_id), None) if *body_id != id => {
            return token_error(
                StatusCode::BAD_REQUEST,
                invalid_request("client_id differs from the authenticated client"),
            )
        }
        (Some((id, s)), _, None) => (id, Some(s)),
        (None, Some(id), s) => (id.clone(), s.cloned()),
        (None, None, _) => {
            return token_error(
                StatusCode::UNAUTHORIZED,
                err("invalid_client", "client authentication is required"),
            )
        }
    };
    let client = find_client(app, Some(&client_id)).await?;
    let authenticated = match (&client, &secret) {
        (Some(c), Some(s)) => c
            .secret_hash
            .as_ref()
            .is_some_and(|h| TokenHash::from_stored(h).matches(s)),
        // A public client proves nothing here; PKCE below is its proof (RFC 7636 §1).
        (Some(c), None) => c.secret_hash.is_none(),
        (None, _) => false,
    };
    let Some(client) = client.filter(|_| authenticated) else {
        return token_error(
            StatusCode::UNAUTHORIZED,
            err("invalid_client", "unknown client or wrong client secret"),
        );
    };
    match p.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {}
        Some(_) => {
            return token_error(
                StatusCode::BAD_REQUEST,
                err(
                    "unsupported_grant_type",
                    "only authorization_code is supported",
                ),
            )
        }
        None => {
            return token_error(
                StatusCode::BAD_REQUEST,
                invalid_request("grant_type is required"),
            )
        }
    }
    let Some(raw_code) = p.get("code") else {
        return token_error(StatusCode::BAD_REQUEST, invalid_request("code is required"));
    };
    let Some(code) = AuthorizationCode::parse(raw_code) else {
        return invalid_grant("the code is unknown, used or expired");
    };
    let (org, now) = (code.org.as_str(), app.now());
    let request = app
        .store
        .get_authorization_request(org, &code.request_id, now)
        .await?;
    let Some((request, issued)) = request.and_then(|r| r.code.clone().map(|c| (r, c))) else {
        return invalid_grant("the code is unknown, used or expired");
    };
    if !TokenHash::from_stored(&issued.code_hash).matches(&code.secret) {
        return invalid_grant("the code is unknown, used or expired");
    }
    if let Some(first) = &issued.redeemed_token_hash {
        // RFC 6749 §4.1.2: a code used twice is treated as stolen: what it granted is revoked.
        if let Some(g) = app.store.get_grant(org, first, now).await? {
            app.store.end_grants(org, &[g], now).await?;
        }
        return invalid_grant("the code was already used; the tokens issued for it are revoked");
    }
    if issued.code_expires_at <= now {
        return invalid_grant("the code is unknown, used or expired");
    }
    if request.client_id != client.client_id {
        return invalid_grant("the code was issued to another client");
    }
    if p.get("redirect_uri") != Some(&request.redirect_uri) {
        return invalid_grant("redirect_uri differs from the authorization request's");
    }
    let pkce_ok = match (&request.code_challenge, p.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => pkce_matches(verifier, challenge),
        (None, None) => true,
        _ => false,
    };
    if !pkce_ok {
        return invalid_grant("code_verifier does not match the code_challenge");
    }
    if issued.session_expires_at <= now {
        return invalid_grant("the sign-in session has ended");
    }
    let Some(user) = active_user(app, org, &issued.user_id).await? else {
        return invalid_grant("the user is no longer active");
    };
    let groups = group_names(app, org, &user.id, &request.scope).await?;
    let iss = the_issuer(app, req)?;
    let access_token = mint_access_token(org);
    let grant = Grant {
        token_hash: TokenHash::of(&access_token).into_string(),
        client_id: client.client_id.clone(),
        user_id: user.id.clone(),
        sid: issued.sid.clone(),
        scope: request.scope.clone(),
        issuer: iss.clone(),
        auth_time: issued.auth_time,
        created_at: now,
        expires_at: issued.session_expires_at,
    };
    let mut claims: Map<String, Value> = user_claims(org, &user, &request.scope, &groups);
    claims.insert("iss".into(), json!(iss));
    claims.insert("aud".into(), json!(client.client_id));
    claims.insert("iat".into(), json!(now));
    // The ID token lives as long as the session it describes.
    claims.insert("exp".into(), json!(issued.session_expires_at));
    claims.insert("auth_time".into(), json!(issued.auth_time));
    claims.insert("sid".into(), json!(issued.sid));
    if let Some(n) = &request.nonce {
        claims.insert("nonce".into(), json!(n));
    }
    // Signed before the code is spent: if KMS fails, the app may retry with the same code.
    let id_token = app.signer.sign("JWT", &Value::Object(claims)).await?;
    if !app
        .store
        .redeem_authorization_code(org, &code.request_id, &issued.code_hash, &grant)
        .await?
    {
        return invalid_grant("the code was already used");
    }
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": issued.session_expires_at - now,
        "id_token": id_token,
        "scope": request.scope,
    });
    let resp = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .header("pragma", "no-cache")
        .body(Body::Text(body.to_string()))
        .map_err(AppError::BadResponse)?;
    Ok((resp, "ok"))
}

/// RFC 6750 §3.1: 401 with `error="invalid_token"`.
fn invalid_token() -> Handled {
    let resp = Response::builder()
        .status(StatusCode::UNAUTHORIZED)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .header("www-authenticate", r#"Bearer error="invalid_token""#)
        .body(Body::Text(
            json!({ "error": "invalid_token", "error_description": "the access token is unknown, revoked or expired" })
                .to_string(),
        ))
        .map_err(AppError::BadResponse)?;
    Ok((resp, "invalid_token"))
}

/// `/oauth2/userinfo` (OIDC Core §5.3): the claims, read live, so a deactivated user, an ended
/// session or a revoked grant answers 401 at once.
async fn userinfo<S: Store>(app: &Services<S>, req: &Request) -> Handled {
    let Some(token) = bearer_token(req) else {
        return invalid_token();
    };
    let Some(org) = access_token_org(token) else {
        return invalid_token();
    };
    let now = app.now();
    let Some(grant) = app
        .store
        .get_grant(org, &TokenHash::of(token).into_string(), now)
        .await?
    else {
        return invalid_token();
    };
    let Some(user) = active_user(app, org, &grant.user_id).await? else {
        return invalid_token();
    };
    let groups = group_names(app, org, &user.id, &grant.scope).await?;
    let claims = user_claims(org, &user, &grant.scope, &groups);
    Ok((
        crate::http::json(StatusCode::OK, &Value::Object(claims)),
        "ok",
    ))
}

/// `/oauth2/logout` (OIDC RP-Initiated Logout 1.0 §2, §3): ends the OIDC session named by the
/// `id_token_hint` (which must be one of ours), queues back-channel logouts for it, and returns to
/// a registered `post_logout_redirect_uri` with `state`, or shows a page.
async fn logout<S: Store>(app: &Services<S>, req: &Request) -> Handled {
    let bad = |d: &str| {
        let e = invalid_request(d);
        Ok((error_page(StatusCode::BAD_REQUEST, &e), "invalid_request"))
    };
    let p = match request_params(req)? {
        Ok(p) => p,
        Err(e) => return Ok((error_page(StatusCode::BAD_REQUEST, &e), e.error)),
    };
    let iss = the_issuer(app, req)?;
    let hint = match p.get("id_token_hint") {
        // Expired hints are fine (§2: the OP "SHOULD accept ID Tokens ... when the RP session
        // ... has expired"); only signature and issuer are checked.
        Some(h) => match app.signer.verify(h).await? {
            Some(v) if v.claims["iss"] == iss.as_str() => Some(v.claims),
            _ => return bad("id_token_hint is not an ID token this provider issued"),
        },
        None => None,
    };
    let hinted_client = hint
        .as_ref()
        .and_then(|c| c["aud"].as_str().map(str::to_string));
    let client_id = match (hinted_client, p.get("client_id")) {
        (Some(a), Some(b)) if a != *b => return bad("client_id differs from the id_token_hint's"),
        (Some(a), _) => Some(a),
        (None, b) => b.cloned(),
    };
    // The return target is checked before anything ends: a refused request changes nothing.
    let target = match p.get("post_logout_redirect_uri") {
        Some(target) => {
            let client = find_client(app, client_id.as_ref()).await?;
            let registered =
                client.is_some_and(|c| c.post_logout_redirect_uris.iter().any(|u| u == target));
            if !registered {
                return bad("post_logout_redirect_uri is not registered for this client");
            }
            let mut url = url::Url::parse(target)
                .map_err(|e| AppError::bad_request("invalid_redirect_uri", e.to_string()))?;
            if let Some(s) = p.get("state") {
                url.query_pairs_mut().append_pair("state", s);
            }
            Some(url)
        }
        None => None,
    };
    let now = app.now();
    if let Some(c) = &hint {
        let (org, sub, sid) = (c["org"].as_str(), c["sub"].as_str(), c["sid"].as_str());
        if let (Some(org), Some(sub), Some(sid)) = (org, sub, sid) {
            if crate::model::org::validate_org_name(org).is_ok() {
                let grants: Vec<Grant> = app
                    .store
                    .grants_of_user(org, sub)
                    .await?
                    .into_iter()
                    .filter(|g| g.sid == sid)
                    .collect();
                app.store.end_grants(org, &grants, now).await?;
            }
        }
    }
    if let Some(url) = target {
        return Ok((see_other(url.as_str())?, "ok"));
    }
    Ok((
        response(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "You are signed out.\n",
        ),
        "ok",
    ))
}
