//! IdP signing certificates: what one holds (key, validity, fingerprint) and whether our verifier
//! can use it. Parsed with RustCrypto's `x509-cert` (RFC 5280 §4.1), never by hand.
//!
//! Only the key is used to verify: the certificate is pinned by the organization's configuration,
//! so its issuer and validity dates do not decide anything (SAML V2.0 Metadata Interoperability
//! Profile §2.1, "trust is established by the metadata, not by PKI"). Dates and fingerprints are
//! shown to admins so they can tell certificates apart during a rotation.
//!
//! Usable means: an RSA key (we verify RSA PKCS#1 v1.5 only, see [`super::verify`]) of at least
//! 2048 bits (NIST SP 800-131A Rev. 2 §3 disallows RSA below 2048 bits for signatures), that the
//! `rsa` crate accepts (at most 8192 bits, a sane exponent).

use std::fmt;

use rsa::pkcs1::der::asn1::UintRef;
use rsa::pkcs1::der::{Decode, Encode};
use rsa::pkcs8::DecodePublicKey;
use rsa::PublicKey as RsaPublicKey;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use x509_cert::Certificate;

/// The smallest RSA modulus we verify with (NIST SP 800-131A Rev. 2 §3).
pub const MIN_RSA_BITS: usize = 2048;

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
    pub fn expired_at(&self, now: i64) -> bool {
        self.not_after < now
    }
}

fn rfc3339(t: i64) -> String {
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
    #[error("{0} key: only RSA signatures are verified (rsa-sha256/384/512)")]
    NotRsa(KeyDescription),
    #[error("RSA-{0} key is too weak: at least RSA-{MIN_RSA_BITS} is required")]
    RsaTooSmall(usize),
    #[error("RSA-{0} key is refused: {1}")]
    RsaRefused(usize, String),
}

/// Parses a DER certificate and describes it; fails only if it is not an X.509 certificate.
pub fn inspect(der: &[u8]) -> Result<CertificateInfo, Unusable> {
    let cert = Certificate::from_der(der).map_err(|e| Unusable::NotX509(e.to_string()))?;
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
                .and_then(|p| p.decode_as::<rsa::pkcs8::ObjectIdentifier>().ok())
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

/// The bit length of the modulus of a PKCS#1 RSAPublicKey (RFC 8017 Appendix A.1.1).
fn rsa_modulus_bits(pkcs1: &[u8]) -> Option<usize> {
    let key = rsa::pkcs1::RsaPublicKey::<UintRef>::from_der(pkcs1).ok()?;
    // UintRef strips leading zero octets, so the first octet is the most significant.
    let n = key.modulus.as_bytes();
    let first = *n.first()?;
    Some((n.len() - 1) * 8 + (8 - first.leading_zeros() as usize))
}

/// The key to verify signatures with, if the certificate is usable (see the module docs).
pub fn verification_key(der: &[u8]) -> Result<RsaPublicKey, Unusable> {
    let info = inspect(der)?;
    let bits = match info.key {
        KeyDescription::Rsa { bits } if bits >= MIN_RSA_BITS => bits,
        KeyDescription::Rsa { bits } => return Err(Unusable::RsaTooSmall(bits)),
        other => return Err(Unusable::NotRsa(other)),
    };
    let cert = Certificate::from_der(der).map_err(|e| Unusable::NotX509(e.to_string()))?;
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| Unusable::NotX509(e.to_string()))?;
    RsaPublicKey::from_public_key_der(&spki).map_err(|e| Unusable::RsaRefused(bits, e.to_string()))
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
        super::super::verify::decode_b64(b64.trim()).unwrap()
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
    fn an_ec_certificate_is_described_but_not_usable() {
        let der = fixture("certificates/ec-p256.b64");
        let info = inspect(&der).unwrap();
        assert_eq!(info.key.to_string(), "EC P-256");
        let err = verification_key(&der).err().unwrap();
        assert_eq!(
            err,
            Unusable::NotRsa(KeyDescription::Ec {
                curve: Some("P-256")
            })
        );
        assert!(err.to_string().contains("only RSA"), "{err}");
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
