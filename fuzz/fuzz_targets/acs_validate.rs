//! Fuzzes the ACS validator on arbitrary XML (and, through the base64 entry point, arbitrary bytes),
//! with the test IdP's key configured and the clock at the fixtures' instant. Any panic, overflow or
//! hang is a bug: bad input must come back as a `SamlError`.
//! `cargo +nightly fuzz run acs_validate fuzz/corpus/acs_validate` (seed corpus: the fixtures).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shared::saml::test_idp::{idp_certificate, ACS_URL, IDP_ENTITY_ID, ISSUED_AT, SP_ENTITY_ID};
use shared::saml::validate::{validate, validate_xml, AcsInput, SamlConfig};
use shared::saml::verify::IdpKeys;

fn config() -> &'static SamlConfig {
    static CFG: OnceLock<SamlConfig> = OnceLock::new();
    CFG.get_or_init(|| SamlConfig {
        idp_entity_id: IDP_ENTITY_ID.into(),
        keys: IdpKeys::from_certificates(&[idp_certificate()]).expect("test certificate"),
        sp_entity_id: SP_ENTITY_ID.into(),
        acs_url: ACS_URL.into(),
        clock_skew: 180,
        allow_idp_initiated: true,
        require_encrypted: false,
        decryption: None,
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(xml) = std::str::from_utf8(data) {
        let _ = validate_xml(xml, config(), ISSUED_AT);
        let _ = validate(&AcsInput { saml_response: xml }, config(), ISSUED_AT);
    }
});
