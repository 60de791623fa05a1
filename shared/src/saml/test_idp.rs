//! TEST ONLY: a stand-in for Okta that signs Okta-shaped SAML responses with the test key under
//! `shared/tests/fixtures/saml/` (a key published in this repository: never trust it anywhere).
//! Compiled only for tests and with the `test-idp` feature, which no Lambda binary enables.
//!
//! Signatures are exclusive C14N + enveloped-signature + RSA-SHA256 (Okta's defaults; ECDSA with
//! an EC key), produced with the same canonicalizer the verifier uses and signed by `aws-lc-rs`; the
//! corpus of real IdP responses, and responses signed by xmlsec (tests/integration), are what show
//! that canonicalizer agrees with everyone else's. RSA PKCS#1 v1.5 is deterministic, so RSA
//! fixtures are reproducible byte for byte (ECDSA signatures are not: no ECDSA fixtures).

use std::sync::Arc;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512,
};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::c14n::{canonicalize, InclusivePrefixes};
use super::keys::SignatureAlgorithm;
use super::verify::{DS_NS, ENVELOPED, EXC_C14N, SHA256};

/// A test IdP's private key.
#[derive(Clone)]
pub enum SigningKey {
    Rsa(Arc<RsaKeyPair>),
    EcP256(Arc<EcdsaKeyPair>),
    EcP384(Arc<EcdsaKeyPair>),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SigningKey::Rsa(_) => "SigningKey::Rsa",
            SigningKey::EcP256(_) => "SigningKey::EcP256",
            SigningKey::EcP384(_) => "SigningKey::EcP384",
        })
    }
}

impl SigningKey {
    /// What this key signs with unless told otherwise (Okta's default for RSA).
    pub fn default_algorithm(&self) -> SignatureAlgorithm {
        match self {
            SigningKey::Rsa(_) => SignatureAlgorithm::RsaSha256,
            SigningKey::EcP256(_) => SignatureAlgorithm::EcdsaP256Sha256,
            SigningKey::EcP384(_) => SignatureAlgorithm::EcdsaP384Sha384,
        }
    }

    /// The signature of `message` with `algorithm`; a key of another type signs with its own
    /// default instead (tests that mislabel algorithms want exactly that).
    pub fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            SigningKey::Rsa(k) => {
                let encoding = match algorithm {
                    SignatureAlgorithm::RsaSha384 => &RSA_PKCS1_SHA384,
                    SignatureAlgorithm::RsaSha512 => &RSA_PKCS1_SHA512,
                    _ => &RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(encoding, &rng, message, &mut sig).expect("RSA sign");
                sig
            }
            SigningKey::EcP256(k) | SigningKey::EcP384(k) => {
                k.sign(&rng, message).expect("ECDSA sign").as_ref().to_vec()
            }
        }
    }
}

fn rsa_key(file: &str) -> SigningKey {
    SigningKey::Rsa(Arc::new(
        RsaKeyPair::from_pkcs8(&read_fixture(file)).expect("test key"),
    ))
}

pub use super::fixtures::{read_fixture, FIXTURES};
pub const IDP_ENTITY_ID: &str = "http://www.okta.com/exk1testidp0000000";
/// The fixtures' organization: `Org::new("acme", BASE_URL, ..)` yields these URLs.
pub const ORG: &str = "acme";
pub const BASE_URL: &str = "https://sso.example.com";
pub const SP_ENTITY_ID: &str = "https://sso.example.com/orgs/acme/saml/metadata";
pub const ACS_URL: &str = "https://sso.example.com/orgs/acme/saml/acs";
/// The instant the fixtures were issued at, and are valid around (2026-01-15T12:00:00Z).
pub const ISSUED_AT: i64 = 1_768_478_400;

pub fn idp_certificate() -> String {
    String::from_utf8_lossy(&read_fixture("idp-test-cert.b64"))
        .trim()
        .to_string()
}
pub fn other_certificate() -> String {
    String::from_utf8_lossy(&read_fixture("other-test-cert.b64"))
        .trim()
        .to_string()
}
pub fn idp_key() -> SigningKey {
    rsa_key("idp-test-key.pk8.der")
}
pub fn other_key() -> SigningKey {
    rsa_key("other-test-key.pk8.der")
}
/// The test IdP's EC P-256 key, whose certificate is [`idp_ec_p256_certificate`].
pub fn idp_ec_p256_key() -> SigningKey {
    SigningKey::EcP256(Arc::new(
        EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &read_fixture("idp-ec-p256-key.pk8.der"),
        )
        .expect("test key"),
    ))
}
/// The test IdP's EC P-384 key, whose certificate is [`idp_ec_p384_certificate`].
pub fn idp_ec_p384_key() -> SigningKey {
    SigningKey::EcP384(Arc::new(
        EcdsaKeyPair::from_pkcs8(
            &ECDSA_P384_SHA384_FIXED_SIGNING,
            &read_fixture("idp-ec-p384-key.pk8.der"),
        )
        .expect("test key"),
    ))
}
pub fn idp_ec_p256_certificate() -> String {
    String::from_utf8_lossy(&read_fixture("idp-ec-p256-cert.b64"))
        .trim()
        .to_string()
}
pub fn idp_ec_p384_certificate() -> String {
    String::from_utf8_lossy(&read_fixture("idp-ec-p384-cert.b64"))
        .trim()
        .to_string()
}

pub fn iso(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .expect("valid instant")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formattable")
        .replace("Z", ".000Z")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signed {
    Assertion,
    Response,
    Both,
    Neither,
}

/// Everything one response says; `okta()` gives the defaults, tests change one field.
#[derive(Clone, Debug)]
pub struct Spec {
    pub response_id: String,
    pub assertion_id: String,
    pub issued_at: i64,
    pub issuer: String,
    pub destination: Option<String>,
    pub audience: String,
    pub recipient: String,
    pub in_response_to: Option<String>,
    /// Raw XML content of the NameID element (so tests can put comments or PIs in it).
    pub name_id_xml: String,
    pub name_id_format: String,
    pub not_before: i64,
    pub not_on_or_after: i64,
    pub subject_not_on_or_after: i64,
    /// The AuthnStatement's `SessionNotOnOrAfter`, if any (Okta sends none by default).
    pub session_not_on_or_after: Option<i64>,
    pub status: String,
    pub attributes: Vec<(String, String)>,
    pub signed: Signed,
    /// Extra `<ds:Transform>` algorithms signed into the Reference, after the usual two.
    pub extra_transforms: Vec<String>,
    pub sha1: bool,
    pub key: Option<SigningKey>,
    /// The SignatureMethod; default: the key's ([`SigningKey::default_algorithm`]).
    pub algorithm: Option<SignatureAlgorithm>,
    /// The certificate put in KeyInfo (the verifier must ignore it); default: the IdP's.
    pub keyinfo_cert: Option<String>,
    /// A second assertion, placed after the first, before any Response signature is made.
    pub extra_assertion: Option<String>,
    /// Encrypt the (signed) assertion, before any Response signature is made (Okta's order).
    pub encryption: Option<super::test_encrypt::Encryption>,
}

impl Spec {
    pub fn okta(user: &str) -> Self {
        Spec {
            response_id: "id1768478400000resp00000001".into(),
            assertion_id: "id1768478400000asrt00000001".into(),
            issued_at: ISSUED_AT,
            issuer: IDP_ENTITY_ID.into(),
            destination: Some(ACS_URL.into()),
            audience: SP_ENTITY_ID.into(),
            recipient: ACS_URL.into(),
            in_response_to: None,
            name_id_xml: user.into(),
            name_id_format: super::metadata::NAMEID_EMAIL.into(),
            not_before: ISSUED_AT - 300,
            not_on_or_after: ISSUED_AT + 300,
            subject_not_on_or_after: ISSUED_AT + 300,
            session_not_on_or_after: None,
            status: super::validate::STATUS_SUCCESS.into(),
            attributes: vec![
                ("firstName".into(), "Ada".into()),
                ("lastName".into(), "Lovelace".into()),
                ("email".into(), user.into()),
                ("title".into(), "Analyst".into()),
                ("department".into(), "Analytical Engines".into()),
                ("groups".into(), "Everyone".into()),
            ],
            signed: Signed::Assertion,
            extra_transforms: Vec::new(),
            sha1: false,
            key: None,
            algorithm: None,
            keyinfo_cert: None,
            extra_assertion: None,
            encryption: None,
        }
    }

    fn assertion_xml(&self) -> String {
        let irt = self
            .in_response_to
            .as_ref()
            .map(|i| format!(r#" InResponseTo="{i}""#))
            .unwrap_or_default();
        let mut attrs = String::new();
        for (name, value) in &self.attributes {
            attrs.push_str(&format!(
                r#"<saml2:Attribute Name="{name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"><saml2:AttributeValue xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">{value}</saml2:AttributeValue></saml2:Attribute>"#
            ));
        }
        format!(
            r#"<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="{id}" IssueInstant="{at}" Version="2.0"><saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{issuer}</saml2:Issuer><saml2:Subject><saml2:NameID Format="{fmt}">{name}</saml2:NameID><saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml2:SubjectConfirmationData{irt} NotOnOrAfter="{snoa}" Recipient="{recipient}"/></saml2:SubjectConfirmation></saml2:Subject><saml2:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}"><saml2:AudienceRestriction><saml2:Audience>{aud}</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions><saml2:AuthnStatement AuthnInstant="{at}" SessionIndex="{id}"{sess}><saml2:AuthnContext><saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement><saml2:AttributeStatement>{attrs}</saml2:AttributeStatement></saml2:Assertion>"#,
            id = self.assertion_id,
            at = iso(self.issued_at),
            issuer = self.issuer,
            fmt = self.name_id_format,
            name = self.name_id_xml,
            snoa = iso(self.subject_not_on_or_after),
            recipient = self.recipient,
            nb = iso(self.not_before),
            noa = iso(self.not_on_or_after),
            aud = self.audience,
            sess = self
                .session_not_on_or_after
                .map(|t| format!(r#" SessionNotOnOrAfter="{}""#, iso(t)))
                .unwrap_or_default(),
        )
    }

    fn response_xml(&self, assertion: &str) -> String {
        let dest = self
            .destination
            .as_ref()
            .map(|d| format!(r#" Destination="{d}""#))
            .unwrap_or_default();
        let irt = self
            .in_response_to
            .as_ref()
            .map(|i| format!(r#" InResponseTo="{i}""#))
            .unwrap_or_default();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><saml2p:Response xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol"{dest} ID="{id}"{irt} IssueInstant="{at}" Version="2.0"><saml2:Issuer xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{issuer}</saml2:Issuer><saml2p:Status><saml2p:StatusCode Value="{status}"/></saml2p:Status>{assertion}</saml2p:Response>"#,
            id = self.response_id,
            at = iso(self.issued_at),
            issuer = self.issuer,
            status = self.status,
        )
    }

    /// The signed response XML.
    pub fn build(&self) -> String {
        let mut xml = self.response_xml(&self.assertion_xml());
        if matches!(self.signed, Signed::Assertion | Signed::Both) {
            xml = self.sign(&xml, &self.assertion_id, "</saml2:Issuer><saml2:Subject>");
        }
        if let Some(encryption) = &self.encryption {
            xml = super::test_encrypt::encrypt_assertion_in(&xml, encryption);
        }
        if let Some(extra) = &self.extra_assertion {
            xml = xml.replace("</saml2p:Response>", &format!("{extra}</saml2p:Response>"));
        }
        if matches!(self.signed, Signed::Response | Signed::Both) {
            xml = self.sign(&xml, &self.response_id, "</saml2:Issuer><saml2p:Status>");
        }
        xml
    }

    /// Signs the element with `id`, inserting the Signature after its Issuer (where the schema
    /// puts it, core §2.3.3 / §3.2.2), found as the first `anchor` after the element's start.
    fn sign(&self, xml: &str, id: &str, anchor: &str) -> String {
        let key = self.key.clone().unwrap_or_else(idp_key);
        let algorithm = self.algorithm.unwrap_or_else(|| key.default_algorithm());
        let (sig_alg, digest_alg) = if self.sha1 {
            (
                "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                "http://www.w3.org/2000/09/xmldsig#sha1",
            )
        } else {
            (algorithm.uri(), SHA256)
        };
        let extra: String = self
            .extra_transforms
            .iter()
            .map(|t| format!(r#"<ds:Transform Algorithm="{t}"/>"#))
            .collect();
        let signed_info = |digest: &str| {
            format!(
                r##"<ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{EXC_C14N}"/><ds:SignatureMethod Algorithm="{sig_alg}"/><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="{ENVELOPED}"/><ds:Transform Algorithm="{EXC_C14N}"><ec:InclusiveNamespaces xmlns:ec="{EXC_C14N}" PrefixList="xs"/></ds:Transform>{extra}</ds:Transforms><ds:DigestMethod Algorithm="{digest_alg}"/><ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>"##
            )
        };
        let signature = |digest: &str, value: &str| {
            format!(
                r#"<ds:Signature xmlns:ds="{DS_NS}">{}<ds:SignatureValue>{value}</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"#,
                signed_info(digest),
                self.keyinfo_cert.clone().unwrap_or_else(idp_certificate)
            )
        };
        let start = xml.find(&format!(r#"ID="{id}""#)).expect("element to sign");
        let at = start + xml[start..].find(anchor).expect("anchor") + "</saml2:Issuer>".len();
        let with = |sig: String| format!("{}{}{}", &xml[..at], sig, &xml[at..]);

        // Digest of the element without its signature (that is what enveloped-signature removes).
        let draft = with(signature("DIGEST", "VALUE"));
        let digest = {
            let doc = roxmltree::Document::parse(&draft).expect("well-formed");
            let el = doc
                .descendants()
                .find(|n| n.attribute("ID") == Some(id))
                .expect("element");
            let sig = el
                .children()
                .find(|c| c.tag_name().name() == "Signature")
                .expect("signature");
            let mut out = Vec::new();
            canonicalize(
                el,
                Some(sig.id()),
                &InclusivePrefixes::parse("xs").expect("list"),
                &mut out,
            )
            .expect("c14n");
            STANDARD.encode(self.hash(&out))
        };
        let draft = with(signature(&digest, "VALUE"));
        let value = {
            let doc = roxmltree::Document::parse(&draft).expect("well-formed");
            let si = doc
                .descendants()
                .find(|n| {
                    n.tag_name().name() == "SignedInfo"
                        && n.parent()
                            .and_then(|p| p.parent())
                            .and_then(|p| p.attribute("ID"))
                            == Some(id)
                })
                .expect("SignedInfo");
            let mut out = Vec::new();
            canonicalize(si, None, &InclusivePrefixes::default(), &mut out).expect("c14n");
            // With `sha1`, the value is an RSA-SHA256 signature labelled rsa-sha1 (AWS-LC signs
            // no SHA-1): the verifier refuses the label before it looks at any value.
            STANDARD.encode(key.sign(algorithm, &out))
        };
        with(signature(&digest, &value))
    }

    fn hash(&self, data: &[u8]) -> Vec<u8> {
        let alg = if self.sha1 {
            &digest::SHA1_FOR_LEGACY_USE_ONLY
        } else {
            &digest::SHA256
        };
        digest::digest(alg, data).as_ref().to_vec()
    }
}

/// Base64 of a response, as the HTTP-POST binding carries it.
pub fn encode(xml: &str) -> String {
    STANDARD.encode(xml.as_bytes())
}
