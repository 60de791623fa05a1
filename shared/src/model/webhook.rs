//! Webhook endpoints and their deliveries (docs/api.md, "Webhooks"): the records; storage is
//! `store::webhooks`, delivery `webhooks`.
//!
//! An endpoint is deployment-level (like an API key): it receives every org's events whose type
//! it asked for, in the order of the cross-org feed (`GET /api/v1/events`), each signed per the
//! Standard Webhooks specification. It keeps its own position in that feed (`cursor`), moved
//! only when an event is delivered or dead-lettered, so none is lost and one endpoint's events
//! are delivered in order.

use serde_json::{json, Value};

use super::event::EventType;

/// Endpoints a deployment may have: every delivery pass reads each one's feed (bounded work).
pub const MAX_ENDPOINTS: usize = 20;
/// The longest URL accepted (it is stored and sent on every delivery).
const MAX_URL_LEN: usize = 2048;

/// `whk_` + 16 random hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WebhookId(String);

impl WebhookId {
    pub fn mint() -> Self {
        WebhookId(format!("whk_{}", crate::tokens::random_hex(8)))
    }
    pub fn parse(raw: &str) -> Result<Self, String> {
        let hex = raw.strip_prefix("whk_").unwrap_or_default();
        if hex.len() == 16
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(WebhookId(raw.to_string()))
        } else {
            Err(format!(
                "{raw:?} is not a webhook endpoint id (whk_ and 16 hex digits)"
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where deliveries go: https, or http to a loopback address only (the local stack and tests).
/// No credentials in the URL (they would be logged and stored), no fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() > MAX_URL_LEN {
            return Err(format!("webhook URL longer than {MAX_URL_LEN} characters"));
        }
        let u = url::Url::parse(raw).map_err(|e| format!("webhook URL {raw:?}: {e}"))?;
        let loopback = match u.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        match u.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(format!(
                    "webhook URL {raw:?} must be https (http only to a loopback address)"
                ))
            }
        }
        if u.host().is_none() || !u.username().is_empty() || u.password().is_some() {
            return Err(format!(
                "webhook URL {raw:?} needs a host and no user name or password"
            ));
        }
        if u.fragment().is_some() {
            return Err(format!("webhook URL {raw:?} must not have a #fragment"));
        }
        Ok(WebhookUrl(u))
    }
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// The event types an endpoint asked for; empty = every type.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TypeFilter(Vec<EventType>);

impl TypeFilter {
    /// `a,b,c` (the `--types` of `ssoctl webhook create`); every name must be a contract type.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for t in raw
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .take(EventType::ALL.len() + 1)
        {
            let kind = EventType::parse(t).ok_or_else(|| format!("unknown event type {t:?}"))?;
            if !out.contains(&kind) {
                out.push(kind);
            }
        }
        Ok(TypeFilter(out))
    }
    pub fn matches(&self, kind: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|t| t.as_str() == kind)
    }
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|t| t.as_str()).collect()
    }
}

/// A stored endpoint. The signing secret is kept encrypted (KMS, `webhooks::secrets`); only the
/// delivery worker can decrypt it.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookEndpoint {
    pub id: WebhookId,
    pub url: WebhookUrl,
    pub types: TypeFilter,
    /// The KMS ciphertext of the secret's bytes.
    pub sealed_secret: Vec<u8>,
    pub created_at: i64,
    /// Delivery state: where in the feed this endpoint is, and its head event's retries.
    pub state: DeliveryState,
}

/// Where an endpoint's deliveries stand.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DeliveryState {
    /// The feed position after the last event delivered or dead-lettered.
    pub cursor: Option<String>,
    /// Failed attempts at the head event so far.
    pub attempts: u32,
    /// When the head event is tried again (epoch seconds); 0 = now.
    pub next_attempt: i64,
    /// The first failure of the current run of failures (reset by a success): the retry window
    /// is measured from it.
    pub failing_since: Option<i64>,
    pub last_status: Option<u16>,
}

impl WebhookEndpoint {
    /// What `ssoctl webhook list` prints: never the secret.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id.as_str(),
            "url": self.url.as_str(),
            "types": self.types.names(),
            "created_at": super::shape::rfc3339(self.created_at),
            "failing_since": self.state.failing_since.map(super::shape::rfc3339),
        })
    }
}

/// A delivery's status (`ssoctl webhook deliveries`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Failed so far; tried again at `next_attempt`.
    Pending,
    Delivered,
    /// Given up after the retry window and sent to the dead-letter queue.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Dead,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// One event's delivery to one endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub endpoint: WebhookId,
    /// The event's id (also the `webhook-id` header).
    pub event_id: String,
    pub event_type: String,
    pub org: String,
    /// The event's position in the feed (the delivery's key, so they list in feed order).
    pub position: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub next_attempt: Option<i64>,
    pub updated_at: i64,
}

impl Delivery {
    pub fn to_json(&self) -> Value {
        json!({
            "endpoint": self.endpoint.as_str(),
            "event_id": self.event_id,
            "type": self.event_type,
            "org": self.org,
            "status": self.status.as_str(),
            "attempts": self.attempts,
            "last_http_status": self.last_status,
            "next_attempt": self.next_attempt.map(super::shape::rfc3339),
            "updated_at": super::shape::rfc3339(self.updated_at),
        })
    }
}

/// When to try again. Standard Webhooks ("Retry schedule") suggests attempts immediately, then
/// after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h; the contract retries for 24 h, so the last
/// retry is moved to the window's end and a failure there dead-letters the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    /// Seconds to wait after the 1st, 2nd, … failure.
    pub delays: Vec<i64>,
    /// Seconds from the first failure after which nothing is retried.
    pub window: i64,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule {
            delays: vec![5, 300, 1800, 7200, 18_000, 36_000, 36_000],
            window: 86_400,
        }
    }
}

impl RetrySchedule {
    /// `WEBHOOK_RETRY_DELAYS=1,2` (seconds; the local stack and tests): those delays, the window
    /// their sum. Anything unparsable (or more than 16 delays) is refused.
    pub fn from_delays(raw: &str) -> Result<Self, String> {
        let mut delays = Vec::new();
        for d in raw.split(',').map(str::trim).take(17) {
            let v: i64 = d
                .parse()
                .ok()
                .filter(|v| (0..=86_400).contains(v))
                .ok_or_else(|| format!("retry delay {d:?} is not 0..=86400 seconds"))?;
            delays.push(v);
        }
        if delays.is_empty() || delays.len() > 16 {
            return Err("between 1 and 16 retry delays".into());
        }
        let window = delays.iter().sum();
        Ok(RetrySchedule { delays, window })
    }

    /// After failure number `attempts` (1-based) at `now`, in a run of failures that began at
    /// `failing_since`: `Some(when)` to retry, `None` to give up (dead-letter).
    pub fn next_attempt(&self, attempts: u32, failing_since: i64, now: i64) -> Option<i64> {
        let end = failing_since + self.window;
        let delay = *self.delays.get(attempts.checked_sub(1)? as usize)?;
        if now >= end {
            return None;
        }
        Some((now + delay).min(end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_must_be_https_except_to_loopback() {
        assert!(WebhookUrl::parse("https://app.example.com/hooks").is_ok());
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/h").is_ok());
        assert!(WebhookUrl::parse("http://[::1]:9000/h").is_ok());
        assert!(WebhookUrl::parse("http://localhost/h").is_ok());
        for bad in [
            "http://app.example.com/hooks",
            "http://10.0.0.1/h",
            "ftp://app.example.com/",
            "https://user:pw@app.example.com/",
            "https://app.example.com/#x",
            "/relative",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn type_filters_accept_only_contract_types_and_empty_means_all() {
        let f = TypeFilter::parse("user.created, group.deleted").unwrap();
        assert!(f.matches("user.created") && f.matches("group.deleted"));
        assert!(!f.matches("user.updated"));
        assert!(TypeFilter::parse("").unwrap().matches("session.started"));
        assert!(TypeFilter::parse("user.created,user.exploded").is_err());
    }

    #[test]
    fn webhook_ids_are_checked() {
        let id = WebhookId::mint();
        assert_eq!(WebhookId::parse(id.as_str()).unwrap(), id);
        assert!(WebhookId::parse("whk_XYZ").is_err());
        assert!(WebhookId::parse("evt_0123456789abcdef").is_err());
    }

    #[test]
    fn the_default_schedule_follows_standard_webhooks_and_ends_at_twenty_four_hours() {
        let s = RetrySchedule::default();
        let start = 1_000_000;
        let mut now = start;
        let mut attempts = 1;
        let mut times = vec![now];
        while let Some(next) = s.next_attempt(attempts, start, now) {
            now = next;
            times.push(now);
            attempts += 1;
        }
        let offsets: Vec<i64> = times.iter().map(|t| t - start).collect();
        // 0, 5 s, 5 min 5 s, 35 min 5 s, 2 h 35 min 5 s, 7 h 35 min 5 s, 17 h 35 min 5 s, then
        // the 10 h step is cut to the 24 h mark.
        assert_eq!(offsets, vec![0, 5, 305, 2105, 9305, 27_305, 63_305, 86_400]);
    }

    #[test]
    fn a_run_of_failures_older_than_the_window_gives_up_at_once() {
        let s = RetrySchedule::default();
        assert_eq!(s.next_attempt(1, 0, 86_400), None);
        assert_eq!(s.next_attempt(1, 0, 10), Some(15));
        assert!(RetrySchedule::from_delays("1,x").is_err());
        let short = RetrySchedule::from_delays("1,2").unwrap();
        assert_eq!(short.window, 3);
        assert_eq!(short.next_attempt(2, 0, 1), Some(3));
        assert_eq!(short.next_attempt(3, 0, 2), None);
    }
}
