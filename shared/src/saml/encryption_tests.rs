//! Encrypted assertions (issue 13 item 3): Okta's shapes decrypt and sign in; each bad case changes
//! one thing from a good encrypted response and is refused with the code in its row; every
//! failure once a key is tried looks the same from outside (no padding oracle).

use super::test_encrypt::*;
use super::test_idp::*;
use super::validate::{validate_xml, SamlConfig, SamlError, VerifiedAssertion};
use super::verify::IdpKeys;
use super::xmlenc::*;

const USER: &str = "ada@example.com";

fn config(require_encrypted: bool) -> SamlConfig {
    SamlConfig {
        idp_entity_id: IDP_ENTITY_ID.into(),
        keys: IdpKeys::from_certificates(&[idp_certificate()]).unwrap(),
        sp_entity_id: SP_ENTITY_ID.into(),
        acs_url: ACS_URL.into(),
        clock_skew: 180,
        allow_idp_initiated: true,
        require_encrypted,
        decryption: Some(decryption_keys(&["sp-enc"])),
    }
}

/// An Okta-shaped response, assertion signed then encrypted as `change` leaves `Encryption`.
pub(crate) fn encrypted(signed: Signed, change: impl FnOnce(&mut Encryption, &mut Spec)) -> String {
    let mut spec = Spec::okta(USER);
    spec.signed = signed;
    let mut enc = Encryption::okta();
    change(&mut enc, &mut spec);
    spec.encryption = Some(enc);
    spec.build()
}

pub(crate) fn outcome(xml: &str) -> Result<VerifiedAssertion, SamlError> {
    validate_xml(xml, &config(false), ISSUED_AT)
}

#[test]
fn every_accepted_key_transport_and_content_algorithm_decrypts_and_signs_in() {
    let transports = [
        KeyTransport::OaepMgf1p,
        KeyTransport::Oaep11Sha1,
        KeyTransport::Oaep11Sha256,
    ];
    for transport in transports {
        for content in [AES128_GCM, AES256_GCM, AES128_CBC, AES256_CBC] {
            let xml = encrypted(Signed::Assertion, |e, _| {
                e.key_transport = transport.clone();
                e.content = content.into();
            });
            assert!(!xml.contains("<saml2:Assertion "), "not encrypted");
            let v = outcome(&xml).unwrap_or_else(|e| panic!("{transport:?} {content}: {e:?}"));
            assert_eq!(v.name_id, USER);
            assert_eq!(v.attributes.len(), 6);
        }
    }
}

#[test]
fn a_signature_on_the_response_over_the_ciphertext_or_on_both_suffices() {
    for signed in [Signed::Response, Signed::Both] {
        let v = outcome(&encrypted(signed, |_, _| {})).unwrap();
        assert_eq!(v.name_id, USER, "{signed:?}");
    }
}

#[test]
fn during_a_rotation_both_sp_keys_decrypt() {
    let mut cfg = config(false);
    cfg.decryption = Some(decryption_keys(&["sp-enc-other", "sp-enc"]));
    for cert in [
        sp_encryption_certificate(),
        other_sp_encryption_certificate(),
    ] {
        let xml = encrypted(Signed::Assertion, |e, _| e.certificate = cert);
        assert!(validate_xml(&xml, &cfg, ISSUED_AT).is_ok());
    }
}

#[test]
fn a_plain_assertion_still_signs_in_unless_the_org_requires_encryption() {
    let plain = Spec::okta(USER).build();
    assert!(validate_xml(&plain, &config(false), ISSUED_AT).is_ok());
    assert_eq!(
        validate_xml(&plain, &config(true), ISSUED_AT),
        Err(SamlError::EncryptedAssertionRequired)
    );
    let xml = encrypted(Signed::Assertion, |_, _| {});
    assert!(validate_xml(&xml, &config(true), ISSUED_AT).is_ok());
}

#[test]
fn without_loaded_keys_the_validator_asks_for_them_and_with_none_it_refuses() {
    let xml = encrypted(Signed::Assertion, |_, _| {});
    let mut cfg = config(false);
    cfg.decryption = None;
    assert_eq!(
        validate_xml(&xml, &cfg, ISSUED_AT),
        Err(SamlError::DecryptionKeysNeeded)
    );
    cfg.decryption = Some(Vec::new().into());
    assert_eq!(
        validate_xml(&xml, &cfg, ISSUED_AT),
        Err(SamlError::EncryptedAssertionUnsupported)
    );
}

fn retrieval_method() -> String {
    r##"<ds:RetrievalMethod URI="#_key1" Type="http://www.w3.org/2001/04/xmlenc#EncryptedKey"/>"##
        .to_string()
}

/// The bad set: each row changes one thing from a good encrypted response.
#[test]
fn each_bad_encrypted_response_is_refused_with_its_code() {
    type Change = Box<dyn Fn() -> String>;
    let good = || encrypted(Signed::Assertion, |_, _| {});
    let gcm_or_cbc =
        |content: &'static str| move |e: &mut Encryption, _: &mut Spec| e.content = content.into();
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "encrypted to another SP key",
            Box::new(|| {
                encrypted(Signed::Assertion, |e, _| {
                    e.certificate = other_sp_encryption_certificate()
                })
            }),
            "encrypted_assertion_invalid",
        ),
        (
            "flipped byte in the encrypted key",
            Box::new(move || flip_cipher_byte(&good(), Cipher::Key, 7)),
            "encrypted_assertion_invalid",
        ),
        (
            "flipped ciphertext byte (CBC, middle)",
            Box::new(move || {
                flip_cipher_byte(
                    &encrypted(Signed::Assertion, gcm_or_cbc(AES128_CBC)),
                    Cipher::Data,
                    200,
                )
            }),
            "encrypted_assertion_invalid",
        ),
        (
            "flipped ciphertext byte (GCM, middle)",
            Box::new(move || flip_cipher_byte(&good(), Cipher::Data, 200)),
            "encrypted_assertion_invalid",
        ),
        (
            "CBC padding error (length octet 0)",
            Box::new(|| {
                encrypted(Signed::Assertion, |e, _| {
                    e.content = AES256_CBC.into();
                    e.pad_byte = Some(0);
                })
            }),
            "encrypted_assertion_invalid",
        ),
        (
            "CBC padding error (length octet 17)",
            Box::new(|| {
                encrypted(Signed::Assertion, |e, _| {
                    e.content = AES128_CBC.into();
                    e.pad_byte = Some(17);
                })
            }),
            "encrypted_assertion_invalid",
        ),
        (
            "GCM tag error (last byte)",
            Box::new(move || flip_cipher_byte(&good(), Cipher::Data, 0)),
            "encrypted_assertion_invalid",
        ),
        (
            "decrypted assertion unsigned",
            Box::new(|| encrypted(Signed::Neither, |_, _| {})),
            "encrypted_assertion_invalid",
        ),
        (
            "decrypted assertion signed by another key",
            Box::new(|| encrypted(Signed::Assertion, |_, s| s.key = Some(other_key()))),
            "encrypted_assertion_invalid",
        ),
        (
            "decrypted assertion altered before encryption (digest)",
            Box::new(|| {
                let signed = Spec::okta(USER).build();
                let altered = signed.replacen(">Analyst<", ">Admin<", 1);
                encrypt_assertion_in(&altered, &Encryption::okta())
            }),
            "encrypted_assertion_invalid",
        ),
        (
            "an element beside the assertion in the plaintext",
            Box::new(|| {
                encrypted(Signed::Assertion, |e, _| {
                    e.plaintext_suffix = "<saml2:Issuer>http://evil</saml2:Issuer>".into()
                })
            }),
            "encrypted_assertion_invalid",
        ),
        (
            "Response signed over the ciphertext, ciphertext flipped",
            Box::new(|| {
                flip_cipher_byte(&encrypted(Signed::Response, |_, _| {}), Cipher::Data, 100)
            }),
            "encrypted_assertion_invalid",
        ),
        (
            "unknown content algorithm (3DES)",
            Box::new(|| {
                encrypted(Signed::Assertion, |e, _| {
                    e.content = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc".into()
                })
            }),
            "unsupported_encryption_algorithm",
        ),
        (
            "AES-192-GCM",
            Box::new(|| {
                encrypted(Signed::Assertion, |e, _| {
                    e.content = "http://www.w3.org/2009/xmlenc11#aes192-gcm".into()
                })
            }),
            "unsupported_encryption_algorithm",
        ),
        (
            "RSA PKCS#1 v1.5 key transport",
            Box::new(|| {
                encrypted(Signed::Assertion, |e, _| {
                    e.key_transport = KeyTransport::Raw(
                    r#"<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-1_5"/>"#.into(),
                )
                })
            }),
            "unsupported_key_transport",
        ),
        (
            "RSA-OAEP with SHA-256 but MGF1-SHA-1",
            Box::new(|| {
                encrypted(Signed::Assertion, |e, _| {
                    e.key_transport = KeyTransport::Raw(format!(
                        r#"<xenc:EncryptionMethod Algorithm="{RSA_OAEP}"><ds:DigestMethod xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Algorithm="{SHA256}"/></xenc:EncryptionMethod>"#
                    ))
                })
            }),
            "unsupported_key_transport",
        ),
        (
            "OAEP parameters (a label)",
            Box::new(|| {
                encrypted(Signed::Assertion, |e, _| {
                    e.key_transport = KeyTransport::Raw(format!(
                        r#"<xenc:EncryptionMethod Algorithm="{RSA_OAEP_MGF1P}"><xenc:OAEPparams>bGFiZWw=</xenc:OAEPparams></xenc:EncryptionMethod>"#
                    ))
                })
            }),
            "unsupported_key_transport",
        ),
        (
            "RetrievalMethod in the EncryptedData's KeyInfo",
            Box::new(|| {
                encrypted(Signed::Assertion, |e, _| {
                    e.key_info_extra = retrieval_method()
                })
            }),
            "retrieval_method_forbidden",
        ),
        (
            "external cipher data (CipherReference)",
            Box::new(|| {
                encrypted(Signed::Assertion, |e, _| {
                    e.cipher_data = Some(
                    r#"<xenc:CipherData><xenc:CipherReference URI="https://evil.example/ct"/></xenc:CipherData>"#.into(),
                )
                })
            }),
            "cipher_reference_forbidden",
        ),
        (
            "no CipherData",
            Box::new(|| {
                encrypted(Signed::Assertion, |e, _| {
                    e.cipher_data = Some(String::new())
                })
            }),
            "malformed_encrypted_assertion",
        ),
        (
            "a plain assertion beside the encrypted one",
            Box::new(move || {
                let plain = Spec::okta(USER).build();
                let start = plain.find("<saml2:Assertion ").unwrap();
                let end = plain.find("</saml2p:Response>").unwrap();
                good().replacen(
                    "</saml2p:Response>",
                    &format!("{}</saml2p:Response>", &plain[start..end]),
                    1,
                )
            }),
            "multiple_assertions",
        ),
        (
            "a DTD",
            Box::new(move || {
                good().replacen(
                    "<saml2p:Response",
                    "<!DOCTYPE r [<!ENTITY e \"x\">]><saml2p:Response",
                    1,
                )
            }),
            "dtd_forbidden",
        ),
        (
            "decrypted and signed, but expired (reported as for a plain one)",
            Box::new(|| {
                encrypted(Signed::Assertion, |_, s| {
                    s.not_on_or_after = ISSUED_AT - 600;
                })
            }),
            "expired",
        ),
    ];
    for (name, make, code) in cases {
        let xml = make();
        match outcome(&xml) {
            Ok(_) => panic!("{name}: accepted"),
            Err(e) => assert_eq!(e.code(), code, "{name}"),
        }
    }
}
