//! IdP signing certificates: what one holds (key, validity, fingerprint) and whether our verifier
//! can use it. Parsed with RustCrypto's `x509-cert` (RFC 5280 §4.1), never by hand.
//!
//! Only the key is used to verify: the certificate is pinned by the organization's configuration,
//! so its issuer and validity dates do not decide anything (SAML V2.0 Metadata Interoperability
//! Profile §2.1, "trust is established by the metadata, not by PKI"). Dates and fingerprints are
//! shown to admins so they can tell certificates apart during a rotation.
//!
//! Usable means: a key [`super::keys`] verifies with — RSA of at least 2048 bits (NIST SP 800-131A
//! Rev. 2 §3 disallows RSA below 2048 bits for signatures) and at most 8192 (AWS-LC's bound), or EC
//! on P-256 or P-384 (RFC 5480 §2.1.1.1) — that AWS-LC accepts (modulus and exponent, point on
//! the curve). Validity dates never make a certificate unusable: Okta keeps signing with an
//! expired certificate until the admin rotates it, so expiry is shown and warned about instead.

use std::fmt;

use aws_lc_rs::signature::RsaParameters;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;

use super::keys::{KeyType, VerificationKey};

/// The smallest RSA modulus we verify with (NIST SP 800-131A Rev. 2 §3).
pub const MIN_RSA_BITS: usize = 2048;
/// The largest (AWS-LC's `RSA_PKCS1_2048_8192_*`); larger keys only cost CPU per sign-in.
pub const MAX_RSA_BITS: usize = 8192;

/// rsaEncryption (RFC 8017 Appendix A.1), id-ecPublicKey (RFC 5480 §2.1.1).
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

/// The key a certificate carries, as an admin reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyDescription {
    Rsa {
        bits: usize,
    },
    /// With the named curve when it is one of the NIST curves (RFC 5480 §2.1.1.1).
    Ec {
        curve: Option<&'static str>,
    },
    /// Any other algorithm, by OID (Ed25519, DSA, ...).
    Other {
        algorithm: String,
    },
}

impl fmt::Display for KeyDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyDescription::Rsa { bits } => write!(f, "RSA-{bits}"),
            KeyDescription::Ec { curve: Some(c) } => write!(f, "EC {c}"),
            KeyDescription::Ec { curve: None } => write!(f, "EC"),
            KeyDescription::Other { algorithm } => write!(f, "key algorithm {algorithm}"),
        }
    }
}

/// What `ssoctl` prints about one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateInfo {
    /// SHA-256 of the DER, as `AB:CD:...` (what Okta and `openssl x509 -fingerprint -sha256` show).
    pub sha256_fingerprint: String,
    /// Epoch seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub key: KeyDescription,
}

impl CertificateInfo {
    pub fn not_after_rfc3339(&self) -> String {
        rfc3339(self.not_after)
    }
    pub fn not_before_rfc3339(&self) -> String {
        rfc3339(self.not_before)
    }
    /// RFC 5280 §4.1.2.5: notAfter is the last instant the certificate is valid.
    pub fn expired_at(&self, now: i64) -> bool {
        self.not_after < now
    }
}

/// An instant as RFC 3339 (UTC), or its epoch seconds if out of range.
pub fn rfc3339(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

/// Why a certificate cannot verify anything.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    #[error("not an X.509 certificate ({0})")]
    NotX509(String),
    #[error("{0} key: only RSA (2048 to 8192 bits) and EC P-256/P-384 keys verify signatures")]
    UnsupportedKey(KeyDescription),
    #[error("RSA-{0} key is too weak: at least RSA-{MIN_RSA_BITS} is required")]
    RsaTooSmall(usize),
    #[error("{0} key is refused: {1}")]
    KeyRefused(KeyDescription, String),
}

/// Parses a DER certificate and describes it; fails only if it is not an X.509 certificate.
pub fn inspect(der: &[u8]) -> Result<CertificateInfo, Unusable> {
    let cert = Certificate::from_der(der).map_err(|e| Unusable::NotX509(e.to_string()))?;
    describe(&cert, der)
}

fn describe(cert: &Certificate, der: &[u8]) -> Result<CertificateInfo, Unusable> {
    let tbs = cert.tbs_certificate();
    let validity = tbs.validity();
    let secs = |t: x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_secs());
    let (Ok(not_before), Ok(not_after)) = (secs(validity.not_before), secs(validity.not_after))
    else {
        return Err(Unusable::NotX509("validity out of range".into()));
    };
    let spki = tbs.subject_public_key_info();
    let algorithm = spki.algorithm.oid.to_string();
    let key = match algorithm.as_str() {
        RSA_ENCRYPTION => KeyDescription::Rsa {
            bits: spki
                .subject_public_key
                .as_bytes()
                .and_then(rsa_modulus_bits)
                .ok_or_else(|| Unusable::NotX509("unreadable RSA key".into()))?,
        },
        EC_PUBLIC_KEY => KeyDescription::Ec {
            curve: spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .and_then(|oid| match oid.to_string().as_str() {
                    "1.2.840.10045.3.1.7" => Some("P-256"),
                    "1.3.132.0.34" => Some("P-384"),
                    "1.3.132.0.35" => Some("P-521"),
                    _ => None,
                }),
        },
        _ => KeyDescription::Other { algorithm },
    };
    let fingerprint = Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    Ok(CertificateInfo {
        sha256_fingerprint: fingerprint,
        not_before,
        not_after,
        key,
    })
}

/// The bit length of the modulus of a PKCS#1 RSAPublicKey (RFC 8017 Appendix A.1.1), read by AWS-LC.
fn rsa_modulus_bits(pkcs1: &[u8]) -> Option<usize> {
    RsaParameters::public_modulus_len(pkcs1)
        .ok()
        .and_then(|bits| usize::try_from(bits).ok())
}

/// The key to verify signatures with, if the certificate is usable (see the module docs).
pub fn verification_key(der: &[u8]) -> Result<VerificationKey, Unusable> {
    let cert = Certificate::from_der(der).map_err(|e| Unusable::NotX509(e.to_string()))?;
    let info = describe(&cert, der)?;
    let key_type = match info.key {
        KeyDescription::Rsa { bits } if bits < MIN_RSA_BITS => {
            return Err(Unusable::RsaTooSmall(bits))
        }
        KeyDescription::Rsa { bits } if bits > MAX_RSA_BITS => {
            return Err(Unusable::UnsupportedKey(info.key))
        }
        KeyDescription::Rsa { .. } => KeyType::Rsa,
        KeyDescription::Ec {
            curve: Some("P-256"),
        } => KeyType::EcP256,
        KeyDescription::Ec {
            curve: Some("P-384"),
        } => KeyType::EcP384,
        other => return Err(Unusable::UnsupportedKey(other)),
    };
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| Unusable::NotX509(e.to_string()))?;
    VerificationKey::from_spki(key_type, &spki).map_err(|e| Unusable::KeyRefused(info.key, e))
}

/// [`inspect`] for a certificate that [`verification_key`] accepts; the reason otherwise.
pub fn usable_for_verification(der: &[u8]) -> Result<CertificateInfo, Unusable> {
    verification_key(der)?;
    inspect(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let b64 = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap()
    }

    #[test]
    fn the_test_idp_certificate_is_usable_rsa_2048_with_its_openssl_fingerprint_and_dates() {
        let info = usable_for_verification(&fixture("saml/idp-test-cert.b64")).unwrap();
        assert_eq!(info.key, KeyDescription::Rsa { bits: 2048 });
        assert_eq!(info.key.to_string(), "RSA-2048");
        // `openssl x509 -noout -fingerprint -sha256 -dates` on the same certificate.
        assert_eq!(
            info.sha256_fingerprint,
            "2B:F7:B1:9A:E3:48:DC:51:DD:1C:91:A9:AB:23:73:00:86:6C:80:F1:C4:18:BA:F2:1C:29:16:02:73:6E:31:57"
        );
        assert_eq!(info.not_before_rfc3339(), "2026-11-28T13:39:07Z");
        assert_eq!(info.not_after_rfc3339(), "2126-11-04T13:39:07Z");
    }

    #[test]
    fn rsa_512_and_expired_rsa_1024_certificates_are_too_weak_to_verify_with() {
        assert_eq!(
            verification_key(&fixture("certificates/rsa512.b64")).err(),
            Some(Unusable::RsaTooSmall(512))
        );
        let der = fixture("certificates/rsa1024-expired.b64");
        assert_eq!(
            usable_for_verification(&der).err(),
            Some(Unusable::RsaTooSmall(1024))
        );
        let info = inspect(&der).unwrap();
        assert_eq!(info.not_after_rfc3339(), "2020-01-01T00:00:00Z");
        assert!(info.expired_at(1_768_478_400));
        assert!(info.sha256_fingerprint.starts_with("83:C3:A8:B3:"));
    }

    #[test]
    fn ec_p256_and_p384_certificates_are_usable_with_their_openssl_fingerprints() {
        let p256 = usable_for_verification(&fixture("saml/idp-ec-p256-cert.b64")).unwrap();
        assert_eq!(p256.key.to_string(), "EC P-256");
        assert_eq!(
            p256.sha256_fingerprint,
            "EB:AE:E1:E0:9B:04:16:FD:63:75:88:2D:07:F1:19:29:B6:68:66:B5:64:2A:28:B1:82:7D:2B:83:A8:B1:B4:37"
        );
        let p384 = usable_for_verification(&fixture("saml/idp-ec-p384-cert.b64")).unwrap();
        assert_eq!(p384.key.to_string(), "EC P-384");
        assert!(matches!(
            verification_key(&fixture("saml/idp-ec-p384-cert.b64")),
            Ok(VerificationKey::EcP384(_))
        ));
        assert!(usable_for_verification(&fixture("certificates/ec-p256.b64")).is_ok());
    }

    #[test]
    fn p521_and_ed25519_certificates_are_described_but_not_usable() {
        let der = fixture("certificates/ec-p521.b64");
        assert_eq!(inspect(&der).unwrap().key.to_string(), "EC P-521");
        let err = verification_key(&der).err().unwrap();
        assert_eq!(
            err,
            Unusable::UnsupportedKey(KeyDescription::Ec {
                curve: Some("P-521")
            })
        );
        assert!(err.to_string().contains("P-256/P-384"), "{err}");
        let der = fixture("certificates/ed25519.b64");
        assert_eq!(
            verification_key(&der).err(),
            Some(Unusable::UnsupportedKey(KeyDescription::Other {
                algorithm: "1.3.101.112".into()
            }))
        );
    }

    #[test]
    fn an_expired_rsa_2048_certificate_is_still_usable_and_says_when_it_expired() {
        let info = usable_for_verification(&fixture("saml/idp-test-cert-expired.b64")).unwrap();
        assert_eq!(info.not_after_rfc3339(), "2025-01-01T00:00:00Z");
        assert!(info.expired_at(1_768_478_400)); // the fixtures' instant, 2026-01-15
        assert!(!info.expired_at(info.not_after));
    }

    #[test]
    fn bytes_that_are_not_a_certificate_are_not_x509() {
        let mut der = fixture("saml/idp-test-cert.b64");
        der.truncate(200);
        assert!(matches!(inspect(&der), Err(Unusable::NotX509(_))));
        assert!(matches!(
            inspect(b"\x30\x03\x02\x01\x00"),
            Err(Unusable::NotX509(_))
        ));
    }
}
