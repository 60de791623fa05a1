//! Storage of webhook endpoints and their deliveries (`model::webhook`; the DynamoDB side is
//! `dynamo/webhooks.rs`). Deployment-level records, like API keys.

use std::future::Future;

use super::StoreResult;
use crate::model::webhook::{Delivery, DeliveryState, WebhookEndpoint, WebhookId};

pub trait WebhookStore {
    /// Stores a new endpoint.
    fn create_webhook(&self, w: &WebhookEndpoint) -> impl Future<Output = StoreResult<()>> + Send;
    /// Every endpoint (at most `MAX_ENDPOINTS`; read from an index, so possibly a moment old).
    fn list_webhooks(&self) -> impl Future<Output = StoreResult<Vec<WebhookEndpoint>>> + Send;
    /// Removes the endpoint; `false` if there was none. Its deliveries expire with their TTL.
    fn delete_webhook(&self, id: &WebhookId) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Takes the endpoint for delivery until `until` if nobody holds it and its next attempt is
    /// due at `now`: of concurrent workers exactly one gets `Some` (its current state, read
    /// consistently).
    fn lease_webhook(
        &self,
        id: &WebhookId,
        owner: &str,
        now: i64,
        until: i64,
    ) -> impl Future<Output = StoreResult<Option<WebhookEndpoint>>> + Send;
    /// Records what the lease holder did, in one transaction: the endpoint's new state (and
    /// lease until `lease_until`; 0 gives it back) with the delivery's record, if any. Refused
    /// (`VersionConflict`) when `owner` no longer holds the lease or the endpoint is gone.
    fn save_delivery(
        &self,
        id: &WebhookId,
        owner: &str,
        state: &DeliveryState,
        delivery: Option<&Delivery>,
        lease_until: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The endpoint's latest deliveries, newest first.
    fn list_deliveries(
        &self,
        id: &WebhookId,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<Delivery>>> + Send;
}
