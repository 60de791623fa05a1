//! SP-initiated login: the AuthnRequest (SAML core §3.4.1) sent with the HTTP-Redirect binding
//! (bindings §3.4): raw DEFLATE, base64, URL-encoded `SAMLRequest`, plus `RelayState`. Unsigned,
//! as our metadata says (`AuthnRequestsSigned="false"`); its ID is what makes the answer
//! single-use, so it carries 128 random bits and is remembered for ten minutes.

use std::io::Write;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::write::DeflateEncoder;
use flate2::Compression;

use super::metadata::{xml_escape, BINDING_POST, NAMEID_UNSPECIFIED};
use crate::model::org::Org;
use crate::tokens::random_hex;

/// How long an AuthnRequest ID stays answerable.
pub const REQUEST_TTL_SECONDS: i64 = 600;

/// A fresh request ID: 128 random bits, prefixed so it is an NCName (xs:ID must not start with a digit).
pub fn new_request_id() -> String {
    format!("id{}", random_hex(16))
}

pub fn authn_request_xml(org: &Org, id: &str, sso_url: &str, now: i64) -> String {
    let instant = time::OffsetDateTime::from_unix_timestamp(now)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    format!(
        r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{instant}" Destination="{dest}" AssertionConsumerServiceURL="{acs}" ProtocolBinding="{BINDING_POST}"><saml:Issuer>{issuer}</saml:Issuer><samlp:NameIDPolicy Format="{NAMEID_UNSPECIFIED}" AllowCreate="true"/></samlp:AuthnRequest>"#,
        id = xml_escape(id),
        dest = xml_escape(sso_url),
        acs = xml_escape(&org.acs_url()),
        issuer = xml_escape(&org.entity_id()),
    )
}

/// Adds `<saml:Subject>` naming `hint` (OIDC `login_hint`): SAML core §3.4.1 lets the requester
/// name the subject, which Okta uses to prefill (or skip) its username prompt. It goes right
/// after `<saml:Issuer>`, where the schema puts it.
pub fn with_subject_hint(xml: &str, hint: &str) -> String {
    let subject = format!(
        "<saml:Subject><saml:NameID>{}</saml:NameID></saml:Subject>",
        xml_escape(hint)
    );
    xml.replacen("</saml:Issuer>", &format!("</saml:Issuer>{subject}"), 1)
}

/// The IdP URL to redirect the browser to (bindings §3.4.4.1).
pub fn redirect_url(
    sso_url: &str,
    xml: &str,
    relay_state: Option<&str>,
) -> Result<url::Url, String> {
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::default());
    enc.write_all(xml.as_bytes())
        .map_err(|e| format!("deflate: {e}"))?;
    let deflated = enc.finish().map_err(|e| format!("deflate: {e}"))?;
    let mut url = url::Url::parse(sso_url).map_err(|e| format!("IdP SSO URL: {e}"))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("SAMLRequest", &STANDARD.encode(deflated));
        if let Some(rs) = relay_state.filter(|r| !r.is_empty()) {
            q.append_pair("RelayState", rs);
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn a_login_hint_becomes_an_escaped_subject_after_the_issuer() {
        let org = Org::new("acme", "https://sso.example.com", 0);
        let xml = authn_request_xml(&org, "id1", "https://idp.example/sso", 0);
        let hinted = with_subject_hint(&xml, "a<b@example.com");
        let doc = roxmltree::Document::parse(&hinted).unwrap();
        let names: Vec<&str> = doc
            .root_element()
            .children()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .collect();
        assert_eq!(names, ["Issuer", "Subject", "NameIDPolicy"]);
        assert!(hinted.contains("<saml:NameID>a&lt;b@example.com</saml:NameID>"));
    }

    #[test]
    fn the_redirect_carries_a_deflated_authn_request_naming_our_acs_and_entity_id() {
        let org = Org::new("acme", "https://sso.example.com", 0);
        let id = new_request_id();
        let xml = authn_request_xml(
            &org,
            &id,
            "https://acme.okta.com/app/x/sso/saml",
            1_768_478_400,
        );
        let url = redirect_url(
            "https://acme.okta.com/app/x/sso/saml",
            &xml,
            Some("https://app.example.com/x"),
        )
        .unwrap();
        let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs["RelayState"], "https://app.example.com/x");
        let raw = STANDARD.decode(&pairs["SAMLRequest"]).unwrap();
        let mut inflated = String::new();
        flate2::read::DeflateDecoder::new(&raw[..])
            .read_to_string(&mut inflated)
            .unwrap();
        let doc = roxmltree::Document::parse(&inflated).unwrap();
        let root = doc.root_element();
        assert_eq!(root.attribute("ID"), Some(id.as_str()));
        assert_eq!(
            root.attribute("AssertionConsumerServiceURL"),
            Some("https://sso.example.com/orgs/acme/saml/acs")
        );
        assert_eq!(root.attribute("IssueInstant"), Some("2026-01-15T12:00:00Z"));
        assert!(inflated.contains(
            "<saml:Issuer>https://sso.example.com/orgs/acme/saml/metadata</saml:Issuer>"
        ));
    }

    #[test]
    fn request_ids_carry_128_random_bits_and_are_ncnames() {
        let a = new_request_id();
        assert_eq!(a.len(), 2 + 32);
        assert!(a.starts_with("id"));
        assert_ne!(a, new_request_id());
    }
}
