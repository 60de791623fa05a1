//! OpenID Connect Back-Channel Logout 1.0: when a grant ends early (SCIM deactivation or
//! deletion, RP-initiated logout, admin revocation, a reused code), the store queues a notice in
//! the same transaction; this module delivers it: a signed `logout_token` (§2.4) POSTed to the
//! client's `backchannel_logout_uri` (§2.5), retried with backoff, bounded.
//!
//! Deployed, the `oidc-backchannel` function runs [`deliver`] for each notice a DynamoDB Stream
//! reports (never inside the SCIM request); the local stack runs [`drain`] in a background loop.
//! Both claim the notice first (a conditional delete), so each is delivered once.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::json;

use super::jwt::Signer;
use crate::error::AppError;
use crate::store::{LogoutNotice, OidcStore, Store};
use crate::tokens::random_hex;

/// What delivery needs of the application: its store, its signer and its clock. `App`
/// implements it, so the stream function and the local stack pass the app they built, while this
/// module stays below the application in the module graph (docs/architecture.md).
pub trait Sender: Send + Sync {
    type Store: Store;
    fn store(&self) -> &Self::Store;
    fn signer(&self) -> &Signer;
    fn now(&self) -> i64;
}

/// Attempts per notice, and the wait before the second (doubled each time): 4 attempts over
/// about 3.5 s plus at most 4 × [`ATTEMPT_TIMEOUT`], which fits the function's timeout.
pub const ATTEMPTS: u32 = 4;
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Logout tokens are for immediate delivery; the RP must reject old ones (§2.6 step 4 "iat").
const LOGOUT_TOKEN_SECONDS: i64 = 120;
/// §2.4: the `events` member that makes a JWT a logout token.
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// The client registered no back-channel logout URI (or was deleted).
    NoEndpoint,
    /// The app answered with a 4xx other than 429: it refused the token; retrying won't help.
    Rejected(u16),
    /// Every attempt failed (network error, 5xx or 429).
    GaveUp,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::NoEndpoint => "no_endpoint",
            Outcome::Rejected(_) => "rejected",
            Outcome::GaveUp => "gave_up",
        }
    }
}

fn http_client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        // reqwest is built without a crypto provider of its own (Cargo.toml: one TLS stack in
        // the Lambdas): rustls then uses the process default, aws-lc-rs as in the AWS SDK. An
        // `Err` only means a default is already installed.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            // A registered endpoint that redirects is misconfigured; following it could send
            // the token somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    })
}

/// The logout token for `notice` (§2.4): iss, aud, iat, exp, jti, sub, sid, events; no nonce.
pub async fn logout_token<A: Sender>(app: &A, notice: &LogoutNotice) -> Result<String, AppError> {
    let now = app.now();
    let claims = json!({
        "iss": notice.issuer,
        "aud": notice.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_SECONDS,
        "jti": random_hex(16),
        "sub": notice.user_id,
        "sid": notice.sid,
        "org": notice.org,
        "events": { EVENT: {} },
    });
    // §2.4: "explicitly typed ... logout+jwt" so it cannot be mistaken for an ID token.
    app.signer().sign("logout+jwt", &claims).await
}

/// Claims the notice stored under `key` and delivers it. `None` if someone else claimed it.
pub async fn deliver<A: Sender>(app: &A, key: &str) -> Result<Option<Outcome>, AppError> {
    let Some(notice) = app.store().claim_logout(key, app.now()).await? else {
        return Ok(None);
    };
    let outcome = match deliver_claimed(app, &notice).await {
        Ok(outcome) => outcome,
        Err(e) => {
            // Not delivered (store or KMS trouble before the POST): give the notice back so the
            // next attempt (the stream's retry, or the local queue's next pass) sends it.
            if let Err(release) = app.store().release_logout(key).await {
                tracing::warn!(org = %notice.org, error = %release, "could not release a logout notice; its lease will run out");
            }
            return Err(e);
        }
    };
    // Delivered, refused by the app, or given up after the retries: done with this notice.
    app.store().complete_logout(key).await?;
    tracing::info!(
        org = %notice.org,
        client_id = %notice.client_id,
        outcome = outcome.code(),
        "backchannel logout"
    );
    Ok(Some(outcome))
}

async fn deliver_claimed<A: Sender>(app: &A, notice: &LogoutNotice) -> Result<Outcome, AppError> {
    let endpoint = app
        .store()
        .get_app_client(&notice.client_id)
        .await?
        .and_then(|c| c.backchannel_logout_uri);
    Ok(match endpoint {
        None => Outcome::NoEndpoint,
        Some(uri) => {
            let token = logout_token(app, notice).await?;
            post_with_retries(&uri, &token).await
        }
    })
}

async fn post_with_retries(uri: &str, token: &str) -> Outcome {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", token)
        .finish();
    let mut wait = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let res = http_client()
            .post(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => return Outcome::Delivered,
            // §2.8: 400 means the RP refused the token; not something a retry fixes.
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                return Outcome::Rejected(r.status().as_u16())
            }
            _ if attempt == ATTEMPTS => break,
            _ => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
    }
    Outcome::GaveUp
}

/// One pass over the queue (the local stack's delivery loop): every queued notice, delivered
/// concurrently so one app that is down does not hold up the others. Returns how many it took.
pub async fn drain<A: Sender + 'static>(app: Arc<A>, limit: i32) -> Result<usize, AppError> {
    let keys = app.store().queued_logouts(limit).await?;
    Ok(deliver_all(app, keys).await.claimed)
}

/// What one batch of deliveries did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Batch {
    /// Notices this call claimed and finished (delivered, refused, or given up on).
    pub claimed: usize,
    /// Notices that failed before their POST (store or signing trouble) and were given back:
    /// the stream function fails its invocation so Lambda retries the batch, which finds the
    /// finished ones gone and claims only these again.
    pub failed: usize,
}

/// Delivers the notices under `keys` concurrently (the stream function's batch, or one pass of
/// the local queue). Failures are logged and counted.
pub async fn deliver_all<A: Sender + 'static>(app: Arc<A>, keys: Vec<String>) -> Batch {
    let mut tasks = tokio::task::JoinSet::new();
    for key in keys {
        let app = app.clone();
        tasks.spawn(async move { deliver(app.as_ref(), &key).await });
    }
    let mut batch = Batch::default();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(Some(_))) => batch.claimed += 1,
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                batch.failed += 1;
                tracing::warn!(error = %e, "backchannel logout delivery failed")
            }
            Err(e) => {
                batch.failed += 1;
                tracing::warn!(error = %e, "backchannel logout task failed")
            }
        }
    }
    batch
}
