//! Secrets we hand out (SCIM bearer tokens, session tokens, OIDC codes and tokens) and how we keep them:
//! 256 random bits from the OS, shown once, stored only as a SHA-256 hash, compared in constant time.
//!
//! A plain (unsalted, fast) hash is enough here: the input has 256 bits of entropy, so there is
//! nothing to brute-force; what matters is that a leaked table does not leak usable tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A freshly minted secret. `Debug` never prints it, so it cannot end up in a log by accident.
pub struct Secret(String);

impl Secret {
    /// `prefix` names the kind of token (e.g. `scim`), which helps secret scanners and humans.
    pub fn generate(prefix: &str) -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Secret(format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The value to show once, to the one party that must hold it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Hex SHA-256 of a token: what the store keeps. The field is private: a `TokenHash` is made by
/// hashing a token ([`TokenHash::of`]) or by naming a hash the store holds
/// ([`TokenHash::from_stored`]), so a raw token can never pass for its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    /// A hash read back from the store (to compare a presented token against).
    pub fn from_stored(hex: &str) -> Self {
        TokenHash(hex.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex string, to store.
    pub fn into_string(self) -> String {
        self.0
    }

    pub fn of(token: &str) -> Self {
        let digest = Sha256::digest(token.as_bytes());
        let mut hex = String::with_capacity(64);
        for b in digest {
            hex.push_str(&format!("{b:02x}"));
        }
        TokenHash(hex)
    }

    /// Does `presented` hash to this? Constant time in the content of both.
    pub fn matches(&self, presented: &str) -> bool {
        let candidate = TokenHash::of(presented);
        candidate.0.as_bytes().ct_eq(self.0.as_bytes()).into()
    }
}

/// 128+ random bits as lowercase hex, for identifiers that must not be guessable (SAML request IDs).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_matches_its_own_hash_and_no_other() {
        let a = Secret::generate("scim");
        let b = Secret::generate("scim");
        assert!(a.expose().starts_with("scim_"));
        assert_ne!(a.expose(), b.expose());
        assert!(a.hash().matches(a.expose()));
        assert!(!a.hash().matches(b.expose()));
        assert!(!a.hash().matches(""));
    }

    #[test]
    fn a_secret_carries_256_bits() {
        let s = Secret::generate("x");
        let raw = URL_SAFE_NO_PAD.decode(&s.expose()[2..]).unwrap();
        assert_eq!(raw.len(), 32);
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let s = Secret::generate("scim");
        assert!(!format!("{s:?}").contains(&s.expose()[5..]));
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            TokenHash::of("abc").into_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
