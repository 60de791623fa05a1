//! `userName`: the one place that says which strings are user names and when two are the same.
//!
//! RFC 7643 §4.1.1 makes `userName` unique per service provider and `caseExact: false`, without
//! saying which case mapping applies. We choose **ASCII-only case-insensitivity**: the 26 ASCII
//! letters fold (`A` = `a`), every other character compares exactly. Full Unicode folding
//! (`str::to_lowercase`) maps characters from other blocks onto ASCII — KELVIN SIGN U+212A
//! lowercases to `k` — so a different string (which Okta or another IdP may treat as another
//! user) would collide with, find, or sign in as `kelly@x`. The alternative, the RFC 8265 §3
//! UsernameCaseMapped profile (width mapping, full case mapping, NFC, bidi rule), needs the PRECIS
//! derived-property tables and still equates strings an IdP may keep apart; ASCII-only folding is
//! what every name Okta sends needs (logins are email-shaped) and cannot equate two strings that
//! differ outside ASCII.
//!
//! Look-alikes are refused rather than kept as other users: a name must be unchanged by NFKC
//! (the PRECIS IdentifierClass, RFC 8264 §4.2, disallows compatibility-equivalent characters:
//! `Ｋelly`, `\u{212A}elly`, `ﬁ@x` are refused), must not start or end with whitespace, and must
//! contain no control, line-separator or invisible formatting character (also outside the
//! IdentifierClass). Nothing is trimmed: a name is accepted as sent or refused, so what Okta
//! stores and what we store stay equal.
//!
//! Names are at most [`MAX_BYTES`] bytes of UTF-8: the uniqueness claim is a DynamoDB sort key
//! (≤ 1024 bytes, `UN#` + the name) and the index key a partition key (≤ 2048 bytes).

use std::fmt;

use icu_normalizer::ComposingNormalizerBorrowed;

/// Largest userName we accept, in bytes of UTF-8 (Okta allows 100 characters: ≤ 400 bytes).
pub const MAX_BYTES: usize = 512;

/// A valid userName, as given (case preserved), with its folded key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UserName {
    raw: String,
    key: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UserNameError {
    #[error("userName is empty")]
    Empty,
    #[error("userName is {0} bytes long; at most {MAX_BYTES} are accepted")]
    TooLong(usize),
    #[error("userName starts or ends with whitespace")]
    SurroundingWhitespace,
    #[error("userName contains a control, line-separator or invisible formatting character")]
    ForbiddenCharacter,
    #[error("userName changes under Unicode NFKC normalization (compatibility or look-alike characters); send its NFKC form")]
    NotNfkc,
}

/// The characters no user name may contain: controls (Cc), line and paragraph separators (Zl, Zp)
/// and the invisible format characters (Cf: soft hyphen, zero-width and bidi controls, BOM) that
/// make two different names look identical.
fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// The folded form of a name: ASCII letters lowercased, everything else as is. Also applied to
/// names stored before these rules (store keys), so it must stay a pure function of the string.
pub fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl UserName {
    pub fn parse(s: &str) -> Result<UserName, UserNameError> {
        if s.is_empty() {
            return Err(UserNameError::Empty);
        }
        if s.len() > MAX_BYTES {
            return Err(UserNameError::TooLong(s.len()));
        }
        let (first, last) = (s.chars().next(), s.chars().next_back());
        if first.is_some_and(char::is_whitespace) || last.is_some_and(char::is_whitespace) {
            return Err(UserNameError::SurroundingWhitespace);
        }
        if s.chars().any(forbidden) {
            return Err(UserNameError::ForbiddenCharacter);
        }
        if !ComposingNormalizerBorrowed::new_nfkc().is_normalized(s) {
            return Err(UserNameError::NotNfkc);
        }
        Ok(UserName {
            raw: s.to_string(),
            key: fold(s),
        })
    }

    /// A name already stored, possibly before the current rules (so one they may now refuse):
    /// only for re-saving a user's unchanged userName. Its key is the same [`fold`].
    pub(crate) fn stored(s: &str) -> UserName {
        UserName {
            raw: s.to_string(),
            key: fold(s),
        }
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The folded form: equal keys ⇔ the same user (uniqueness claim and index keys).
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn into_string(self) -> String {
        self.raw
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_letters_fold_and_nothing_else_does() {
        let a = UserName::parse("Kelly.O'Hara@Example.COM").unwrap();
        assert_eq!(a.as_str(), "Kelly.O'Hara@Example.COM");
        assert_eq!(a.key(), "kelly.o'hara@example.com");
        // Non-ASCII letters keep their case: Å and å are different characters to us.
        assert_eq!(UserName::parse("Åsa@x").unwrap().key(), "Åsa@x");
        assert_ne!(
            UserName::parse("Åsa@x").unwrap().key(),
            UserName::parse("åsa@x").unwrap().key()
        );
        // Dotted capital I lowercases to two characters in Unicode; to us it is just itself.
        assert_eq!(UserName::parse("İnci@x").unwrap().key(), "İnci@x");
    }

    #[test]
    fn kelvin_sign_and_other_compatibility_characters_are_refused() {
        for s in [
            "\u{212A}elly@x",   // KELVIN SIGN (NFKC: K)
            "\u{FF2B}elly@x",   // FULLWIDTH K
            "o\u{FB01}ce@x",    // ﬁ ligature
            "kelly\u{3000}x@x", // IDEOGRAPHIC SPACE (NFKC: U+0020)
            "e\u{0301}mile@x",  // e + combining acute is not NFC (NFKC: é)
            "\u{2126}mega@x",   // OHM SIGN (NFKC: Ω)
        ] {
            assert_eq!(UserName::parse(s), Err(UserNameError::NotNfkc), "{s:?}");
        }
        assert!(
            UserName::parse("\u{00E9}mile@x").is_ok(),
            "precomposed é is NFKC"
        );
    }

    #[test]
    fn surrounding_whitespace_and_invisible_characters_are_refused_not_trimmed() {
        for s in [
            " kelly@x",
            "kelly@x ",
            "kelly@x\u{2028}",
            "\u{3000}kelly@x",
            "\tk@x",
        ] {
            assert!(UserName::parse(s).is_err(), "{s:?}");
        }
        for s in [
            "kel\u{200B}ly@x",
            "kelly@x\u{202E}",
            "kel\u{00AD}ly@x",
            "kel\u{0000}ly@x",
            "kel\nly@x",
            "a\u{FEFF}b",
        ] {
            assert_eq!(
                UserName::parse(s),
                Err(UserNameError::ForbiddenCharacter),
                "{s:?}"
            );
        }
        assert!(
            UserName::parse("Ada Lovelace").is_ok(),
            "inner spaces are fine"
        );
        assert_eq!(UserName::parse(""), Err(UserNameError::Empty));
    }

    #[test]
    fn names_over_the_byte_limit_are_refused() {
        assert!(UserName::parse(&"a".repeat(MAX_BYTES)).is_ok());
        assert_eq!(
            UserName::parse(&"a".repeat(MAX_BYTES + 1)),
            Err(UserNameError::TooLong(MAX_BYTES + 1))
        );
        // Bytes, not characters: 200 three-byte characters are 600 bytes.
        assert!(UserName::parse(&"日".repeat(200)).is_err());
    }
}
