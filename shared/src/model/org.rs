//! An organization: one of the SaaS product's enterprise customers, with its own Okta.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How users come to exist in this organization (see the reference: "User provisioning options").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Provisioning {
    /// Only SCIM creates users; an unknown user signing in gets a 403 page.
    Scim,
    /// Users are created on their first SAML sign-in from the assertion's attributes.
    FirstLogin,
    /// SCIM pushes users, and first-login fills in whoever it has not pushed yet. The default: an
    /// org set up for SAML only signs its users in, and adding SCIM later changes nothing for them
    /// (issue 8 item 3; the reference's "complete SAML only").
    #[default]
    Both,
}

impl std::str::FromStr for Provisioning {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "scim" => Ok(Self::Scim),
            "first-login" => Ok(Self::FirstLogin),
            "both" => Ok(Self::Both),
            other => Err(format!(
                "provisioning must be scim, first-login or both (got {other:?})"
            )),
        }
    }
}

/// What happens when Okta reactivates a user it had deactivated (docs/okta-setup.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Reactivation {
    /// Same id, same groups; the user must sign in again.
    #[default]
    Restore,
    /// The reference's behaviour: the old record is retired and a new user with a new id is created.
    Fresh,
}

impl std::str::FromStr for Reactivation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "restore" => Ok(Self::Restore),
            "fresh" => Ok(Self::Fresh),
            other => Err(format!(
                "reactivation must be restore or fresh (got {other:?})"
            )),
        }
    }
}

/// The customer's IdP, from its SAML metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpConfig {
    pub entity_id: String,
    /// HTTP-Redirect SingleSignOnService location, for SP-initiated login.
    pub sso_url: Option<String>,
    /// Base64 DER X.509 signing certificates. More than one during a certificate rotation.
    pub certificates: Vec<String>,
}

/// Where an org's IdP metadata comes from when it was set from a URL, and what the scheduled
/// refresh (`admin::refresh`, docs/operations.md "IdP metadata refresh") keeps between runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpRefresh {
    /// The https URL `set-idp` fetched; re-fetched on schedule under the same rules.
    pub metadata_url: String,
    /// Signing certificates still in [`IdpConfig::certificates`] (still trusted) that the
    /// metadata no longer lists: each is dropped once its grace period has passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingCertificate>,
}

/// A trusted certificate that disappeared from the IdP's metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingCertificate {
    /// Base64 DER, exactly as in [`IdpConfig::certificates`].
    pub certificate: String,
    /// The refresh that first found it gone (epoch seconds).
    pub missing_since: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub org: String,
    /// Base URL every public URL of this org is built from (no trailing slash).
    pub base_url: String,
    #[serde(default)]
    pub provisioning: Provisioning,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<IdpConfig>,
    /// Set when the IdP was configured from a metadata URL: the scheduled refresh's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_refresh: Option<IdpRefresh>,
    /// SHA-256 of the SCIM bearer token; the token itself is shown once and never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_token_hash: Option<String>,
    #[serde(default = "yes")]
    pub allow_idp_initiated: bool,
    /// Refuse assertions that are not encrypted to our SP key (SAML core §2.3.4; Okta's
    /// "Assertion Encryption: Encrypted"). Off by default: Okta does not encrypt unless asked.
    #[serde(default)]
    pub require_encrypted_assertions: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_app_url: Option<String>,
    #[serde(default)]
    pub allowed_redirect_urls: Vec<String>,
    #[serde(default)]
    pub reactivation: Reactivation,
    /// Allowed difference between Okta's clock and ours, for every SAML time check.
    #[serde(default = "default_clock_skew")]
    pub clock_skew_seconds: u32,
    /// Session length in hours, 1–24: shorter than the reference's fixed 24 hours for customers
    /// whose policy asks for it; absent means 24. Never longer than Okta's SessionNotOnOrAfter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_hours: Option<u8>,
    /// SAML attribute name (as Okta sends it) → profile field (see `saml::attributes`).
    #[serde(default = "default_attribute_mapping")]
    pub attribute_mapping: std::collections::BTreeMap<String, String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Optimistic-concurrency version: every update is conditional on it.
    pub version: u64,
}

/// Okta's default attribute statements for a SAML app (and its profile names), as the SAML
/// attribute name → profile field mapping `saml::attributes` applies.
pub fn default_attribute_mapping() -> BTreeMap<String, String> {
    [
        ("firstName", "givenName"),
        ("lastName", "familyName"),
        ("email", "email"),
        ("title", "title"),
        ("department", "department"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The reference's session length ("sessions last 24 hours"), and the longest an org may set.
pub const MAX_SESSION_HOURS: u8 = 24;

fn yes() -> bool {
    true
}

/// Three minutes: enough for ordinary NTP drift, short enough to keep stolen assertions short-lived.
fn default_clock_skew() -> u32 {
    180
}

impl Org {
    pub fn new(org: &str, base_url: &str, now: i64) -> Self {
        Org {
            org: org.to_string(),
            base_url: base_url.to_string(),
            provisioning: Provisioning::default(),
            idp: None,
            idp_refresh: None,
            scim_token_hash: None,
            allow_idp_initiated: true,
            require_encrypted_assertions: false,
            default_app_url: None,
            allowed_redirect_urls: Vec::new(),
            reactivation: Reactivation::default(),
            clock_skew_seconds: default_clock_skew(),
            session_hours: None,
            attribute_mapping: default_attribute_mapping(),
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// Whether `other` has the same IdP connection: the keys and endpoints sign-in trusts and
    /// the refresh state around them. A difference is a `connection.updated` event (the stores'
    /// `update_org`).
    pub fn same_connection(&self, other: &Org) -> bool {
        self.idp == other.idp && self.idp_refresh == other.idp_refresh
    }

    /// How long a session of this org lasts from sign-in (before SessionNotOnOrAfter caps it):
    /// the org's `session_hours`, within 1–24 hours whatever was stored.
    pub fn session_seconds(&self) -> i64 {
        let hours = self
            .session_hours
            .unwrap_or(MAX_SESSION_HOURS)
            .clamp(1, MAX_SESSION_HOURS);
        i64::from(hours) * 3600
    }

    fn url(&self, suffix: &str) -> String {
        format!("{}/orgs/{}/{}", self.base_url, self.org, suffix)
    }

    /// The SP entity ID is the metadata URL: unique per org and self-describing.
    pub fn entity_id(&self) -> String {
        self.metadata_url()
    }
    pub fn metadata_url(&self) -> String {
        self.url("saml/metadata")
    }
    pub fn acs_url(&self) -> String {
        self.url("saml/acs")
    }
    pub fn login_url(&self) -> String {
        self.url("saml/login")
    }
    pub fn scim_base_url(&self) -> String {
        self.url("scim/v2")
    }
    pub fn session_url(&self) -> String {
        self.url("session")
    }
    /// Where a browser lands after sign-in when no app URL is configured.
    pub fn signed_in_url(&self) -> String {
        self.url("signed-in")
    }
}

/// An organization name, checked once where it enters (the URL, the CLI): a DNS label —
/// `[a-z0-9-]`, 1..=63, no leading or trailing hyphen (RFC 1035 §2.3.1) — so it is safe as a URL
/// path segment, inside store keys (it can never carry `#`, the key separator of
/// `store::keys`) and as a subdomain later.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct OrgName(String);

impl OrgName {
    pub fn parse(name: &str) -> Result<OrgName, String> {
        let ok = !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if ok {
            Ok(OrgName(name.to_string()))
        } else {
            Err(format!(
                "organization name {name:?} must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for OrgName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OrgName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        OrgName::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Whether `name` is an [`OrgName`] (for callers that keep the `&str`).
pub fn validate_org_name(name: &str) -> Result<(), String> {
    OrgName::parse(name).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_names_follow_dns_label_rules() {
        for ok in ["acme", "a", "acme-corp-2", &"a".repeat(63)] {
            assert!(validate_org_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Acme",
            "-acme",
            "acme-",
            "ac#me",
            "ac/me",
            "acme corp",
            &"a".repeat(64),
        ] {
            assert!(validate_org_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_org_name_never_carries_the_key_separator_and_is_checked_when_read_back_too() {
        assert!(OrgName::parse("ac#me").is_err());
        assert_eq!(OrgName::parse("acme-2").unwrap().as_str(), "acme-2");
        let stored: Result<OrgName, _> = serde_json::from_str("\"ORG#x\"");
        assert!(stored.is_err());
        let ok: OrgName = serde_json::from_str("\"acme\"").unwrap();
        assert_eq!(ok.to_string(), "acme");
    }

    #[test]
    fn every_public_url_is_scoped_by_the_org() {
        let o = Org::new("acme", "https://sso.example.com", 0);
        assert_eq!(o.acs_url(), "https://sso.example.com/orgs/acme/saml/acs");
        assert_eq!(
            o.entity_id(),
            "https://sso.example.com/orgs/acme/saml/metadata"
        );
        assert_eq!(
            o.scim_base_url(),
            "https://sso.example.com/orgs/acme/scim/v2"
        );
        assert_eq!(
            o.login_url(),
            "https://sso.example.com/orgs/acme/saml/login"
        );
    }

    #[test]
    fn a_new_org_provisions_users_by_scim_and_at_first_sign_in() {
        assert_eq!(
            Org::new("acme", "https://sso.example.com", 0).provisioning,
            Provisioning::Both
        );
    }

    #[test]
    fn provisioning_modes_parse_from_their_cli_names() {
        assert_eq!(
            "first-login".parse::<Provisioning>().unwrap(),
            Provisioning::FirstLogin
        );
        assert!("sometimes".parse::<Provisioning>().is_err());
    }
}
