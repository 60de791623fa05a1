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

/// Differential tests against a second implementation: RustCrypto `rsa`, `p256` and `p384`
/// (dev-dependencies only). Signatures made by RustCrypto must verify with ours, and every altered
/// one must fail in both.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::certificate::verification_key;
    use crate::saml::test_idp::{
        idp_certificate, idp_ec_p256_certificate, idp_ec_p256_key, idp_ec_p384_certificate,
        idp_ec_p384_key, idp_key, read_fixture,
    };
    use crate::saml::verify::decode_b64;
    use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::sha2::Digest as _;
    use sha2::Digest as _;

    const MESSAGES: [&[u8]; 3] = [b"a", b"<ds:SignedInfo/>", &[0u8; 1500]];

    fn ours(cert: &str) -> VerificationKey {
        verification_key(&decode_b64(cert).unwrap()).unwrap()
    }

    /// Every way to spoil a good signature, each of which must fail.
    fn spoiled(good: &[u8], foreign: Vec<u8>, wrong_hash: Vec<u8>) -> Vec<(&'static str, Vec<u8>)> {
        let mut flipped = good.to_vec();
        flipped[good.len() / 2] ^= 1;
        let mut last = good.to_vec();
        *last.last_mut().unwrap() ^= 0x80;
        vec![
            ("foreign key", foreign),
            ("flipped bit", flipped),
            ("last bit", last),
            ("truncated", good[1..].to_vec()),
            ("extended", [good, &[0]].concat()),
            ("wrong hash", wrong_hash),
            ("empty", Vec::new()),
        ]
    }

    fn rsa_hashed(alg: SignatureAlgorithm, msg: &[u8]) -> (rsa::Pkcs1v15Sign, Vec<u8>) {
        use rsa::sha2::{Sha256, Sha384, Sha512};
        match alg {
            SignatureAlgorithm::RsaSha256 => (
                rsa::Pkcs1v15Sign::new::<Sha256>(),
                Sha256::digest(msg).to_vec(),
            ),
            SignatureAlgorithm::RsaSha384 => (
                rsa::Pkcs1v15Sign::new::<Sha384>(),
                Sha384::digest(msg).to_vec(),
            ),
            _ => (
                rsa::Pkcs1v15Sign::new::<Sha512>(),
                Sha512::digest(msg).to_vec(),
            ),
        }
    }

    #[test]
    fn rsa_verification_agrees_with_rustcrypto_rsa_on_good_and_spoiled_signatures() {
        let key = rsa::PrivateKey::from_pkcs8_der(&read_fixture("idp-test-key.pk8.der")).unwrap();
        let other =
            rsa::PrivateKey::from_pkcs8_der(&read_fixture("other-test-key.pk8.der")).unwrap();
        let public = rsa::PublicKey::from(&key);
        let mine = ours(&idp_certificate());
        let algs = [
            SignatureAlgorithm::RsaSha256,
            SignatureAlgorithm::RsaSha384,
            SignatureAlgorithm::RsaSha512,
        ];
        for alg in algs {
            let wrong = algs.into_iter().find(|a| *a != alg).unwrap();
            for msg in MESSAGES {
                let sign = |k: &rsa::PrivateKey, a| {
                    let (padding, hashed) = rsa_hashed(a, msg);
                    k.sign(padding, &hashed).unwrap()
                };
                let theirs_ok = |sig: &[u8]| {
                    let (padding, hashed) = rsa_hashed(alg, msg);
                    public.verify(padding, &hashed, sig).is_ok()
                };
                let good = sign(&key, alg);
                assert!(mine.verify(alg, msg, &good), "{alg:?}");
                assert!(theirs_ok(&good));
                // Our test IdP (AWS-LC) signs what RustCrypto verifies.
                assert!(theirs_ok(&idp_key().sign(alg, msg)), "{alg:?}");
                // A key of another type never verifies RSA.
                assert!(!ours(&idp_ec_p256_certificate()).verify(alg, msg, &good));
                for (what, bad) in spoiled(&good, sign(&other, alg), sign(&key, wrong)) {
                    assert!(!mine.verify(alg, msg, &bad), "{alg:?} {what}");
                    assert!(!theirs_ok(&bad), "{alg:?} {what}");
                }
            }
        }
    }

    #[test]
    fn ecdsa_p256_verification_agrees_with_rustcrypto_p256_on_good_and_spoiled_signatures() {
        use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
        use p256::pkcs8::DecodePrivateKey as _;
        let key = SigningKey::from_pkcs8_der(&read_fixture("idp-ec-p256-key.pk8.der")).unwrap();
        let other = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let public = VerifyingKey::from(&key);
        let mine = ours(&idp_ec_p256_certificate());
        let alg = SignatureAlgorithm::EcdsaP256Sha256;
        for msg in MESSAGES {
            let prehash = sha2::Sha256::digest(msg);
            let sign = |k: &SigningKey, h: &[u8]| -> Vec<u8> {
                let s: Signature = k.sign_prehash(h).unwrap();
                s.to_bytes().to_vec()
            };
            let theirs_ok = |sig: &[u8]| {
                Signature::from_slice(sig)
                    .map(|s| public.verify_prehash(&prehash, &s).is_ok())
                    .unwrap_or(false)
            };
            let good = sign(&key, &prehash);
            assert!(mine.verify(alg, msg, &good));
            assert!(theirs_ok(&good));
            assert!(theirs_ok(&idp_ec_p256_key().sign(alg, msg)));
            // XML-DSig wants r ‖ s, not the DER form (RFC 4050 §3.3).
            let der = Signature::from_slice(&good).unwrap().to_der();
            assert!(!mine.verify(alg, msg, der.as_bytes()));
            // The curve fixes the hash: never ecdsa-sha384 with a P-256 key.
            assert!(!mine.verify(SignatureAlgorithm::EcdsaP384Sha384, msg, &good));
            let wrong_hash = sign(&key, &sha2::Sha384::digest(msg)[..32]);
            for (what, bad) in spoiled(&good, sign(&other, &prehash), wrong_hash) {
                assert!(!mine.verify(alg, msg, &bad), "{what}");
                assert!(!theirs_ok(&bad), "{what}");
            }
        }
    }

    #[test]
    fn ecdsa_p384_verification_agrees_with_rustcrypto_p384_on_good_and_spoiled_signatures() {
        use p384::ecdsa::{Signature, SigningKey, VerifyingKey};
        use p384::pkcs8::DecodePrivateKey as _;
        let key = SigningKey::from_pkcs8_der(&read_fixture("idp-ec-p384-key.pk8.der")).unwrap();
        let other = SigningKey::from_slice(&[9u8; 48]).unwrap();
        let public = VerifyingKey::from(&key);
        let mine = ours(&idp_ec_p384_certificate());
        let alg = SignatureAlgorithm::EcdsaP384Sha384;
        for msg in MESSAGES {
            let prehash = sha2::Sha384::digest(msg);
            let sign = |k: &SigningKey, h: &[u8]| -> Vec<u8> {
                let s: Signature = k.sign_prehash(h).unwrap();
                s.to_bytes().to_vec()
            };
            let theirs_ok = |sig: &[u8]| {
                Signature::from_slice(sig)
                    .map(|s| public.verify_prehash(&prehash, &s).is_ok())
                    .unwrap_or(false)
            };
            let good = sign(&key, &prehash);
            assert!(mine.verify(alg, msg, &good));
            assert!(theirs_ok(&good));
            assert!(theirs_ok(&idp_ec_p384_key().sign(alg, msg)));
            assert!(!mine.verify(SignatureAlgorithm::EcdsaP256Sha256, msg, &good));
            let wrong_hash = sign(&key, &sha2::Sha512::digest(msg)[..48]);
            for (what, bad) in spoiled(&good, sign(&other, &prehash), wrong_hash) {
                assert!(!mine.verify(alg, msg, &bad), "{what}");
                assert!(!theirs_ok(&bad), "{what}");
            }
        }
    }

    #[test]
    fn sha1_and_unknown_signature_methods_name_no_algorithm() {
        for uri in [
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
            "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
            "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
            "",
        ] {
            assert_eq!(SignatureAlgorithm::from_uri(uri), None, "{uri}");
        }
        for alg in SignatureAlgorithm::ALL {
            assert_eq!(SignatureAlgorithm::from_uri(alg.uri()), Some(alg));
        }
    }
}
