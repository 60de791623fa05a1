//! SAML 2.0: metadata in both directions, the ACS validator (XML-DSig here, cryptography from aws-lc-rs),
//! AuthnRequests for SP-initiated login, and attribute mapping.

pub mod attributes;
pub mod authn_request;
pub mod c14n;
#[cfg(any(test, feature = "test-idp"))]
pub mod c14n_oracle;
pub mod certificate;
pub mod error;
pub mod expiry;
pub mod key_cache;
pub mod keys;
pub mod limits;
pub mod metadata;
pub mod sp_keys;
pub mod validate;
pub mod verify;
pub mod xmlenc;

#[cfg(any(test, feature = "test-idp"))]
pub mod fixtures;
#[cfg(any(test, feature = "test-idp"))]
pub mod test_encrypt;
#[cfg(any(test, feature = "test-idp"))]
pub mod test_idp;

#[cfg(test)]
mod algorithm_tests;
#[cfg(test)]
pub(crate) mod encryption_tests;
#[cfg(test)]
mod hardening_tests;
#[cfg(test)]
mod keys_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod verify_tests;
