//! API keys of the management API (`/api/v1`, docs/api.md): deployment-level credentials of the
//! SaaS app's backend, not of any org. Like SCIM tokens (`tokens.rs`) a key is 256 random bits,
//! shown once and stored only as its SHA-256 hash; the store finds a key by that hash and the
//! match is confirmed in constant time.

use serde::{Deserialize, Serialize};

use crate::tokens::{Secret, TokenHash};

/// The prefix of every API key: secret scanners and humans can tell it from a SCIM token.
pub const API_KEY_PREFIX: &str = "ssoapi";

/// A key's name: what `ssoctl api-key create NAME` was given. 1..=64 of `[A-Za-z0-9._-]`, so it is
/// safe in a key, a log line and a shell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ApiKeyName(String);

impl ApiKeyName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(ApiKeyName(raw.to_string()))
        } else {
            Err(format!(
                "API key name {raw:?} must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'"
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ApiKeyName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        ApiKeyName::parse(&s)
    }
}
impl From<ApiKeyName> for String {
    fn from(n: ApiKeyName) -> String {
        n.0
    }
}

/// A stored API key: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub name: ApiKeyName,
    /// Hex SHA-256 of the key.
    pub key_hash: String,
    pub created_at: i64,
}

impl ApiKey {
    /// A new key named `name`: the record to store and the secret to show once.
    pub fn mint(name: ApiKeyName, now: i64) -> (ApiKey, Secret) {
        let secret = Secret::generate(API_KEY_PREFIX);
        let key = ApiKey {
            id: format!("key_{}", crate::tokens::random_hex(8)),
            name,
            key_hash: secret.hash().into_string(),
            created_at: now,
        };
        (key, secret)
    }

    /// Does `presented` hash to this key? Constant time (`TokenHash::matches`).
    pub fn matches(&self, presented: &str) -> bool {
        TokenHash::from_stored(&self.key_hash).matches(presented)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_key_matches_its_secret_and_keeps_only_a_hash() {
        let (key, secret) = ApiKey::mint(ApiKeyName::parse("backend").unwrap(), 0);
        assert!(secret.expose().starts_with("ssoapi_"));
        assert!(key.matches(secret.expose()));
        assert!(!key.matches("scim_other"));
        assert!(!key.key_hash.contains(secret.expose()));
        assert_ne!(key.key_hash, secret.expose());
    }

    #[test]
    fn key_names_are_short_and_shell_safe() {
        for ok in ["backend", "prod.app-1", "A_b"] {
            assert!(ApiKeyName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "has space", "a/b", "semi;colon", &"x".repeat(65)] {
            assert!(ApiKeyName::parse(bad).is_err(), "{bad}");
        }
    }
}
