//! SAML metadata: the SP's (ours, which the Okta admin gives Okta) and the IdP's (Okta's, which the
//! admin gives us through `ssoctl org set-idp`).
//!
//! Parsing uses roxmltree, which refuses DTDs (and so entity expansion) by default: metadata can
//! come from a URL, so it is untrusted input.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::certificate::{self, CertificateInfo, Unusable};
use crate::model::org::{IdpConfig, Org};

const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
pub const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MetadataError {
    #[error("IdP metadata is not well-formed XML (DTDs are refused): {0}")]
    Xml(String),
    #[error("IdP metadata has no EntityDescriptor with an IDPSSODescriptor")]
    NoIdp,
    #[error("IdP metadata describes {0} identity providers; give the metadata of exactly one")]
    SeveralIdps(usize),
    #[error("IdP metadata has no entityID")]
    NoEntityId,
    #[error("IdP metadata has no signing certificate: without one nobody could be signed in")]
    NoSigningCertificate,
    #[error("IdP metadata holds a certificate that is not base64 DER: {0}")]
    BadCertificate(String),
    #[error("IdP metadata has no signing certificate we can verify with: {0}")]
    NoUsableSigningCertificate(String),
}

/// A signing certificate of the metadata that cannot verify anything, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedCertificate {
    /// Position among the metadata's signing certificates, from 1.
    pub position: usize,
    /// What it is, if it is an X.509 certificate at all.
    pub info: Option<CertificateInfo>,
    pub reason: Unusable,
}

/// IdP metadata as `ssoctl` installs it: only the usable certificates, each described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedIdp {
    pub idp: IdpConfig,
    /// One per `idp.certificates`, same order.
    pub certificates: Vec<CertificateInfo>,
    pub skipped: Vec<SkippedCertificate>,
}

/// Keeps the certificates we can verify with ([`certificate::verification_key`]): an unusable one
/// next to a usable one is skipped (the admin is told), none usable at all is refused — either
/// way sign-in never meets a certificate it cannot use.
pub fn check_signing_certificates(idp: IdpConfig) -> Result<CheckedIdp, MetadataError> {
    let mut usable = Vec::new();
    let mut certificates = Vec::new();
    let mut skipped = Vec::new();
    for (i, b64) in idp.certificates.into_iter().enumerate() {
        // parse_idp_metadata already decoded it once; it is base64.
        let der = STANDARD.decode(&b64).unwrap_or_default();
        match certificate::usable_for_verification(&der) {
            Ok(info) => {
                usable.push(b64);
                certificates.push(info);
            }
            Err(reason) => skipped.push(SkippedCertificate {
                position: i + 1,
                info: certificate::inspect(&der).ok(),
                reason,
            }),
        }
    }
    if usable.is_empty() {
        let reasons: Vec<String> = skipped
            .iter()
            .map(|s| format!("certificate {}: {}", s.position, s.reason))
            .collect();
        return Err(MetadataError::NoUsableSigningCertificate(
            reasons.join("; "),
        ));
    }
    Ok(CheckedIdp {
        idp: IdpConfig {
            certificates: usable,
            ..idp
        },
        certificates,
        skipped,
    })
}

/// Reads the entity ID, the HTTP-Redirect SSO URL and the signing certificates of the one IdP the
/// metadata describes.
pub fn parse_idp_metadata(xml: &str) -> Result<IdpConfig, MetadataError> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| MetadataError::Xml(e.to_string()))?;
    let idps: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name((MD_NS, "EntityDescriptor")))
        .filter_map(|e| {
            e.children()
                .find(|c| c.has_tag_name((MD_NS, "IDPSSODescriptor")))
                .map(|d| (e, d))
        })
        .collect();
    let (entity, idp) = match idps.as_slice() {
        [] => return Err(MetadataError::NoIdp),
        [one] => *one,
        many => return Err(MetadataError::SeveralIdps(many.len())),
    };
    let entity_id = entity
        .attribute("entityID")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(MetadataError::NoEntityId)?
        .to_string();

    let mut certificates = Vec::new();
    for key in idp
        .children()
        .filter(|c| c.has_tag_name((MD_NS, "KeyDescriptor")))
    {
        // `use` absent means the key serves both signing and encryption (SAML metadata §2.4.1.1).
        if matches!(key.attribute("use"), Some(u) if u != "signing") {
            continue;
        }
        for cert in key
            .descendants()
            .filter(|n| n.has_tag_name((DS_NS, "X509Certificate")))
        {
            let b64: String = cert
                .text()
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let der = STANDARD
                .decode(&b64)
                .map_err(|e| MetadataError::BadCertificate(e.to_string()))?;
            // An X.509 certificate is a DER SEQUENCE; anything else is not one.
            if der.len() < 64 || der[0] != 0x30 {
                return Err(MetadataError::BadCertificate(
                    "not a DER certificate".into(),
                ));
            }
            if !certificates.contains(&b64) {
                certificates.push(b64);
            }
        }
    }
    if certificates.is_empty() {
        return Err(MetadataError::NoSigningCertificate);
    }
    let sso_url = idp
        .children()
        .filter(|c| c.has_tag_name((MD_NS, "SingleSignOnService")))
        .find(|c| c.attribute("Binding") == Some(BINDING_REDIRECT))
        .and_then(|c| c.attribute("Location"))
        .map(|s| s.trim().to_string());
    Ok(IdpConfig {
        entity_id,
        sso_url,
        certificates,
    })
}

/// Our SP metadata for one organization: what Okta (and pysaml2) read.
pub fn sp_metadata_xml(org: &Org, encryption_certificate: Option<&str>) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="{MD_NS}" entityID="{entity}">
  <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
{keys}    <md:NameIDFormat>{NAMEID_EMAIL}</md:NameIDFormat>
    <md:NameIDFormat>{NAMEID_UNSPECIFIED}</md:NameIDFormat>
    <md:AssertionConsumerService Binding="{BINDING_POST}" Location="{acs}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"#,
        entity = xml_escape(&org.entity_id()),
        acs = xml_escape(&org.acs_url()),
        keys = encryption_certificate
            .map(encryption_key_descriptor)
            .unwrap_or_default(),
    )
}

/// The SP encryption certificate (saml-metadata-2.0-os §2.4.1.1: a KeyDescriptor with
/// `use="encryption"` before NameIDFormat, as RoleDescriptorType orders it) and the algorithms
/// `saml::xmlenc` decrypts, preferred first (§2.4.1.1 lets the IdP choose among them).
fn encryption_key_descriptor(certificate: &str) -> String {
    use super::xmlenc::{
        AES128_CBC, AES128_GCM, AES256_CBC, AES256_GCM, MGF1_SHA256, RSA_OAEP, RSA_OAEP_MGF1P,
        SHA256, XENC11_NS,
    };
    let methods: String = [AES256_GCM, AES128_GCM, AES256_CBC, AES128_CBC]
        .iter()
        .map(|a| format!("      <md:EncryptionMethod Algorithm=\"{a}\"/>\n"))
        .collect();
    format!(
        r#"    <md:KeyDescriptor use="encryption">
      <ds:KeyInfo xmlns:ds="{DS_NS}"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
{methods}      <md:EncryptionMethod Algorithm="{RSA_OAEP}"><ds:DigestMethod xmlns:ds="{DS_NS}" Algorithm="{SHA256}"/><xenc11:MGF xmlns:xenc11="{XENC11_NS}" Algorithm="{MGF1_SHA256}"/></md:EncryptionMethod>
      <md:EncryptionMethod Algorithm="{RSA_OAEP_MGF1P}"/>
    </md:KeyDescriptor>
"#,
        cert = xml_escape(certificate.trim()),
    )
}

/// Escapes text for an XML attribute or element.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(case: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/ssoready/{case}/metadata.xml",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn okta_metadata_yields_entity_id_sso_url_and_certificate() {
        let idp = parse_idp_metadata(&corpus("assertions/okta")).unwrap();
        assert_eq!(idp.entity_id, "http://www.okta.com/exkdoocxa1VmjpXmX697");
        assert!(
            idp.sso_url.as_deref().unwrap_or("").starts_with("https://"),
            "{:?}",
            idp.sso_url
        );
        assert_eq!(idp.certificates.len(), 1);
        assert!(idp.certificates[0].starts_with("MIIDqjCCApKgAwIBAgIGAY8W9FSqMA0G"));
    }

    #[test]
    fn every_corpus_idp_metadata_with_a_certificate_parses() {
        for case in ["adfs", "google", "jumpcloud", "keycloak", "okta", "ping"] {
            let idp = parse_idp_metadata(&corpus(&format!("assertions/{case}")))
                .unwrap_or_else(|e| panic!("{case}: {e}"));
            assert!(!idp.certificates.is_empty(), "{case}");
        }
    }

    #[test]
    fn metadata_without_a_signing_certificate_is_refused() {
        let xml = corpus("assertions/okta");
        let start = xml.find("<md:KeyDescriptor").unwrap();
        let end = xml.find("</md:KeyDescriptor>").unwrap() + "</md:KeyDescriptor>".len();
        let stripped = format!("{}{}", &xml[..start], &xml[end..]);
        assert_eq!(
            parse_idp_metadata(&stripped),
            Err(MetadataError::NoSigningCertificate)
        );
    }

    #[test]
    fn encryption_only_keys_are_not_signing_keys() {
        let xml = corpus("assertions/okta").replace(r#"use="signing""#, r#"use="encryption""#);
        assert_eq!(
            parse_idp_metadata(&xml),
            Err(MetadataError::NoSigningCertificate)
        );
    }

    #[test]
    fn metadata_with_a_dtd_is_refused() {
        let xml = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"boom\">]>{}",
            corpus("assertions/okta").split_once("?>").unwrap().1
        );
        assert!(matches!(
            parse_idp_metadata(&xml),
            Err(MetadataError::Xml(_))
        ));
    }

    #[test]
    fn garbage_and_sp_metadata_are_not_idp_metadata() {
        assert!(matches!(
            parse_idp_metadata("not xml"),
            Err(MetadataError::Xml(_))
        ));
        let sp = sp_metadata_xml(&Org::new("acme", "https://sso.example.com", 0), None);
        assert_eq!(parse_idp_metadata(&sp), Err(MetadataError::NoIdp));
    }

    #[test]
    fn sp_metadata_names_the_org_entity_id_and_acs() {
        let org = Org::new("acme", "https://sso.example.com", 0);
        let xml = sp_metadata_xml(&org, None);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(
            root.attribute("entityID"),
            Some("https://sso.example.com/orgs/acme/saml/metadata")
        );
        let acs = doc
            .descendants()
            .find(|n| n.has_tag_name((MD_NS, "AssertionConsumerService")))
            .unwrap();
        assert_eq!(
            acs.attribute("Location"),
            Some("https://sso.example.com/orgs/acme/saml/acs")
        );
        assert_eq!(acs.attribute("Binding"), Some(BINDING_POST));
    }

    fn certificate(rel: &str) -> String {
        let path = format!("{}/tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .trim()
            .to_string()
    }

    /// Okta-shaped IdP metadata carrying `certs` as signing certificates.
    fn metadata_with(certs: &[String]) -> String {
        let keys: String = certs
            .iter()
            .map(|c| {
                format!(
                    r#"<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="{DS_NS}"><ds:X509Data><ds:X509Certificate>{c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#
                )
            })
            .collect();
        format!(
            r#"<md:EntityDescriptor xmlns:md="{MD_NS}" entityID="http://www.okta.com/exk1"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}<md:SingleSignOnService Binding="{BINDING_REDIRECT}" Location="https://example.okta.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
        )
    }

    fn checked(certs: &[String]) -> Result<CheckedIdp, MetadataError> {
        check_signing_certificates(parse_idp_metadata(&metadata_with(certs))?)
    }

    #[test]
    fn metadata_with_only_weak_or_unsupported_certificates_is_refused_naming_each_problem() {
        for (file, problem) in [
            ("certificates/rsa512.b64", "RSA-512 key is too weak"),
            (
                "certificates/rsa1024-expired.b64",
                "RSA-1024 key is too weak",
            ),
            (
                "certificates/ec-p521.b64",
                "EC P-521 key: only RSA (2048 to 8192 bits) and EC P-256/P-384",
            ),
            (
                "certificates/ed25519.b64",
                "key algorithm 1.3.101.112 key: only",
            ),
        ] {
            match checked(&[certificate(file)]) {
                Err(MetadataError::NoUsableSigningCertificate(why)) => {
                    assert!(why.contains(problem), "{file}: {why}")
                }
                other => panic!("{file}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_unusable_certificate_next_to_a_good_one_is_skipped_and_reported() {
        let good = certificate("saml/idp-test-cert.b64");
        let ec = certificate("certificates/ec-p521.b64");
        let got = checked(&[ec, good.clone()]).unwrap();
        assert_eq!(got.idp.certificates, vec![good]);
        assert_eq!(got.certificates.len(), 1);
        assert_eq!(got.certificates[0].key.to_string(), "RSA-2048");
        assert_eq!(got.skipped.len(), 1);
        assert_eq!(got.skipped[0].position, 1);
        assert!(got.skipped[0]
            .info
            .as_ref()
            .unwrap()
            .sha256_fingerprint
            .starts_with("81:06:D0:B2"));
    }

    #[test]
    fn metadata_with_an_ec_p256_certificate_is_usable() {
        let ec = certificate("saml/idp-ec-p256-cert.b64");
        let got = checked(std::slice::from_ref(&ec)).unwrap();
        assert_eq!(got.idp.certificates, vec![ec]);
        assert_eq!(got.certificates[0].key.to_string(), "EC P-256");
        assert!(got.skipped.is_empty());
    }

    #[test]
    fn xml_escape_neutralises_markup() {
        assert_eq!(xml_escape(r#"a"<b>&'"#), "a&quot;&lt;b&gt;&amp;&apos;");
    }
}
