//! SCIM filters (RFC 7644 §3.4.2.2) parsed into a typed tree by a hand-written recursive-descent
//! parser, and evaluated against a SCIM resource's JSON.
//!
//! Precedence (§3.4.2.2): grouping `( )` and `not` bind tightest, then `and`, then `or`. Attribute
//! names and operators are case-insensitive. `emails[type eq "work"].value eq "x"` (a value path
//! followed by a sub-attribute comparison, which Okta documents) is read as
//! `emails[type eq "work" and value eq "x"]`.

use std::cmp::Ordering;

use serde_json::Value;

use super::{SCHEMA_CUSTOM_USER, SCHEMA_ENTERPRISE_USER, SCHEMA_GROUP, SCHEMA_USER};

/// Longest filter we parse: bounds work and recursion for hostile input.
const MAX_LEN: usize = 4096;
const MAX_DEPTH: usize = 32;

/// An attribute path (§3.10): optional schema URN, attribute, optional sub-attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: some element of the multi-valued `attr` matches `filter`.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    Word(String),
    Str(String),
}

pub(crate) fn lex(input: &str) -> Result<Vec<Tok>, String> {
    if input.len() > MAX_LEN {
        return Err(format!("filter is longer than {MAX_LEN} characters"));
    }
    let b = input.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            b')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            b'[' => {
                out.push(Tok::LBracket);
                i += 1;
            }
            b']' => {
                out.push(Tok::RBracket);
                i += 1;
            }
            b'.' if out.last() == Some(&Tok::RBracket) => {
                out.push(Tok::Dot);
                i += 1;
            }
            b'"' => {
                // A JSON string (RFC 7644 §3.4.2.2: compValue strings are JSON strings).
                let start = i;
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err("unterminated string".into()),
                        Some(b'\\') => i += 2,
                        Some(b'"') => break,
                        Some(_) => i += 1,
                    }
                }
                i += 1;
                let s: String = serde_json::from_str(&input[start..i])
                    .map_err(|_| format!("invalid string {}", &input[start..i]))?;
                out.push(Tok::Str(s));
            }
            _ => {
                let start = i;
                while i < b.len() && !b" \t\n\r()[]\"".contains(&b[i]) {
                    i += 1;
                }
                out.push(Tok::Word(input[start..i].to_string()));
            }
        }
    }
    Ok(out)
}

/// Known schema URNs, longest first so an extension URN is not mistaken for the core one.
const URNS: [&str; 4] = [
    SCHEMA_ENTERPRISE_USER,
    SCHEMA_CUSTOM_USER,
    SCHEMA_USER,
    SCHEMA_GROUP,
];

/// Parses `[URN ":"] attr ["." sub]`.
pub fn parse_attr_path(word: &str) -> Result<AttrPath, String> {
    let lower = word.to_ascii_lowercase();
    let (urn, rest) = match URNS
        .iter()
        .find(|u| lower.starts_with(&format!("{}:", u.to_ascii_lowercase())))
    {
        Some(u) => (Some(u.to_string()), &word[u.len() + 1..]),
        None if word.contains(':') => return Err(format!("unknown schema in {word:?}")),
        None => (None, word),
    };
    let (name, sub) = match rest.split_once('.') {
        Some((n, s)) => (n, Some(s)),
        None => (rest, None),
    };
    let valid = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
    };
    if !valid(name) || !sub.is_none_or(valid) {
        return Err(format!("invalid attribute path {word:?}"));
    }
    Ok(AttrPath {
        urn,
        name: name.to_string(),
        sub: sub.map(str::to_string),
    })
}

pub(crate) struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl Parser {
    pub(crate) fn new(toks: Vec<Tok>) -> Self {
        Parser {
            toks,
            pos: 0,
            depth: 0,
        }
    }
    pub(crate) fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    pub(crate) fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }
    pub(crate) fn expect(&mut self, t: Tok, what: &str) -> Result<(), String> {
        match self.next() {
            Some(ref x) if *x == t => Ok(()),
            _ => Err(format!("expected {what}")),
        }
    }
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    pub(crate) fn or(&mut self, in_brackets: bool) -> Result<Filter, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("filter is nested too deeply".into());
        }
        let mut left = self.and(in_brackets)?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and(in_brackets)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self, in_brackets: bool) -> Result<Filter, String> {
        let mut left = self.unary(in_brackets)?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary(in_brackets)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, in_brackets: bool) -> Result<Filter, String> {
        if self.keyword("not") {
            self.pos += 1;
            self.expect(Tok::LParen, "'(' after not")?;
            let f = self.or(in_brackets)?;
            self.expect(Tok::RParen, "')'")?;
            return Ok(Filter::Not(Box::new(f)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let f = self.or(in_brackets)?;
            self.expect(Tok::RParen, "')'")?;
            return Ok(f);
        }
        let path = match self.next() {
            Some(Tok::Word(w)) => parse_attr_path(&w)?,
            _ => return Err("expected an attribute path".into()),
        };
        if self.peek() == Some(&Tok::LBracket) {
            if in_brackets {
                return Err("value filters cannot be nested".into());
            }
            self.pos += 1;
            let inner = self.or(true)?;
            self.expect(Tok::RBracket, "']'")?;
            let filter = if self.peek() == Some(&Tok::Dot) {
                self.pos += 1;
                let sub = match self.next() {
                    Some(Tok::Word(w)) => parse_attr_path(&w)?,
                    _ => return Err("expected a sub-attribute after ']'".into()),
                };
                let cmp = self.comparison(sub)?;
                Filter::And(Box::new(inner), Box::new(cmp))
            } else {
                inner
            };
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(filter),
            });
        }
        self.comparison(path)
    }

    fn comparison(&mut self, path: AttrPath) -> Result<Filter, String> {
        let op = match self.next() {
            Some(Tok::Word(w)) => w.to_ascii_lowercase(),
            _ => return Err("expected an operator".into()),
        };
        let op = match op.as_str() {
            "pr" => return Ok(Filter::Present(path)),
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            other => return Err(format!("unknown operator {other:?}")),
        };
        let value = match self.next() {
            Some(Tok::Str(s)) => CompValue::Str(s),
            Some(Tok::Word(w)) => match w.as_str() {
                "true" => CompValue::Bool(true),
                "false" => CompValue::Bool(false),
                "null" => CompValue::Null,
                n => CompValue::Number(
                    n.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .ok_or_else(|| format!("invalid comparison value {n:?}"))?,
                ),
            },
            _ => return Err("expected a comparison value".into()),
        };
        Ok(Filter::Compare { path, op, value })
    }
}

/// Parses a whole filter; the error is the detail of a 400 `invalidFilter`.
pub fn parse(input: &str) -> Result<Filter, String> {
    let mut p = Parser::new(lex(input)?);
    if p.at_end() {
        return Err("empty filter".into());
    }
    let f = p.or(false)?;
    if !p.at_end() {
        return Err("unexpected text after the filter".into());
    }
    Ok(f)
}

// ---- evaluation ---------------------------------------------------------------------------------

/// Attributes compared case-sensitively (RFC 7643: caseExact=true); the rest are case-insensitive.
fn case_exact(name: &str) -> bool {
    matches!(name, "id" | "externalId" | "value" | "$ref")
}

/// A key of a JSON object, matched case-insensitively (attribute names are, RFC 7643 §2.1).
pub fn get_ci<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    obj.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// The values at `path` in `resource` (flattening multi-valued attributes).
fn values_at<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let base = match &path.urn {
        Some(u) if u != SCHEMA_USER && u != SCHEMA_GROUP => match get_ci(resource, u) {
            Some(ext) => ext,
            None => return vec![],
        },
        _ => resource,
    };
    let Some(v) = get_ci(base, &path.name) else {
        return vec![];
    };
    let top: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    match &path.sub {
        None => top,
        Some(s) => top.into_iter().filter_map(|e| get_ci(e, s)).collect(),
    }
}

fn compare(v: &Value, op: CompareOp, want: &CompValue, exact: bool) -> bool {
    // caseExact=false folds ASCII letters only, the rule of the index keys (`user_name.rs`):
    // Unicode folding would let `\u{212A}elly` (KELVIN SIGN) match `kelly`.
    let fold = |s: &str| {
        if exact {
            s.to_string()
        } else {
            super::user_name::fold(s)
        }
    };
    let ord = match (v, want) {
        (Value::String(a), CompValue::Str(b)) => {
            let (a, b) = (fold(a), fold(b));
            match op {
                CompareOp::Co => return a.contains(&b),
                CompareOp::Sw => return a.starts_with(&b),
                CompareOp::Ew => return a.ends_with(&b),
                _ => a.cmp(&b),
            }
        }
        (Value::Number(a), CompValue::Number(b)) => {
            match a.as_f64().and_then(|a| a.partial_cmp(b)) {
                Some(o) => o,
                None => return false,
            }
        }
        (Value::Bool(a), CompValue::Bool(b)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            a.cmp(b)
        }
        (Value::Null, CompValue::Null) => Ordering::Equal,
        _ => return op == CompareOp::Ne,
    };
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

impl Filter {
    /// Whether `resource` (a SCIM resource's JSON, or one element of a multi-valued attribute)
    /// matches.
    pub fn matches(&self, resource: &Value) -> bool {
        match self {
            Filter::Compare { path, op, value } => {
                let exact = case_exact(path.sub.as_deref().unwrap_or(&path.name));
                let vals = values_at(resource, path);
                if *op == CompareOp::Ne {
                    // `ne` holds when no value equals (an absent attribute is not equal).
                    return !vals.iter().any(|v| compare(v, CompareOp::Eq, value, exact));
                }
                if *value == CompValue::Null && *op == CompareOp::Eq {
                    return !vals.iter().any(|v| present(v));
                }
                vals.iter().any(|v| compare(v, *op, value, exact))
            }
            Filter::Present(path) => values_at(resource, path).iter().any(|v| present(v)),
            Filter::And(a, b) => a.matches(resource) && b.matches(resource),
            Filter::Or(a, b) => a.matches(resource) || b.matches(resource),
            Filter::Not(f) => !f.matches(resource),
            Filter::ValuePath { path, filter } => {
                let plain = AttrPath {
                    sub: None,
                    ..path.clone()
                };
                values_at(resource, &plain)
                    .iter()
                    .any(|e| filter.matches(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(name: &str) -> AttrPath {
        parse_attr_path(name).unwrap()
    }
    fn eq(name: &str, v: &str) -> Filter {
        Filter::Compare {
            path: p(name),
            op: CompareOp::Eq,
            value: CompValue::Str(v.into()),
        }
    }

    #[test]
    fn okta_existence_check_parses_to_a_user_name_equality() {
        assert_eq!(
            parse(r#"userName eq "test.user@okta.local""#).unwrap(),
            eq("userName", "test.user@okta.local")
        );
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_override() {
        let f = parse(r#"a eq "1" or b eq "2" and c eq "3""#).unwrap();
        assert_eq!(
            f,
            Filter::Or(
                Box::new(eq("a", "1")),
                Box::new(Filter::And(Box::new(eq("b", "2")), Box::new(eq("c", "3"))))
            )
        );
        let g = parse(r#"(a eq "1" or b eq "2") and c eq "3""#).unwrap();
        assert!(matches!(g, Filter::And(..)));
    }

    #[test]
    fn operators_and_keywords_are_case_insensitive() {
        assert_eq!(
            parse(r#"userName EQ "x" AND active Eq true"#).unwrap(),
            Filter::And(
                Box::new(eq("userName", "x")),
                Box::new(Filter::Compare {
                    path: p("active"),
                    op: CompareOp::Eq,
                    value: CompValue::Bool(true)
                })
            )
        );
    }

    #[test]
    fn value_paths_with_a_trailing_sub_attribute_become_one_element_filter() {
        let f = parse(r#"emails[type eq "work"].value eq "a@b.c""#).unwrap();
        assert_eq!(
            f,
            Filter::ValuePath {
                path: p("emails"),
                filter: Box::new(Filter::And(
                    Box::new(eq("type", "work")),
                    Box::new(eq("value", "a@b.c"))
                ))
            }
        );
        let u = json!({"emails":[{"type":"home","value":"a@b.c"},{"type":"work","value":"x@y.z"}]});
        assert!(!f.matches(&u), "the work email is not a@b.c");
        assert!(parse(r#"emails[type eq "work"].value eq "x@y.z""#)
            .unwrap()
            .matches(&u));
    }

    #[test]
    fn urn_qualified_paths_keep_their_schema() {
        let f = parse(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "42""#,
        )
        .unwrap();
        let Filter::Compare { path, .. } = &f else {
            panic!("{f:?}")
        };
        assert_eq!(path.urn.as_deref(), Some(SCHEMA_ENTERPRISE_USER));
        assert_eq!(path.name, "employeeNumber");
        assert!(f.matches(&json!({SCHEMA_ENTERPRISE_USER: {"employeeNumber": "42"}})));
        assert!(parse(r#"urn:example:nope:attr eq "1""#).is_err());
    }

    #[test]
    fn every_operator_parses_and_evaluates() {
        let u = json!({"userName":"Alice@Example.com","active":true,"meta":{"lastModified":"2026-01-02T00:00:00Z"},"n":5});
        for (f, want) in [
            (r#"userName sw "alice""#, true),
            (r#"userName ew "example.com""#, true),
            (r#"userName co "@EX""#, true),
            (r#"userName ne "bob""#, true),
            (r#"userName pr"#, true),
            (r#"title pr"#, false),
            (r#"meta.lastModified gt "2026-01-01T00:00:00Z""#, true),
            (r#"meta.lastModified lt "2026-01-01T00:00:00Z""#, false),
            (r#"n ge 5"#, true),
            (r#"n le 4.5"#, false),
            (r#"not (active eq false)"#, true),
            (r#"title eq null"#, true),
        ] {
            assert_eq!(parse(f).unwrap().matches(&u), want, "{f}");
        }
    }

    #[test]
    fn malformed_filters_are_refused_with_a_reason() {
        for bad in [
            "",
            "userName",
            r#"userName eq"#,
            r#"userName xx "a""#,
            r#"userName eq "unterminated"#,
            r#"(userName eq "a""#,
            r#"userName eq "a" extra"#,
            r#"emails[type eq "w"[x eq "y"]]"#,
            r#"userName eq bare"#,
            r#"not userName eq "a""#,
            r#"a eq "1" and"#,
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        let deep = format!("{}a pr{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep).is_err());
        assert!(parse(&"a pr or ".repeat(1000)).is_err());
    }
}
