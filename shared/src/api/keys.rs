//! API keys of the management API: the record is `model::api_key`, its storage
//! `store::api_keys`.

pub use crate::model::api_key::*;
pub use crate::store::api_keys::ApiKeyStore;
