//! PATCH paths (RFC 7644 §3.5.2): `PATH = attrPath / valuePath [subAttr]`, e.g. `active`,
//! `name.givenName`, `members[value eq "id"]`, `emails[type eq "work"].value`, or a URN-qualified
//! extension attribute.

use super::filter::{parse_attr_path, AttrPath, Filter, Parser, Tok};

#[derive(Clone, Debug, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    /// The value filter of a valuePath, selecting elements of a multi-valued attribute.
    pub filter: Option<Filter>,
    /// The sub-attribute after a valuePath (`emails[...].value`).
    pub sub: Option<String>,
}

/// Parses a PATCH path; the error is the detail of a 400 `invalidPath`.
pub fn parse(input: &str) -> Result<PatchPath, String> {
    // A bare extension URN names the whole extension object (RFC 7644 §3.5.2: the value of an
    // add/replace is then an object of that schema's attributes; a remove drops them all). It
    // is the attribute `urn` of the resource's top level, which is how the resource holds it.
    if let Some(urn) = super::user::EXTENSIONS
        .iter()
        .find(|u| u.eq_ignore_ascii_case(input.trim()))
    {
        return Ok(PatchPath {
            attr: AttrPath {
                urn: None,
                name: urn.to_string(),
                sub: None,
            },
            filter: None,
            sub: None,
        });
    }
    let mut p = Parser::new(super::filter::lex(input)?);
    let attr = match p.next() {
        Some(Tok::Word(w)) => parse_attr_path(&w)?,
        _ => return Err(format!("invalid path {input:?}")),
    };
    let mut path = PatchPath {
        attr,
        filter: None,
        sub: None,
    };
    if p.peek() == Some(&Tok::LBracket) {
        if path.attr.sub.is_some() {
            return Err(format!(
                "a value filter must follow an attribute in {input:?}"
            ));
        }
        p.next();
        path.filter = Some(p.or(true)?);
        p.expect(Tok::RBracket, "']'")?;
        if p.peek() == Some(&Tok::Dot) {
            p.next();
            match p.next() {
                Some(Tok::Word(w)) if !w.contains(['.', ':']) => path.sub = Some(w),
                _ => return Err(format!("expected a sub-attribute in {input:?}")),
            }
        }
    }
    if !p.at_end() {
        return Err(format!("unexpected text in path {input:?}"));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::{CompValue, CompareOp};
    use crate::scim::SCHEMA_ENTERPRISE_USER;

    #[test]
    fn plain_and_sub_attribute_paths_parse() {
        let p = parse("active").unwrap();
        assert_eq!(
            (p.attr.name.as_str(), p.attr.sub, p.filter),
            ("active", None, None)
        );
        let p = parse("name.givenName").unwrap();
        assert_eq!(p.attr.sub.as_deref(), Some("givenName"));
    }

    #[test]
    fn okta_member_removal_path_selects_one_member_by_value() {
        let p = parse(r#"members[value eq "00u1"]"#).unwrap();
        assert_eq!(p.attr.name, "members");
        assert_eq!(
            p.filter,
            Some(Filter::Compare {
                path: parse_attr_path("value").unwrap(),
                op: CompareOp::Eq,
                value: CompValue::Str("00u1".into())
            })
        );
        assert_eq!(p.sub, None);
    }

    #[test]
    fn filtered_paths_may_end_in_a_sub_attribute() {
        let p = parse(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(p.attr.name, "emails");
        assert!(p.filter.is_some());
        assert_eq!(p.sub.as_deref(), Some("value"));
    }

    #[test]
    fn extension_attributes_keep_their_urn() {
        let p = parse(&format!("{SCHEMA_ENTERPRISE_USER}:manager.value")).unwrap();
        assert_eq!(p.attr.urn.as_deref(), Some(SCHEMA_ENTERPRISE_USER));
        assert_eq!(
            (p.attr.name.as_str(), p.attr.sub.as_deref()),
            ("manager", Some("value"))
        );
    }

    #[test]
    fn a_bare_extension_urn_names_the_whole_extension() {
        let p = parse(&SCHEMA_ENTERPRISE_USER.to_ascii_lowercase()).unwrap();
        assert_eq!(p.attr.name, SCHEMA_ENTERPRISE_USER);
        assert_eq!((p.attr.urn, p.attr.sub, p.filter), (None, None, None));
    }

    #[test]
    fn malformed_paths_are_refused() {
        for bad in [
            "",
            "members[",
            r#"members[value eq "x""#,
            r#"members[value eq "x"]extra"#,
            r#"members[value eq "x"]."#,
            "a b",
            "1abc",
            "urn:nope:x",
            r#"name.givenName[value eq "x"]"#,
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
