//! Webhook delivery (docs/api.md, "Webhooks"; docs/decisions.md, "Webhooks"): every endpoint
//! follows the cross-org events feed from its own position and POSTs each event it asked for,
//! signed per Standard Webhooks ([`sign`]). Deployed, the `webhooks` function runs [`Worker::run_for`]
//! on a one-minute schedule; the local stack runs [`Worker::pass`] in a loop. Both lease an
//! endpoint before delivering (one worker per endpoint at a time, so its events go out in feed
//! order) and move its position only in the write that records the delivery, so an event is
//! never skipped: a crash between the POST and that write re-sends it (at least once; the
//! `webhook-id` header, the event id, lets the app drop the repeat).
//!
//! A failed event (network error, timeout, any non-2xx, a redirect) holds the endpoint's later
//! events back and is retried on the [`RetrySchedule`] (Standard Webhooks' suggested one, cut at
//! 24 h); at the end of the window it is sent to the SQS dead-letter queue and recorded `dead`,
//! and the endpoint moves on. The window runs from the first failure of a run of failures and a
//! success ends the run: an endpoint down for over a day gets one attempt per event until it
//! answers again, instead of a day per event.

pub mod secrets;
pub mod sign;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::json;

use crate::error::AppError;
use crate::model::event::Event;
use crate::model::webhook::{
    Delivery, DeliveryState, DeliveryStatus, RetrySchedule, WebhookEndpoint, MAX_ENDPOINTS,
};
use crate::store::events::EventStore;
use crate::store::webhooks::WebhookStore;
use crate::store::StoreError;

/// Events read per endpoint per pass.
const BATCH: usize = 50;
/// How long a worker holds an endpoint: every recorded delivery renews it, and one attempt takes
/// at most [`ATTEMPT_TIMEOUT`], so it never runs out under a live worker.
const LEASE_SECS: i64 = 60;
/// One POST's limit (connect + answer). Standard Webhooks asks receivers to answer quickly
/// (and do their work later); a slow answer counts as a failure and is retried.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Wait before trying a dead-letter send again when SQS refused it: the event stays pending.
const DEAD_LETTER_RETRY_SECS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the webhook secret could not be decrypted: {0}")]
    Secret(AppError),
    #[error("the dead-letter queue refused the event: {0}")]
    DeadLetter(String),
}

/// What one pass did (logged; the tests read it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    pub delivered: u32,
    pub failed: u32,
    pub dead: u32,
}

/// The result of one POST.
enum Attempt {
    Delivered(u16),
    /// `None`: no HTTP answer (network error, timeout).
    Failed(Option<u16>),
}

fn http_client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        // Same TLS stack as the AWS SDK (aws-lc-rs); an `Err` only means a default is installed.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            // A redirect is a failure: following it would send signed events elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("okta-sso-webhooks/1")
            .build()
            .unwrap_or_default()
    })
}

fn wall_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Endpoint id → (the ciphertext, the secret it decrypts to).
type SecretCache = Mutex<HashMap<String, (Vec<u8>, Vec<u8>)>>;

/// Delivers the events of every endpoint.
pub struct Worker<S> {
    store: S,
    kms: aws_sdk_kms::Client,
    sqs: aws_sdk_sqs::Client,
    dead_letter_url: Option<String>,
    schedule: RetrySchedule,
    /// This worker's lease token.
    owner: String,
    /// Decrypted secrets by endpoint, with the ciphertext they came from (one KMS Decrypt per
    /// endpoint per process).
    secrets: SecretCache,
}

/// The SQS client, from the standard AWS environment (`AWS_ENDPOINT_URL` for the local server).
pub async fn sqs_client() -> aws_sdk_sqs::Client {
    let shared = crate::aws::sdk_config().await;
    aws_sdk_sqs::Client::new(&shared)
}

impl<S: EventStore + WebhookStore + Sync> Worker<S> {
    pub fn new(
        store: S,
        kms: aws_sdk_kms::Client,
        sqs: aws_sdk_sqs::Client,
        dead_letter_url: Option<String>,
        schedule: RetrySchedule,
    ) -> Self {
        Worker {
            store,
            kms,
            sqs,
            dead_letter_url,
            schedule,
            owner: uuid::Uuid::new_v4().to_string(),
            secrets: Mutex::new(HashMap::new()),
        }
    }

    /// `WEBHOOKS_DLQ_URL` (the dead-letter queue) and `WEBHOOK_RETRY_DELAYS` (seconds, comma
    /// separated: a short schedule for the local stack and tests; default Standard Webhooks').
    pub async fn from_env(store: S) -> Result<Self, String> {
        let schedule = match std::env::var("WEBHOOK_RETRY_DELAYS") {
            Ok(raw) if !raw.trim().is_empty() => RetrySchedule::from_delays(&raw)?,
            _ => RetrySchedule::default(),
        };
        let dlq = std::env::var("WEBHOOKS_DLQ_URL")
            .ok()
            .filter(|u| !u.trim().is_empty());
        Ok(Worker::new(
            store,
            crate::oidc::jwt::kms_client().await,
            sqs_client().await,
            dlq,
            schedule,
        ))
    }

    /// Other KMS and SQS clients (the local stack's, with its IAM recorder).
    pub fn with_clients(mut self, kms: aws_sdk_kms::Client, sqs: aws_sdk_sqs::Client) -> Self {
        self.kms = kms;
        self.sqs = sqs;
        self
    }

    /// Where dead letters go (the local stack creates its queue after reading the environment).
    pub fn set_dead_letter_url(&mut self, url: String) {
        self.dead_letter_url = Some(url);
    }

    /// Passes one after the other, `poll` apart, for about `budget` (the scheduled function's
    /// invocation; the next one starts when the schedule fires again).
    pub async fn run_for(&self, budget: Duration, poll: Duration) -> PassReport {
        let start = std::time::Instant::now();
        let mut total = PassReport::default();
        while start.elapsed() + poll < budget {
            let r = self.pass().await;
            total.delivered += r.delivered;
            total.failed += r.failed;
            total.dead += r.dead;
            tokio::time::sleep(poll).await;
        }
        total
    }

    /// One look at every endpoint: what is due is delivered, up to [`BATCH`] events each.
    pub async fn pass(&self) -> PassReport {
        let mut report = PassReport::default();
        let endpoints = match self.store.list_webhooks().await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "listing webhook endpoints failed");
                return report;
            }
        };
        let now = wall_secs();
        for ep in endpoints.iter().take(MAX_ENDPOINTS) {
            if ep.state.next_attempt > now {
                continue;
            }
            if let Err(e) = self.drain(ep, &mut report).await {
                tracing::warn!(endpoint = ep.id.as_str(), error = %e, "webhook delivery pass failed");
            }
        }
        report
    }

    async fn secret(&self, ep: &WebhookEndpoint) -> Result<Vec<u8>, WebhookError> {
        if let Ok(cache) = self.secrets.lock() {
            if let Some((sealed, plain)) = cache.get(ep.id.as_str()) {
                if *sealed == ep.sealed_secret {
                    return Ok(plain.clone());
                }
            }
        }
        let plain = secrets::unseal(&self.kms, &ep.id, &ep.sealed_secret)
            .await
            .map_err(WebhookError::Secret)?;
        if let Ok(mut cache) = self.secrets.lock() {
            cache.insert(
                ep.id.as_str().to_string(),
                (ep.sealed_secret.clone(), plain.clone()),
            );
        }
        Ok(plain)
    }

    async fn drain(
        &self,
        listed: &WebhookEndpoint,
        report: &mut PassReport,
    ) -> Result<(), WebhookError> {
        // A look without the lease first: an idle endpoint costs one read, no write.
        let peek = self
            .store
            .all_events_after(listed.state.cursor.as_deref(), BATCH, wall_secs())
            .await?;
        if peek.events.is_empty() && peek.position == listed.state.cursor {
            return Ok(());
        }
        let now = wall_secs();
        let Some(ep) = self
            .store
            .lease_webhook(&listed.id, &self.owner, now, now + LEASE_SECS)
            .await?
        else {
            return Ok(()); // another worker has it, or it is not due yet
        };
        let page = if ep.state.cursor == listed.state.cursor {
            peek
        } else {
            self.store
                .all_events_after(ep.state.cursor.as_deref(), BATCH, wall_secs())
                .await?
        };
        let mut state = ep.state.clone();
        for event in &page.events {
            let position = event.feed_position();
            if !ep.types.matches(&event.kind) {
                state.cursor = Some(position);
                continue;
            }
            let secret = self.secret(&ep).await?;
            let now = wall_secs();
            let attempt = post(ep.url.as_str(), &secret, event, now).await;
            let record = |status, attempts, last_status, next_attempt| Delivery {
                endpoint: ep.id.clone(),
                event_id: event.id(),
                event_type: event.kind.clone(),
                org: event.org.clone(),
                position: position.clone(),
                status,
                attempts,
                last_status,
                next_attempt,
                updated_at: now,
            };
            match attempt {
                Attempt::Delivered(code) => {
                    let d = record(
                        DeliveryStatus::Delivered,
                        state.attempts + 1,
                        Some(code),
                        None,
                    );
                    state = DeliveryState {
                        cursor: Some(position.clone()),
                        attempts: 0,
                        next_attempt: 0,
                        failing_since: None,
                        last_status: Some(code),
                    };
                    self.store
                        .save_delivery(&ep.id, &self.owner, &state, Some(&d), now + LEASE_SECS)
                        .await?;
                    report.delivered += 1;
                }
                Attempt::Failed(code) => {
                    let attempts = state.attempts + 1;
                    let since = state.failing_since.unwrap_or(now);
                    state.failing_since = Some(since);
                    state.last_status = code;
                    if let Some(next) = self.schedule.next_attempt(attempts, since, now) {
                        state.attempts = attempts;
                        state.next_attempt = next;
                        let d = record(DeliveryStatus::Pending, attempts, code, Some(next));
                        // Gives the lease back: the next pass after `next` takes it again.
                        self.store
                            .save_delivery(&ep.id, &self.owner, &state, Some(&d), 0)
                            .await?;
                        report.failed += 1;
                        tracing::info!(endpoint = ep.id.as_str(), org = %event.org, attempts, status = ?code, "webhook delivery failed; will retry");
                        return Ok(());
                    }
                    if let Err(e) = self.dead_letter(&ep, event, attempts, code, now).await {
                        // Not in the queue: the event stays the head, tried again later.
                        state.attempts = attempts.saturating_sub(1);
                        state.next_attempt = now + DEAD_LETTER_RETRY_SECS;
                        self.store
                            .save_delivery(&ep.id, &self.owner, &state, None, 0)
                            .await?;
                        return Err(e);
                    }
                    let d = record(DeliveryStatus::Dead, attempts, code, None);
                    state.cursor = Some(position.clone());
                    state.attempts = 0;
                    state.next_attempt = 0;
                    self.store
                        .save_delivery(&ep.id, &self.owner, &state, Some(&d), now + LEASE_SECS)
                        .await?;
                    report.dead += 1;
                    tracing::warn!(endpoint = ep.id.as_str(), org = %event.org, attempts, "webhook delivery dead-lettered");
                }
            }
        }
        // Past everything read (expired or filtered events included); the lease is given back.
        if page.position.is_some() {
            state.cursor = page.position.clone();
        }
        self.store
            .save_delivery(&ep.id, &self.owner, &state, None, 0)
            .await?;
        Ok(())
    }

    async fn dead_letter(
        &self,
        ep: &WebhookEndpoint,
        event: &Event,
        attempts: u32,
        last_status: Option<u16>,
        now: i64,
    ) -> Result<(), WebhookError> {
        let url = self
            .dead_letter_url
            .as_deref()
            .ok_or_else(|| WebhookError::DeadLetter("WEBHOOKS_DLQ_URL is not set".to_string()))?;
        let body = json!({
            "endpoint": ep.id.as_str(),
            "url": ep.url.as_str(),
            "attempts": attempts,
            "last_http_status": last_status,
            "dead_at": crate::model::shape::rfc3339(now),
            "event": event.to_json(),
        });
        self.sqs
            .send_message()
            .queue_url(url)
            .message_body(body.to_string())
            .send()
            .await
            .map_err(|e| {
                WebhookError::DeadLetter(aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
            })?;
        Ok(())
    }
}

/// POSTs `event` as the events API shows it, signed (Standard Webhooks, "Sending webhooks").
async fn post(url: &str, secret: &[u8], event: &Event, now: i64) -> Attempt {
    let body = event.to_json().to_string();
    let id = event.id();
    let res = http_client()
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", now.to_string())
        .header(
            "webhook-signature",
            sign::signature(secret, &id, now, &body),
        )
        .body(body)
        .send()
        .await;
    match res {
        Ok(r) if r.status().is_success() => Attempt::Delivered(r.status().as_u16()),
        Ok(r) => Attempt::Failed(Some(r.status().as_u16())),
        Err(_) => Attempt::Failed(None),
    }
}
