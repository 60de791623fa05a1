//! CPU-exhaustion hardening of the ACS validator (issue 9, finding 1): limits are checked before
//! parsing, PrefixLists are capped before anything is hashed, and SignedInfo signatures are
//! verified before any referenced element is canonicalized. Real signatures from the test IdP.

use super::test_idp::*;
use super::validate::*;
use super::verify::{verify_enveloped, IdpKeys, EXC_C14N, MAX_SIGNED_INFO_BYTES};

const USER: &str = "ada@example.com";

fn config() -> SamlConfig {
    SamlConfig {
        idp_entity_id: IDP_ENTITY_ID.into(),
        keys: IdpKeys::from_certificates(&[idp_certificate()]).unwrap(),
        sp_entity_id: SP_ENTITY_ID.into(),
        acs_url: ACS_URL.into(),
        clock_skew: 180,
        allow_idp_initiated: true,
        require_encrypted: false,
        decryption: None,
    }
}

fn outcome(xml: &str) -> Result<String, &'static str> {
    validate_xml(xml, &config(), ISSUED_AT)
        .map(|v| v.name_id)
        .map_err(|e| e.code())
}

fn spec(f: impl FnOnce(&mut Spec)) -> String {
    let mut s = Spec::okta(USER);
    f(&mut s);
    s.build()
}

fn names(n: usize) -> String {
    (0..n)
        .map(|i| format!("p{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Puts `what` into the Response, between Status and the assertion: a place no signature in an
/// assertion-signed response covers, so only the limits can refuse it.
fn in_unsigned_place(xml: &str, what: &str) -> String {
    xml.replacen("<saml2:Assertion ", &format!("{what}<saml2:Assertion "), 1)
}

#[test]
fn the_fixture_response_validates() {
    assert_eq!(outcome(&spec(|_| {})), Ok(USER.into()));
}

#[test]
fn a_reference_prefix_list_of_33_names_is_refused_before_any_digest() {
    let xml = spec(|_| {}).replacen(
        r#"PrefixList="xs""#,
        &format!(r#"PrefixList="xs {}""#, names(32)),
        1,
    );
    assert_eq!(outcome(&xml), Err("too_many_inclusive_prefixes"));
}

#[test]
fn a_signed_info_prefix_list_of_33_names_is_refused_before_any_digest() {
    let list = format!(
        r#"<ec:InclusiveNamespaces xmlns:ec="{EXC_C14N}" PrefixList="{}"/>"#,
        names(33)
    );
    let method = format!(r#"<ds:CanonicalizationMethod Algorithm="{EXC_C14N}"/>"#);
    let open = format!(r#"<ds:CanonicalizationMethod Algorithm="{EXC_C14N}">"#);
    let xml = spec(|_| {}).replacen(
        &method,
        &format!("{open}{list}</ds:CanonicalizationMethod>"),
        1,
    );
    assert_eq!(outcome(&xml), Err("too_many_inclusive_prefixes"));
}

#[test]
fn a_prefix_list_token_that_is_not_a_prefix_is_a_malformed_signature() {
    let xml = spec(|_| {}).replacen(r#"PrefixList="xs""#, r#"PrefixList="xs a:b""#, 1);
    assert_eq!(outcome(&xml), Err("malformed_signature"));
}

/// Both signatures made with a key the org does not trust, content tampered: the Response's
/// SignedInfo fails before the Response (the whole document) is canonicalized for its digest.
#[test]
fn a_response_whose_signed_info_signature_is_bad_is_refused_before_its_digest() {
    let xml = spec(|s| {
        s.signed = Signed::Both;
        s.key = Some(other_key());
    })
    .replacen(
        ">ada@example.com</saml2:NameID>",
        ">eve@example.com</saml2:NameID>",
        1,
    );
    assert_eq!(outcome(&xml), Err("signature_invalid"));
}

/// The referenced assertion holds a subtree that canonicalization refuses (too deep): if it were
/// canonicalized, the outcome would say so. It says the signature is bad instead.
#[test]
fn a_bad_signed_info_signature_is_refused_without_canonicalizing_the_referenced_element() {
    let deep = format!("{}{}", "<x>".repeat(100), "</x>".repeat(100));
    let xml = spec(|s| s.key = Some(other_key())).replacen(
        "<saml2:Subject>",
        &format!("{deep}<saml2:Subject>"),
        1,
    );
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let assertion = doc
        .descendants()
        .find(|n| n.tag_name().name() == "Assertion")
        .unwrap();
    let signature = assertion
        .children()
        .find(|n| n.tag_name().name() == "Signature")
        .unwrap();
    let keys = IdpKeys::from_certificates(&[idp_certificate()]).unwrap();
    let mut buf = Vec::new();
    assert_eq!(
        verify_enveloped(assertion, signature, &keys, &mut buf),
        Err(SamlError::SignatureInvalid)
    );
    // With the right key, the same subtree is reached, and refused as too complex.
    let xml = spec(|_| {}).replacen("<saml2:Subject>", &format!("{deep}<saml2:Subject>"), 1);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let assertion = doc
        .descendants()
        .find(|n| n.tag_name().name() == "Assertion")
        .unwrap();
    let signature = assertion
        .children()
        .find(|n| n.tag_name().name() == "Signature")
        .unwrap();
    assert_eq!(
        verify_enveloped(assertion, signature, &keys, &mut buf),
        Err(SamlError::ResponseTooComplex)
    );
}

#[test]
fn a_signed_info_larger_than_its_cap_is_refused_before_it_is_hashed() {
    let padding = " ".repeat(MAX_SIGNED_INFO_BYTES);
    let xml = spec(|_| {}).replacen(
        "<ds:SignatureMethod",
        &format!("{padding}<ds:SignatureMethod"),
        1,
    );
    assert_eq!(outcome(&xml), Err("response_too_complex"));
}

#[test]
fn signed_info_leaves_with_element_children_are_malformed() {
    let xml = spec(|_| {}).replacen("</ds:DigestValue>", "<x/></ds:DigestValue>", 1);
    assert_eq!(outcome(&xml), Err("malformed_signature"));
}

#[test]
fn an_element_declaring_more_namespaces_than_the_cap_is_refused_before_parsing() {
    let decls: String = (0..17)
        .map(|i| format!(r#" xmlns:n{i}="urn:{i}""#))
        .collect();
    let xml = in_unsigned_place(&spec(|_| {}), &format!("<saml2p:Extensions{decls}/>"));
    assert_eq!(outcome(&xml), Err("response_too_complex"));
}

#[test]
fn many_elements_each_declaring_a_namespace_under_many_bindings_are_refused() {
    let decls: String = (0..12)
        .map(|i| format!(r#" xmlns:n{i}="urn:{i}""#))
        .collect();
    let children = r#"<c xmlns:z="urn:z"/>"#.repeat(400);
    let xml = in_unsigned_place(
        &spec(|_| {}),
        &format!("<saml2p:Extensions{decls}>{children}</saml2p:Extensions>"),
    );
    assert_eq!(outcome(&xml), Err("response_too_complex"));
}

#[test]
fn a_response_nested_deeper_than_the_cap_is_refused() {
    let deep = format!("{}{}", "<x>".repeat(70), "</x>".repeat(70));
    let xml = in_unsigned_place(
        &spec(|_| {}),
        &format!("<saml2p:Extensions>{deep}</saml2p:Extensions>"),
    );
    assert_eq!(outcome(&xml), Err("response_too_complex"));
}

#[test]
fn a_response_with_more_elements_than_the_cap_is_refused() {
    let many = "<x/>".repeat(super::limits::MAX_ELEMENTS);
    let xml = in_unsigned_place(
        &spec(|_| {}),
        &format!("<saml2p:Extensions>{many}</saml2p:Extensions>"),
    );
    assert_eq!(outcome(&xml), Err("response_too_complex"));
}

/// What an Okta response with a rich profile and `groups` group memberships looks like: 20
/// profile attributes and one multi-valued `groups` attribute (Okta's shape: one Attribute, one
/// AttributeValue per group, each declaring `xsi`), group names of 32 characters.
fn okta_with_groups(groups: usize, signed: Signed) -> String {
    let mut s = Spec::okta(USER);
    s.signed = signed;
    s.attributes.extend((0..14).map(|i| {
        (
            format!("customAttribute{i:02}"),
            format!("profile value {i:02}"),
        )
    }));
    // The test IdP writes each value into `<saml2:AttributeValue ...>{value}</...>`: joining the
    // names with a close and an open tag yields one Attribute with many values.
    let between = r#"</saml2:AttributeValue><saml2:AttributeValue xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">"#;
    let values: Vec<String> = (0..groups)
        .map(|i| format!("Engineering-Platform-Team-{i:06}"))
        .collect();
    s.attributes.push(("groups".into(), values.join(between)));
    s.build()
}

/// The posted form body for a response: `SAMLResponse=<form-encoded base64>&RelayState=<80 bytes>`
/// (RelayState is at most 80 bytes, bindings §3.4.3).
fn form_body(xml: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(encode(xml).as_bytes()).collect();
    format!("SAMLResponse={encoded}&RelayState={}", "r".repeat(80))
}

/// The body limit is chosen from this: the largest Okta response that fits must validate (so
/// the structure limits never refuse what the body limit lets in), and one more group does not fit.
#[test]
fn the_largest_okta_response_under_the_body_limit_validates() {
    use crate::saml::limits::DEFAULT_ACS_BODY_LIMIT as ACS_BODY_LIMIT;
    let fits = |n: usize| form_body(&okta_with_groups(n, Signed::Both)).len() <= ACS_BODY_LIMIT;
    let (mut lo, mut hi) = (0usize, 4096usize);
    assert!(fits(lo) && !fits(hi));
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if fits(mid) {
            lo = mid
        } else {
            hi = mid
        }
    }
    let xml = okta_with_groups(lo, Signed::Both);
    let v = validate_xml(&xml, &config(), ISSUED_AT).unwrap();
    let groups = v.attributes.iter().find(|(n, _)| n == "groups").unwrap();
    assert_eq!(groups.1.len(), lo + 1); // and Spec::okta's own "Everyone"
    eprintln!(
        "largest Okta response under {ACS_BODY_LIMIT} B: {lo} groups, {} B of XML, {} B posted",
        xml.len(),
        form_body(&xml).len()
    );
    assert!(
        lo >= 80,
        "the body limit must fit at least 80 groups, fits {lo}"
    );
}
