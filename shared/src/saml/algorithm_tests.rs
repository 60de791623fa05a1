//! The ACS validator with every signature algorithm we verify (issue 13, item 1): ECDSA P-256 and
//! P-384 and RSA with SHA-384/512 sign in; tampering, a mislabelled algorithm, SHA-1 and a key of
//! the wrong type are refused. Signatures from the test IdP (AWS-LC); the xmlsec-signed ones are
//! in tests/integration.

use super::keys::{SignatureAlgorithm, ECDSA_SHA256, ECDSA_SHA384, RSA_SHA256};
use super::test_idp::*;
use super::validate::*;
use super::verify::IdpKeys;

const USER: &str = "ada@example.com";

fn config(certificates: &[String]) -> SamlConfig {
    SamlConfig {
        idp_entity_id: IDP_ENTITY_ID.into(),
        keys: IdpKeys::from_certificates(certificates).unwrap(),
        sp_entity_id: SP_ENTITY_ID.into(),
        acs_url: ACS_URL.into(),
        clock_skew: 180,
        allow_idp_initiated: true,
        require_encrypted: false,
        decryption: None,
    }
}

fn signed(key: SigningKey, signed: Signed, f: impl FnOnce(&mut Spec)) -> String {
    let mut s = Spec::okta(USER);
    s.key = Some(key);
    s.signed = signed;
    f(&mut s);
    s.build()
}

fn outcome(xml: &str, certificates: &[String]) -> Result<String, &'static str> {
    validate_xml(xml, &config(certificates), ISSUED_AT)
        .map(|v| v.name_id)
        .map_err(|e| e.code())
}

#[test]
fn responses_signed_with_ecdsa_p256_or_p384_sign_in_in_every_okta_shape() {
    for (key, cert, uri) in [
        (idp_ec_p256_key(), idp_ec_p256_certificate(), ECDSA_SHA256),
        (idp_ec_p384_key(), idp_ec_p384_certificate(), ECDSA_SHA384),
    ] {
        for shape in [Signed::Assertion, Signed::Response, Signed::Both] {
            let xml = signed(key.clone(), shape, |_| {});
            assert!(xml.contains(uri), "{uri}");
            assert_eq!(
                outcome(&xml, &[cert.clone()]),
                Ok(USER.into()),
                "{uri} {shape:?}"
            );
            // Next to an RSA certificate too (a rotation from RSA to ECDSA).
            assert_eq!(
                outcome(&xml, &[idp_certificate(), cert.clone()]),
                Ok(USER.into())
            );
        }
    }
}

#[test]
fn rsa_sha384_and_rsa_sha512_sign_in() {
    for alg in [SignatureAlgorithm::RsaSha384, SignatureAlgorithm::RsaSha512] {
        let xml = signed(idp_key(), Signed::Assertion, |s| s.algorithm = Some(alg));
        assert!(xml.contains(alg.uri()));
        assert_eq!(
            outcome(&xml, &[idp_certificate()]),
            Ok(USER.into()),
            "{alg:?}"
        );
    }
}

#[test]
fn a_tampered_ecdsa_signed_response_is_refused() {
    let cert = [idp_ec_p256_certificate()];
    let xml = signed(idp_ec_p256_key(), Signed::Assertion, |_| {});
    let eve = xml.replacen(
        ">ada@example.com</saml2:NameID>",
        ">eve@example.com</saml2:NameID>",
        1,
    );
    assert_eq!(outcome(&eve, &cert), Err("digest_mismatch"));
    // A changed SignatureValue: one base64 character of r.
    let at = xml.find("<ds:SignatureValue>").unwrap() + "<ds:SignatureValue>".len() + 5;
    let c = if &xml[at..at + 1] == "A" { "B" } else { "A" };
    let flipped = format!("{}{c}{}", &xml[..at], &xml[at + 1..]);
    assert_eq!(outcome(&flipped, &cert), Err("signature_invalid"));
}

#[test]
fn an_ecdsa_response_is_refused_by_an_org_that_trusts_only_another_key() {
    let xml = signed(idp_ec_p256_key(), Signed::Assertion, |_| {});
    assert_eq!(
        outcome(&xml, &[idp_certificate()]),
        Err("signature_invalid")
    );
    assert_eq!(
        outcome(&xml, &[idp_ec_p384_certificate()]),
        Err("signature_invalid")
    );
}

#[test]
fn a_signature_labelled_with_another_algorithm_than_it_was_made_with_is_refused() {
    // P-384 signature labelled ecdsa-sha256 (the curve fixes the hash), RSA labelled ECDSA, and
    // an ECDSA signature labelled rsa-sha256.
    let cases = [
        (
            idp_ec_p384_key(),
            idp_ec_p384_certificate(),
            SignatureAlgorithm::EcdsaP256Sha256,
        ),
        (
            idp_key(),
            idp_certificate(),
            SignatureAlgorithm::EcdsaP256Sha256,
        ),
        (
            idp_ec_p256_key(),
            idp_ec_p256_certificate(),
            SignatureAlgorithm::RsaSha256,
        ),
    ];
    for (key, cert, label) in cases {
        let xml = signed(key, Signed::Assertion, |s| s.algorithm = Some(label));
        assert_eq!(
            outcome(&xml, &[cert]),
            Err("signature_invalid"),
            "{label:?}"
        );
    }
    assert!(signed(idp_ec_p256_key(), Signed::Assertion, |s| {
        s.algorithm = Some(SignatureAlgorithm::RsaSha256)
    })
    .contains(RSA_SHA256));
}

#[test]
fn ecdsa_sha1_is_refused_before_any_key_is_tried() {
    let xml = signed(idp_ec_p256_key(), Signed::Assertion, |_| {}).replacen(
        ECDSA_SHA256,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
        1,
    );
    assert_eq!(
        outcome(&xml, &[idp_ec_p256_certificate()]),
        Err("unsupported_signature_algorithm")
    );
}

#[test]
fn an_expired_idp_certificate_still_verifies() {
    // Okta keeps signing with an expired certificate until the admin rotates it: expiry is
    // warned about (ssoctl, the daily check), never a sign-in outage.
    let expired = String::from_utf8(read_fixture("idp-test-cert-expired.b64")).unwrap();
    let xml = signed(idp_key(), Signed::Assertion, |_| {});
    assert_eq!(
        outcome(&xml, &[expired.trim().to_string()]),
        Ok(USER.into())
    );
}
