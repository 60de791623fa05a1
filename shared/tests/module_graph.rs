//! The module graph of `shared/src` has no cycles: neither among the top-level modules nor among
//! the submodules of any one module (issue 10 item 1). The intended direction is
//! `functions/*` → `app`/`http` → `handlers` → domain (`saml`, `scim`, `oidc`, `model`) → store
//! traits ← `store::dynamo` / `store::memory` (docs/architecture.md).
//!
//! The check reads the source, not the compiler: it strips comments and literals, then follows
//! every `crate::…` and `super::…` path (use trees with braces included) from the module whose
//! file or inline `mod x { … }` block it appears in. An edge `a → b` is recorded between the two
//! children of the deepest module both paths share, when both children are modules. Parent ↔
//! child references are not edges (a module may always use its children and its parent's items).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Cycles tolerated on purpose, each named by its parent module and its members (sorted).
/// Anything else fails the test.
const ALLOWED: &[(&str, &[&str])] = &[];

type Module = Vec<String>;

/// Edges per parent module: parent → (child → children it uses).
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

#[derive(Debug, PartialEq, Clone)]
enum Tok {
    Ident(String),
    Path, // `::`
    Open,
    Close,
    Comma,
    Other,
}

/// Rust source to tokens, with comments, strings, chars and attributes' contents kept out.
fn tokenize(src: &str) -> Vec<Tok> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == b'r' && matches!(b.get(i + 1), Some(b'"') | Some(b'#')) && raw_start(b, i) {
            // Raw string r#"…"#: skip to the matching quote and hashes.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == b'"' && (0..hashes).all(|h| b.get(j + 1 + h) == Some(&b'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
            out.push(Tok::Other);
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push(Tok::Other);
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a): skip both.
            if b.get(i + 1) == Some(&b'\\') {
                i += 2;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            } else if b.get(i + 2) == Some(&b'\'') {
                i += 3;
            } else {
                // Multi-byte char literal or a lifetime.
                let end = src[i + 1..].char_indices().nth(1).map(|(k, _)| i + 1 + k);
                if let Some(e) = end.filter(|e| b.get(*e) == Some(&b'\'')) {
                    i = e + 1;
                } else {
                    i += 1;
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                        i += 1;
                    }
                }
            }
            out.push(Tok::Other);
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(src[s..i].to_string()));
        } else if c == b':' && b.get(i + 1) == Some(&b':') {
            out.push(Tok::Path);
            i += 2;
        } else {
            out.push(match c {
                b'{' => Tok::Open,
                b'}' => Tok::Close,
                b',' => Tok::Comma,
                _ => Tok::Other,
            });
            i += 1;
        }
    }
    out
}

/// `r"` / `r#` starts a raw string only when `r` is not the end of an identifier.
fn raw_start(b: &[u8], i: usize) -> bool {
    i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

/// Every absolute module path (`crate::…`) referenced from each module of one file, expanding use
/// trees. `file_module` is the module the file defines.
fn references(file_module: &Module, src: &str) -> Vec<(Module, Module)> {
    let toks = tokenize(src);
    let mut out = Vec::new();
    // Inline modules: (module, brace depth at which its block closes).
    let mut stack: Vec<(Module, usize)> = vec![(file_module.clone(), 0)];
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Open => depth += 1,
            Tok::Close => {
                if stack.len() > 1 && stack.last().map(|(_, d)| *d) == Some(depth) {
                    stack.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Open)) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    let mut m = stack.last().map(|(m, _)| m.clone()).unwrap_or_default();
                    m.push(name.clone());
                    depth += 1;
                    stack.push((m, depth));
                    i += 3;
                    continue;
                }
            }
            Tok::Ident(head) if (head == "crate" || head == "super") => {
                let prev_is_path = i > 0 && toks[i - 1] == Tok::Path;
                if !prev_is_path && toks.get(i + 1) == Some(&Tok::Path) {
                    let here = stack.last().map(|(m, _)| m.clone()).unwrap_or_default();
                    let mut base: Module = if head == "crate" {
                        Vec::new()
                    } else {
                        let mut p = here.clone();
                        p.pop();
                        p
                    };
                    let mut j = i + 1;
                    // Further `super::` segments.
                    while toks.get(j) == Some(&Tok::Path)
                        && toks.get(j + 1) == Some(&Tok::Ident("super".into()))
                    {
                        base.pop();
                        j += 2;
                    }
                    let mut paths = Vec::new();
                    let end = use_tree(&toks, j, base, &mut paths);
                    for p in paths {
                        out.push((here.clone(), p));
                    }
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Reads `::a::b::{c, d::e}` starting at a `::` token; pushes every leaf path. Returns the index
/// after the tree.
fn use_tree(toks: &[Tok], mut j: usize, mut prefix: Module, out: &mut Vec<Module>) -> usize {
    while toks.get(j) == Some(&Tok::Path) {
        match toks.get(j + 1) {
            Some(Tok::Ident(seg)) => {
                prefix.push(seg.clone());
                j += 2;
            }
            Some(Tok::Open) => {
                j += 2;
                loop {
                    match toks.get(j) {
                        Some(Tok::Ident(seg)) => {
                            let mut p = prefix.clone();
                            if seg != "self" {
                                p.push(seg.clone());
                            }
                            // Re-enter with the segment already taken.
                            j = use_tree(toks, j + 1, p, out);
                        }
                        Some(Tok::Comma) => j += 1,
                        Some(Tok::Close) => return j + 1,
                        None => return j,
                        Some(_) => j += 1,
                    }
                }
            }
            _ => break,
        }
    }
    out.push(prefix);
    j
}

/// The edges among siblings, given each file's module and source and the set of known modules.
fn graph(files: &[(Module, String)]) -> Graph {
    let mut modules: BTreeSet<Module> = files.iter().map(|(m, _)| m.clone()).collect();
    // Inline modules count as modules too.
    for (m, src) in files {
        let toks = tokenize(src);
        for w in toks.windows(3) {
            if let [Tok::Ident(kw), Tok::Ident(name), Tok::Open | Tok::Other] = w {
                if kw == "mod" {
                    let mut n = m.clone();
                    n.push(name.clone());
                    modules.insert(n);
                }
            }
        }
    }
    let mut g = Graph::new();
    for (m, src) in files {
        for (from, to) in references(m, src) {
            let k = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if k < from.len() && k < to.len() {
                let target: Module = to[..=k].to_vec();
                if !modules.contains(&target) {
                    continue;
                }
                g.entry(from[..k].join("::"))
                    .or_default()
                    .entry(from[k].clone())
                    .or_default()
                    .insert(to[k].clone());
            }
        }
    }
    g
}

/// Strongly connected sets with more than one member (Tarjan), each with one cycle through it.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<(Vec<String>, Vec<String>)> {
    let nodes: BTreeSet<&String> = edges
        .keys()
        .chain(edges.values().flat_map(|s| s.iter()))
        .collect();
    let idx: BTreeMap<&String, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let names: Vec<&String> = nodes.iter().copied().collect();
    let adj: Vec<Vec<usize>> = names
        .iter()
        .map(|n| {
            edges
                .get(*n)
                .map(|s| s.iter().map(|t| idx[t]).collect())
                .unwrap_or_default()
        })
        .collect();
    struct T {
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        sccs: Vec<Vec<usize>>,
    }
    fn visit(v: usize, adj: &[Vec<usize>], t: &mut T) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on[v] = true;
        for &w in &adj[v] {
            match t.index[w] {
                None => {
                    visit(w, adj, t);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(iw) if t.on[w] => t.low[v] = t.low[v].min(iw),
                _ => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on[w] = false;
                scc.push(w);
                if w == v {
                    break;
                }
            }
            t.sccs.push(scc);
        }
    }
    let n = names.len();
    let mut t = T {
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        next: 0,
        sccs: Vec::new(),
    };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(v, &adj, &mut t);
        }
    }
    let mut out = Vec::new();
    for scc in t.sccs.into_iter().filter(|s| s.len() > 1) {
        let members: BTreeSet<usize> = scc.iter().copied().collect();
        // One cycle: breadth-first from the smallest member back to itself, inside the set.
        let start = *members.iter().next().unwrap_or(&0);
        let mut prev: BTreeMap<usize, usize> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut closing = None;
        while let Some(v) = queue.pop_front() {
            for &w in &adj[v] {
                if !members.contains(&w) {
                    continue;
                }
                if w == start {
                    closing = Some(v);
                    queue.clear();
                    break;
                }
                if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(w) {
                    e.insert(v);
                    queue.push_back(w);
                }
            }
        }
        let mut cycle = vec![names[start].clone()];
        let mut v = closing.unwrap_or(start);
        let mut back = Vec::new();
        while v != start {
            back.push(names[v].clone());
            v = prev.get(&v).copied().unwrap_or(start);
        }
        back.reverse();
        cycle.extend(back);
        cycle.push(names[start].clone());
        let mut sorted: Vec<String> = members.iter().map(|m| names[*m].clone()).collect();
        sorted.sort();
        out.push((sorted, cycle));
    }
    out
}

/// Every cycle not allowed, as printable lines.
fn violations(g: &Graph, allowed: &[(&str, &[&str])]) -> Vec<String> {
    let mut out = Vec::new();
    for (parent, edges) in g {
        for (members, cycle) in cycles(edges) {
            let ok = allowed.iter().any(|(p, m)| {
                p == parent && m.iter().copied().eq(members.iter().map(|s| s.as_str()))
            });
            if !ok {
                let scope = if parent.is_empty() { "crate" } else { parent };
                out.push(format!(
                    "in {scope}: {} (all of {{{}}} reach each other)",
                    cycle.join(" → "),
                    members.join(", ")
                ));
            }
        }
    }
    out
}

fn module_of(src_dir: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src_dir).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_string());
        }
    }
    parts
}

fn read_tree(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_tree(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn source_files() -> Vec<(Module, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_tree(&src, &mut files);
    files
        .iter()
        .map(|f| {
            (
                module_of(&src, f),
                std::fs::read_to_string(f).unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn shared_has_no_import_cycles_among_sibling_modules() {
    let files = source_files();
    assert!(files.len() > 20, "read the sources of shared/src");
    let g = graph(&files);
    // The graph itself, for `cargo test --test module_graph -- --nocapture`.
    for (parent, edges) in &g {
        let scope = if parent.is_empty() { "crate" } else { parent };
        for (from, to) in edges {
            let to: Vec<&str> = to.iter().map(String::as_str).collect();
            println!("{scope}: {from} → {}", to.join(", "));
        }
    }
    let bad = violations(&g, ALLOWED);
    assert!(
        bad.is_empty(),
        "import cycles among modules of shared/src:\n  {}",
        bad.join("\n  ")
    );
}

fn synthetic(files: &[(&str, &str)]) -> Graph {
    let files: Vec<(Module, String)> = files
        .iter()
        .map(|(m, s)| {
            (
                m.split("::")
                    .filter(|p| !p.is_empty())
                    .map(String::from)
                    .collect(),
                s.to_string(),
            )
        })
        .collect();
    graph(&files)
}

#[test]
fn a_cycle_between_two_top_level_modules_is_reported_with_its_path() {
    let g = synthetic(&[
        ("", "pub mod a; pub mod b; pub mod c;"),
        ("a", "use crate::b::Thing;"),
        ("b", "fn f() { crate::c::go() }"),
        ("c", "use crate::{a::{self, X}, b};"),
    ]);
    let bad = violations(&g, &[]);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].contains("a → b → c → a"), "{}", bad[0]);
}

#[test]
fn a_cycle_among_submodules_is_reported_and_can_be_allowed_by_name() {
    let g = synthetic(&[
        ("", "pub mod s;"),
        ("s", "mod x; mod y;"),
        ("s::x", "use super::y::Y;"),
        ("s::y", "use crate::s::x::X;"),
    ]);
    let bad = violations(&g, &[]);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].starts_with("in s: x → y → x"), "{}", bad[0]);
    assert!(violations(&g, &[("s", &["x", "y"])]).is_empty());
    assert_eq!(violations(&g, &[("t", &["x", "y"])]).len(), 1);
}

#[test]
fn one_way_uses_comments_strings_and_parent_child_references_are_not_cycles() {
    let g = synthetic(&[
        ("", "pub mod a; pub mod b;"),
        ("a", "use crate::b::B; mod inner { use super::*; }"),
        (
            "b",
            "// use crate::a::A;\n/* crate::a::x */ const S: &str = \"crate::a::y\"; use crate::b::c;",
        ),
        ("b::c", "use super::Parent; use crate::b::Item; fn f<'a>(x: &'a str) -> char { 'x' }"),
    ]);
    assert!(violations(&g, &[]).is_empty(), "{:?}", violations(&g, &[]));
    assert_eq!(
        g.get("").and_then(|e| e.get("a")).map(|s| s.len()),
        Some(1),
        "{g:?}"
    );
}
