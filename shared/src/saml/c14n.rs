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
//!
//! Cost: linear in the subtree. Work per element is bounded by [`MAX_NAMESPACES`] and
//! [`MAX_ATTRIBUTES`] (refused beyond), and the PrefixList is looked at only where it can change
//! the output: at the apex, and at elements whose in-scope namespaces differ from their parent's.
//! (An inclusive prefix is, per exc-c14n §3, handled as in C14N 1.0 §2.3: rendered where its
//! binding differs from the one the parent had, which everywhere below the apex is the one the
//! parent rendered or inherited.) An earlier version examined the whole list at every element:
//! an attacker-sized list made that elements × prefixes² before any signature was checked.

use roxmltree::{Node, NodeId, NodeType};

/// Nesting deeper than this is refused rather than recursed into: a posted body could otherwise
/// nest thousands of elements deep. Real SAML responses nest about 10 deep.
pub const MAX_DEPTH: usize = 64;
/// In-scope namespace bindings per element. Real IdP responses have at most 5 (the corpus: ADFS,
/// Google, JumpCloud, Keycloak, Okta, Ping). Each binding in scope is work on every element that
/// uses a prefix (roxmltree resolves names by scanning them), so the cap sits just above that.
pub const MAX_NAMESPACES: usize = 8;
/// Attributes per element (namespace declarations not counted). Real responses have at most 6
/// (ADFS's Response); roxmltree checks each attribute against the element's others, and C14N
/// sorts them, so the cap sits just above that.
pub const MAX_ATTRIBUTES: usize = 8;
/// Distinct prefixes in an InclusiveNamespaces PrefixList. IdPs send one or two (`xs`, `xsi`).
pub const MAX_INCLUSIVE_PREFIXES: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum C14nError {
    TooDeep,
    TooManyNamespaces,
    TooManyAttributes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefixListError {
    /// More than [`MAX_INCLUSIVE_PREFIXES`] distinct prefixes.
    TooMany,
    /// A token that is neither an NCName nor `#default`.
    NotAPrefix,
}

/// What one canonicalization did, for tests that bound the work without timing it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub elements: usize,
    /// Prefixes whose binding was looked up (visibly utilized or inclusive candidates).
    pub prefixes_examined: usize,
}

/// An `ec:InclusiveNamespaces` PrefixList (exc-c14n §3): distinct prefixes, sorted, with
/// `#default` stored as `""` (the default namespace). Parsed once per signature, not per element.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InclusivePrefixes<'a>(Vec<&'a str>);

impl<'a> InclusivePrefixes<'a> {
    /// The list is "a white space delimited list of namespace prefixes" (exc-c14n §3), each an
    /// NCName (XML Namespaces §3) or the token `#default`. Duplicates count once; at most
    /// [`MAX_INCLUSIVE_PREFIXES`] distinct ones. Cost: one binary search per token.
    pub fn parse(list: &'a str) -> Result<Self, PrefixListError> {
        let mut prefixes: Vec<&'a str> = Vec::new();
        // XML white space (XML 1.0 §2.3 S), not Unicode or ASCII white space at large.
        for token in list
            .split([' ', '\t', '\n', '\r'])
            .filter(|t| !t.is_empty())
        {
            let prefix = match token {
                "#default" => "",
                t if is_ncname(t) => t,
                _ => return Err(PrefixListError::NotAPrefix),
            };
            if let Err(at) = prefixes.binary_search(&prefix) {
                if prefixes.len() == MAX_INCLUSIVE_PREFIXES {
                    return Err(PrefixListError::TooMany);
                }
                prefixes.insert(at, prefix);
            }
        }
        Ok(InclusivePrefixes(prefixes))
    }

    pub fn as_slice(&self) -> &[&'a str] {
        &self.0
    }

    fn contains(&self, prefix: &str) -> bool {
        self.0.binary_search(&prefix).is_ok()
    }
}

/// NCName (XML Namespaces 1.0 §3): an XML Name (XML 1.0 5th ed. §2.3) without colons.
fn is_ncname(s: &str) -> bool {
    fn start(c: char) -> bool {
        matches!(c, 'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
            | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
            | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
            | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
            | '\u{10000}'..='\u{EFFFF}')
    }
    fn rest(c: char) -> bool {
        start(c)
            || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}'
                | '\u{203F}'..='\u{2040}')
    }
    let mut chars = s.chars();
    chars.next().is_some_and(start) && chars.all(rest)
}

/// Canonicalizes `apex` and its descendants, leaving out the subtree rooted at `exclude` (the
/// enveloped-signature transform, xmldsig-core §6.6.4).
pub fn canonicalize<'a>(
    apex: Node<'a, 'a>,
    exclude: Option<NodeId>,
    inclusive: &InclusivePrefixes<'a>,
    out: &mut Vec<u8>,
) -> Result<Stats, C14nError> {
    let mut c = Canonicalizer {
        exclude,
        inclusive,
        rendered: Vec::with_capacity(8),
        undo: Vec::with_capacity(8),
        wanted: Vec::with_capacity(8),
        attrs: Vec::with_capacity(8),
        out,
        stats: Stats::default(),
    };
    c.element(apex, 0)?;
    Ok(c.stats)
}

enum Undo<'a> {
    /// A prefix rendered for the first time on this path: pop it.
    Added,
    /// A prefix re-rendered with another URI: restore the old one.
    Changed(usize, &'a str),
}

struct Canonicalizer<'a, 'o> {
    exclude: Option<NodeId>,
    inclusive: &'o InclusivePrefixes<'a>,
    /// The binding each prefix has in the output at the current element (one entry per prefix;
    /// at most the in-scope prefixes, so at most `MAX_NAMESPACES` + 1).
    rendered: Vec<(&'a str, &'a str)>,
    /// How to restore `rendered` when leaving an element.
    undo: Vec<Undo<'a>>,
    /// Scratch: the prefixes one element must consider, with the URI each is bound to there.
    /// (`None`: an inclusive prefix not in scope, which renders nothing.)
    wanted: Vec<(&'a str, Option<&'a str>)>,
    /// Scratch: one element's attributes as (namespace URI, local name, qualified name, value).
    attrs: Vec<(&'a str, &'a str, &'a str, &'a str)>,
    out: &'o mut Vec<u8>,
    stats: Stats,
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

/// Whether two elements have exactly the same in-scope namespace list. roxmltree gives an
/// element that declares nothing its parent's very list, so this is cheap and usually true.
fn same_scope(a: Node, b: Node) -> bool {
    a.namespaces().len() == b.namespaces().len()
        && a.namespaces()
            .zip(b.namespaces())
            .all(|(x, y)| std::ptr::eq(x, y) || x == y)
}

impl<'a> Canonicalizer<'a, '_> {
    fn element(&mut self, node: Node<'a, 'a>, depth: usize) -> Result<(), C14nError> {
        if depth > MAX_DEPTH {
            return Err(C14nError::TooDeep);
        }
        if node.namespaces().len() > MAX_NAMESPACES {
            return Err(C14nError::TooManyNamespaces);
        }
        if node.attributes().len() > MAX_ATTRIBUTES {
            return Err(C14nError::TooManyAttributes);
        }
        self.stats.elements += 1;
        let name = qname(node);
        let src = node.document().input_text();

        // Prefixes this element visibly utilizes, with the URI each is bound to here, plus the
        // inclusive ones that may render here. roxmltree has already resolved every name: the
        // element's own prefix is bound to its namespace (or, unprefixed, the default namespace,
        // XML Namespaces §6.2), an attribute's prefix to the attribute's namespace (§6.3), so
        // only inclusive prefixes are looked up, and only where they can change the output.
        self.wanted.clear();
        self.wanted.push((
            prefix_of(name),
            Some(node.tag_name().namespace().unwrap_or("")),
        ));
        let mut attrs = std::mem::take(&mut self.attrs);
        attrs.clear();
        for a in node.attributes() {
            let qname = &src[a.range_qname()];
            let uri = a.namespace().unwrap_or("");
            // Unprefixed attributes are in no namespace and utilize none (exc-c14n §3).
            if let Some((p, _)) = qname.split_once(':') {
                self.wanted.push((p, Some(uri)));
            }
            attrs.push((uri, a.name(), qname, a.value()));
        }
        if depth == 0 {
            for &p in self.inclusive.as_slice() {
                let uri = if p.is_empty() {
                    Some(node.default_namespace().unwrap_or(""))
                } else {
                    node.lookup_namespace_uri(Some(p))
                };
                self.wanted.push((p, uri));
            }
        } else if !self.inclusive.as_slice().is_empty()
            && !node.parent().is_some_and(|p| same_scope(node, p))
        {
            for ns in node.namespaces() {
                let p = ns.name().unwrap_or("");
                if self.inclusive.contains(p) {
                    self.wanted.push((p, Some(ns.uri())));
                }
            }
        }
        // One prefix has one binding at one element, so equal prefixes are equal entries.
        self.wanted.sort_unstable_by_key(|w| w.0);
        self.wanted.dedup_by_key(|w| w.0);
        self.stats.prefixes_examined += self.wanted.len();

        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());
        let mark = self.undo.len();
        let wanted = std::mem::take(&mut self.wanted);
        for &(p, uri) in &wanted {
            // `xml` is never declared (XML Namespaces §3); an inclusive prefix not in scope
            // renders nothing.
            let Some(uri) = uri.filter(|_| p != "xml") else {
                continue;
            };
            let at = self.rendered.iter().position(|(rp, _)| *rp == p);
            let current = at.map_or("", |i| self.rendered[i].1);
            if current == uri {
                continue;
            }
            // `wanted` is sorted, so declarations come out in prefix order, default first.
            if p.is_empty() {
                self.out.extend_from_slice(b" xmlns=\"");
            } else {
                self.out.extend_from_slice(b" xmlns:");
                self.out.extend_from_slice(p.as_bytes());
                self.out.extend_from_slice(b"=\"");
            }
            escape_attr(uri, self.out);
            self.out.push(b'"');
            match at {
                Some(i) => {
                    self.undo.push(Undo::Changed(i, current));
                    self.rendered[i].1 = uri;
                }
                None => {
                    self.undo.push(Undo::Added);
                    self.rendered.push((p, uri));
                }
            }
        }
        self.wanted = wanted; // keep the allocation for the next element

        if attrs.len() > 1 {
            attrs.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        }
        for &(_, _, q, v) in &attrs {
            self.out.push(b' ');
            self.out.extend_from_slice(q.as_bytes());
            self.out.extend_from_slice(b"=\"");
            escape_attr(v, self.out);
            self.out.push(b'"');
        }
        self.attrs = attrs; // keep the allocation for the next element
        self.out.push(b'>');

        for child in node.children() {
            match child.node_type() {
                NodeType::Element => {
                    if Some(child.id()) != self.exclude {
                        self.element(child, depth + 1)?;
                    }
                }
                NodeType::Text => escape_text(child.text().unwrap_or(""), self.out),
                NodeType::PI => {
                    if let Some(pi) = child.pi() {
                        self.out.extend_from_slice(b"<?");
                        self.out.extend_from_slice(pi.target.as_bytes());
                        if let Some(v) = pi.value.filter(|v| !v.is_empty()) {
                            self.out.push(b' ');
                            self.out.extend_from_slice(v.as_bytes());
                        }
                        self.out.extend_from_slice(b"?>");
                    }
                }
                NodeType::Comment | NodeType::Root => {}
            }
        }

        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'>');
        while self.undo.len() > mark {
            match self.undo.pop() {
                Some(Undo::Changed(i, old)) => self.rendered[i].1 = old,
                Some(Undo::Added) => {
                    self.rendered.pop();
                }
                None => break,
            }
        }
        Ok(())
    }
}

/// Copies `s`, replacing each byte `escape` maps: runs without such bytes are copied whole
/// (one `extend_from_slice` per run, not one `push` per byte), which is most of a document.
#[inline]
fn escape_into(s: &str, out: &mut Vec<u8>, escape: impl Fn(u8) -> Option<&'static [u8]>) {
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if let Some(replacement) = escape(b) {
            out.extend_from_slice(&bytes[run..i]);
            out.extend_from_slice(replacement);
            run = i + 1;
        }
    }
    out.extend_from_slice(&bytes[run..]);
}

/// Text nodes: `& < > CR` (C14N 1.0 §2.3).
fn escape_text(s: &str, out: &mut Vec<u8>) {
    escape_into(s, out, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'>' => Some(b"&gt;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    })
}

/// Attribute values: `& < " TAB LF CR` (C14N 1.0 §2.3).
fn escape_attr(s: &str, out: &mut Vec<u8>) {
    escape_into(s, out, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'"' => Some(b"&quot;"),
        b'\t' => Some(b"&#x9;"),
        b'\n' => Some(b"&#xA;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    })
}

#[cfg(test)]
#[path = "c14n_tests.rs"]
mod tests;
