//! XML signature verification for SAML (xmldsig-core 1.1, profiled by SAML core §5), in pure Rust:
//! exclusive C14N ([`super::c14n`]), SHA-2 (`sha2`), RSA PKCS#1 v1.5 (`rsa`). No C library, so the
//! Lambda bootstrap stays glibc-only (docs/decisions.md, "SAML signature verification").
//!
//! Deliberately narrow (SAML core §5.4): one Reference whose URI is `#` + the ID of the element the
//! Signature is a child of; transforms exactly enveloped-signature then exclusive C14N; exclusive
//! C14N for SignedInfo; RSA with SHA-256/384/512. Everything else (SHA-1, XSLT, XPath, inclusive
//! C14N, `#WithComments`, several references) is refused before any hashing. Keys come only from
//! the organization's configuration: KeyInfo in the message is never looked at.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Odd, U2048};
use roxmltree::Node;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, PublicKey as RsaPublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::c14n::{canonicalize, C14nError, InclusivePrefixes, PrefixListError};
use super::certificate::{verification_key, Unusable};
use super::validate::SamlError;

pub const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const RSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
pub const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#sha384";
pub const SHA512: &str = "http://www.w3.org/2001/04/xmlenc#sha512";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha384 => Sha384::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
    fn padding(self) -> Pkcs1v15Sign {
        match self {
            // rsa 0.10 names hashes with sha2 0.11 (its re-export); only the OID prefix is used.
            Hash::Sha256 => Pkcs1v15Sign::new::<rsa::sha2::Sha256>(),
            Hash::Sha384 => Pkcs1v15Sign::new::<rsa::sha2::Sha384>(),
            Hash::Sha512 => Pkcs1v15Sign::new::<rsa::sha2::Sha512>(),
        }
    }
}

/// One IdP public key. RSA-2048 (what Okta issues) gets a fixed-width Montgomery form, about
/// twice as fast as the general path; other sizes use `rsa`'s verifier.
#[derive(Clone, Debug)]
enum Key {
    Rsa2048 {
        params: FixedMontyParams<{ U2048::LIMBS }>,
        n: U2048,
        e: U2048,
    },
    Other(RsaPublicKey),
}

impl Key {
    fn new(k: RsaPublicKey) -> Self {
        let (n, e) = (k.n_bytes(), k.e_bytes());
        if n.len() == 256 && e.len() <= 8 {
            let n_uint = U2048::from_be_slice(&n);
            if let Some(odd) = Option::<Odd<U2048>>::from(Odd::new(n_uint)) {
                let mut e_padded = [0u8; 256];
                e_padded[256 - e.len()..].copy_from_slice(&e);
                return Key::Rsa2048 {
                    params: FixedMontyParams::new_vartime(odd),
                    n: n_uint,
                    e: U2048::from_be_slice(&e_padded),
                };
            }
        }
        Key::Other(k)
    }

    /// RSASSA-PKCS1-v1_5 verification (RFC 8017 §8.2.2): s < n, m = s^e mod n, and m must equal
    /// the encoding we build ourselves (EMSA-PKCS1-v1_5, §9.2) — compare, never parse, so no
    /// padding-parsing forgery applies. Everything here is public data: variable time is fine.
    fn verify(&self, hash: Hash, hashed: &[u8], sig: &[u8]) -> bool {
        match self {
            Key::Other(k) => k.verify(hash.padding(), hashed, sig).is_ok(),
            Key::Rsa2048 { params, n, e } => {
                if sig.len() != 256 {
                    return false;
                }
                let s = U2048::from_be_slice(sig);
                if s >= *n {
                    return false;
                }
                let m = FixedMontyForm::new(&s, params).pow_vartime(e).retrieve();
                let prefix = hash.padding().prefix;
                let t_len = prefix.len() + hashed.len();
                if t_len + 11 > 256 {
                    return false;
                }
                let mut em = [0xffu8; 256];
                em[0] = 0x00;
                em[1] = 0x01;
                em[256 - t_len - 1] = 0x00;
                em[256 - t_len..256 - hashed.len()].copy_from_slice(&prefix);
                em[256 - hashed.len()..].copy_from_slice(hashed);
                m.to_be_bytes().as_ref() == em.as_slice()
            }
        }
    }
}

/// The IdP's signing keys, from the organization's configured certificates.
#[derive(Clone, Debug)]
pub struct IdpKeys(Vec<Key>);

impl IdpKeys {
    /// Parses base64 DER X.509 certificates. No certificate means no key, and then
    /// [`super::validate::validate`] refuses every response: nobody can sign in unsigned.
    /// A certificate we cannot verify with (not RSA, under 2048 bits: [`super::certificate`]) is
    /// skipped with a warning, so one stray certificate next to a good one does not stop every
    /// sign-in; only "certificates, but none usable" is an error.
    pub fn from_certificates(certs: &[String]) -> Result<Self, SamlError> {
        let mut keys = Vec::with_capacity(certs.len());
        for (i, b64) in certs.iter().enumerate() {
            let key = decode_b64(b64)
                .ok_or_else(|| Unusable::NotX509("not base64".into()))
                .and_then(|der| verification_key(&der));
            match key {
                Ok(k) => keys.push(Key::new(k)),
                Err(reason) => tracing::warn!(certificate = i, %reason, "IdP certificate skipped"),
            }
        }
        if keys.is_empty() && !certs.is_empty() {
            return Err(SamlError::BadIdpCertificate);
        }
        Ok(IdpKeys(keys))
    }

    pub fn from_keys(keys: Vec<RsaPublicKey>) -> Self {
        IdpKeys(keys.into_iter().map(Key::new).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Base64 with the line breaks XML producers insert (RFC 2045 style) removed first.
pub fn decode_b64(text: &str) -> Option<Vec<u8>> {
    if !text.bytes().any(|b| b.is_ascii_whitespace()) {
        return STANDARD.decode(text).ok();
    }
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(compact).ok()
}

fn is_ds<'a>(n: &Node<'a, 'a>, name: &str) -> bool {
    n.is_element() && n.tag_name().namespace() == Some(DS_NS) && n.tag_name().name() == name
}

fn elements<'a>(n: Node<'a, 'a>) -> impl Iterator<Item = Node<'a, 'a>> {
    n.children().filter(|c| c.is_element())
}

/// The PrefixList of the one optional `ec:InclusiveNamespaces` child (exc-c14n §3), refused past
/// [`MAX_INCLUSIVE_PREFIXES`](super::c14n::MAX_INCLUSIVE_PREFIXES) distinct names before anything
/// is hashed: the list is the attacker's to choose until the signature is checked.
fn inclusive_prefixes<'a>(method: Node<'a, 'a>) -> Result<InclusivePrefixes<'a>, SamlError> {
    let mut children = elements(method);
    let Some(child) = children.next() else {
        return Ok(InclusivePrefixes::default());
    };
    if child.tag_name().namespace() != Some(EXC_C14N)
        || child.tag_name().name() != "InclusiveNamespaces"
        || children.next().is_some()
        || elements(child).next().is_some()
    {
        return Err(SamlError::UnsupportedTransform);
    }
    InclusivePrefixes::parse(child.attribute("PrefixList").unwrap_or("")).map_err(|e| match e {
        PrefixListError::TooMany => SamlError::TooManyInclusivePrefixes,
        PrefixListError::NotAPrefix => SamlError::MalformedSignature,
    })
}

/// A leaf of SignedInfo (DigestValue, SignatureValue, DigestMethod): no element children, so
/// SignedInfo stays the handful of elements xmldsig-core §4.4 describes.
fn leaf<'a>(n: Option<Node<'a, 'a>>, name: &str) -> Result<Node<'a, 'a>, SamlError> {
    n.filter(|n| is_ds(n, name) && elements(*n).next().is_none())
        .ok_or(SamlError::MalformedSignature)
}

/// SignedInfo of a real signature is about 1 KB; anything past this is refused before it is
/// canonicalized and hashed, the one thing done before the RSA check.
pub const MAX_SIGNED_INFO_BYTES: usize = 16 * 1024;

fn c14n_error(e: C14nError) -> SamlError {
    match e {
        C14nError::TooDeep | C14nError::TooManyNamespaces | C14nError::TooManyAttributes => {
            SamlError::ResponseTooComplex
        }
    }
}

/// A Signature whose SignedInfo verified with a configured key: what it says about the one
/// Reference, to be checked with [`SignedReference::verify_digest`].
#[derive(Debug)]
pub struct SignedReference<'a> {
    signed: Node<'a, 'a>,
    signature: Node<'a, 'a>,
    prefixes: InclusivePrefixes<'a>,
    digest_hash: Hash,
    expected_digest: Vec<u8>,
}

/// Checks `signature`'s structure and SignedInfo signature. `signature` must be a direct child of
/// `signed` and sign exactly `signed` (enveloped). Verify before you read: the referenced element
/// (the large, attacker-shaped part) is not canonicalized here, only SignedInfo (small, capped);
/// xmldsig-core §3.2 orders reference validation first, but both must pass and the order of two
/// checks that must both hold is ours to choose. `buf` is scratch space, reused across calls.
pub fn verify_signed_info<'a>(
    signed: Node<'a, 'a>,
    signature: Node<'a, 'a>,
    keys: &IdpKeys,
    buf: &mut Vec<u8>,
) -> Result<SignedReference<'a>, SamlError> {
    if keys.is_empty() {
        return Err(SamlError::NoIdpCertificate);
    }
    if signature.parent() != Some(signed) {
        return Err(SamlError::UnexpectedSignature);
    }
    let mut parts = elements(signature);
    let signed_info = parts
        .next()
        .filter(|n| is_ds(n, "SignedInfo"))
        .ok_or(SamlError::MalformedSignature)?;
    let signature_value = leaf(parts.next(), "SignatureValue")?;
    if signed_info.range().len() > MAX_SIGNED_INFO_BYTES {
        return Err(SamlError::ResponseTooComplex);
    }

    // SignedInfo: CanonicalizationMethod, SignatureMethod, exactly one Reference (SAML core §5.4.2).
    let mut si = elements(signed_info);
    let c14n_method = si
        .next()
        .filter(|n| is_ds(n, "CanonicalizationMethod"))
        .ok_or(SamlError::MalformedSignature)?;
    if c14n_method.attribute("Algorithm") != Some(EXC_C14N) {
        return Err(SamlError::UnsupportedCanonicalization);
    }
    let si_prefixes = inclusive_prefixes(c14n_method)?;
    let sig_method = si
        .next()
        .filter(|n| is_ds(n, "SignatureMethod"))
        .ok_or(SamlError::MalformedSignature)?;
    let sig_hash = match sig_method.attribute("Algorithm") {
        Some(RSA_SHA256) => Hash::Sha256,
        Some(RSA_SHA384) => Hash::Sha384,
        Some(RSA_SHA512) => Hash::Sha512,
        // rsa-sha1, dsa, hmac (keyless!) and anything unknown.
        _ => return Err(SamlError::UnsupportedSignatureAlgorithm),
    };
    if elements(sig_method).next().is_some() {
        // HMACOutputLength and the like: not for RSA.
        return Err(SamlError::MalformedSignature);
    }
    let reference = si
        .next()
        .filter(|n| is_ds(n, "Reference"))
        .ok_or(SamlError::MalformedSignature)?;
    if si.next().is_some() {
        return Err(SamlError::MalformedSignature);
    }

    // The reference must point at the element the signature is enveloped in (SAML core §5.4.2).
    let id = signed
        .attribute("ID")
        .ok_or(SamlError::SignatureReferenceMismatch)?;
    match reference.attribute("URI").and_then(|u| u.strip_prefix('#')) {
        Some(r) if r == id && !r.is_empty() => {}
        _ => return Err(SamlError::SignatureReferenceMismatch),
    }
    let mut rp = elements(reference);
    let transforms = rp
        .next()
        .filter(|n| is_ds(n, "Transforms"))
        .ok_or(SamlError::UnsupportedTransform)?;
    let digest_method = leaf(rp.next(), "DigestMethod")?;
    let digest_value = leaf(rp.next(), "DigestValue")?;
    if rp.next().is_some() {
        return Err(SamlError::MalformedSignature);
    }
    // Exactly enveloped-signature then exclusive C14N (SAML core §5.4.4): no XSLT, no XPath.
    let mut t = elements(transforms);
    let ref_prefixes = match (t.next(), t.next(), t.next()) {
        (Some(env), Some(exc), None)
            if is_ds(&env, "Transform")
                && is_ds(&exc, "Transform")
                && env.attribute("Algorithm") == Some(ENVELOPED)
                && elements(env).next().is_none()
                && exc.attribute("Algorithm") == Some(EXC_C14N) =>
        {
            inclusive_prefixes(exc)?
        }
        _ => return Err(SamlError::UnsupportedTransform),
    };
    let digest_hash = match digest_method.attribute("Algorithm") {
        Some(SHA256) => Hash::Sha256,
        Some(SHA384) => Hash::Sha384,
        Some(SHA512) => Hash::Sha512,
        _ => return Err(SamlError::UnsupportedDigestAlgorithm),
    };
    let expected_digest =
        decode_b64(&text_of(digest_value)).ok_or(SamlError::MalformedSignature)?;
    let signature_bytes =
        decode_b64(&text_of(signature_value)).ok_or(SamlError::MalformedSignature)?;

    buf.clear();
    canonicalize(signed_info, None, &si_prefixes, buf).map_err(c14n_error)?;
    let hashed = sig_hash.digest(buf);
    if !keys
        .0
        .iter()
        .any(|k| k.verify(sig_hash, &hashed, &signature_bytes))
    {
        return Err(SamlError::SignatureInvalid);
    }
    Ok(SignedReference {
        signed,
        signature,
        prefixes: ref_prefixes,
        digest_hash,
        expected_digest,
    })
}

impl SignedReference<'_> {
    /// Reference validation (xmldsig-core §3.2.1): the enveloped-signature and exc-C14N transforms
    /// applied to the signed element, then its digest compared with the signed DigestValue.
    pub fn verify_digest(&self, buf: &mut Vec<u8>) -> Result<(), SamlError> {
        buf.clear();
        canonicalize(self.signed, Some(self.signature.id()), &self.prefixes, buf)
            .map_err(c14n_error)?;
        if self.digest_hash.digest(buf) != self.expected_digest {
            return Err(SamlError::DigestMismatch);
        }
        Ok(())
    }
}

/// Verifies `signature`, which must be a direct child of `signed` and sign exactly `signed`
/// (enveloped): SignedInfo's signature first, then the digest of `signed`.
pub fn verify_enveloped<'a>(
    signed: Node<'a, 'a>,
    signature: Node<'a, 'a>,
    keys: &IdpKeys,
    buf: &mut Vec<u8>,
) -> Result<(), SamlError> {
    verify_signed_info(signed, signature, keys, buf)?.verify_digest(buf)
}

/// All text of an element, comments and processing instructions skipped (never just the first
/// text node: that is how comment injection truncates identities).
pub fn text_of(node: Node) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_okta_certificate_yields_an_rsa_key() {
        let xml = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/ssoready/assertions/okta/metadata.xml"
        ))
        .unwrap();
        let idp = super::super::metadata::parse_idp_metadata(&xml).unwrap();
        let keys = IdpKeys::from_certificates(&idp.certificates).unwrap();
        assert_eq!(keys.0.len(), 1);
    }

    #[test]
    fn garbage_certificates_are_refused() {
        assert!(matches!(
            IdpKeys::from_certificates(&["bm90IGEgY2VydA==".into()]),
            Err(SamlError::BadIdpCertificate)
        ));
    }

    fn unusable(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/certificates/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .trim()
            .to_string()
    }

    fn org_with(certificates: Vec<String>) -> crate::org::Org {
        use super::super::test_idp::{BASE_URL, IDP_ENTITY_ID, ORG};
        let mut org = crate::org::Org::new(ORG, BASE_URL, 0);
        org.idp = Some(crate::org::IdpConfig {
            entity_id: IDP_ENTITY_ID.into(),
            sso_url: None,
            certificates,
        });
        org
    }

    #[test]
    fn an_unusable_certificate_next_to_a_good_one_is_skipped_and_sign_in_still_works() {
        use super::super::test_idp::{idp_certificate, read_fixture, ISSUED_AT};
        use super::super::validate::{validate_xml, SamlConfig};
        let xml = String::from_utf8(read_fixture("okta-assertion-signed/response.xml")).unwrap();
        let org = org_with(vec![
            unusable("ec-p256.b64"),
            unusable("rsa512.b64"),
            unusable("rsa1024-expired.b64"),
            "bm90IGEgY2VydA==".into(),
            idp_certificate(),
        ]);
        let cfg = SamlConfig::for_org(&org).unwrap();
        assert_eq!(cfg.keys.0.len(), 1);
        assert!(validate_xml(&xml, &cfg, ISSUED_AT).is_ok());
    }

    #[test]
    fn only_weak_or_non_rsa_certificates_sign_nobody_in() {
        use super::super::validate::SamlConfig;
        for cert in ["ec-p256.b64", "rsa512.b64", "rsa1024-expired.b64"] {
            let org = org_with(vec![unusable(cert)]);
            assert!(
                matches!(SamlConfig::for_org(&org), Err(SamlError::BadIdpCertificate)),
                "{cert}"
            );
        }
    }

    #[test]
    fn the_rsa_2048_fast_path_agrees_with_the_rsa_crate_on_good_and_bad_signatures() {
        use super::super::test_idp::{idp_key, other_key};
        let key = idp_key();
        let public = RsaPublicKey::from(&key);
        let fast = Key::new(public.clone());
        let slow = Key::Other(public.clone());
        assert!(matches!(fast, Key::Rsa2048 { .. }));
        for hash in [Hash::Sha256, Hash::Sha384, Hash::Sha512] {
            for msg in [&b"a"[..], b"b", b"a longer message"] {
                let hashed = hash.digest(msg);
                let good = key.sign(hash.padding(), &hashed).unwrap();
                let foreign = other_key().sign(hash.padding(), &hashed).unwrap();
                let mut flipped = good.clone();
                flipped[100] ^= 1;
                let wrong_hash = hash.digest(b"something else");
                let cases: [(&[u8], &[u8], bool); 6] = [
                    (&hashed, &good, true),
                    (&hashed, &foreign, false),
                    (&hashed, &flipped, false),
                    (&wrong_hash, &good, false),
                    (&hashed, &good[1..], false),
                    (&hashed, &[0xff; 256], false),
                ];
                for (h, sig, expected) in cases {
                    assert_eq!(fast.verify(hash, h, sig), expected, "fast {hash:?}");
                    assert_eq!(slow.verify(hash, h, sig), expected, "slow {hash:?}");
                }
            }
        }
        // A signature made with one hash does not verify as another.
        let hashed = Hash::Sha256.digest(b"a");
        let sig = key.sign(Hash::Sha256.padding(), &hashed).unwrap();
        assert!(!fast.verify(Hash::Sha512, &Hash::Sha512.digest(b"a"), &sig));
    }
}
