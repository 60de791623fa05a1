//! TEST ONLY: the straightforward exclusive C14N this crate shipped before the linear rewrite in
//! [`super::c14n`], kept verbatim as an oracle. It examines the whole PrefixList at every element
//! (elements × prefixes² work), so it must never see untrusted input outside tests and fuzzing;
//! tests and the `c14n_differential` fuzz target check the two agree byte for byte.

use roxmltree::{Node, NodeId, NodeType};

use super::c14n::MAX_DEPTH;

#[derive(Debug, PartialEq, Eq)]
pub struct TooDeep;

/// Canonicalizes `apex` and its descendants, leaving out the subtree rooted at `exclude` (the
/// enveloped-signature transform, xmldsig-core §6.6.4). `inclusive` is the PrefixList of an
/// `ec:InclusiveNamespaces` element (`#default` names the default namespace).
pub fn canonicalize_oracle<'a>(
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
