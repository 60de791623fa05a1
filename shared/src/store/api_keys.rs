//! Storage of the management API's keys (`model::api_key`).

use std::future::Future;

use super::StoreResult;
use crate::model::api_key::ApiKey;

pub trait ApiKeyStore {
    /// Stores the key; a name already in use is `AlreadyExists("api key")`.
    fn create_api_key(&self, key: &ApiKey) -> impl Future<Output = StoreResult<()>> + Send;
    /// The key whose hash is `key_hash`, if it exists (revoked keys do not).
    fn find_api_key(
        &self,
        key_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<ApiKey>>> + Send;
    /// Every key, by name (a deployment has a handful).
    fn list_api_keys(&self) -> impl Future<Output = StoreResult<Vec<ApiKey>>> + Send;
    /// Removes the key and its name claim in one transaction: it stops working at once.
    fn delete_api_key(&self, key: &ApiKey) -> impl Future<Output = StoreResult<()>> + Send;
}
