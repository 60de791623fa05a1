//! The deployment's SP encryption keys (SAML core §2.3.4, §6): RSA key pairs whose certificate the
//! SP metadata publishes (`<md:KeyDescriptor use="encryption">`) and whose private keys decrypt
//! `EncryptedAssertion`s ([`super::xmlenc`]).
//!
//! Two AWS Secrets Manager secrets, so that each function reads only what it needs (least
//! privilege, template.yaml):
//! - `SP_ENCRYPTION_KEYS_SECRET` ([`SpKeySet`]): the private keys and their certificates; only the
//!   ACS function may read it.
//! - `SP_ENCRYPTION_CERTIFICATES_SECRET` ([`SpCertificates`]): the certificates only, for the
//!   metadata function. Public data, kept beside the keys so that `ssoctl sp-key` writes both.
//!
//! Rotation (docs/operations.md, "SP encryption key rotation"): `ssoctl sp-key rotate` appends a
//! new key; the newest is the one published, every key present decrypts, and `ssoctl sp-key
//! retire ID` removes the old one once Okta has the new certificate. Each warm Lambda keeps what
//! it read for [`CACHE_TTL`]: a rotation is seen everywhere within that time.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::xmlenc::{decryption_key, DecryptionKeys};

/// Keys live at once: the current one and the one it replaces, plus one spare for an import.
pub const MAX_SP_KEYS: usize = 3;
/// How long a warm Lambda uses the keys or certificates it read.
pub const CACHE_TTL: Duration = Duration::from_secs(300);

/// One SP key pair as stored in the keys secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpKey {
    /// `sp-` + the first 16 hex digits of the certificate's SHA-256: stable, not secret.
    pub id: String,
    /// Epoch seconds.
    pub created_at: i64,
    /// Base64 of the PKCS#8 DER private key (RFC 5208).
    pub private_key: String,
    /// Base64 of the DER X.509 certificate.
    pub certificate: String,
}

/// The keys secret's JSON: oldest first, so the last one is the current (published) key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpKeySet {
    pub keys: Vec<SpKey>,
}

/// One published certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpCertificate {
    pub id: String,
    pub certificate: String,
}

/// The certificates secret's JSON, in the keys secret's order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpCertificates {
    pub certificates: Vec<SpCertificate>,
}

impl SpKeySet {
    pub fn parse(json: &str) -> Result<Self, String> {
        let set: SpKeySet =
            serde_json::from_str(json).map_err(|e| format!("not an SP key set: {e}"))?;
        if set.keys.len() > MAX_SP_KEYS {
            return Err(format!("more than {MAX_SP_KEYS} SP keys"));
        }
        Ok(set)
    }

    /// The private keys, newest first (the one Okta most likely uses is tried first).
    pub fn decryption_keys(&self) -> Result<DecryptionKeys, String> {
        self.keys
            .iter()
            .rev()
            .take(MAX_SP_KEYS)
            .map(|k| {
                let der = STANDARD
                    .decode(k.private_key.trim())
                    .map_err(|_| format!("SP key {}: private key is not base64", k.id))?;
                decryption_key(&der).map_err(|e| format!("SP key {}: {e}", k.id))
            })
            .collect()
    }

    /// What the metadata function may read.
    pub fn certificates(&self) -> SpCertificates {
        SpCertificates {
            certificates: self
                .keys
                .iter()
                .map(|k| SpCertificate {
                    id: k.id.clone(),
                    certificate: k.certificate.clone(),
                })
                .collect(),
        }
    }
}

impl SpCertificates {
    pub fn parse(json: &str) -> Result<Self, String> {
        let certs: SpCertificates =
            serde_json::from_str(json).map_err(|e| format!("not an SP certificate list: {e}"))?;
        if certs.certificates.len() > MAX_SP_KEYS {
            return Err(format!("more than {MAX_SP_KEYS} SP certificates"));
        }
        Ok(certs)
    }

    /// The certificate to publish: the newest key's.
    pub fn current(&self) -> Option<&str> {
        self.certificates.last().map(|c| c.certificate.as_str())
    }
}

/// Whether `certificate_der` carries the public half of `pkcs8` (an imported pair must match,
/// or Okta would encrypt to a key we do not hold): a random key, OAEP-encrypted to the
/// certificate's key, must decrypt with the private one.
pub fn check_pair(pkcs8: &[u8], certificate_der: &[u8]) -> Result<(), String> {
    use aws_lc_rs::rsa::{OaepPublicEncryptingKey, PublicEncryptingKey, OAEP_SHA256_MGF1SHA256};
    use x509_cert::der::{Decode, Encode};
    let private = decryption_key(pkcs8)?;
    let cert = x509_cert::Certificate::from_der(certificate_der)
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| e.to_string())?;
    let public = PublicEncryptingKey::from_der(&spki)
        .map_err(|e| format!("the certificate's key is not RSA: {e}"))
        .and_then(|k| OaepPublicEncryptingKey::new(k).map_err(|e| e.to_string()))?;
    let mut probe = [0u8; 32];
    aws_lc_rs::rand::fill(&mut probe).map_err(|e| e.to_string())?;
    let mut sealed = vec![0u8; public.ciphertext_size()];
    let sealed = public
        .encrypt(&OAEP_SHA256_MGF1SHA256, &probe, &mut sealed, None)
        .map_err(|e| e.to_string())?;
    let mut opened = vec![0u8; private.min_output_size()];
    match private.decrypt(&OAEP_SHA256_MGF1SHA256, sealed, &mut opened, None) {
        Ok(p) if p == probe => Ok(()),
        _ => Err("the certificate is not the private key's".into()),
    }
}

/// The Secrets Manager client, from the standard AWS environment; `SECRETS_MANAGER_ENDPOINT`,
/// when not empty, points it elsewhere (for `sam local`, as `KMS_ENDPOINT` does for KMS).
pub async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    let shared = crate::aws::sdk_config().await;
    let mut config = aws_sdk_secretsmanager::config::Builder::from(&shared);
    if let Some(endpoint) = std::env::var("SECRETS_MANAGER_ENDPOINT")
        .ok()
        .filter(|e| !e.trim().is_empty())
    {
        config = config.endpoint_url(endpoint.trim());
    }
    aws_sdk_secretsmanager::Client::from_conf(config.build())
}

/// Why the keys or certificates could not be had: Secrets Manager failed (retryable, a 503), or
/// the secret holds something we cannot use (an operator's mistake, logged, also a 503 so that
/// Okta retries once it is fixed).
#[derive(Debug, thiserror::Error)]
pub enum SpKeyError {
    #[error("Secrets Manager: {0}")]
    Unavailable(String),
    #[error("the SP key secret is unusable: {0}")]
    Unusable(String),
}

struct Cached<T> {
    at: Instant,
    value: T,
}

/// Reads and caches the SP keys (ACS) and certificates (metadata) per warm Lambda.
pub struct SpKeyStore {
    keys_secret: Option<String>,
    certificates_secret: Option<String>,
    client: tokio::sync::OnceCell<aws_sdk_secretsmanager::Client>,
    keys: Mutex<Option<Cached<Option<DecryptionKeys>>>>,
    certificates: Mutex<Option<Cached<Option<String>>>>,
}

fn fresh<T: Clone>(slot: &Mutex<Option<Cached<T>>>) -> Option<T> {
    let guard = slot.lock().unwrap_or_else(|p| p.into_inner());
    guard
        .as_ref()
        .filter(|c| c.at.elapsed() < CACHE_TTL)
        .map(|c| c.value.clone())
}

fn remember<T>(slot: &Mutex<Option<Cached<T>>>, value: T) {
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Cached {
        at: Instant::now(),
        value,
    });
}

impl SpKeyStore {
    /// Secret ids or ARNs; `None` means the deployment has no SP encryption key.
    pub fn new(keys_secret: Option<String>, certificates_secret: Option<String>) -> Self {
        SpKeyStore {
            keys_secret,
            certificates_secret,
            client: tokio::sync::OnceCell::new(),
            keys: Mutex::new(None),
            certificates: Mutex::new(None),
        }
    }

    /// Uses `client` instead of one from the environment.
    pub fn with_client(self, client: aws_sdk_secretsmanager::Client) -> Self {
        let _ = self.client.set(client);
        self
    }

    async fn read(&self, secret: &str) -> Result<Option<String>, SpKeyError> {
        let client = self.client.get_or_init(secrets_client).await;
        match client.get_secret_value().secret_id(secret).send().await {
            Ok(out) => Ok(out.secret_string),
            // No secret (the local stack before `ssoctl sp-key generate`): no keys, as empty.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(SpKeyError::Unavailable(
                aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
            )),
        }
    }

    /// The private keys if this Lambda read them less than [`CACHE_TTL`] ago: no I/O.
    pub fn cached_keys(&self) -> Option<DecryptionKeys> {
        fresh(&self.keys).flatten()
    }

    /// The private keys (cached for [`CACHE_TTL`]); `None` when the deployment has none.
    pub async fn keys(&self) -> Result<Option<DecryptionKeys>, SpKeyError> {
        if let Some(k) = fresh(&self.keys) {
            return Ok(k);
        }
        let Some(secret) = &self.keys_secret else {
            return Ok(None);
        };
        let keys = match self.read(secret).await? {
            None => None,
            Some(json) => {
                let keys = SpKeySet::parse(&json)
                    .and_then(|s| s.decryption_keys())
                    .map_err(SpKeyError::Unusable)?;
                Some(keys).filter(|k| !k.is_empty())
            }
        };
        remember(&self.keys, keys.clone());
        Ok(keys)
    }

    /// The certificate to publish in SP metadata, base64 DER (cached for [`CACHE_TTL`]).
    pub async fn published_certificate(&self) -> Result<Option<String>, SpKeyError> {
        if let Some(c) = fresh(&self.certificates) {
            return Ok(c);
        }
        let Some(secret) = &self.certificates_secret else {
            return Ok(None);
        };
        let current = match self.read(secret).await? {
            None => None,
            Some(json) => SpCertificates::parse(&json)
                .map_err(SpKeyError::Unusable)?
                .current()
                .map(str::to_string),
        };
        remember(&self.certificates, current.clone());
        Ok(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_certificate_is_the_newest_keys() {
        let set = SpKeySet {
            keys: vec![
                SpKey {
                    id: "sp-old".into(),
                    created_at: 1,
                    private_key: String::new(),
                    certificate: "b2xk".into(),
                },
                SpKey {
                    id: "sp-new".into(),
                    created_at: 2,
                    private_key: String::new(),
                    certificate: "bmV3".into(),
                },
            ],
        };
        assert_eq!(set.certificates().current(), Some("bmV3"));
        let round = SpCertificates::parse(&serde_json::to_string(&set.certificates()).unwrap());
        assert_eq!(round.unwrap(), set.certificates());
    }

    #[test]
    fn a_key_set_with_more_keys_than_the_cap_is_refused() {
        let key = |i: usize| serde_json::json!({"id": format!("sp-{i}"), "created_at": i, "private_key": "", "certificate": ""});
        let json =
            |n: usize| serde_json::json!({"keys": (0..n).map(key).collect::<Vec<_>>()}).to_string();
        assert!(SpKeySet::parse(&json(MAX_SP_KEYS)).is_ok());
        assert!(SpKeySet::parse(&json(MAX_SP_KEYS + 1)).is_err());
    }

    #[test]
    fn a_private_key_that_is_not_rsa_pkcs8_is_unusable() {
        let ec = std::fs::read(format!(
            "{}/tests/fixtures/saml/idp-ec-p256-key.pk8.der",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let set = SpKeySet {
            keys: vec![SpKey {
                id: "sp-ec".into(),
                created_at: 1,
                private_key: STANDARD.encode(ec),
                certificate: String::new(),
            }],
        };
        assert!(set.decryption_keys().is_err());
    }

    #[test]
    fn a_certificate_matches_its_own_private_key_only() {
        let fixture = |n: &str| {
            std::fs::read(format!(
                "{}/tests/fixtures/saml/{n}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        let cert = |n: &str| {
            STANDARD
                .decode(String::from_utf8(fixture(n)).unwrap().trim())
                .unwrap()
        };
        let key = fixture("sp-enc-key.pk8.der");
        assert_eq!(check_pair(&key, &cert("sp-enc-cert.b64")), Ok(()));
        assert!(check_pair(&key, &cert("sp-enc-other-cert.b64")).is_err());
    }

    #[tokio::test]
    async fn a_deployment_without_secrets_has_no_keys_and_publishes_no_certificate() {
        let store = SpKeyStore::new(None, None);
        assert!(store.keys().await.unwrap().is_none());
        assert!(store.published_certificate().await.unwrap().is_none());
        assert!(store.cached_keys().is_none());
    }
}
