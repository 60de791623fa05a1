//! The SAML test fixtures on disk (shared/tests/fixtures/saml), for the test IdP and the test
//! encryptor alike.

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/saml");

pub fn read_fixture(rel: &str) -> Vec<u8> {
    let path = format!("{FIXTURES}/{rel}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
