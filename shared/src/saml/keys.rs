//! IdP verification keys and the XML-DSig signature algorithms we verify, on `aws-lc-rs`
//! (AWS-LC, FIPS 140-3 validated; already in the tree through rustls). No hand-written
//! cryptography: key parsing, RSA and ECDSA are AWS-LC's.
//!
//! Algorithms (everything else is refused before any key is used):
//! - RSA PKCS#1 v1.5 with SHA-256/384/512 (RFC 6931 §2.3.2–2.3.4, `xmldsig-more#rsa-sha*`), keys of
//!   2048 to 8192 bits (NIST SP 800-131A Rev. 2 §3 disallows RSA below 2048 for signatures);
//! - ECDSA over P-256 with SHA-256 and over P-384 with SHA-384 (RFC 6931 §2.3.6, XML-DSig 1.1
//!   §6.4.3). The SignatureValue is the raw `r ‖ s`, each integer as a big-endian octet string of
//!   the curve's size (RFC 4050 §3.3, kept by XML-DSig 1.1): AWS-LC's `*_FIXED` algorithms. A
//!   key's curve fixes its hash: a P-256 key never verifies an `ecdsa-sha384` signature (AWS-LC has
//!   no fixed-format P-256/SHA-384), which no IdP we know of produces.
//!
//! SHA-1 (`rsa-sha1`, `ecdsa-sha1`) is refused outright (RFC 6931 §2.3.1 notes its collisions).
//! Keys are parsed once ([`ParsedPublicKey`]) and cached per warm Lambda ([`super::key_cache`]).

use aws_lc_rs::signature::{
    ParsedPublicKey, VerificationAlgorithm, ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512,
};

pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const RSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
pub const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
pub const ECDSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";

/// A `SignatureMethod` we verify (SAML core §5.4.1 leaves the choice to the deployment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    RsaSha256,
    RsaSha384,
    RsaSha512,
    EcdsaP256Sha256,
    EcdsaP384Sha384,
}

impl SignatureAlgorithm {
    pub const ALL: [SignatureAlgorithm; 5] = [
        SignatureAlgorithm::RsaSha256,
        SignatureAlgorithm::RsaSha384,
        SignatureAlgorithm::RsaSha512,
        SignatureAlgorithm::EcdsaP256Sha256,
        SignatureAlgorithm::EcdsaP384Sha384,
    ];

    /// The algorithm a `SignatureMethod Algorithm` URI names, if we verify it.
    pub fn from_uri(uri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.uri() == uri)
    }

    pub fn uri(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaSha256 => RSA_SHA256,
            SignatureAlgorithm::RsaSha384 => RSA_SHA384,
            SignatureAlgorithm::RsaSha512 => RSA_SHA512,
            SignatureAlgorithm::EcdsaP256Sha256 => ECDSA_SHA256,
            SignatureAlgorithm::EcdsaP384Sha384 => ECDSA_SHA384,
        }
    }
}

/// The kind of key a certificate carries, as far as verification cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    Rsa,
    EcP256,
    EcP384,
}

/// One IdP public key, parsed once, for the algorithms its type allows.
#[derive(Clone, Debug)]
pub enum VerificationKey {
    Rsa {
        sha256: ParsedPublicKey,
        sha384: ParsedPublicKey,
        sha512: ParsedPublicKey,
    },
    EcP256(ParsedPublicKey),
    EcP384(ParsedPublicKey),
}

fn parse(alg: &'static dyn VerificationAlgorithm, spki: &[u8]) -> Result<ParsedPublicKey, String> {
    ParsedPublicKey::new(alg, spki).map_err(|e| e.to_string())
}

impl VerificationKey {
    /// From a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) whose type the caller established
    /// (and, for RSA, whose size it checked: [`super::certificate`]). AWS-LC checks the key itself
    /// (RSA modulus range and exponent, EC point on the curve).
    pub fn from_spki(key_type: KeyType, spki: &[u8]) -> Result<Self, String> {
        Ok(match key_type {
            KeyType::Rsa => VerificationKey::Rsa {
                sha256: parse(&RSA_PKCS1_2048_8192_SHA256, spki)?,
                sha384: parse(&RSA_PKCS1_2048_8192_SHA384, spki)?,
                sha512: parse(&RSA_PKCS1_2048_8192_SHA512, spki)?,
            },
            KeyType::EcP256 => VerificationKey::EcP256(parse(&ECDSA_P256_SHA256_FIXED, spki)?),
            KeyType::EcP384 => VerificationKey::EcP384(parse(&ECDSA_P384_SHA384_FIXED, spki)?),
        })
    }

    /// Whether `signature` is a valid `algorithm` signature of `message` (the canonical
    /// SignedInfo) under this key. A key of another type never verifies.
    pub fn verify(&self, algorithm: SignatureAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        use SignatureAlgorithm::*;
        let key = match (self, algorithm) {
            (VerificationKey::Rsa { sha256, .. }, RsaSha256) => sha256,
            (VerificationKey::Rsa { sha384, .. }, RsaSha384) => sha384,
            (VerificationKey::Rsa { sha512, .. }, RsaSha512) => sha512,
            (VerificationKey::EcP256(k), EcdsaP256Sha256) => k,
            (VerificationKey::EcP384(k), EcdsaP384Sha384) => k,
            _ => return false,
        };
        key.verify_sig(message, signature).is_ok()
    }
}
