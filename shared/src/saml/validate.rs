//! The ACS validator: a pure function of (the posted SAMLResponse, the organization's SAML
//! settings, now). No I/O, no clock of its own: tests run at any instant.
//!
//! Rules (SAML core = saml-core-2.0-os, profiles = saml-profiles-2.0-os, bindings = saml-bindings-2.0-os):
//! - exactly one `<saml:Assertion>` or `<saml:EncryptedAssertion>` in the whole document, a
//!   direct child of the Response; an encrypted one is decrypted ([`super::xmlenc`]) and put in
//!   its place, and the result checked as a plain one (see [`validate_encrypted`]);
//! - every `ID` in the document unique, and every `ds:Signature` a direct child of the Response or
//!   of the assertion, signing its parent (anything else is a wrapping attempt);
//! - at least one of those signatures, and every one present must verify with a configured key;
//!   identity and attributes are then read from the assertion node that was canonicalized and
//!   hashed (the assertion's own signature, or the Response's, which encloses it);
//! - Response: Version 2.0, Destination = ACS URL if present (bindings §3.5.5.2), Issuer = IdP if
//!   present, StatusCode Success (core §3.2.2.2);
//! - assertion: Issuer = IdP, a bearer SubjectConfirmation with Recipient = ACS URL, unexpired
//!   NotOnOrAfter and matching InResponseTo (profiles §4.1.4.2), Conditions within
//!   NotBefore/NotOnOrAfter and an AudienceRestriction naming us in every restriction (core §2.5.1);
//! - all time checks allow the organization's clock skew.
//!
//! AuthnStatement is not required: Keycloak omits it and SSOReady accepts that (the corpus note).

use std::collections::HashSet;

use roxmltree::{Document, Node, ParsingOptions};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::metadata::{NAMEID_EMAIL, NAMEID_UNSPECIFIED};
use super::verify::{decode_b64, text_of, verify_signed_info, IdpKeys, DS_NS};
use super::xmlenc::DecryptionKeys;
use crate::org::Org;

pub use super::error::SamlError;

pub const SAMLP_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const SAML_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
pub const CM_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// JumpCloud still says SAML 1.0's "unspecified"; it means the same.
const NAMEID_UNSPECIFIED_10: &str = "urn:oasis:names:tc:SAML:1.0:nameid-format:unspecified";

/// What the ACS received (HTTP-POST binding, bindings §3.5.4).
pub struct AcsInput<'a> {
    /// The `SAMLResponse` form field: base64 of the XML.
    pub saml_response: &'a str,
}

/// The organization's settings the validator needs, resolved once.
#[derive(Clone, Debug)]
pub struct SamlConfig {
    pub idp_entity_id: String,
    pub keys: IdpKeys,
    pub sp_entity_id: String,
    pub acs_url: String,
    pub clock_skew: i64,
    pub allow_idp_initiated: bool,
    /// Refuse plain assertions (the org's `require_encrypted_assertions`).
    pub require_encrypted: bool,
    /// The SP's private keys for EncryptedAssertions; `None` until the ACS has loaded them
    /// (only when a response is encrypted: [`SamlError::DecryptionKeysNeeded`]).
    pub decryption: Option<DecryptionKeys>,
}

impl SamlConfig {
    /// An organization without an IdP, or whose IdP has no certificate, cannot sign anyone in.
    /// The keys are parsed once per warm Lambda and org, and again as soon as the org's
    /// certificates change ([`super::key_cache`]).
    pub fn for_org(org: &Org) -> Result<Self, SamlError> {
        let idp = org.idp.as_ref().ok_or(SamlError::NoIdpCertificate)?;
        let keys = super::key_cache::keys_for(&org.org, &idp.certificates)?;
        if keys.is_empty() {
            return Err(SamlError::NoIdpCertificate);
        }
        Ok(SamlConfig {
            idp_entity_id: idp.entity_id.clone(),
            keys,
            sp_entity_id: org.entity_id(),
            acs_url: org.acs_url(),
            clock_skew: i64::from(org.clock_skew_seconds),
            allow_idp_initiated: org.allow_idp_initiated,
            require_encrypted: org.require_encrypted_assertions,
            decryption: None,
        })
    }
}

/// What a valid response establishes; every field comes from the verified assertion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub assertion_id: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    /// The AuthnRequest ID this answers (SP-initiated), from the signed SubjectConfirmationData.
    pub in_response_to: Option<String>,
    /// When the assertion stops being acceptable (validity end + skew): the replay record's TTL.
    pub replay_until: i64,
    pub session_index: Option<String>,
    /// The AuthnStatement's `SessionNotOnOrAfter` (core §2.7.2): the IdP's end of this session,
    /// which ours must not outlive.
    pub session_not_on_or_after: Option<i64>,
    /// Attribute name → values, in document order.
    pub attributes: Vec<(String, Vec<String>)>,
}

/// Validates a posted SAMLResponse at `now` (epoch seconds).
pub fn validate(
    input: &AcsInput,
    cfg: &SamlConfig,
    now: i64,
) -> Result<VerifiedAssertion, SamlError> {
    if cfg.keys.is_empty() {
        return Err(SamlError::NoIdpCertificate);
    }
    let bytes = decode_b64(input.saml_response).ok_or(SamlError::MalformedResponse)?;
    let xml = std::str::from_utf8(&bytes).map_err(|_| SamlError::MalformedResponse)?;
    validate_xml(xml, cfg, now)
}

fn is<'a>(n: &Node<'a, 'a>, ns: &str, name: &str) -> bool {
    n.is_element() && n.tag_name().namespace() == Some(ns) && n.tag_name().name() == name
}

fn child<'a>(n: Node<'a, 'a>, ns: &str, name: &str) -> Option<Node<'a, 'a>> {
    n.children().find(|c| is(c, ns, name))
}

fn instant(value: Option<&str>) -> Result<Option<i64>, SamlError> {
    value
        .map(|v| {
            OffsetDateTime::parse(v.trim(), &Rfc3339)
                .map(|t| t.unix_timestamp())
                .map_err(|_| SamlError::MalformedResponse)
        })
        .transpose()
}

/// The parse options of every document we read: roxmltree never expands entities beyond the
/// five predefined ones and refuses DTDs outright (no billion laughs, no XXE). The node limit
/// bounds memory (text and comments count too).
fn parse_document(xml: &str) -> Result<Document<'_>, SamlError> {
    // Structure limits first, in one linear pass: roxmltree's own work is quadratic in the
    // namespaces in scope at an element that declares one (see `limits`).
    super::limits::check(xml)?;
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: 50_000,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(xml, opts).map_err(|e| match e {
        roxmltree::Error::DtdDetected => SamlError::DtdForbidden,
        _ => SamlError::MalformedResponse,
    })
}

/// What one pass over a document finds: its assertion (plain or encrypted), its signatures.
struct Scan<'a> {
    assertion: Option<Node<'a, 'a>>,
    encrypted: Option<Node<'a, 'a>>,
    signatures: Vec<Node<'a, 'a>>,
}

/// One pass over the document: assertions, signatures, IDs (every `ID` unique).
fn scan<'a>(doc: &'a Document<'a>) -> Result<Scan<'a>, SamlError> {
    let (mut assertion, mut encrypted) = (None, None);
    let mut signatures = Vec::new();
    let mut ids = HashSet::new();
    for n in doc.descendants().filter(|n| n.is_element()) {
        if let Some(id) = n.attribute("ID") {
            if !ids.insert(id) {
                return Err(SamlError::DuplicateId);
            }
        }
        if is(&n, SAML_NS, "Assertion") {
            if assertion.replace(n).is_some() {
                return Err(SamlError::MultipleAssertions);
            }
        } else if is(&n, SAML_NS, "EncryptedAssertion") {
            if encrypted.replace(n).is_some() {
                return Err(SamlError::MultipleAssertions);
            }
        } else if is(&n, DS_NS, "Signature") {
            signatures.push(n);
        }
    }
    Ok(Scan {
        assertion,
        encrypted,
        signatures,
    })
}

/// [`validate`] on the decoded XML.
pub fn validate_xml(xml: &str, cfg: &SamlConfig, now: i64) -> Result<VerifiedAssertion, SamlError> {
    if cfg.keys.is_empty() {
        return Err(SamlError::NoIdpCertificate);
    }
    let doc = parse_document(xml)?;
    let response = doc.root_element();
    if !is(&response, SAMLP_NS, "Response") {
        return Err(SamlError::NotAResponse);
    }
    let found = scan(&doc)?;
    match (found.assertion, found.encrypted) {
        (Some(_), Some(_)) => Err(SamlError::MultipleAssertions),
        (None, None) => Err(SamlError::MissingAssertion),
        (Some(assertion), None) => {
            if cfg.require_encrypted {
                return Err(SamlError::EncryptedAssertionRequired);
            }
            verify_signatures(response, assertion, &found.signatures, cfg, false)?;
            check_response(response, cfg)?;
            read_assertion(assertion, response, cfg, now)
        }
        (None, Some(encrypted)) => {
            validate_encrypted(xml, response, encrypted, &found.signatures, cfg, now)
        }
    }
}

/// Every signature of the document is enveloped in the Response or the assertion, at most one
/// each, at least one, and every one present verifies (a failing signature fails the message,
/// even if another holds). `response_verified`: the Response's was verified already, over the
/// encrypted form of the assertion ([`validate_encrypted`]).
fn verify_signatures<'a>(
    response: Node<'a, 'a>,
    assertion: Node<'a, 'a>,
    signatures: &[Node<'a, 'a>],
    cfg: &SamlConfig,
    response_verified: bool,
) -> Result<(), SamlError> {
    if assertion.parent() != Some(response) {
        return Err(SamlError::AssertionMisplaced);
    }
    let mut buf = Vec::with_capacity(response.range().len());
    let (mut on_response, mut on_assertion) = (false, false);
    for sig in signatures {
        let parent = sig.parent().ok_or(SamlError::UnexpectedSignature)?;
        let seen = if parent == response {
            &mut on_response
        } else if parent == assertion {
            &mut on_assertion
        } else {
            return Err(SamlError::UnexpectedSignature);
        };
        if std::mem::replace(seen, true) {
            return Err(SamlError::UnexpectedSignature);
        }
    }
    if !on_response && !on_assertion {
        return Err(SamlError::Unsigned);
    }
    // Every SignedInfo signature first (small, capped input), then every digest: the referenced
    // elements, where the bulk of a hostile document would be, are canonicalized only once all
    // signatures over their digests are known to come from the IdP.
    let mut references = Vec::with_capacity(signatures.len());
    for sig in signatures {
        let parent = sig.parent().ok_or(SamlError::UnexpectedSignature)?;
        if parent == response && response_verified {
            continue;
        }
        references.push(verify_signed_info(parent, *sig, &cfg.keys, &mut buf)?);
    }
    // Smallest signed element first: the assertion's digest before the Response's (which
    // encloses it). Both must hold; checking the inner one first means bytes stuffed into the
    // assertion under a replayed signature fail after one canonicalization of them, not two.
    references.sort_by_key(|r| r.signed_len());
    for reference in &references {
        reference.verify_digest(&mut buf)?;
    }
    // From here on, `assertion` is a node whose canonical bytes were verified (directly, or as
    // part of the signed Response), and it is the only assertion there is.
    Ok(())
}

/// An `EncryptedAssertion` (SAML core §2.3.4): the Response's signature, if any, is verified over
/// the ciphertext first (verify before you decrypt); the plaintext then takes the
/// EncryptedAssertion's place in the document, which goes through the very same parse limits,
/// scan, signature checks and conditions as a plain one. A signature is required: on the
/// decrypted assertion (Okta signs, then encrypts) or on the Response. Every failure from the
/// first key tried until the signatures hold is [`SamlError::EncryptedAssertionInvalid`].
fn validate_encrypted<'a>(
    xml: &'a str,
    response: Node<'a, 'a>,
    encrypted: Node<'a, 'a>,
    signatures: &[Node<'a, 'a>],
    cfg: &SamlConfig,
    now: i64,
) -> Result<VerifiedAssertion, SamlError> {
    use super::xmlenc::DecryptError;
    if encrypted.parent() != Some(response) {
        return Err(SamlError::AssertionMisplaced);
    }
    let keys = cfg
        .decryption
        .as_ref()
        .ok_or(SamlError::DecryptionKeysNeeded)?;
    if keys.is_empty() {
        return Err(SamlError::EncryptedAssertionUnsupported);
    }
    // In the cleartext only the Response may be signed: the assertion's signature is inside.
    let mut response_signature = None;
    for sig in signatures {
        if sig.parent() != Some(response) || response_signature.replace(*sig).is_some() {
            return Err(SamlError::UnexpectedSignature);
        }
    }
    if let Some(sig) = response_signature {
        let mut buf = Vec::with_capacity(xml.len());
        super::verify::verify_enveloped(response, sig, &cfg.keys, &mut buf).map_err(
            |e| match e {
                SamlError::SignatureInvalid | SamlError::DigestMismatch => {
                    SamlError::EncryptedAssertionInvalid
                }
                other => other,
            },
        )?;
    }
    let plaintext = super::xmlenc::decrypt(encrypted, keys).map_err(|e| match e {
        DecryptError::Malformed => SamlError::MalformedEncryptedAssertion,
        DecryptError::UnsupportedContentAlgorithm => SamlError::UnsupportedEncryptionAlgorithm,
        DecryptError::UnsupportedKeyTransport => SamlError::UnsupportedKeyTransport,
        DecryptError::RetrievalMethod => SamlError::RetrievalMethodForbidden,
        DecryptError::CipherReference => SamlError::CipherReferenceForbidden,
        DecryptError::Opaque => SamlError::EncryptedAssertionInvalid,
    })?;
    let plaintext = std::str::from_utf8(&plaintext)
        .map_err(|_| SamlError::EncryptedAssertionInvalid)?
        .trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
    let range = encrypted.range();
    let spliced = [&xml[..range.start], plaintext, &xml[range.end..]].concat();
    let assertion_range = range.start..range.start + plaintext.len();
    validate_decrypted(
        &spliced,
        assertion_range,
        response_signature.is_some(),
        cfg,
        now,
    )
}

/// The document with the decrypted assertion in place: signature phase errors are opaque (they
/// are about bytes anyone can encrypt to us), everything after is reported as for a plain one.
fn validate_decrypted(
    xml: &str,
    assertion_range: std::ops::Range<usize>,
    response_verified: bool,
    cfg: &SamlConfig,
    now: i64,
) -> Result<VerifiedAssertion, SamlError> {
    let opaque = |_| SamlError::EncryptedAssertionInvalid;
    let doc = parse_document(xml).map_err(opaque)?;
    let response = doc.root_element();
    let found = scan(&doc).map_err(opaque)?;
    let assertion = match (found.assertion, found.encrypted) {
        // The plaintext is exactly one assertion element, nothing beside it.
        (Some(a), None) if a.range() == assertion_range => a,
        _ => return Err(SamlError::EncryptedAssertionInvalid),
    };
    verify_signatures(
        response,
        assertion,
        &found.signatures,
        cfg,
        response_verified,
    )
    .map_err(opaque)?;
    check_response(response, cfg)?;
    read_assertion(assertion, response, cfg, now)
}

fn check_response(response: Node, cfg: &SamlConfig) -> Result<(), SamlError> {
    if response.attribute("Version") != Some("2.0") {
        return Err(SamlError::UnsupportedVersion);
    }
    if let Some(dest) = response.attribute("Destination") {
        if dest != cfg.acs_url {
            return Err(SamlError::DestinationMismatch);
        }
    }
    if let Some(issuer) = child(response, SAML_NS, "Issuer") {
        if text_of(issuer).trim() != cfg.idp_entity_id {
            return Err(SamlError::IssuerMismatch);
        }
    }
    let status = child(response, SAMLP_NS, "Status")
        .and_then(|s| child(s, SAMLP_NS, "StatusCode"))
        .and_then(|c| c.attribute("Value"));
    if status != Some(STATUS_SUCCESS) {
        return Err(SamlError::StatusNotSuccess);
    }
    Ok(())
}

fn read_assertion(
    assertion: Node,
    response: Node,
    cfg: &SamlConfig,
    now: i64,
) -> Result<VerifiedAssertion, SamlError> {
    let skew = cfg.clock_skew;
    if assertion.attribute("Version") != Some("2.0") {
        return Err(SamlError::UnsupportedVersion);
    }
    let assertion_id = assertion
        .attribute("ID")
        .filter(|id| !id.is_empty())
        .ok_or(SamlError::MalformedResponse)?;
    let issuer = child(assertion, SAML_NS, "Issuer").ok_or(SamlError::IssuerMismatch)?;
    if text_of(issuer).trim() != cfg.idp_entity_id {
        return Err(SamlError::IssuerMismatch);
    }

    // Subject: the NameID's whole text (comments split text nodes; the identity is all of it).
    let subject = child(assertion, SAML_NS, "Subject").ok_or(SamlError::MissingNameId)?;
    let name_id_node = child(subject, SAML_NS, "NameID").ok_or(SamlError::MissingNameId)?;
    if name_id_node.children().any(|c| c.is_element()) {
        return Err(SamlError::MissingNameId);
    }
    // Only XML whitespace (XML 1.0 §2.3 `S`) is layout; `str::trim` would also strip U+3000 and
    // U+2028, turning another name into a user's (docs/scim.md, "User names").
    let name_id = text_of(name_id_node)
        .trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
        .to_string();
    if name_id.is_empty() {
        return Err(SamlError::MissingNameId);
    }
    let name_id_format = name_id_node.attribute("Format");
    if !matches!(
        name_id_format,
        None | Some(NAMEID_EMAIL | NAMEID_UNSPECIFIED | NAMEID_UNSPECIFIED_10)
    ) {
        return Err(SamlError::UnsupportedNameIdFormat);
    }

    // Bearer SubjectConfirmation (profiles §4.1.4.2). Of several, one that passes suffices; the
    // error reported is the first one's.
    let response_irt = response.attribute("InResponseTo");
    let mut first_err = None;
    let mut confirmed = None;
    for sc in subject
        .children()
        .filter(|c| is(c, SAML_NS, "SubjectConfirmation"))
        .filter(|c| c.attribute("Method") == Some(CM_BEARER))
    {
        match check_confirmation(sc, response_irt, cfg, now) {
            Ok(ok) => {
                confirmed = Some(ok);
                break;
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let (in_response_to, scd_not_on_or_after) =
        confirmed.ok_or(first_err.unwrap_or(SamlError::NoBearerConfirmation))?;

    // Conditions (core §2.5.1).
    let conditions = child(assertion, SAML_NS, "Conditions").ok_or(SamlError::AudienceMismatch)?;
    if let Some(nb) = instant(conditions.attribute("NotBefore"))? {
        if now + skew < nb {
            return Err(SamlError::NotYetValid);
        }
    }
    let cond_noa = instant(conditions.attribute("NotOnOrAfter"))?;
    if let Some(noa) = cond_noa {
        if now - skew >= noa {
            return Err(SamlError::Expired);
        }
    }
    let restrictions: Vec<Node> = conditions
        .children()
        .filter(|c| is(c, SAML_NS, "AudienceRestriction"))
        .collect();
    let ours = |r: &Node| {
        r.children()
            .filter(|a| is(a, SAML_NS, "Audience"))
            .any(|a| text_of(a).trim() == cfg.sp_entity_id)
    };
    if restrictions.is_empty() || !restrictions.iter().all(ours) {
        return Err(SamlError::AudienceMismatch);
    }

    if in_response_to.is_none() && !cfg.allow_idp_initiated {
        return Err(SamlError::IdpInitiatedNotAllowed);
    }

    let authn_statement = child(assertion, SAML_NS, "AuthnStatement");
    let session_index = authn_statement
        .and_then(|a| a.attribute("SessionIndex"))
        .map(str::to_string);
    let session_not_on_or_after =
        instant(authn_statement.and_then(|a| a.attribute("SessionNotOnOrAfter")))?;
    let mut attributes: Vec<(String, Vec<String>)> = Vec::new();
    for statement in assertion
        .children()
        .filter(|c| is(c, SAML_NS, "AttributeStatement"))
    {
        for attr in statement.children().filter(|c| is(c, SAML_NS, "Attribute")) {
            let Some(name) = attr.attribute("Name") else {
                continue;
            };
            let values: Vec<String> = attr
                .children()
                .filter(|c| is(c, SAML_NS, "AttributeValue"))
                .map(|v| text_of(v).trim().to_string())
                .collect();
            match attributes.iter_mut().find(|(n, _)| n == name) {
                Some((_, existing)) => existing.extend(values),
                None => attributes.push((name.to_string(), values)),
            }
        }
    }

    let valid_until = cond_noa.map_or(scd_not_on_or_after, |c| c.min(scd_not_on_or_after));
    Ok(VerifiedAssertion {
        assertion_id: assertion_id.to_string(),
        name_id,
        name_id_format: name_id_format.map(str::to_string),
        in_response_to: in_response_to.map(str::to_string),
        replay_until: valid_until + skew,
        session_index,
        session_not_on_or_after,
        attributes,
    })
}

/// One bearer SubjectConfirmation: (its InResponseTo, its NotOnOrAfter) if it holds.
fn check_confirmation<'a>(
    sc: Node<'a, 'a>,
    response_irt: Option<&'a str>,
    cfg: &SamlConfig,
    now: i64,
) -> Result<(Option<&'a str>, i64), SamlError> {
    let data = child(sc, SAML_NS, "SubjectConfirmationData").ok_or(SamlError::RecipientMismatch)?;
    if data.attribute("Recipient") != Some(cfg.acs_url.as_str()) {
        return Err(SamlError::RecipientMismatch);
    }
    let noa =
        instant(data.attribute("NotOnOrAfter"))?.ok_or(SamlError::SubjectConfirmationExpired)?;
    if now - cfg.clock_skew >= noa {
        return Err(SamlError::SubjectConfirmationExpired);
    }
    if let Some(nb) = instant(data.attribute("NotBefore"))? {
        if now + cfg.clock_skew < nb {
            return Err(SamlError::NotYetValid);
        }
    }
    // The signed InResponseTo is the one that counts; an unsigned Response-level one may only agree.
    let irt = data.attribute("InResponseTo");
    if response_irt.is_some() && response_irt != irt {
        return Err(SamlError::InResponseToMismatch);
    }
    Ok((irt, noa))
}
