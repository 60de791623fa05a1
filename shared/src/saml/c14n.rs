//! Exclusive XML Canonicalization 1.0 without comments (W3C xml-exc-c14n, 2002), over a roxmltree
//! subtree: the only canonicalization our verifier accepts (SAML core §5.4.3 asks for it).
//!
//! The output is a function of the very DOM nodes the validator later reads, so "what was hashed"
//! and "what is read" cannot diverge (XML signature wrapping relies on them diverging).
//!
//! What the spec asks, and where it is done here:
//! - namespace declarations are rendered on an element only when *visibly utilized* by it (its own
//!   prefix or an attribute's) or listed in the InclusiveNamespaces PrefixList, and only when the
//!   nearest rendered ancestor did not already render the same binding (exc-c14n §3);
//! - declarations sorted by prefix (default first), attributes by (namespace URI, local name)
//!   (C14N 1.0 §2.2 "Document Order");
//! - empty elements as start/end pairs, text escaping of `& < > CR`, attribute escaping of
//!   `& < " TAB LF CR`; comments dropped; processing instructions kept (C14N 1.0 §2.3);
//! - line endings and attribute-value normalisation are done by the XML parser (XML 1.0 §2.11, §3.3.3).

use roxmltree::{Node, NodeId, NodeType};

/// Nesting deeper than this is refused rather than recursed into: a 256 KiB body could otherwise
/// nest tens of thousands of elements deep. Real SAML responses nest about 8 deep.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, PartialEq, Eq)]
pub struct TooDeep;

/// Canonicalizes `apex` and its descendants, leaving out the subtree rooted at `exclude` (the
/// enveloped-signature transform, xmldsig-core §6.6.4). `inclusive` is the PrefixList of an
/// `ec:InclusiveNamespaces` element (`#default` names the default namespace).
pub fn canonicalize<'a>(
    apex: Node<'a, 'a>,
    exclude: Option<NodeId>,
    inclusive: &[&'a str],
    out: &mut Vec<u8>,
) -> Result<(), TooDeep> {
    let mut rendered: Vec<(&str, &str)> = Vec::with_capacity(8);
    element(apex, exclude, inclusive, &mut rendered, out, 0)
}

/// The qualified name exactly as written: roxmltree keeps namespace URIs, not prefixes, so the
/// prefix is read from the source text of the start tag.
fn qname<'a>(node: Node<'_, 'a>) -> &'a str {
    let src = node.document().input_text();
    let start = node.range().start + 1;
    let rest = &src[start.min(src.len())..];
    let end = rest
        .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    &rest[..end]
}

fn prefix_of(qname: &str) -> &str {
    qname.split_once(':').map(|(p, _)| p).unwrap_or("")
}

fn element<'a>(
    node: Node<'a, 'a>,
    exclude: Option<NodeId>,
    inclusive: &[&'a str],
    rendered: &mut Vec<(&'a str, &'a str)>,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), TooDeep> {
    if depth > MAX_DEPTH {
        return Err(TooDeep);
    }
    let name = qname(node);
    let src = node.document().input_text();

    // Prefixes this element visibly utilizes, plus the inclusive ones.
    let mut wanted: Vec<&str> = Vec::with_capacity(4);
    wanted.push(prefix_of(name));
    for attr in node.attributes() {
        let q = &src[attr.range_qname()];
        if let Some((p, _)) = q.split_once(':') {
            wanted.push(p);
        }
    }
    for p in inclusive {
        wanted.push(if *p == "#default" { "" } else { p });
    }
    wanted.sort_unstable();
    wanted.dedup();

    let mark = rendered.len();
    let mut decls: Vec<(&str, &str)> = Vec::with_capacity(wanted.len());
    for p in wanted {
        if p == "xml" {
            continue; // never declared (XML Namespaces §3)
        }
        let uri = if p.is_empty() {
            node.default_namespace().unwrap_or("")
        } else {
            match node.lookup_namespace_uri(Some(p)) {
                Some(u) => u,
                None => continue, // an inclusive prefix not in scope renders nothing
            }
        };
        let current = rendered
            .iter()
            .rev()
            .find(|(rp, _)| *rp == p)
            .map(|(_, u)| *u)
            .unwrap_or("");
        if current != uri {
            decls.push((p, uri));
        }
    }
    // `wanted` was sorted, so `decls` is in prefix order with the default namespace first.

    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    for (p, uri) in &decls {
        if p.is_empty() {
            out.extend_from_slice(b" xmlns=\"");
        } else {
            out.extend_from_slice(b" xmlns:");
            out.extend_from_slice(p.as_bytes());
            out.extend_from_slice(b"=\"");
        }
        escape_attr(uri, out);
        out.push(b'"');
    }
    rendered.extend(decls.iter().copied());

    let mut attrs: Vec<(&str, &str, &str, &str)> = node
        .attributes()
        .map(|a| {
            (
                a.namespace().unwrap_or(""),
                a.name(),
                &src[a.range_qname()],
                a.value(),
            )
        })
        .collect();
    attrs.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    for (_, _, q, v) in attrs {
        out.push(b' ');
        out.extend_from_slice(q.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_attr(v, out);
        out.push(b'"');
    }
    out.push(b'>');

    for child in node.children() {
        match child.node_type() {
            NodeType::Element => {
                if Some(child.id()) != exclude {
                    element(child, exclude, inclusive, rendered, out, depth + 1)?;
                }
            }
            NodeType::Text => escape_text(child.text().unwrap_or(""), out),
            NodeType::PI => {
                if let Some(pi) = child.pi() {
                    out.extend_from_slice(b"<?");
                    out.extend_from_slice(pi.target.as_bytes());
                    if let Some(v) = pi.value.filter(|v| !v.is_empty()) {
                        out.push(b' ');
                        out.extend_from_slice(v.as_bytes());
                    }
                    out.extend_from_slice(b"?>");
                }
            }
            NodeType::Comment | NodeType::Root => {}
        }
    }

    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
    rendered.truncate(mark);
    Ok(())
}

fn escape_text(s: &str, out: &mut Vec<u8>) {
    for b in s.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            _ => out.push(b),
        }
    }
}

fn escape_attr(s: &str, out: &mut Vec<u8>) {
    for b in s.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\t' => out.extend_from_slice(b"&#x9;"),
            b'\n' => out.extend_from_slice(b"&#xA;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(xml: &str) -> String {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let mut out = Vec::new();
        canonicalize(doc.root_element(), None, &[], &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_corpus_c14n_vector_canonicalizes_to_its_expected_output() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/ssoready/c14n-vectors"
        );
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let case = entry.unwrap().path();
            let input = std::fs::read_to_string(case.join("in.xml")).unwrap();
            let expected = std::fs::read_to_string(case.join("out.xml")).unwrap();
            assert_eq!(
                c14n(&input),
                expected.trim_end_matches('\n'),
                "{}",
                case.display()
            );
            seen += 1;
        }
        assert_eq!(seen, 7);
    }

    #[test]
    fn a_subtree_declares_the_namespaces_it_uses_that_its_ancestors_declared() {
        let doc = roxmltree::Document::parse(
            r#"<r xmlns:a="urn:a" xmlns:b="urn:b"><a:x b:y="1"><a:z/></a:x></r>"#,
        )
        .unwrap();
        let x = doc.root_element().first_element_child().unwrap();
        let mut out = Vec::new();
        canonicalize(x, None, &[], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<a:x xmlns:a="urn:a" xmlns:b="urn:b" b:y="1"><a:z></a:z></a:x>"#
        );
    }

    #[test]
    fn inclusive_prefixes_are_rendered_even_when_unused() {
        let doc = roxmltree::Document::parse(
            r#"<r xmlns:xs="urn:xs" xmlns:q="urn:q"><x q:t="xs:string"/></r>"#,
        )
        .unwrap();
        let x = doc.root_element().first_element_child().unwrap();
        let mut out = Vec::new();
        canonicalize(x, None, &["xs"], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<x xmlns:q="urn:q" xmlns:xs="urn:xs" q:t="xs:string"></x>"#
        );
    }

    #[test]
    fn comments_are_dropped_and_the_excluded_subtree_left_out() {
        let doc = roxmltree::Document::parse(r#"<r>a<!-- c -->b<s><t/></s><?pi x?></r>"#).unwrap();
        let s = doc.root_element().first_element_child().unwrap();
        let mut out = Vec::new();
        canonicalize(doc.root_element(), Some(s.id()), &[], &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "<r>ab<?pi x?></r>");
    }

    #[test]
    fn absurd_nesting_is_refused_instead_of_recursed() {
        let xml = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let mut out = Vec::new();
        assert_eq!(
            canonicalize(doc.root_element(), None, &[], &mut out),
            Err(TooDeep)
        );
    }
}
