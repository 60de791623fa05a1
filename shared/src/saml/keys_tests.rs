//! Differential tests of `keys` against a second implementation: RustCrypto `rsa`, `p256` and `p384`
//! (dev-dependencies only). Signatures made by RustCrypto must verify with ours, and every altered
//! one must fail in both.

use super::certificate::verification_key;
use super::keys::{SignatureAlgorithm, VerificationKey};
use super::test_idp::{
    idp_certificate, idp_ec_p256_certificate, idp_ec_p256_key, idp_ec_p384_certificate,
    idp_ec_p384_key, idp_key, read_fixture,
};
use super::verify::decode_b64;
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use rsa::pkcs8::DecodePrivateKey;
use rsa::sha2::Digest as _;

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
    let other = rsa::PrivateKey::from_pkcs8_der(&read_fixture("other-test-key.pk8.der")).unwrap();
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
