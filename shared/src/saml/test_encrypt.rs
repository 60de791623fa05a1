//! TEST ONLY: XML Encryption of a signed assertion, as Okta does it (sign, then encrypt: SAML core
//! §2.3.4), with `aws-lc-rs`, for the validator's unit tests and the benchmark. The end-to-end
//! tests use an independent implementation instead (python-xmlsec, `infra/xmlenc_encrypt.py`).
//!
//! Shape: `<saml2:EncryptedAssertion><xenc:EncryptedData Type="#Element">` with the content
//! EncryptionMethod, a `ds:KeyInfo` holding one `xenc:EncryptedKey` (RSA-OAEP), then the
//! CipherValue (xmlenc-core1 §3.5.1, §5.2.2, §5.2.4, §5.5.2).

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};
use aws_lc_rs::cipher::{EncryptingKey, UnboundCipherKey, AES_128, AES_256};
use aws_lc_rs::rsa::{
    OaepAlgorithm, OaepPublicEncryptingKey, PublicEncryptingKey, OAEP_SHA1_MGF1SHA1,
    OAEP_SHA256_MGF1SHA256,
};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use x509_cert::der::{Decode, Encode};

use super::fixtures::{read_fixture, FIXTURES};
use super::verify::DS_NS;
use super::xmlenc::*;

/// How the content key travels (the EncryptedKey's EncryptionMethod).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyTransport {
    /// `xmlenc#rsa-oaep-mgf1p` (SHA-1), Okta's "RSA-OAEP".
    OaepMgf1p,
    /// `xmlenc11#rsa-oaep`, SHA-1 digest and MGF1 by default.
    Oaep11Sha1,
    /// `xmlenc11#rsa-oaep` with SHA-256 and MGF1-SHA-256.
    Oaep11Sha256,
    /// Any EncryptionMethod XML (the OAEP-SHA-1 key is still what is sent): for refusals.
    Raw(String),
}

/// One way to encrypt; [`Encryption::okta`] gives Okta's default, tests change one field.
#[derive(Clone, Debug)]
pub struct Encryption {
    /// Base64 DER certificate of the recipient (ours).
    pub certificate: String,
    pub key_transport: KeyTransport,
    /// The content EncryptionMethod's Algorithm (AES128_GCM, ...; anything for refusals).
    pub content: String,
    /// CBC only: the last plaintext octet (the padding length) replaced by this.
    pub pad_byte: Option<u8>,
    /// XML put first into the EncryptedData's ds:KeyInfo (a RetrievalMethod, ...).
    pub key_info_extra: String,
    /// Replaces the EncryptedData's `<xenc:CipherData>...</xenc:CipherData>`.
    pub cipher_data: Option<String>,
    /// Text put right after the assertion in the plaintext.
    pub plaintext_suffix: String,
}

pub fn sp_encryption_certificate() -> String {
    String::from_utf8(read_fixture("sp-enc-cert.b64"))
        .expect("utf-8")
        .trim()
        .to_string()
}

pub fn other_sp_encryption_certificate() -> String {
    String::from_utf8(read_fixture("sp-enc-other-cert.b64"))
        .expect("utf-8")
        .trim()
        .to_string()
}

/// The fixture SP private keys (PKCS#8 DER), `sp-enc` and `sp-enc-other`.
pub fn sp_encryption_key_der(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}-key.pk8.der")).expect("SP key fixture")
}

/// Parsed decryption keys of the named fixtures, in that order.
pub fn decryption_keys(names: &[&str]) -> DecryptionKeys {
    names
        .iter()
        .map(|n| decryption_key(&sp_encryption_key_der(n)).expect("SP key"))
        .collect()
}

impl Encryption {
    pub fn okta() -> Self {
        Encryption {
            certificate: sp_encryption_certificate(),
            key_transport: KeyTransport::OaepMgf1p,
            content: AES256_GCM.into(),
            pad_byte: None,
            key_info_extra: String::new(),
            cipher_data: None,
            plaintext_suffix: String::new(),
        }
    }

    fn public_key(&self) -> OaepPublicEncryptingKey {
        let der = STANDARD.decode(&self.certificate).expect("base64");
        let cert = x509_cert::Certificate::from_der(&der).expect("certificate");
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .expect("spki");
        OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(&spki).expect("RSA key"))
            .expect("OAEP key")
    }

    fn transport(&self) -> (&'static OaepAlgorithm, String) {
        match &self.key_transport {
            KeyTransport::OaepMgf1p => (
                &OAEP_SHA1_MGF1SHA1,
                format!(
                    r#"<xenc:EncryptionMethod Algorithm="{RSA_OAEP_MGF1P}"><ds:DigestMethod xmlns:ds="{DS_NS}" Algorithm="{SHA1}"/></xenc:EncryptionMethod>"#
                ),
            ),
            KeyTransport::Oaep11Sha1 => (
                &OAEP_SHA1_MGF1SHA1,
                format!(r#"<xenc:EncryptionMethod Algorithm="{RSA_OAEP}"/>"#),
            ),
            KeyTransport::Oaep11Sha256 => (
                &OAEP_SHA256_MGF1SHA256,
                format!(
                    r#"<xenc:EncryptionMethod Algorithm="{RSA_OAEP}"><ds:DigestMethod xmlns:ds="{DS_NS}" Algorithm="{SHA256}"/><xenc11:MGF xmlns:xenc11="{XENC11_NS}" Algorithm="{MGF1_SHA256}"/></xenc:EncryptionMethod>"#
                ),
            ),
            KeyTransport::Raw(xml) => (&OAEP_SHA1_MGF1SHA1, xml.clone()),
        }
    }

    /// `<saml2:EncryptedAssertion>` of `assertion` (its serialized element).
    pub fn encrypt(&self, assertion: &str) -> String {
        let plaintext = format!("{assertion}{}", self.plaintext_suffix);
        let key_len = if [AES128_GCM, AES128_CBC].contains(&self.content.as_str()) {
            16
        } else {
            32
        };
        let mut cek = vec![0u8; key_len];
        aws_lc_rs::rand::fill(&mut cek).expect("random");
        let data = match self.content.as_str() {
            AES128_CBC | AES256_CBC => self.cbc(&cek, plaintext.as_bytes()),
            // GCM for every other URI too: the refusal comes before any decryption.
            _ => gcm(&cek, plaintext.as_bytes()),
        };
        let (oaep, method) = self.transport();
        let public = self.public_key();
        let mut wrapped = vec![0u8; public.ciphertext_size()];
        let wrapped = public
            .encrypt(oaep, &cek, &mut wrapped, None)
            .expect("OAEP")
            .to_vec();
        let cipher_data = self.cipher_data.clone().unwrap_or_else(|| {
            format!(
                "<xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData>",
                STANDARD.encode(&data)
            )
        });
        format!(
            r#"<saml2:EncryptedAssertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion"><xenc:EncryptedData xmlns:xenc="{XENC_NS}" Id="_enc1" Type="{TYPE_ELEMENT}"><xenc:EncryptionMethod Algorithm="{content}"/><ds:KeyInfo xmlns:ds="{DS_NS}">{extra}<xenc:EncryptedKey Id="_key1">{method}<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{key}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>{cipher_data}</xenc:EncryptedData></saml2:EncryptedAssertion>"#,
            content = self.content,
            extra = self.key_info_extra,
            cert = self.certificate,
            key = STANDARD.encode(&wrapped),
        )
    }

    fn cbc(&self, cek: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let alg = if cek.len() == 16 { &AES_128 } else { &AES_256 };
        // xmlenc-core1 §5.2: pad to a whole block, the last octet counting the padding octets.
        let pad = 16 - plaintext.len() % 16;
        let mut buf = plaintext.to_vec();
        buf.extend(std::iter::repeat_n(0xAA, pad - 1));
        buf.push(self.pad_byte.unwrap_or(pad as u8));
        let key = EncryptingKey::cbc(UnboundCipherKey::new(alg, cek).expect("key")).expect("cbc");
        let context = key.encrypt(&mut buf).expect("encrypt");
        let iv: &[u8] = (&context).try_into().expect("iv");
        [iv, &buf].concat()
    }
}

fn gcm(cek: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let alg = if cek.len() == 16 {
        &AES_128_GCM
    } else {
        &AES_256_GCM
    };
    let mut iv = [0u8; 12];
    aws_lc_rs::rand::fill(&mut iv).expect("random");
    let key = LessSafeKey::new(UnboundKey::new(alg, cek).expect("key"));
    let mut buf = plaintext.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(iv), Aad::empty(), &mut buf)
        .expect("seal");
    [&iv[..], &buf].concat()
}

/// `xml` with its `<saml2:Assertion ...>...</saml2:Assertion>` encrypted by `encryption`.
pub fn encrypt_assertion_in(xml: &str, encryption: &Encryption) -> String {
    let start = xml.find("<saml2:Assertion ").expect("an assertion");
    let end = xml.find("</saml2:Assertion>").expect("its end") + "</saml2:Assertion>".len();
    format!(
        "{}{}{}",
        &xml[..start],
        encryption.encrypt(&xml[start..end]),
        &xml[end..]
    )
}

/// Which CipherValue [`flip_cipher_byte`] changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    /// The EncryptedKey's.
    Key,
    /// The EncryptedData's (the content).
    Data,
}

/// `xml` with one byte of a CipherValue flipped, `from_end` bytes before its end (0: the last).
pub fn flip_cipher_byte(xml: &str, which: Cipher, from_end: usize) -> String {
    let tag = "<xenc:CipherValue>";
    let mut starts = xml.match_indices(tag).map(|(i, _)| i + tag.len());
    let start = match which {
        Cipher::Key => starts.next(),
        Cipher::Data => starts.nth(1),
    }
    .expect("CipherValue");
    let end = start + xml[start..].find("</xenc:CipherValue>").expect("end");
    let mut bytes = STANDARD.decode(&xml[start..end]).expect("base64");
    let at = bytes.len() - 1 - from_end;
    bytes[at] ^= 0x01;
    format!("{}{}{}", &xml[..start], STANDARD.encode(bytes), &xml[end..])
}
