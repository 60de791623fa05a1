//! The user's claims (OIDC Core §5.1), from the SCIM-shaped user record, by scope (§5.4). The ID
//! token and userinfo both use [`user_claims`], so they always agree. Claim names are listed in
//! docs/app-integration.md ("Claims").

use serde_json::{json, Map, Value};

use crate::saml::attributes::ENTERPRISE;
use crate::store::User;

/// More groups than this are not put in tokens (a token carries them on every request; the app
/// can ask SCIM-side for more). Documented in docs/app-integration.md.
pub const MAX_GROUPS: usize = 100;

/// Every claim this provider can issue, for discovery's `claims_supported`.
pub const SUPPORTED: [&str; 20] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "sid",
    "org",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "groups",
    "title",
    "department",
    "custom_attributes",
    "updated_at",
];

fn primary_email(attrs: &Value) -> Option<&str> {
    let emails = attrs.get("emails")?.as_array()?;
    emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| emails.first())
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |cur, k| cur.get(*k))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `sub`, `org` and the scoped claims of `user`. `groups` are the display names of the user's
/// groups (at most [`MAX_GROUPS`]).
pub fn user_claims(org: &str, user: &User, scope: &str, groups: &[String]) -> Map<String, Value> {
    let has = |s: &str| scope.split(' ').any(|x| x == s);
    let a = &user.attributes;
    let mut c = Map::new();
    c.insert("sub".into(), json!(user.id));
    c.insert("org".into(), json!(org));
    if has("email") {
        let email = primary_email(a).or_else(|| {
            user.user_name
                .contains('@')
                .then_some(user.user_name.as_str())
        });
        if let Some(e) = email {
            c.insert("email".into(), json!(e));
            // The customer's IdP asserts the address; this service has not verified it, and an
            // app must not link accounts across organizations by email (decisions.md, OIDC).
            c.insert("email_verified".into(), json!(false));
        }
    }
    if has("profile") {
        let given = str_at(a, &["name", "givenName"]);
        let family = str_at(a, &["name", "familyName"]);
        let name = str_at(a, &["displayName"])
            .or_else(|| str_at(a, &["name", "formatted"]))
            .map(str::to_string)
            .or_else(|| match (given, family) {
                (Some(g), Some(f)) => Some(format!("{g} {f}")),
                (Some(x), None) | (None, Some(x)) => Some(x.to_string()),
                _ => None,
            });
        let mut put = |k: &str, v: Option<&str>| {
            if let Some(v) = v {
                c.insert(k.into(), json!(v));
            }
        };
        put("name", name.as_deref());
        put("given_name", given);
        put("family_name", family);
        put("preferred_username", Some(user.user_name.as_str()));
        put("title", str_at(a, &["title"]));
        put("department", str_at(a, &[ENTERPRISE, "department"]));
        if let Some(custom) = a.get("customAttributes").filter(|v| v.is_object()) {
            c.insert("custom_attributes".into(), custom.clone());
        }
        c.insert("updated_at".into(), json!(user.updated_at));
    }
    if has("groups") {
        let names: Vec<&String> = groups.iter().take(MAX_GROUPS).collect();
        c.insert("groups".into(), json!(names));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: "u-1".into(),
            user_name: "ada@example.com".into(),
            external_id: None,
            active: true,
            attributes: json!({
                "name": { "givenName": "Ada", "familyName": "Lovelace" },
                "emails": [{ "value": "other@example.com" }, { "value": "ada@example.com", "primary": true }],
                "title": "Analyst",
                ENTERPRISE: { "department": "Engines" },
                "customAttributes": { "costCenter": "42" },
            }),
            created_at: 1,
            updated_at: 2,
            version: 1,
        }
    }

    #[test]
    fn each_scope_adds_its_claims_and_only_those() {
        let c = user_claims("acme", &user(), "openid", &[]);
        assert_eq!(c.keys().collect::<Vec<_>>(), ["org", "sub"]);
        let c = user_claims(
            "acme",
            &user(),
            "openid email profile groups",
            &["Admins".into()],
        );
        assert_eq!(c["email"], "ada@example.com", "the primary address");
        assert_eq!(c["email_verified"], false);
        assert_eq!(c["name"], "Ada Lovelace");
        assert_eq!(c["given_name"], "Ada");
        assert_eq!(c["family_name"], "Lovelace");
        assert_eq!(c["title"], "Analyst");
        assert_eq!(c["department"], "Engines");
        assert_eq!(c["custom_attributes"]["costCenter"], "42");
        assert_eq!(c["groups"], json!(["Admins"]));
        for k in c.keys() {
            assert!(
                SUPPORTED.contains(&k.as_str()),
                "{k} missing from claims_supported"
            );
        }
    }

    #[test]
    fn groups_are_capped() {
        let many: Vec<String> = (0..MAX_GROUPS + 5).map(|i| format!("g{i}")).collect();
        let c = user_claims("acme", &user(), "openid groups", &many);
        assert_eq!(c["groups"].as_array().unwrap().len(), MAX_GROUPS);
    }
}
