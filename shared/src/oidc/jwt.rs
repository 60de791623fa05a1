//! ES256 JSON Web Signatures (RFC 7515, RFC 7518 §3.4) made by an AWS KMS key (ECC_NIST_P256,
//! SIGN_VERIFY): the private key never leaves KMS. KMS answers a DER ECDSA signature
//! (`Ecdsa-Sig-Value`, RFC 3279 §2.2.3); JWS wants the raw 64-byte `r ‖ s` (RFC 7518 §3.4), so the
//! two integers are read with the `der` crate and left-padded to 32 octets. The public keys (for
//! the JWKS and for checking an `id_token_hint`) come from GetPublicKey once per warm Lambda and
//! are verified with `aws-lc-rs`.

use aws_lc_rs::signature::{ParsedPublicKey, ECDSA_P256_SHA256_FIXED};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use x509_cert::der::asn1::UintRef;
use x509_cert::der::{Decode, Reader, SliceReader};
use x509_cert::spki::SubjectPublicKeyInfoRef;

use crate::error::AppError;

/// KMS signs a RAW message of at most 4096 bytes; a longer signing input (an ID token with many
/// groups) is sent as its SHA-256 digest instead (KMS Sign API, `MessageType`). The local KMS
/// (moto) ignores `MessageType`, so locally tokens stay under the limit in every test.
const KMS_RAW_LIMIT: usize = 4096;

/// A JWT signed by us, decoded after its signature checked out.
#[derive(Debug)]
pub struct Verified {
    pub claims: Value,
}

struct PublicKey {
    kid: String,
    key: ParsedPublicKey,
    /// The affine coordinates, 32 octets each (RFC 7518 §6.2.1.2).
    x: Vec<u8>,
    y: Vec<u8>,
}

/// id-ecPublicKey with the named curve P-256 (RFC 5480 §2.1.1, §2.1.1.1).
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const SECP256R1: &str = "1.2.840.10045.3.1.7";

/// A P-256 key from a DER SubjectPublicKeyInfo (what KMS GetPublicKey answers).
fn p256_public_key(kid: String, spki: &[u8]) -> Result<PublicKey, String> {
    let info = SubjectPublicKeyInfoRef::from_der(spki).map_err(|e| e.to_string())?;
    let curve = info
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<x509_cert::der::asn1::ObjectIdentifier>().ok());
    if info.algorithm.oid.to_string() != EC_PUBLIC_KEY
        || curve.map(|c| c.to_string()).as_deref() != Some(SECP256R1)
    {
        return Err("not an EC P-256 key".into());
    }
    // The uncompressed point 04 ‖ x ‖ y (SEC 1 §2.3.3); AWS-LC checks it is on the curve.
    let point = info
        .subject_public_key
        .as_bytes()
        .filter(|p| p.len() == 65 && p[0] == 4)
        .ok_or("not an uncompressed P-256 point")?;
    let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).map_err(|e| e.to_string())?;
    Ok(PublicKey {
        kid,
        key,
        x: point[1..33].to_vec(),
        y: point[33..].to_vec(),
    })
}

/// `r ‖ s`, 32 octets each, from a DER `Ecdsa-Sig-Value` (RFC 3279 §2.2.3).
fn der_signature_to_fixed(der: &[u8]) -> Option<[u8; 64]> {
    let mut reader = SliceReader::new(der).ok()?;
    let (r, s) = reader
        .sequence(|seq| {
            Ok::<_, x509_cert::der::Error>((UintRef::decode(seq)?, UintRef::decode(seq)?))
        })
        .ok()?;
    reader.finish().ok()?;
    let mut out = [0u8; 64];
    let (r_half, s_half) = out.split_at_mut(32);
    for (int, half) in [(r, r_half), (s, s_half)] {
        // UintRef strips leading zeros; longer than 32 octets is not a P-256 value.
        let bytes = int.as_bytes();
        let at = half.len().checked_sub(bytes.len())?;
        half[at..].copy_from_slice(bytes);
    }
    Some(out)
}

pub struct Signer {
    key_id: Option<String>,
    previous_key_id: Option<String>,
    client: tokio::sync::OnceCell<aws_sdk_kms::Client>,
    public: tokio::sync::OnceCell<Vec<PublicKey>>,
}

/// The KMS client, from the standard AWS environment; `KMS_ENDPOINT`, when not empty, points it
/// elsewhere (for `sam local`, as `DYNAMODB_ENDPOINT` does for the table).
pub async fn kms_client() -> aws_sdk_kms::Client {
    let shared = crate::aws::sdk_config().await;
    let mut config = aws_sdk_kms::config::Builder::from(&shared);
    if let Some(endpoint) = std::env::var("KMS_ENDPOINT")
        .ok()
        .filter(|e| !e.trim().is_empty())
    {
        config = config.endpoint_url(endpoint.trim());
    }
    aws_sdk_kms::Client::from_conf(config.build())
}

/// The `kid` of a key: its KMS key id (the last path segment of an ARN), which is not secret
/// and names the key in CloudTrail.
pub fn kid_of(key_id: &str) -> &str {
    key_id.rsplit('/').next().unwrap_or(key_id)
}

fn kms_error(e: impl std::error::Error + Send + Sync + 'static) -> AppError {
    AppError::Kms(Box::new(e))
}

impl Signer {
    pub fn new(key_id: Option<String>, previous_key_id: Option<String>) -> Self {
        Signer {
            key_id,
            previous_key_id,
            client: tokio::sync::OnceCell::new(),
            public: tokio::sync::OnceCell::new(),
        }
    }

    /// Uses `client` instead of one from the environment (tests count its calls).
    pub fn with_client(self, client: aws_sdk_kms::Client) -> Self {
        let _ = self.client.set(client);
        self
    }

    async fn client(&self) -> &aws_sdk_kms::Client {
        self.client.get_or_init(kms_client).await
    }

    fn signing_key(&self) -> Result<&str, AppError> {
        self.key_id
            .as_deref()
            .ok_or_else(|| AppError::NotConfigured {
                code: "oidc_key_not_configured",
                detail:
                    "OIDC_KMS_KEY_ID is not set: the OpenID Connect provider has no signing key"
                        .into(),
            })
    }

    /// `header.payload.signature` for these claims, `typ` as given (RFC 7515 §4.1.9).
    pub async fn sign(&self, typ: &str, claims: &Value) -> Result<String, AppError> {
        let key_id = self.signing_key()?;
        let header = json!({ "alg": "ES256", "kid": kid_of(key_id), "typ": typ });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let (message, message_type) = if input.len() <= KMS_RAW_LIMIT {
            (input.as_bytes().to_vec(), MessageType::Raw)
        } else {
            (
                Sha256::digest(input.as_bytes()).to_vec(),
                MessageType::Digest,
            )
        };
        let out = self
            .client()
            .await
            .sign()
            .key_id(key_id)
            .message(Blob::new(message))
            .message_type(message_type)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(kms_error)?;
        let der = out
            .signature()
            .ok_or_else(|| AppError::Kms("KMS returned no signature".into()))?;
        let sig = der_signature_to_fixed(der.as_ref())
            .ok_or_else(|| AppError::Kms("KMS returned a malformed ECDSA signature".into()))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    async fn public_keys(&self) -> Result<&[PublicKey], AppError> {
        let keys = self
            .public
            .get_or_try_init(|| async {
                let mut keys = Vec::new();
                let ids = [self.key_id.as_deref(), self.previous_key_id.as_deref()];
                for id in ids.into_iter().flatten() {
                    let out = self
                        .client()
                        .await
                        .get_public_key()
                        .key_id(id)
                        .send()
                        .await
                        .map_err(kms_error)?;
                    let spki = out
                        .public_key()
                        .ok_or_else(|| AppError::Kms("KMS returned no public key".into()))?;
                    let key = p256_public_key(kid_of(id).to_string(), spki.as_ref())
                        .map_err(|e| AppError::Kms(format!("not a P-256 key: {e}").into()))?;
                    keys.push(key);
                }
                Ok::<_, AppError>(keys)
            })
            .await?;
        Ok(keys)
    }

    /// The JWK Set (RFC 7517 §5): the signing key and, during a rotation, the previous one.
    pub async fn jwks(&self) -> Result<Value, AppError> {
        self.signing_key()?;
        let keys: Vec<Value> = self
            .public_keys()
            .await?
            .iter()
            .map(|k| {
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(&k.x),
                    "y": URL_SAFE_NO_PAD.encode(&k.y),
                    "use": "sig",
                    "alg": "ES256",
                    "kid": k.kid,
                })
            })
            .collect();
        Ok(json!({ "keys": keys }))
    }

    /// Checks a compact JWS we signed (ES256, a kid of ours) and returns its claims. Verify
    /// before reading: nothing of the payload is looked at until the signature holds.
    pub async fn verify(&self, jwt: &str) -> Result<Option<Verified>, AppError> {
        if jwt.len() > 16 * 1024 {
            return Ok(None);
        }
        let mut parts = jwt.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        let header: Option<Value> = URL_SAFE_NO_PAD
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let Some(header) = header else {
            return Ok(None);
        };
        if header["alg"] != "ES256" {
            return Ok(None);
        }
        let keys = self.public_keys().await?;
        let Some(key) = keys.iter().find(|k| header["kid"] == k.kid.as_str()) else {
            return Ok(None);
        };
        let Some(sig) = URL_SAFE_NO_PAD.decode(s).ok().filter(|b| b.len() == 64) else {
            return Ok(None);
        };
        let input = &jwt[..h.len() + 1 + p.len()];
        if key.key.verify_sig(input.as_bytes(), &sig).is_err() {
            return Ok(None);
        }
        let claims = URL_SAFE_NO_PAD
            .decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        Ok(claims.map(|claims| Verified { claims }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against RustCrypto `p256` (a dev-dependency): the DER → `r ‖ s` conversion and the key
    /// import agree with a second implementation, and a changed signature fails.
    #[test]
    fn kms_shaped_der_signatures_become_jose_signatures_that_verify() {
        use p256::ecdsa::signature::Signer as _;
        use p256::pkcs8::EncodePublicKey;
        let signing = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let spki = signing.verifying_key().to_public_key_der().unwrap();
        let key = p256_public_key("k".into(), spki.as_bytes()).unwrap();
        let point = signing.verifying_key().to_encoded_point(false);
        assert_eq!(Some(key.x.as_slice()), point.x().map(|x| x.as_slice()));
        assert_eq!(Some(key.y.as_slice()), point.y().map(|y| y.as_slice()));
        for msg in [&b"a.b"[..], b"eyJ.eyJ", &[0u8; 300]] {
            let sig: p256::ecdsa::Signature = signing.sign(msg);
            let fixed = der_signature_to_fixed(sig.to_der().as_bytes()).unwrap();
            assert_eq!(fixed.as_slice(), sig.to_bytes().as_slice());
            assert!(key.key.verify_sig(msg, &fixed).is_ok());
            let mut flipped = fixed;
            flipped[40] ^= 1;
            assert!(key.key.verify_sig(msg, &flipped).is_err());
        }
        assert!(der_signature_to_fixed(b"\x30\x03\x02\x01\x00junk").is_none());
        assert!(der_signature_to_fixed(&[0x30, 0x25, 0x02, 0x21, 1]).is_none());
        // An RSA or a P-384 SubjectPublicKeyInfo is not a P-256 key.
        let p384 = p384::ecdsa::SigningKey::from_slice(&[7u8; 48]).unwrap();
        let spki = p384.verifying_key().to_public_key_der().unwrap();
        assert!(p256_public_key("k".into(), spki.as_bytes()).is_err());
    }

    #[test]
    fn the_kid_is_the_key_id_even_when_an_arn_is_configured() {
        assert_eq!(
            kid_of("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
            "1234abcd-12ab-34cd-56ef-1234567890ab"
        );
        assert_eq!(kid_of("1234abcd"), "1234abcd");
    }
}
