//! `ssoctl sp-key generate | import | rotate | retire | list | certificate`: the deployment's SAML
//! SP encryption keys (shared/src/saml/sp_keys.rs) in AWS Secrets Manager. The private keys go to
//! the keys secret (only the ACS reads it), the certificates to the certificates secret (the
//! metadata function publishes the newest). Keys are RSA-2048 from AWS-LC; each certificate is
//! self-signed by its own key with `rcgen` (trust comes from the metadata, not from PKI: SAML
//! V2.0 Metadata Interoperability Profile §2.1). docs/operations.md, "SP encryption key rotation".

use aws_sdk_secretsmanager::Client;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shared::saml::certificate::inspect;
use shared::saml::sp_keys::{check_pair, SpKey, SpKeySet, MAX_SP_KEYS};

/// The local stack's secrets (infra/sam-local-env.json names the same).
pub const LOCAL_KEYS_SECRET: &str = "sso-local/sp-encryption-keys";
pub const LOCAL_CERTIFICATES_SECRET: &str = "sso-local/sp-encryption-certificates";
/// Ten years: the certificate only carries the key (its dates decide nothing, Okta shows them).
const VALIDITY_DAYS: i64 = 3650;

/// Where the two secrets are.
#[derive(Clone, Debug)]
pub struct Secrets {
    pub keys: String,
    pub certificates: String,
}

impl Secrets {
    /// `SP_ENCRYPTION_KEYS_SECRET` / `SP_ENCRYPTION_CERTIFICATES_SECRET` (the stack's outputs),
    /// or the local stack's names when `local` (a loopback AWS endpoint).
    pub fn from_env(env: impl Fn(&str) -> Option<String>, local: bool) -> Result<Self, String> {
        let get = |k: &str| {
            env(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        match (
            get("SP_ENCRYPTION_KEYS_SECRET"),
            get("SP_ENCRYPTION_CERTIFICATES_SECRET"),
        ) {
            (Some(keys), Some(certificates)) => Ok(Secrets { keys, certificates }),
            (None, None) if local => Ok(Secrets {
                keys: LOCAL_KEYS_SECRET.into(),
                certificates: LOCAL_CERTIFICATES_SECRET.into(),
            }),
            _ => Err("SP_ENCRYPTION_KEYS_SECRET and SP_ENCRYPTION_CERTIFICATES_SECRET must both be set (the stack's SpEncryptionKeysSecret and SpEncryptionCertificatesSecret outputs)".into()),
        }
    }
}

fn sm_error(e: impl std::error::Error + Send + Sync + 'static) -> String {
    format!(
        "Secrets Manager: {}",
        aws_sdk_secretsmanager::error::DisplayErrorContext(e)
    )
}

/// The key set; an absent secret (the local stack before the first key) is an empty set.
pub async fn load(client: &Client, secrets: &Secrets) -> Result<SpKeySet, String> {
    match client
        .get_secret_value()
        .secret_id(&secrets.keys)
        .send()
        .await
    {
        Ok(out) => SpKeySet::parse(out.secret_string().unwrap_or(r#"{"keys":[]}"#)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(SpKeySet::default())
        }
        Err(e) => Err(sm_error(e)),
    }
}

async fn put(client: &Client, secret: &str, value: String) -> Result<(), String> {
    let put = client
        .put_secret_value()
        .secret_id(secret)
        .secret_string(value.clone())
        .send()
        .await;
    match put {
        Ok(_) => Ok(()),
        // The local stack has no CloudFormation to create the slots: create them here.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            client
                .create_secret()
                .name(secret)
                .secret_string(value)
                .send()
                .await
                .map(|_| ())
                .map_err(sm_error)
        }
        Err(e) => Err(sm_error(e)),
    }
}

/// Writes the keys first, then the certificates: a key is never published before it decrypts.
/// On retire the order is the same, so a retired certificate may stay published for one failed
/// write — harmless, as the newest key is the one kept.
pub async fn save(client: &Client, secrets: &Secrets, set: &SpKeySet) -> Result<(), String> {
    let keys = serde_json::to_string(set).map_err(|e| e.to_string())?;
    let certs = serde_json::to_string(&set.certificates()).map_err(|e| e.to_string())?;
    put(client, &secrets.keys, keys).await?;
    put(client, &secrets.certificates, certs).await
}

fn key_id(certificate_der: &[u8]) -> String {
    let digest = Sha256::digest(certificate_der);
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sp-{hex}")
}

/// A self-signed certificate for `key` (valid from an hour before `now`, for ten years).
fn self_signed(key: &rcgen::KeyPair, now: i64) -> Result<Vec<u8>, String> {
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "SAML SP encryption key");
    // Okta refuses an encryption certificate without these key usages (RFC 5280 §4.2.1.3).
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    let start = time::OffsetDateTime::from_unix_timestamp(now - 3600).map_err(|e| e.to_string())?;
    params.not_before = start;
    params.not_after = start + time::Duration::days(VALIDITY_DAYS);
    let cert = params.self_signed(key).map_err(|e| e.to_string())?;
    Ok(cert.der().to_vec())
}

fn record(pkcs8: &[u8], certificate_der: &[u8], now: i64) -> Result<SpKey, String> {
    check_pair(pkcs8, certificate_der)?;
    Ok(SpKey {
        id: key_id(certificate_der),
        created_at: now,
        private_key: STANDARD.encode(pkcs8),
        certificate: STANDARD.encode(certificate_der),
    })
}

/// A new RSA-2048 key (AWS-LC) and its certificate.
pub fn new_key(now: i64) -> Result<SpKey, String> {
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .map_err(|e| format!("generate an RSA key: {e}"))?;
    let cert = self_signed(&key, now)?;
    record(&key.serialize_der(), &cert, now)
}

/// An existing key (PEM PKCS#8, "PRIVATE KEY") and, optionally, its certificate (PEM); without
/// one, a self-signed certificate is made for it.
pub fn imported_key(
    key_pem: &str,
    certificate_pem: Option<&str>,
    now: i64,
) -> Result<SpKey, String> {
    let key = rcgen::KeyPair::from_pem_and_sign_algo(key_pem, &rcgen::PKCS_RSA_SHA256)
        .map_err(|e| format!("not an RSA private key in PEM: {e}"))?;
    let cert = match certificate_pem {
        Some(pem) => pem_der(pem, "CERTIFICATE")?,
        None => self_signed(&key, now)?,
    };
    record(&key.serialize_der(), &cert, now)
}

/// The DER inside the one PEM block labelled `label` (RFC 7468).
fn pem_der(pem: &str, label: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = pem
        .split_once(&begin)
        .and_then(|(_, rest)| rest.split_once(&end))
        .map(|(b, _)| b)
        .ok_or_else(|| format!("no {label} PEM block"))?;
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD
        .decode(b64)
        .map_err(|_| format!("the {label} PEM block is not base64"))
}

fn pem(der_b64: &str) -> String {
    let lines: Vec<String> = der_b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

fn key_json(set: &SpKeySet, k: &SpKey, now: i64) -> Value {
    let current = set.keys.last().is_some_and(|c| c.id == k.id);
    let mut v = json!({
        "id": k.id,
        "created_at": shared::saml::certificate::rfc3339(k.created_at),
        "published": current,
    });
    if let Some(info) = STANDARD
        .decode(&k.certificate)
        .ok()
        .and_then(|der| inspect(&der).ok())
    {
        v["certificate"] = shared::admin::certificate_json(&info, now);
    }
    v
}

pub fn list_json(set: &SpKeySet, now: i64) -> Value {
    json!({ "keys": set.keys.iter().map(|k| key_json(set, k, now)).collect::<Vec<_>>() })
}

/// Adds `key` as the newest (published) key. `first`: refuse if keys exist (`generate`).
pub async fn add(
    client: &Client,
    secrets: &Secrets,
    key: SpKey,
    first: bool,
    now: i64,
) -> Result<Value, String> {
    let mut set = load(client, secrets).await?;
    if first && !set.keys.is_empty() {
        return Err("the deployment already has an SP encryption key: use `ssoctl sp-key rotate` to add the next one".into());
    }
    if set.keys.iter().any(|k| k.id == key.id) {
        return Err(format!("key {} is already there", key.id));
    }
    if set.keys.len() >= MAX_SP_KEYS {
        return Err(format!(
            "{MAX_SP_KEYS} keys already: retire one first (`ssoctl sp-key retire ID`)"
        ));
    }
    let certificate = key.certificate.clone();
    let id = key.id.clone();
    set.keys.push(key);
    save(client, secrets, &set).await?;
    let mut out = list_json(&set, now);
    out["published"] = json!(id);
    out["certificate_pem"] = json!(pem(&certificate));
    Ok(out)
}

/// Removes key `id`; the last key is kept (retiring it would refuse every encrypted assertion).
pub async fn retire(
    client: &Client,
    secrets: &Secrets,
    id: &str,
    now: i64,
) -> Result<Value, String> {
    let mut set = load(client, secrets).await?;
    let before = set.keys.len();
    set.keys.retain(|k| k.id != id);
    if set.keys.len() == before {
        return Err(format!("no SP key {id:?} (see `ssoctl sp-key list`)"));
    }
    if set.keys.is_empty() {
        return Err(format!(
            "{id} is the only SP key: rotate first, then retire it"
        ));
    }
    save(client, secrets, &set).await?;
    let mut out = list_json(&set, now);
    out["retired"] = json!(id);
    Ok(out)
}

/// The published certificate (or key `id`'s), as PEM: what Okta's "Encryption Certificate" takes.
pub async fn certificate(
    client: &Client,
    secrets: &Secrets,
    id: Option<&str>,
) -> Result<Value, String> {
    let set = load(client, secrets).await?;
    let key = match id {
        Some(id) => set.keys.iter().find(|k| k.id == id),
        None => set.keys.last(),
    }
    .ok_or("no SP encryption key: `ssoctl sp-key generate` first")?;
    Ok(json!({ "id": key.id, "certificate_pem": pem(&key.certificate) }))
}
