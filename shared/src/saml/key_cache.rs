//! Parsed IdP keys per warm Lambda, keyed by organization and checked against the certificates
//! the organization has *now*.
//!
//! The org itself is read fresh on every ACS request (docs/decisions.md, "ACS round trips": a
//! removed key must stop working at once, issue 9 finding 8). What is cached is only the work
//! derived from its certificates (base64, X.509, key parsing): an entry is used only when the
//! org's current certificate list is exactly the one it was built from, so a `set-idp` that
//! adds, removes or rotates a certificate invalidates it on the very next request, with no TTL and
//! no message between Lambdas. Comparing the lists costs a memcmp of a few KB; parsing them costs
//! tens of microseconds per certificate.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};

use super::error::SamlError;
use super::verify::IdpKeys;

/// Organizations whose keys one warm Lambda keeps. Past this, the cache starts over: it only
/// saves work, and a bound keeps memory bounded however many orgs sign in.
pub const MAX_ORGS: usize = 1024;

struct Entry {
    certificates: Vec<String>,
    keys: IdpKeys,
}

/// Parsed keys by org name.
pub struct KeyCache {
    capacity: usize,
    entries: Mutex<HashMap<String, Entry>>,
}

impl KeyCache {
    pub fn new(capacity: usize) -> Self {
        KeyCache {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic elsewhere while holding the lock leaves a map that is still consistent (every
        // write is one insert or one clear): keep using it rather than failing every sign-in.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The keys of `org`'s `certificates`: cached if they are the ones last seen for `org`,
    /// parsed (and remembered) otherwise. Unusable certificates are not remembered: the error
    /// comes back on every call, as it would without a cache.
    pub fn keys(&self, org: &str, certificates: &[String]) -> Result<IdpKeys, SamlError> {
        if let Some(e) = self.entries().get(org) {
            if e.certificates == certificates {
                return Ok(e.keys.clone());
            }
        }
        // Parsed without the lock held: two first requests may both parse; the last one stays.
        let keys = IdpKeys::from_certificates(certificates)?;
        let mut entries = self.entries();
        if entries.len() >= self.capacity && !entries.contains_key(org) {
            entries.clear();
        }
        entries.insert(
            org.to_string(),
            Entry {
                certificates: certificates.to_vec(),
                keys: keys.clone(),
            },
        );
        Ok(keys)
    }

    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

static KEYS: LazyLock<KeyCache> = LazyLock::new(|| KeyCache::new(MAX_ORGS));

/// [`KeyCache::keys`] on this process's cache.
pub fn keys_for(org: &str, certificates: &[String]) -> Result<IdpKeys, SamlError> {
    KEYS.keys(org, certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/saml/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .trim()
            .to_string()
    }
    fn idp_certificate() -> String {
        fixture("idp-test-cert.b64")
    }
    fn other_certificate() -> String {
        fixture("other-test-cert.b64")
    }

    #[test]
    fn the_same_certificates_give_the_same_parsed_keys() {
        let cache = KeyCache::new(4);
        let a = cache.keys("acme", &[idp_certificate()]).unwrap();
        let b = cache.keys("acme", &[idp_certificate()]).unwrap();
        assert!(a.same_as(&b));
    }

    #[test]
    fn a_changed_certificate_list_is_parsed_again_at_once() {
        let cache = KeyCache::new(4);
        let before = cache.keys("acme", &[idp_certificate()]).unwrap();
        let rotated = cache
            .keys("acme", &[idp_certificate(), other_certificate()])
            .unwrap();
        assert!(!before.same_as(&rotated));
        assert_eq!(rotated.len(), 2);
        let removed = cache.keys("acme", &[other_certificate()]).unwrap();
        assert!(!removed.same_as(&rotated));
        assert_eq!(removed.len(), 1);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn orgs_do_not_share_entries_even_with_the_same_certificates() {
        let cache = KeyCache::new(4);
        let acme = cache.keys("acme", &[idp_certificate()]).unwrap();
        let globex = cache.keys("globex", &[idp_certificate()]).unwrap();
        assert!(!acme.same_as(&globex));
        assert!(acme.same_as(&cache.keys("acme", &[idp_certificate()]).unwrap()));
    }

    #[test]
    fn an_unusable_certificate_list_is_refused_every_time_and_not_remembered() {
        let cache = KeyCache::new(4);
        for _ in 0..2 {
            assert!(matches!(
                cache.keys("acme", &["bm90IGEgY2VydA==".into()]),
                Err(SamlError::BadIdpCertificate)
            ));
        }
        assert!(cache.is_empty());
    }

    #[test]
    fn the_cache_never_holds_more_orgs_than_its_capacity() {
        let cache = KeyCache::new(3);
        for i in 0..10 {
            cache
                .keys(&format!("org{i}"), &[idp_certificate()])
                .unwrap();
            assert!(cache.len() <= 3);
        }
        assert!(!cache.is_empty());
    }
}
