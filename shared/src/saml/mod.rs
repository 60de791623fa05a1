//! SAML 2.0: metadata in both directions for now; the ACS validator arrives with the SAML issue.

pub mod metadata;
