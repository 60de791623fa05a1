//! XML signature verification for SAML (xmldsig-core 1.1, profiled by SAML core §5): exclusive
//! C14N ([`super::c14n`]) and the XML-DSig structure here; digests, RSA and ECDSA from `aws-lc-rs`
//! ([`super::keys`]); certificates from `x509-cert` ([`super::certificate`]). See
//! docs/decisions.md, "SAML signature verification".
//!
//! Deliberately narrow (SAML core §5.4): one Reference whose URI is `#` + the ID of the element the
//! Signature is a child of; transforms exactly enveloped-signature then exclusive C14N; exclusive
//! C14N for SignedInfo; RSA with SHA-256/384/512 or ECDSA P-256/SHA-256, P-384/SHA-384. Everything
//! else (SHA-1, XSLT, XPath, inclusive C14N, `#WithComments`, several references) is refused before
//! any hashing. Keys come only from the organization's configuration: KeyInfo in the message is
//! never looked at.

use std::sync::Arc;

use aws_lc_rs::digest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use roxmltree::Node;

use super::c14n::{canonicalize, C14nError, InclusivePrefixes, PrefixListError};
use super::certificate::{verification_key, Unusable};
use super::error::SamlError;
use super::keys::{SignatureAlgorithm, VerificationKey};
pub use super::keys::{RSA_SHA256, RSA_SHA384, RSA_SHA512};

pub const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#sha384";
pub const SHA512: &str = "http://www.w3.org/2001/04/xmlenc#sha512";

/// A Reference `DigestMethod` we accept (RFC 6931 §2.1; SHA-1 refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn digest(self, data: &[u8]) -> digest::Digest {
        let alg = match self {
            Hash::Sha256 => &digest::SHA256,
            Hash::Sha384 => &digest::SHA384,
            Hash::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, data)
    }
}

/// The IdP's signing keys, from the organization's configured certificates, parsed once: cheap to
/// clone (shared), so [`super::key_cache`] hands the same parsed keys to every request.
#[derive(Clone, Debug)]
pub struct IdpKeys(Arc<[VerificationKey]>);

impl IdpKeys {
    /// Parses base64 DER X.509 certificates. No certificate means no key, and then
    /// [`super::validate::validate`] refuses every response: nobody can sign in unsigned.
    /// A certificate we cannot verify with (see [`super::certificate`]) is skipped with a
    /// warning, so one stray certificate next to a good one does not stop every sign-in; only
    /// "certificates, but none usable" is an error.
    pub fn from_certificates(certs: &[String]) -> Result<Self, SamlError> {
        let mut keys = Vec::with_capacity(certs.len());
        for (i, b64) in certs.iter().enumerate() {
            let key = decode_b64(b64)
                .ok_or_else(|| Unusable::NotX509("not base64".into()))
                .and_then(|der| verification_key(&der));
            match key {
                Ok(k) => keys.push(k),
                Err(reason) => tracing::warn!(certificate = i, %reason, "IdP certificate skipped"),
            }
        }
        if keys.is_empty() && !certs.is_empty() {
            return Err(SamlError::BadIdpCertificate);
        }
        Ok(IdpKeys(keys.into()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether both hold the very same parsed keys (one cache entry).
    pub fn same_as(&self, other: &IdpKeys) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Whether any key verifies `signature` over `message` with `algorithm`.
    pub fn verify(&self, algorithm: SignatureAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        self.0
            .iter()
            .any(|k| k.verify(algorithm, message, signature))
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
/// canonicalized and hashed, the one thing done before the signature check.
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
    // rsa-sha1, ecdsa-sha1, dsa, hmac (keyless!) and anything unknown are refused.
    let sig_alg = sig_method
        .attribute("Algorithm")
        .and_then(SignatureAlgorithm::from_uri)
        .ok_or(SamlError::UnsupportedSignatureAlgorithm)?;
    if elements(sig_method).next().is_some() {
        // HMACOutputLength and the like: not for RSA or ECDSA.
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
    if !keys.verify(sig_alg, buf, &signature_bytes) {
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
    /// The source length of the signed element: what its digest costs, roughly.
    pub fn signed_len(&self) -> usize {
        self.signed.range().len()
    }

    /// Reference validation (xmldsig-core §3.2.1): the enveloped-signature and exc-C14N transforms
    /// applied to the signed element, then its digest compared with the signed DigestValue.
    pub fn verify_digest(&self, buf: &mut Vec<u8>) -> Result<(), SamlError> {
        buf.clear();
        canonicalize(self.signed, Some(self.signature.id()), &self.prefixes, buf)
            .map_err(c14n_error)?;
        if self.digest_hash.digest(buf).as_ref() != self.expected_digest.as_slice() {
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
