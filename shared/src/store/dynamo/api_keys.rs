//! API keys (`api::keys`): deployment-level items, like OIDC app clients (not under any org).
//!
//! | item          | pk                    | sk           | gsi1pk / gsi1sk     |
//! |---------------|-----------------------|--------------|---------------------|
//! | API key       | `APIKEY#{key hash}`   | `APIKEY`     | `APIKEYS` / name    |
//! | its name      | `APIKEYNAME#{name}`   | `APIKEYNAME` |                     |
//!
//! Keyed by the key's hash, so authenticating a request is one consistent GetItem and a revoked
//! (deleted) key fails on the very next request.

use std::collections::HashMap;

use super::*;
use crate::model::api_key::{ApiKey, ApiKeyName};
use crate::store::api_keys::ApiKeyStore;

fn key_pk(hash: &str) -> String {
    format!("APIKEY#{hash}")
}
const KEY_SK: &str = "APIKEY";
const KEYS_INDEX_PK: &str = "APIKEYS";
fn name_pk(name: &ApiKeyName) -> String {
    format!("APIKEYNAME#{}", name.as_str())
}
const NAME_SK: &str = "APIKEYNAME";

fn key_item(k: &ApiKey) -> Item {
    HashMap::from([
        ("pk".to_string(), s(key_pk(&k.key_hash))),
        ("sk".to_string(), s(KEY_SK)),
        ("gsi1pk".to_string(), s(KEYS_INDEX_PK)),
        ("gsi1sk".to_string(), s(k.name.as_str())),
        ("type".to_string(), s("api_key")),
        ("id".to_string(), s(&k.id)),
        ("name".to_string(), s(k.name.as_str())),
        ("key_hash".to_string(), s(&k.key_hash)),
        ("created_at".to_string(), n(k.created_at)),
    ])
}

fn key_from(item: &Item) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: get_s(item, "id")?,
        name: ApiKeyName::parse(&get_s(item, "name")?).map_err(StoreError::Corrupt)?,
        key_hash: get_s(item, "key_hash")?,
        created_at: get_n(item, "created_at")?,
    })
}

impl ApiKeyStore for DynamoStore {
    async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        let claim = HashMap::from([
            ("pk".to_string(), s(name_pk(&key.name))),
            ("sk".to_string(), s(NAME_SK)),
            ("type".to_string(), s("api_key_name")),
            ("key_hash".to_string(), s(&key.key_hash)),
        ]);
        let items = vec![
            self.put(key_item(key), Some("attribute_not_exists(pk)"), &[])?,
            self.put(claim, Some("attribute_not_exists(pk)"), &[])?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TxError::Condition(_)) => Err(StoreError::AlreadyExists(Entity::ApiKey)),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    async fn find_api_key(&self, key_hash: &str) -> StoreResult<Option<ApiKey>> {
        self.get(key_pk(key_hash), KEY_SK)
            .await?
            .as_ref()
            .map(key_from)
            .transpose()
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        self.query_all(Some("gsi1"), "gsi1pk", KEYS_INDEX_PK, None)
            .await?
            .iter()
            .map(key_from)
            .collect()
    }

    async fn delete_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        let items = vec![
            self.delete(key_pk(&key.key_hash), KEY_SK.into(), None, &[])?,
            self.delete(name_pk(&key.name), NAME_SK.into(), None, &[])?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TxError::Condition(_)) => Err(StoreError::NotFound(Entity::ApiKey)),
            Err(TxError::Store(e)) => Err(e),
        }
    }
}
