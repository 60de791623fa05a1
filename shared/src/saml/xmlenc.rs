//! Decrypting a `saml:EncryptedAssertion` (SAML core §2.3.4, §6; XML Encryption 1.1 =
//! xmlenc-core1, W3C Recommendation 2013), with `aws-lc-rs` only. Pure: (the EncryptedAssertion
//! node, our private keys) → the assertion's bytes. See docs/decisions.md, "Encrypted assertions".
//!
//! Accepted, and nothing else (each refused with its own code, before any key is used):
//! - key transport (xmlenc-core1 §5.5.2): `xmlenc#rsa-oaep-mgf1p` with SHA-1 (its only MGF), and
//!   `xmlenc11#rsa-oaep` with SHA-1/MGF1-SHA-1 or SHA-256/MGF1-SHA-256 (what AWS-LC's OAEP offers;
//!   Okta's "RSA-OAEP" and "RSA-OAEP-256"). RSA PKCS#1 v1.5 is refused (Bleichenbacher's attack,
//!   xmlenc-core1 §5.5.1 marks it "not recommended").
//! - content (§5.2): AES-128/256-GCM (`xmlenc11#aes*-gcm`: 96-bit IV ‖ ciphertext ‖ 128-bit tag,
//!   §5.2.4) and AES-128/256-CBC (`xmlenc#aes*-cbc`: 128-bit IV ‖ ciphertext, §5.2.2, the padding
//!   of §5.2: the last octet counts the padding octets, the others are arbitrary — not PKCS#7).
//! - the key carried in the message: one or two `xenc:EncryptedKey`, in the EncryptedData's
//!   `ds:KeyInfo` (Okta's shape) or beside it in the EncryptedAssertion (core §2.3.4).
//!   `ds:RetrievalMethod` (§4.1 of xmldsig-core, a reference the attacker chooses) and
//!   `xenc:CipherReference` (§3.3.1, an external URI) are refused outright: nothing is fetched.
//!
//! No padding oracle (Jager & Somorovsky, "How to Break XML Encryption", CCS 2011): once a key
//! is tried, every failure — wrong key, OAEP, key length, CBC padding, GCM tag, and everything the
//! validator then finds wrong with the plaintext before its signature verifies — is one error,
//! [`DecryptError::Opaque`] → `encrypted_assertion_invalid`, with one status, page and log outcome.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};
use aws_lc_rs::cipher::{DecryptingKey, DecryptionContext, UnboundCipherKey, AES_128, AES_256};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rsa::{
    OaepAlgorithm, OaepPrivateDecryptingKey, PrivateDecryptingKey, OAEP_SHA1_MGF1SHA1,
    OAEP_SHA256_MGF1SHA256,
};
use roxmltree::Node;

use super::limits::ACS_BODY_LIMIT;
use super::verify::{decode_b64, text_of, DS_NS};

pub const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
pub const XENC11_NS: &str = "http://www.w3.org/2009/xmlenc11#";
pub const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
pub const AES256_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
pub const AES128_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes128-gcm";
pub const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
pub const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
pub const RSA_OAEP: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const MGF1_SHA1: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha1";
pub const MGF1_SHA256: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha256";
/// `Type` of an EncryptedData that holds an element (xmlenc-core1 §3.5.1).
pub const TYPE_ELEMENT: &str = "http://www.w3.org/2001/04/xmlenc#Element";

/// EncryptedKeys we try per message: one per recipient; Okta sends one. Each costs one RSA
/// private-key operation per SP key, and that work is the sender's to ask for.
pub const MAX_ENCRYPTED_KEYS: usize = 2;
/// The encrypted key of RSA-8192 is 1 KiB; anything longer is not an RSA ciphertext we decrypt.
const MAX_ENCRYPTED_KEY_BYTES: usize = 1024;

/// The SP's private keys (the newest first), parsed once per warm Lambda (`super::sp_keys`).
pub type DecryptionKeys = std::sync::Arc<[OaepPrivateDecryptingKey]>;

/// An SP private key from its PKCS#8 DER (RFC 5208), RSA of at least 2048 bits (NIST SP 800-131A
/// Rev. 2 §6: key transport below 2048 bits is disallowed).
pub fn decryption_key(pkcs8: &[u8]) -> Result<OaepPrivateDecryptingKey, String> {
    let key = PrivateDecryptingKey::from_pkcs8(pkcs8)
        .map_err(|e| format!("not an RSA PKCS#8 key: {e}"))?;
    if key.key_size_bits() < 2048 {
        return Err(format!(
            "RSA-{} is too small (at least 2048 bits)",
            key.key_size_bits()
        ));
    }
    OaepPrivateDecryptingKey::new(key).map_err(|e| e.to_string())
}

/// Why an EncryptedAssertion was not decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecryptError {
    /// Not the structure xmlenc-core1 §3 describes (or more of it than we accept).
    Malformed,
    /// A content algorithm other than AES-128/256-GCM/CBC.
    UnsupportedContentAlgorithm,
    /// A key transport other than RSA-OAEP with the digests above.
    UnsupportedKeyTransport,
    /// A `ds:RetrievalMethod` anywhere in a KeyInfo.
    RetrievalMethod,
    /// A `xenc:CipherReference` instead of a CipherValue.
    CipherReference,
    /// Anything once a key was tried: see the module comment.
    Opaque,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Content {
    Aes128Cbc,
    Aes256Cbc,
    Aes128Gcm,
    Aes256Gcm,
}

impl Content {
    fn from_uri(uri: &str) -> Option<Self> {
        Some(match uri {
            AES128_CBC => Content::Aes128Cbc,
            AES256_CBC => Content::Aes256Cbc,
            AES128_GCM => Content::Aes128Gcm,
            AES256_GCM => Content::Aes256Gcm,
            _ => return None,
        })
    }

    fn key_len(self) -> usize {
        match self {
            Content::Aes128Cbc | Content::Aes128Gcm => 16,
            Content::Aes256Cbc | Content::Aes256Gcm => 32,
        }
    }
}

fn is<'a>(n: &Node<'a, 'a>, ns: &str, name: &str) -> bool {
    n.is_element() && n.tag_name().namespace() == Some(ns) && n.tag_name().name() == name
}

fn elements<'a>(n: Node<'a, 'a>) -> impl Iterator<Item = Node<'a, 'a>> {
    n.children().filter(|c| c.is_element())
}

/// The one `EncryptionMethod` child's Algorithm (xmlenc-core1 §3.2), and the node.
fn method<'a>(n: Node<'a, 'a>) -> Result<(Node<'a, 'a>, &'a str), DecryptError> {
    let mut methods = elements(n).filter(|c| is(c, XENC_NS, "EncryptionMethod"));
    let m = methods.next().ok_or(DecryptError::Malformed)?;
    if methods.next().is_some() {
        return Err(DecryptError::Malformed);
    }
    Ok((m, m.attribute("Algorithm").ok_or(DecryptError::Malformed)?))
}

/// The bytes of the one `CipherData/CipherValue` (§3.3); a CipherReference is refused.
fn cipher_value(n: Node, max: usize) -> Result<Vec<u8>, DecryptError> {
    let mut data = elements(n).filter(|c| is(c, XENC_NS, "CipherData"));
    let cd = data.next().ok_or(DecryptError::Malformed)?;
    if data.next().is_some() {
        return Err(DecryptError::Malformed);
    }
    let mut inner = elements(cd);
    let value = match (inner.next(), inner.next()) {
        (Some(v), None) if is(&v, XENC_NS, "CipherValue") => v,
        (Some(r), None) if is(&r, XENC_NS, "CipherReference") => {
            return Err(DecryptError::CipherReference)
        }
        _ => return Err(DecryptError::Malformed),
    };
    if elements(value).next().is_some() || value.range().len() > max.saturating_mul(2) {
        return Err(DecryptError::Malformed);
    }
    let bytes = decode_b64(&text_of(value)).ok_or(DecryptError::Malformed)?;
    if bytes.len() > max {
        return Err(DecryptError::Malformed);
    }
    Ok(bytes)
}

/// A KeyInfo may name the key (KeyName, X509Data: ignored, we try our own keys) but never make us
/// follow a reference.
fn refuse_retrieval(key_info: Node) -> Result<(), DecryptError> {
    if key_info
        .descendants()
        .any(|d| is(&d, DS_NS, "RetrievalMethod"))
    {
        return Err(DecryptError::RetrievalMethod);
    }
    Ok(())
}

/// The OAEP parameters of an EncryptedKey's EncryptionMethod (xmlenc-core1 §5.5.2).
fn key_transport(m: Node, algorithm: &str) -> Result<&'static OaepAlgorithm, DecryptError> {
    let (mut digest, mut mgf) = (None, None);
    for c in elements(m) {
        if is(&c, DS_NS, "DigestMethod") && digest.is_none() {
            digest = Some(c.attribute("Algorithm").ok_or(DecryptError::Malformed)?);
        } else if is(&c, XENC11_NS, "MGF") && mgf.is_none() {
            mgf = Some(c.attribute("Algorithm").ok_or(DecryptError::Malformed)?);
        } else {
            // OAEPparams (a label no IdP sets), KeySize, repeats: not what we decrypt.
            return Err(DecryptError::UnsupportedKeyTransport);
        }
    }
    // Both default to SHA-1 (§5.5.2.1: DigestMethod "SHA1 is used" when absent; §5.5.2.2: MGF1
    // with SHA-1 when absent).
    let digest = digest.unwrap_or(SHA1);
    match (algorithm, digest, mgf) {
        (RSA_OAEP_MGF1P, SHA1, None) => Ok(&OAEP_SHA1_MGF1SHA1),
        (RSA_OAEP, SHA1, None | Some(MGF1_SHA1)) => Ok(&OAEP_SHA1_MGF1SHA1),
        (RSA_OAEP, SHA256, Some(MGF1_SHA256)) => Ok(&OAEP_SHA256_MGF1SHA256),
        _ => Err(DecryptError::UnsupportedKeyTransport),
    }
}

/// One EncryptedKey, parsed but not yet decrypted.
struct EncryptedKey {
    oaep: &'static OaepAlgorithm,
    ciphertext: Vec<u8>,
}

fn encrypted_key(n: Node) -> Result<EncryptedKey, DecryptError> {
    for c in elements(n) {
        if is(&c, DS_NS, "KeyInfo") {
            refuse_retrieval(c)?;
        }
    }
    let (m, algorithm) = method(n)?;
    let oaep = key_transport(m, algorithm)?;
    let ciphertext = cipher_value(n, MAX_ENCRYPTED_KEY_BYTES)?;
    Ok(EncryptedKey { oaep, ciphertext })
}

/// The EncryptedData and its EncryptedKeys, every algorithm and reference checked: what can be
/// refused without touching a key is refused here.
struct Parsed {
    content: Content,
    keys: Vec<EncryptedKey>,
    ciphertext: Vec<u8>,
}

fn parse(encrypted_assertion: Node) -> Result<Parsed, DecryptError> {
    let mut data = None;
    let mut key_nodes = Vec::new();
    for c in elements(encrypted_assertion) {
        if is(&c, XENC_NS, "EncryptedData") && data.is_none() {
            data = Some(c);
        } else if is(&c, XENC_NS, "EncryptedKey") {
            key_nodes.push(c);
        } else {
            return Err(DecryptError::Malformed);
        }
    }
    let data = data.ok_or(DecryptError::Malformed)?;
    if !matches!(data.attribute("Type"), None | Some(TYPE_ELEMENT)) {
        return Err(DecryptError::Malformed);
    }
    let (m, algorithm) = method(data)?;
    if elements(m).next().is_some() {
        return Err(DecryptError::UnsupportedContentAlgorithm);
    }
    let content = Content::from_uri(algorithm).ok_or(DecryptError::UnsupportedContentAlgorithm)?;
    for key_info in elements(data).filter(|c| is(c, DS_NS, "KeyInfo")) {
        refuse_retrieval(key_info)?;
        key_nodes.extend(elements(key_info).filter(|c| is(c, XENC_NS, "EncryptedKey")));
    }
    if key_nodes.is_empty() || key_nodes.len() > MAX_ENCRYPTED_KEYS {
        return Err(DecryptError::Malformed);
    }
    let keys = key_nodes
        .into_iter()
        .map(encrypted_key)
        .collect::<Result<Vec<_>, _>>()?;
    let ciphertext = cipher_value(data, ACS_BODY_LIMIT)?;
    Ok(Parsed {
        content,
        keys,
        ciphertext,
    })
}

/// The content-encryption key: the first (EncryptedKey, SP key) pair whose OAEP decryption
/// succeeds with the length the content algorithm needs. OAEP's own check makes a wrong key fail
/// rather than yield garbage (RFC 8017 §7.1.2 step 3g).
fn content_key(
    parsed: &Parsed,
    keys: &[OaepPrivateDecryptingKey],
) -> Result<Vec<u8>, DecryptError> {
    let mut out = [0u8; MAX_ENCRYPTED_KEY_BYTES];
    for ek in &parsed.keys {
        for oaep in keys {
            if ek.ciphertext.len() != oaep.key_size_bytes() {
                continue;
            }
            if let Ok(cek) = oaep.decrypt(ek.oaep, &ek.ciphertext, &mut out, None) {
                if cek.len() == parsed.content.key_len() {
                    return Ok(cek.to_vec());
                }
            }
        }
    }
    Err(DecryptError::Opaque)
}

fn decrypt_content(content: Content, cek: &[u8], data: &[u8]) -> Result<Vec<u8>, DecryptError> {
    match content {
        Content::Aes128Gcm | Content::Aes256Gcm => {
            let alg = if content == Content::Aes128Gcm {
                &AES_128_GCM
            } else {
                &AES_256_GCM
            };
            // §5.2.4: the IV (96 bits) first, the tag (128 bits) last.
            if data.len() < 12 + 16 {
                return Err(DecryptError::Opaque);
            }
            let (iv, sealed) = data.split_at(12);
            let nonce = Nonce::try_assume_unique_for_key(iv).map_err(|_| DecryptError::Opaque)?;
            let key =
                LessSafeKey::new(UnboundKey::new(alg, cek).map_err(|_| DecryptError::Opaque)?);
            let mut in_out = sealed.to_vec();
            let plain = key
                .open_in_place(nonce, Aad::empty(), &mut in_out)
                .map_err(|_| DecryptError::Opaque)?;
            let n = plain.len();
            in_out.truncate(n);
            Ok(in_out)
        }
        Content::Aes128Cbc | Content::Aes256Cbc => {
            let alg = if content == Content::Aes128Cbc {
                &AES_128
            } else {
                &AES_256
            };
            // §5.2.2: the IV (128 bits) first; at least one block of ciphertext.
            if data.len() < 32 || !data.len().is_multiple_of(16) {
                return Err(DecryptError::Opaque);
            }
            let (iv, body) = data.split_at(16);
            let iv: [u8; 16] = iv.try_into().map_err(|_| DecryptError::Opaque)?;
            let key = UnboundCipherKey::new(alg, cek).map_err(|_| DecryptError::Opaque)?;
            let key = DecryptingKey::cbc(key).map_err(|_| DecryptError::Opaque)?;
            let mut in_out = body.to_vec();
            let n = key
                .decrypt(&mut in_out, DecryptionContext::Iv128(FixedLength::from(iv)))
                .map_err(|_| DecryptError::Opaque)?
                .len();
            in_out.truncate(n);
            // §5.2 padding: the last octet is the number of padding octets (1 to 16), which
            // includes itself; the other padding octets are arbitrary.
            let pad = usize::from(*in_out.last().ok_or(DecryptError::Opaque)?);
            if pad == 0 || pad > 16 || pad > in_out.len() {
                return Err(DecryptError::Opaque);
            }
            in_out.truncate(in_out.len() - pad);
            Ok(in_out)
        }
    }
}

/// The serialized `saml:Assertion` inside `encrypted_assertion`, decrypted with one of `keys`.
/// At most [`ACS_BODY_LIMIT`] bytes: the ciphertext was capped before decryption, and AES output
/// is never longer than its input.
pub fn decrypt(
    encrypted_assertion: Node,
    keys: &[OaepPrivateDecryptingKey],
) -> Result<Vec<u8>, DecryptError> {
    let parsed = parse(encrypted_assertion)?;
    let cek = content_key(&parsed, keys)?;
    let plain = decrypt_content(parsed.content, &cek, &parsed.ciphertext)?;
    if plain.len() > ACS_BODY_LIMIT {
        return Err(DecryptError::Opaque);
    }
    Ok(plain)
}
