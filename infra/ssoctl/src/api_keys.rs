//! `ssoctl api-key create NAME | list | revoke NAME_OR_ID`: keys of the management API
//! (docs/api.md), written on the table directly so the first key needs no key.

use serde_json::{json, Value};
use shared::api::keys::{ApiKey, ApiKeyName, ApiKeyStore};
use shared::store::StoreError;

use crate::admin::AdminError;

fn key_json(k: &ApiKey) -> Value {
    json!({ "id": k.id, "name": k.name.as_str(), "created_at": shared::api::shape::rfc3339(k.created_at) })
}

/// Prints `id`, `name` and `api_key` (shown once; only its hash is stored).
pub async fn create<S: ApiKeyStore>(store: &S, name: &str, now: i64) -> Result<Value, AdminError> {
    let name = ApiKeyName::parse(name).map_err(AdminError::Invalid)?;
    let (key, secret) = ApiKey::mint(name.clone(), now);
    match store.create_api_key(&key).await {
        Ok(()) => {
            Ok(json!({ "id": key.id, "name": key.name.as_str(), "api_key": secret.expose() }))
        }
        Err(StoreError::AlreadyExists(_)) => Err(AdminError::Invalid(format!(
            "an API key named {:?} already exists (see `ssoctl api-key list`)",
            name.as_str()
        ))),
        Err(e) => Err(e.into()),
    }
}

pub async fn list<S: ApiKeyStore>(store: &S) -> Result<Value, AdminError> {
    let keys = store.list_api_keys().await?;
    Ok(json!({ "api_keys": keys.iter().map(key_json).collect::<Vec<_>>() }))
}

/// Revokes the key named or numbered `name_or_id`: it is refused (401) from the next request on.
pub async fn revoke<S: ApiKeyStore>(store: &S, name_or_id: &str) -> Result<Value, AdminError> {
    let keys = store.list_api_keys().await?;
    let key = keys
        .iter()
        .find(|k| k.id == name_or_id || k.name.as_str() == name_or_id)
        .ok_or_else(|| {
            AdminError::Invalid(format!(
                "no API key named or with id {name_or_id:?} (see `ssoctl api-key list`)"
            ))
        })?;
    store.delete_api_key(key).await?;
    Ok(json!({ "revoked": key_json(key) }))
}
