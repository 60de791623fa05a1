//! Differential fuzzing of exclusive C14N: the linear canonicalizer must produce, on every
//! element of any document, exactly the bytes of the straightforward one it replaced
//! (`shared::saml::c14n_oracle`, test-only), for a few PrefixLists. Both refuse absurd nesting.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::saml::c14n::{canonicalize, InclusivePrefixes};
use shared::saml::c14n_oracle::canonicalize_oracle;

const LISTS: [&str; 4] = ["", "#default", "a b", "xs xsi #default xml"];

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return;
    };
    for apex in doc.descendants().filter(|n| n.is_element()).take(64) {
        let exclude = apex.first_element_child().map(|c| c.id());
        for list in LISTS {
            let prefixes = InclusivePrefixes::parse(list).expect("fixed list");
            let tokens: Vec<&str> = list.split_whitespace().collect();
            let (mut new, mut old) = (Vec::new(), Vec::new());
            let a = canonicalize(apex, exclude, &prefixes, &mut new);
            let b = canonicalize_oracle(apex, exclude, &tokens, &mut old);
            if a.is_ok() && b.is_ok() {
                assert_eq!(new, old, "{list:?}");
            }
        }
    }
});
