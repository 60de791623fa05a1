//! Per-organization SCIM rate limit: a counter per organization and second in DynamoDB, taken
//! with one conditional UpdateItem (`ADD n 1` if `n < limit`) before any other work of the
//! request. Over the limit the request is answered 429 with an integer `Retry-After` and a SCIM
//! error body (RFC 7644 §3.12, RFC 6585 §4) and nothing else is read or written.
//!
//! Why a counter per second rather than API Gateway throttling: HTTP API throttling is per route
//! and stage, never per organization, so one noisy tenant would throttle every other one
//! (docs/decisions.md). A counter per second is a token bucket refilled once a second with no
//! carry-over: DynamoDB update expressions cannot compute `min(capacity, tokens + elapsed ×
//! rate)`, and the window key makes the refill implicit.
//!
//! Sizing (docs/scim.md): Entra's gallery requires at least 25 requests/s per tenant; Okta sends
//! a few per second per app and, on 429, waits `Retry-After` seconds, doubling, up to 10 tries.
//! The default, 50 a second, leaves twice Entra's floor; a refused request is told to come back
//! at the next window (1 s), which Okta's doubling turns into 1 + 2 + 4 … seconds.

/// Requests per organization per second unless `SCIM_REQUESTS_PER_SECOND` says otherwise.
pub const DEFAULT_PER_SECOND: u32 = 50;
