//! IdP certificates as sign-in uses them: the corpus Okta certificate, garbage, and unusable
//! certificates next to a good one (issue 9, finding 7).

use super::error::SamlError;
use super::verify::IdpKeys;

#[test]
fn the_corpus_okta_certificate_yields_an_rsa_key() {
    let xml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ssoready/assertions/okta/metadata.xml"
    ))
    .unwrap();
    let idp = super::metadata::parse_idp_metadata(&xml).unwrap();
    let keys = IdpKeys::from_certificates(&idp.certificates).unwrap();
    assert_eq!(keys.len(), 1);
}

#[test]
fn garbage_certificates_are_refused() {
    assert!(matches!(
        IdpKeys::from_certificates(&["bm90IGEgY2VydA==".into()]),
        Err(SamlError::BadIdpCertificate)
    ));
}

fn unusable(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/certificates/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .to_string()
}

fn org_with(certificates: Vec<String>) -> crate::org::Org {
    use super::test_idp::{BASE_URL, IDP_ENTITY_ID, ORG};
    let mut org = crate::org::Org::new(ORG, BASE_URL, 0);
    org.idp = Some(crate::org::IdpConfig {
        entity_id: IDP_ENTITY_ID.into(),
        sso_url: None,
        certificates,
    });
    org
}

#[test]
fn an_unusable_certificate_next_to_a_good_one_is_skipped_and_sign_in_still_works() {
    use super::test_idp::{idp_certificate, read_fixture, ISSUED_AT};
    use super::validate::{validate_xml, SamlConfig};
    let xml = String::from_utf8(read_fixture("okta-assertion-signed/response.xml")).unwrap();
    let org = org_with(vec![
        unusable("ec-p521.b64"),
        unusable("ed25519.b64"),
        unusable("rsa512.b64"),
        unusable("rsa1024-expired.b64"),
        "bm90IGEgY2VydA==".into(),
        idp_certificate(),
    ]);
    let cfg = SamlConfig::for_org(&org).unwrap();
    assert_eq!(cfg.keys.len(), 1);
    assert!(validate_xml(&xml, &cfg, ISSUED_AT).is_ok());
}

#[test]
fn only_weak_or_unsupported_certificates_sign_nobody_in() {
    use super::validate::SamlConfig;
    for cert in [
        "ec-p521.b64",
        "ed25519.b64",
        "rsa512.b64",
        "rsa1024-expired.b64",
    ] {
        let org = org_with(vec![unusable(cert)]);
        assert!(
            matches!(SamlConfig::for_org(&org), Err(SamlError::BadIdpCertificate)),
            "{cert}"
        );
    }
}
