//! Structural limits on a posted SAML document, checked in one linear pass of a streaming XML
//! tokenizer (`xmlparser`, by roxmltree's author) *before* roxmltree builds its DOM.
//!
//! Why before parsing: roxmltree gives every element that declares a namespace its own copy of the
//! bindings in scope, checking each inherited one against the element's own declarations — work
//! quadratic in the bindings in scope, for every such element. Measured on a debug build: 34 KB
//! (2,000 declarations on the root, 200 children declaring one each) took 19 s to parse. After
//! this check, parsing, the validator's passes and exclusive C14N are all linear in the document.
//!
//! The limits sit far above what IdPs send. The SSOReady corpus (ADFS, Google, JumpCloud,
//! Keycloak, Okta, Ping) and our Okta-shaped fixtures have at most 4 declarations on an element,
//! 5 along any path, 5 attributes on an element and 10 levels; an Okta response has about 45
//! elements plus one per attribute value, so 4,096 elements is ~4,000 group memberships — more
//! than fit in the ACS body limit (docs/operations.md, "Limits and scale").

use xmlparser::{ElementEnd, Token, Tokenizer};

use super::c14n::{MAX_ATTRIBUTES, MAX_DEPTH, MAX_NAMESPACES};
use super::error::SamlError;

/// The ACS body limit unless the deployment sets `ACS_BODY_LIMIT_KIB` ([`crate::Config`]).
/// SAML responses from Okta are a few KB; 32 KiB fits an Okta response with 20 profile
/// attributes and 81 group memberships of 32 characters, both signatures (measured:
/// `the_largest_okta_response_under_the_body_limit_validates`). Every byte past what real
/// responses need is attacker budget: the body bounds the work done before a signature is known
/// to be good, and the worst post under 32 KiB costs about as much as N normal sign-ins
/// (docs/decisions.md, "Measured: the ACS cost"; the `saml_worst` benchmark).
pub const DEFAULT_ACS_BODY_LIMIT: usize = 32 * 1024;

/// The largest body limit a deployment may set (`crate::config::ACS_BODY_LIMIT_KIB_RANGE`'s end):
/// what bounds a decrypted assertion, which is never longer than the ciphertext the body held.
pub const ACS_BODY_LIMIT: usize = 128 * 1024;

/// Elements in the whole document.
pub const MAX_ELEMENTS: usize = 4096;
/// Markup items (elements, attributes, namespace declarations) a document may hold beyond one
/// per [`BYTES_PER_MARKUP`] bytes: room for small documents (metadata, C14N vectors).
pub const MARKUP_ALLOWANCE: usize = 256;
/// Bytes of document per markup item, at the least. Every item is work for the parser and for
/// C14N (a name lookup, a sort), while text is only copied and escaped: a post packed with items
/// costs the most per byte. Real responses carry one item per 44 bytes or more (the SAML fixtures,
/// every IdP; measured by `markup_density_of_every_saml_fixture_is_far_under_the_cap`), an Okta
/// `groups` value with a one-character name one per 39 bytes; a cap of one per 16 leaves room,
/// and scales the element budget with the ACS body limit (24 KiB of XML under 32 KiB posted:
/// 1,792 items) instead of one fixed cap sized for the largest limit.
pub const BYTES_PER_MARKUP: usize = 16;

/// The markup items a document of `len` bytes may hold.
pub fn markup_budget(len: usize) -> usize {
    MARKUP_ALLOWANCE + len / BYTES_PER_MARKUP
}
/// Namespace declarations on an element and all its ancestors: an upper bound on the bindings in
/// scope there (the same cap exclusive C14N applies to them).
pub const MAX_NAMESPACES_ON_PATH: usize = MAX_NAMESPACES;
/// The sum, over elements that declare a namespace, of the square of the declarations on their
/// path: roxmltree's namespace work. An Okta response with 1,000 group values costs 16,000
/// (each value declares `xsi` under 3 bindings), more values than fit in the largest body limit
/// a deployment may set; the cap allows about that much and no more.
pub const MAX_NAMESPACE_WORK: usize = 16 * 1024;

/// Refuses documents past the limits with [`SamlError::ResponseTooComplex`], and text the
/// tokenizer cannot read with [`SamlError::MalformedResponse`]. A DTD ends the scan: roxmltree
/// then refuses it (`dtd_forbidden`) without reading further.
pub fn check(xml: &str) -> Result<(), SamlError> {
    // Declarations on the path to each open element, innermost last. At most MAX_DEPTH + 1 long.
    let mut path: Vec<usize> = Vec::with_capacity(16);
    let (mut elements, mut work) = (0usize, 0usize);
    let (mut attributes, mut declared) = (0usize, 0usize);
    let (mut markup, budget) = (0usize, markup_budget(xml.len()));
    for token in Tokenizer::from(xml) {
        match token.map_err(|_| SamlError::MalformedResponse)? {
            Token::ElementStart { .. } => {
                elements += 1;
                markup += 1;
                if elements > MAX_ELEMENTS || path.len() > MAX_DEPTH || markup > budget {
                    return Err(SamlError::ResponseTooComplex);
                }
                (attributes, declared) = (0, 0);
            }
            Token::Attribute { prefix, local, .. } => {
                // `xmlns:p="..."` or `xmlns="..."` (XML Namespaces §3); anything else is an attribute.
                if prefix.as_str() == "xmlns" || (prefix.is_empty() && local.as_str() == "xmlns") {
                    declared += 1;
                } else {
                    attributes += 1;
                }
                markup += 1;
                if attributes > MAX_ATTRIBUTES || declared > MAX_NAMESPACES || markup > budget {
                    return Err(SamlError::ResponseTooComplex);
                }
            }
            Token::ElementEnd { end, .. } => match end {
                ElementEnd::Open | ElementEnd::Empty => {
                    let on_path = path.last().copied().unwrap_or(0) + declared;
                    if declared > 0 {
                        work += on_path * on_path;
                    }
                    if on_path > MAX_NAMESPACES_ON_PATH || work > MAX_NAMESPACE_WORK {
                        return Err(SamlError::ResponseTooComplex);
                    }
                    if matches!(end, ElementEnd::Open) {
                        path.push(on_path);
                    }
                    declared = 0;
                }
                ElementEnd::Close(..) => {
                    path.pop();
                }
            },
            Token::DtdStart { .. } => return Ok(()),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth))
    }

    #[test]
    fn nesting_up_to_the_depth_cap_passes_and_one_level_more_is_refused() {
        assert_eq!(check(&nested(MAX_DEPTH + 1)), Ok(()));
        assert_eq!(
            check(&nested(MAX_DEPTH + 2)),
            Err(SamlError::ResponseTooComplex)
        );
    }

    #[test]
    fn more_elements_than_the_cap_are_refused() {
        // Padded with text so that the density cap is not what refuses it.
        let doc = |n: usize| {
            let text = "t".repeat(n * BYTES_PER_MARKUP);
            format!("<r>{}{text}</r>", "<e/>".repeat(n - 1))
        };
        assert_eq!(check(&doc(MAX_ELEMENTS)), Ok(()));
        assert_eq!(
            check(&doc(MAX_ELEMENTS + 1)),
            Err(SamlError::ResponseTooComplex)
        );
    }

    #[test]
    fn more_attributes_on_an_element_than_the_cap_are_refused() {
        let doc = |n: usize| {
            let attrs: String = (0..n).map(|i| format!(r#" a{i}="v""#)).collect();
            format!("<r{attrs}/>")
        };
        assert_eq!(check(&doc(MAX_ATTRIBUTES)), Ok(()));
        assert_eq!(
            check(&doc(MAX_ATTRIBUTES + 1)),
            Err(SamlError::ResponseTooComplex)
        );
    }

    #[test]
    fn namespace_declarations_are_capped_per_element_and_along_a_path() {
        let decls = |n: usize, tag: &str| -> String {
            (0..n).map(|i| format!(r#" xmlns:{tag}{i}="u""#)).collect()
        };
        let one = |n: usize| format!("<r{}/>", decls(n, "p"));
        assert_eq!(check(&one(MAX_NAMESPACES)), Ok(()));
        assert_eq!(
            check(&one(MAX_NAMESPACES + 1)),
            Err(SamlError::ResponseTooComplex)
        );
        // Split over a parent and a child: the child has them all in scope.
        let half = MAX_NAMESPACES / 2;
        let split = |extra: usize| {
            format!(
                r#"<r{}><c{} xmlns="d"/></r>"#,
                decls(half, "p"),
                decls(half - 1 + extra, "q")
            )
        };
        assert_eq!(check(&split(0)), Ok(()));
        assert_eq!(check(&split(1)), Err(SamlError::ResponseTooComplex));
    }

    /// The shape that made roxmltree quadratic: many elements each declaring one namespace under
    /// a parent with many bindings in scope.
    #[test]
    fn many_declaring_elements_under_many_bindings_are_refused() {
        let m = MAX_NAMESPACES_ON_PATH;
        let root: String = (0..m - 1).map(|i| format!(r#" xmlns:p{i}="u""#)).collect();
        // Text padding keeps the density under the markup cap: the namespace work refuses.
        let doc = |n: usize| {
            let pad = "t".repeat(n * 2 * BYTES_PER_MARKUP);
            format!(r#"<r{root}>{}{pad}</r>"#, r#"<c xmlns:z="v"/>"#.repeat(n))
        };
        // Each child costs m², the root (m - 1)².
        let fits = (MAX_NAMESPACE_WORK - (m - 1) * (m - 1)) / (m * m);
        assert_eq!(check(&doc(fits)), Ok(()));
        assert_eq!(check(&doc(fits + 1)), Err(SamlError::ResponseTooComplex));
    }

    /// The caps sit just above what real responses use (at most 6 attributes on an element,
    /// ADFS's Response; 5 namespace declarations along a path, Keycloak): every attribute and
    /// binding in scope is work for the parser and C14N on each element, so looser caps let a
    /// crafted post cost more per byte than a real one (docs/decisions.md, "Measured: the ACS cost").
    #[test]
    fn nine_attributes_on_one_element_are_more_than_any_idp_sends_and_are_refused() {
        let attrs: String = (0..9).map(|i| format!(r#" a{i}="v""#)).collect();
        assert_eq!(
            check(&format!("<r{attrs}/>")),
            Err(SamlError::ResponseTooComplex)
        );
        let six: String = (0..6).map(|i| format!(r#" a{i}="v""#)).collect();
        assert_eq!(check(&format!("<r{six}/>")), Ok(()));
    }

    #[test]
    fn nine_namespace_bindings_in_scope_are_more_than_any_idp_declares_and_are_refused() {
        let decls = |n: usize| -> String {
            (0..n)
                .map(|i| format!(r#" xmlns:p{i}="urn:{i}""#))
                .collect()
        };
        let nested = |outer: usize, inner: usize| {
            format!(
                "<r{}><e{}/></r>",
                decls(outer),
                decls(inner).replace("p", "q")
            )
        };
        assert_eq!(check(&nested(4, 5)), Err(SamlError::ResponseTooComplex));
        assert_eq!(
            check(&format!("<r{}/>", decls(9))),
            Err(SamlError::ResponseTooComplex)
        );
        assert_eq!(check(&nested(3, 5)), Ok(()));
    }

    /// 256 elements declaring a namespace under 7 bindings cost 256 × 8² = 16,384 on top of the
    /// root's 7²: more than an Okta response with 1,000 group values (16,000).
    #[test]
    fn namespace_work_beyond_a_thousand_okta_group_values_is_refused() {
        let root: String = (0..7).map(|i| format!(r#" xmlns:p{i}="u""#)).collect();
        let doc = |n: usize| {
            let pad = "t".repeat(n * 2 * BYTES_PER_MARKUP);
            format!(r#"<r{root}>{}{pad}</r>"#, r#"<c xmlns:z="v"/>"#.repeat(n))
        };
        assert_eq!(check(&doc(255)), Ok(()));
        assert_eq!(check(&doc(256)), Err(SamlError::ResponseTooComplex));
    }

    #[test]
    fn an_okta_response_with_a_thousand_group_values_passes() {
        let values = r#"<saml2:AttributeValue xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">g</saml2:AttributeValue>"#
            .repeat(1000);
        let xml = format!(
            r#"<saml2p:Response xmlns:saml2p="p"><saml2:Assertion xmlns:saml2="a" xmlns:xs="x"><saml2:AttributeStatement><saml2:Attribute Name="groups">{values}</saml2:Attribute></saml2:AttributeStatement></saml2:Assertion></saml2p:Response>"#
        );
        assert_eq!(check(&xml), Ok(()));
    }

    #[test]
    fn markup_denser_than_one_item_per_sixteen_bytes_is_refused_past_the_allowance() {
        // `<e a=""/>` is 2 items in 9 bytes; text pads the document to exactly the budget.
        let doc = |items: usize, len: usize| {
            let body = r#"<e a=""/>"#.repeat((items - 1) / 2);
            let head = "<r>";
            let pad = len.saturating_sub(head.len() + body.len() + "</r>".len());
            format!("{head}{body}{}</r>", "t".repeat(pad))
        };
        let len = 24 * 1024;
        let budget = markup_budget(len);
        assert_eq!(budget, MARKUP_ALLOWANCE + len / 16);
        let fits = doc(budget, len);
        assert_eq!(fits.len(), len);
        assert_eq!(check(&fits), Ok(()));
        assert_eq!(
            check(&doc(budget + 2, len)),
            Err(SamlError::ResponseTooComplex)
        );
        // The same markup in a longer document passes: the budget grows with the length.
        assert_eq!(check(&doc(budget + 2, len + 64)), Ok(()));
    }

    #[test]
    fn markup_density_of_every_saml_fixture_is_far_under_the_cap() {
        // Every response and metadata document we hold from an IdP: at least 40 bytes per item,
        // so one per 16 refuses none of them, even without the allowance.
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let mut seen = 0;
        let mut stack = vec![std::path::PathBuf::from(root)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    if !path.ends_with("c14n-vectors") {
                        stack.push(path);
                    }
                    continue;
                }
                let Some(xml) = path
                    .extension()
                    .filter(|e| *e == "xml")
                    .and_then(|_| std::fs::read_to_string(&path).ok())
                else {
                    continue;
                };
                let items: usize = Tokenizer::from(xml.as_str())
                    .filter(|t| {
                        matches!(t, Ok(Token::ElementStart { .. } | Token::Attribute { .. }))
                    })
                    .count();
                if xml.len() < 2048 || items == 0 {
                    continue;
                }
                seen += 1;
                assert!(
                    xml.len() / items >= 40,
                    "{}: {} bytes per item",
                    path.display(),
                    xml.len() / items
                );
            }
        }
        assert!(seen >= 40, "only {seen} fixtures read");
    }

    #[test]
    fn text_the_tokenizer_cannot_read_is_malformed() {
        assert_eq!(check("<a =''/>"), Err(SamlError::MalformedResponse));
        assert_eq!(check("<a x='1' x='2"), Err(SamlError::MalformedResponse));
    }
}
