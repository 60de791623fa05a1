//! Organization administration, shared by `ssoctl org ...` (on the table directly) and the
//! management API (`/api/v1/orgs`, docs/api.md): one implementation of every check, so the two
//! cannot drift. Every operation validates all its input before it writes anything.
//!
//! Where IdP metadata comes from is the caller's business (a file or URL for the CLI; a body or an
//! https `metadata_url` for the API): these functions take it parsed and checked.

pub use crate::destination;
pub mod fetch;
pub mod refresh;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::model::org::{validate_org_name, IdpRefresh, Org, Provisioning, Reactivation};
use crate::saml::certificate::CertificateInfo;
use crate::saml::metadata::{
    check_signing_certificates, parse_idp_metadata, CheckedIdp, MetadataError, SkippedCertificate,
};
use crate::store::{OrgStore, StoreError};
use crate::tokens::Secret;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("organization {0:?} not found (see `ssoctl org list`)")]
    UnknownOrg(String),
    #[error("organization {0:?} already exists (see `ssoctl org show {0}`)")]
    Exists(String),
    #[error("cannot read IdP metadata from {source_name}: {reason}")]
    MetadataUnreadable { source_name: String, reason: String },
    #[error("IdP metadata from {source_name} is unusable: {error}")]
    MetadataInvalid {
        source_name: String,
        error: MetadataError,
    },
    #[error("{0}")]
    NotConfirmed(String),
    #[error("the organization changed while this command ran; run it again")]
    Conflict,
    #[error("database: {0}")]
    Store(StoreError),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::VersionConflict => AdminError::Conflict,
            other => AdminError::Store(other),
        }
    }
}

/// Parses metadata text and keeps only the signing certificates we can verify with.
pub fn check_metadata(source_name: &str, text: &str) -> Result<CheckedIdp, AdminError> {
    parse_idp_metadata(text)
        .and_then(check_signing_certificates)
        .map_err(|error| AdminError::MetadataInvalid {
            source_name: source_name.to_string(),
            error,
        })
}

/// Fetches metadata from an https URL under [`fetch`]'s rules (destinations as `policy` allows),
/// then checks it.
pub async fn fetch_checked_metadata(
    url: &str,
    policy: destination::FetchPolicy,
) -> Result<CheckedIdp, AdminError> {
    let text =
        fetch::fetch_metadata(url, policy)
            .await
            .map_err(|e| AdminError::MetadataUnreadable {
                source_name: url.to_string(),
                reason: e.to_string(),
            })?;
    check_metadata(url, &text)
}

/// One certificate as `show`, `create` and `set-idp` print it: fingerprint, key, validity and
/// whether it has expired at `now` ([`crate::saml::expiry::info_json`]).
pub fn certificate_json(info: &CertificateInfo, now: i64) -> Value {
    crate::saml::expiry::info_json(info, now)
}

/// A stored certificate, described; one stored before keys were checked may be unusable.
pub fn stored_certificate_json(b64: &str, now: i64) -> Value {
    crate::saml::expiry::certificate_json(b64, now)
}

fn skipped_json(skipped: &[SkippedCertificate], now: i64) -> Value {
    skipped
        .iter()
        .map(|s| {
            let mut v = s
                .info
                .as_ref()
                .map(|i| certificate_json(i, now))
                .unwrap_or(json!({}));
            v["position"] = json!(s.position);
            v["unusable"] = json!(s.reason.to_string());
            v
        })
        .collect()
}

/// What an Okta admin pastes, for one org. `scim_token` only when one was just minted; `now`
/// decides which certificates are flagged as expired.
pub fn org_json(org: &Org, scim_token: Option<&Secret>, now: i64) -> Value {
    let mut v = json!({
        "org": org.org,
        "entity_id": org.entity_id(),
        "acs_url": org.acs_url(),
        "metadata_url": org.metadata_url(),
        "login_url": org.login_url(),
        "session_url": org.session_url(),
        "scim_base_url": org.scim_base_url(),
        "provisioning": org.provisioning,
        "reactivation": org.reactivation,
        "allow_idp_initiated": org.allow_idp_initiated,
        "require_encrypted_assertions": org.require_encrypted_assertions,
        "default_app_url": org.default_app_url,
        "allowed_redirect_urls": org.allowed_redirect_urls,
        "clock_skew_seconds": org.clock_skew_seconds,
        "session_hours": org.session_seconds() / 3600,
        "attribute_mapping": org.attribute_mapping,
        "scim_token_configured": org.scim_token_hash.is_some(),
        "idp": org.idp.as_ref().map(|i| json!({
            "entity_id": i.entity_id,
            "sso_url": i.sso_url,
            "metadata_url": org.idp_refresh.as_ref().map(|r| r.metadata_url.clone()),
            "signing_certificates": i.certificates.iter().map(|c| {
                let mut v = stored_certificate_json(c, now);
                refresh::annotate_missing(&mut v, org.idp_refresh.as_ref(), c);
                v
            }).collect::<Vec<_>>(),
        })),
    });
    if let Some(t) = scim_token {
        v["scim_token"] = json!(t.expose());
    }
    v
}

pub struct NewOrg<'a> {
    pub name: &'a str,
    pub base_url: &'a str,
    pub idp: Option<CheckedIdp>,
    /// The https URL `idp` was fetched from, if it was: the scheduled refresh re-fetches it.
    pub idp_metadata_url: Option<&'a str>,
    pub provisioning: Provisioning,
    /// What a SCIM reactivation does (docs/scim.md, "Reactivation").
    pub reactivation: Reactivation,
    pub default_app_url: Option<&'a str>,
}

pub async fn create_org<S: OrgStore>(
    store: &S,
    req: NewOrg<'_>,
    now: i64,
) -> Result<Value, AdminError> {
    validate_org_name(req.name).map_err(AdminError::Invalid)?;
    let base_url = crate::config::normalize_base_url(req.base_url).map_err(AdminError::Invalid)?;
    let default_app_url = req.default_app_url.map(app_url).transpose()?;
    let token = Secret::generate("scim");
    let mut org = Org::new(req.name, &base_url, now);
    org.provisioning = req.provisioning;
    org.reactivation = req.reactivation;
    org.default_app_url = default_app_url;
    org.idp = req.idp.as_ref().map(|c| c.idp.clone());
    org.idp_refresh = org.idp.as_ref().and(req.idp_metadata_url).map(refresh_from);
    org.scim_token_hash = Some(token.hash().into_string());
    match store.create_org(&org).await {
        Ok(()) => {
            let mut out = org_json(&org, Some(&token), now);
            if let Some(c) = req.idp.filter(|c| !c.skipped.is_empty()) {
                out["skipped_certificates"] = skipped_json(&c.skipped, now);
            }
            Ok(out)
        }
        Err(StoreError::AlreadyExists(_)) => Err(AdminError::Exists(req.name.to_string())),
        Err(e) => Err(e.into()),
    }
}

pub async fn existing<S: OrgStore>(store: &S, name: &str) -> Result<Org, AdminError> {
    if validate_org_name(name).is_err() {
        return Err(AdminError::UnknownOrg(name.to_string()));
    }
    store
        .get_org(name)
        .await?
        .ok_or_else(|| AdminError::UnknownOrg(name.to_string()))
}

pub async fn show_org<S: OrgStore>(store: &S, name: &str, now: i64) -> Result<Value, AdminError> {
    Ok(org_json(&existing(store, name).await?, None, now))
}

/// What `set-idp` is about to do to an org that already verifies with some keys.
pub struct KeyReplacement<'a> {
    pub org: &'a str,
    /// The stored certificates (base64 DER) and what is known of each.
    pub current: Vec<Value>,
    pub new: &'a CheckedIdp,
}

fn refresh_from(url: &str) -> IdpRefresh {
    IdpRefresh {
        metadata_url: url.to_string(),
        missing: Vec::new(),
    }
}

/// Sets the org's IdP. When the org already has signing certificates and the metadata changes
/// them, `confirm` decides (an `Err` aborts, nothing written): replacing keys replaces who may
/// sign users in. `metadata_url`: where `checked` was fetched from (then refreshed on schedule);
/// `None` (a file, a request body) stops any refresh. Either way the admin's metadata replaces
/// every key, including those a refresh was keeping through their grace period.
pub async fn set_idp<S: OrgStore>(
    store: &S,
    name: &str,
    checked: CheckedIdp,
    metadata_url: Option<&str>,
    confirm: impl FnOnce(&KeyReplacement) -> Result<(), AdminError>,
    now: i64,
) -> Result<Value, AdminError> {
    let mut org = existing(store, name).await?;
    if let Some(current) = org.idp.as_ref().filter(|i| !i.certificates.is_empty()) {
        let mut before = current.certificates.clone();
        let mut after = checked.idp.certificates.clone();
        before.sort();
        after.sort();
        if before != after {
            confirm(&KeyReplacement {
                org: &org.org,
                current: current
                    .certificates
                    .iter()
                    .map(|c| stored_certificate_json(c, now))
                    .collect(),
                new: &checked,
            })?;
        }
    }
    org.idp = Some(checked.idp.clone());
    org.idp_refresh = metadata_url.map(refresh_from);
    org.updated_at = now;
    let org = store.update_org(&org).await?;
    let mut out = org_json(&org, None, now);
    if !checked.skipped.is_empty() {
        out["skipped_certificates"] = skipped_json(&checked.skipped, now);
    }
    Ok(out)
}

/// Mints a new SCIM token; the old one stops working at once (SCIM reads the org on every request).
pub async fn rotate_scim_token<S: OrgStore>(
    store: &S,
    name: &str,
    now: i64,
) -> Result<Value, AdminError> {
    let mut org = existing(store, name).await?;
    let token = Secret::generate("scim");
    org.scim_token_hash = Some(token.hash().into_string());
    org.updated_at = now;
    let org = store.update_org(&org).await?;
    Ok(
        json!({ "org": org.org, "scim_base_url": org.scim_base_url(), "scim_token": token.expose() }),
    )
}

/// One org as `org list` prints it.
pub fn org_summary_json(o: &Org) -> Value {
    json!({
        "org": o.org,
        "metadata_url": o.metadata_url(),
        "idp_configured": o.idp.is_some(),
        "provisioning": o.provisioning,
    })
}

pub async fn list_orgs<S: OrgStore>(store: &S) -> Result<Value, AdminError> {
    let orgs = store.list_orgs().await?;
    Ok(json!({ "orgs": orgs.iter().map(org_summary_json).collect::<Vec<_>>() }))
}

/// What `ssoctl org set` (and `PATCH /api/v1/orgs/{org}`) may change; `None`/empty leaves a
/// setting as it is. Unknown fields are refused, so a typo is a 400, not a silent no-op.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgSettings {
    pub default_app_url: Option<String>,
    #[serde(default)]
    pub allow_redirect: Vec<String>,
    #[serde(default)]
    pub clear_redirects: bool,
    pub idp_initiated: Option<bool>,
    /// Refuse plain (unencrypted) assertions.
    pub require_encrypted_assertions: Option<bool>,
    pub clock_skew: Option<u32>,
    /// Session length in hours, 1 to [`crate::model::org::MAX_SESSION_HOURS`].
    pub session_hours: Option<u8>,
    pub provisioning: Option<Provisioning>,
    pub reactivation: Option<Reactivation>,
    #[serde(default)]
    pub map_attribute: Vec<String>,
}

/// Settings lists are short; every loop over input is bounded.
const MAX_SETTING_ENTRIES: usize = 100;

/// App URLs users are redirected to: absolute https (http on loopback), no credentials or
/// fragment — the redirect allow-list is our defence against open redirects.
pub fn app_url(raw: &str) -> Result<String, AdminError> {
    let url = url::Url::parse(raw)
        .map_err(|e| AdminError::Invalid(format!("{raw:?} is not a URL: {e}")))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !scheme_ok
        || url.host_str().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
    {
        return Err(AdminError::Invalid(format!(
            "app URL {raw:?} must be an absolute https URL without credentials or fragment (http only on loopback)"
        )));
    }
    Ok(url.to_string())
}

/// Validates every change first, then writes them in one conditional update.
pub async fn update_settings<S: OrgStore>(
    store: &S,
    name: &str,
    s: OrgSettings,
    now: i64,
) -> Result<Value, AdminError> {
    if s.allow_redirect.len() > MAX_SETTING_ENTRIES || s.map_attribute.len() > MAX_SETTING_ENTRIES {
        return Err(AdminError::Invalid(format!(
            "at most {MAX_SETTING_ENTRIES} redirect URLs and attribute mappings per change"
        )));
    }
    let mut org = existing(store, name).await?;
    if let Some(url) = &s.default_app_url {
        org.default_app_url = Some(app_url(url)?);
    }
    if s.clear_redirects {
        org.allowed_redirect_urls.clear();
    }
    for url in &s.allow_redirect {
        let url = app_url(url)?;
        if !org.allowed_redirect_urls.contains(&url) {
            org.allowed_redirect_urls.push(url);
        }
    }
    if let Some(on) = s.idp_initiated {
        org.allow_idp_initiated = on;
    }
    if let Some(on) = s.require_encrypted_assertions {
        org.require_encrypted_assertions = on;
    }
    if let Some(skew) = s.clock_skew {
        if skew > 600 {
            return Err(AdminError::Invalid(format!(
                "clock skew {skew} s is too lax: at most 600"
            )));
        }
        org.clock_skew_seconds = skew;
    }
    if let Some(h) = s.session_hours {
        if !(1..=crate::model::org::MAX_SESSION_HOURS).contains(&h) {
            return Err(AdminError::Invalid(format!(
                "session length {h} h: must be 1 to {} hours",
                crate::model::org::MAX_SESSION_HOURS
            )));
        }
        org.session_hours = Some(h);
    }
    if let Some(p) = s.provisioning {
        org.provisioning = p;
    }
    if let Some(r) = s.reactivation {
        org.reactivation = r;
    }
    for entry in &s.map_attribute {
        let (from, to) = entry
            .split_once('=')
            .filter(|(f, t)| !f.trim().is_empty() && !t.trim().is_empty())
            .ok_or_else(|| {
                AdminError::Invalid(format!("--map-attribute {entry:?} must be SAML_NAME=FIELD"))
            })?;
        org.attribute_mapping
            .insert(from.trim().to_string(), to.trim().to_string());
    }
    org.updated_at = now;
    let org = store.update_org(&org).await?;
    Ok(org_json(&org, None, now))
}
