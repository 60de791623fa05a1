//! Organization administration as `ssoctl org ...` does it: the logic is `shared::admin` (shared
//! with the management API); this file adds what only the CLI has — metadata from a file, and
//! the clap form of the settings.

use serde_json::Value;
pub use shared::admin::{
    certificate_json, list_orgs, org_json, rotate_scim_token, show_org, AdminError, KeyReplacement,
    OrgSettings,
};
use shared::org::{Provisioning, Reactivation};
use shared::saml::metadata::CheckedIdp;
use shared::store::OrgStore;

use crate::fetch;

/// Reads IdP metadata from a file path or an https URL ([`crate::fetch`]), parses it and keeps
/// only the signing certificates we can verify with.
pub async fn load_idp_metadata(source: &str) -> Result<CheckedIdp, AdminError> {
    if fetch::looks_like_url(source) {
        // The same destination rules as the Lambdas (the scheduled refresh fetches this URL
        // again from there); METADATA_FETCH_ALLOW_LOOPBACK for the local stack.
        let policy = shared::destination::FetchPolicy::from_env();
        return shared::admin::fetch_checked_metadata(source, policy).await;
    }
    let text = read_capped_file(source).map_err(|reason| AdminError::MetadataUnreadable {
        source_name: source.to_string(),
        reason,
    })?;
    shared::admin::check_metadata(source, &text)
}

/// A file, read through the same cap as a download (a FIFO or /dev/zero has no size to check).
fn read_capped_file(path: &str) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(fetch::MAX_METADATA_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() > fetch::MAX_METADATA_BYTES {
        return Err(fetch::FetchError::TooLarge.to_string());
    }
    String::from_utf8(bytes).map_err(|_| fetch::FetchError::NotUtf8.to_string())
}

pub struct CreateOrg<'a> {
    pub name: &'a str,
    pub base_url: &'a str,
    pub idp_metadata: Option<&'a str>,
    pub provisioning: Provisioning,
    /// What a SCIM reactivation does (docs/scim.md, "Reactivation").
    pub reactivation: Reactivation,
}

pub async fn create_org<S: OrgStore>(
    store: &S,
    req: CreateOrg<'_>,
    now: i64,
) -> Result<Value, AdminError> {
    shared::org::validate_org_name(req.name).map_err(AdminError::Invalid)?;
    shared::config::normalize_base_url(req.base_url).map_err(AdminError::Invalid)?;
    let idp = match req.idp_metadata {
        Some(src) => Some(load_idp_metadata(src).await?),
        None => None,
    };
    shared::admin::create_org(
        store,
        shared::admin::NewOrg {
            name: req.name,
            base_url: req.base_url,
            idp,
            idp_metadata_url: req.idp_metadata.filter(|s| fetch::looks_like_url(s)),
            provisioning: req.provisioning,
            reactivation: req.reactivation,
            default_app_url: None,
        },
        now,
    )
    .await
}

/// Sets the org's IdP from a file or URL; `confirm` decides before signing keys are replaced.
pub async fn set_idp<S: OrgStore>(
    store: &S,
    name: &str,
    metadata: &str,
    confirm: impl FnOnce(&KeyReplacement) -> Result<(), AdminError>,
    now: i64,
) -> Result<Value, AdminError> {
    shared::admin::existing(store, name).await?;
    let checked = load_idp_metadata(metadata).await?;
    let url = Some(metadata).filter(|s| fetch::looks_like_url(s));
    shared::admin::set_idp(store, name, checked, url, confirm, now).await
}

/// What `ssoctl org set` may change; `None`/empty leaves a setting as it is.
#[derive(Debug, Default, clap::Args)]
pub struct Settings {
    /// Where users land after sign-in when RelayState is absent or not allow-listed.
    #[arg(long)]
    pub default_app_url: Option<String>,
    /// Allow RelayState to redirect to this app URL (and paths under it); repeatable.
    #[arg(long = "allow-redirect")]
    pub allow_redirect: Vec<String>,
    /// Remove every allow-listed redirect URL first.
    #[arg(long)]
    pub clear_redirects: bool,
    /// Accept sign-ins started from the Okta dashboard tile (true by default).
    #[arg(long)]
    pub idp_initiated: Option<bool>,
    /// Refuse assertions that are not encrypted to this deployment's SP key (`ssoctl sp-key`;
    /// Okta: Assertion Encryption = Encrypted). false by default.
    #[arg(long)]
    pub require_encrypted_assertions: Option<bool>,
    /// Tolerated clock difference with Okta, in seconds (default 180, at most 600).
    #[arg(long)]
    pub clock_skew: Option<u32>,
    /// Session length in hours, 1 to 24 (default 24; Okta's SessionNotOnOrAfter still caps it).
    #[arg(long)]
    pub session_hours: Option<u8>,
    /// scim, first-login or both.
    #[arg(long)]
    pub provisioning: Option<Provisioning>,
    /// restore or fresh.
    #[arg(long)]
    pub reactivation: Option<Reactivation>,
    /// Map a SAML attribute to a profile field: NAME=FIELD (givenName, familyName, displayName,
    /// email, title, department, or any other name for a custom attribute); repeatable.
    #[arg(long = "map-attribute")]
    pub map_attribute: Vec<String>,
}

impl From<Settings> for OrgSettings {
    fn from(s: Settings) -> Self {
        OrgSettings {
            default_app_url: s.default_app_url,
            allow_redirect: s.allow_redirect,
            clear_redirects: s.clear_redirects,
            idp_initiated: s.idp_initiated,
            require_encrypted_assertions: s.require_encrypted_assertions,
            clock_skew: s.clock_skew,
            session_hours: s.session_hours,
            provisioning: s.provisioning,
            reactivation: s.reactivation,
            map_attribute: s.map_attribute,
        }
    }
}

/// Validates every change first, then writes them in one conditional update.
pub async fn update_settings<S: OrgStore>(
    store: &S,
    name: &str,
    s: Settings,
    now: i64,
) -> Result<Value, AdminError> {
    shared::admin::update_settings(store, name, s.into(), now).await
}

/// `ssoctl org check-certificates`: the daily expiry check at `now` ([`shared::saml::expiry`]),
/// each notice also as a warning on stderr.
pub async fn check_certificates<S: OrgStore>(store: &S, now: i64) -> Result<Value, AdminError> {
    use shared::saml::expiry::{check_all, CHECK_PERIOD};
    let notices = check_all(store, now, CHECK_PERIOD, |n| {
        eprintln!(
            "ssoctl: warning: organization {:?}: signing certificate {} (SHA-256 {}) expires in {} day(s)",
            n.org, n.position, n.sha256_fingerprint, n.days_before
        )
    })
    .await?;
    Ok(serde_json::json!({ "notices": notices.iter().map(|n| n.to_json()).collect::<Vec<_>>() }))
}

/// `ssoctl idp refresh [ORG]`: the scheduled metadata refresh at `now` ([`shared::admin::refresh`]),
/// with this machine's network under the deployed destination rules (METADATA_FETCH_ALLOW_LOOPBACK
/// for the local stack). One org: a failed fetch is an error (non-zero exit, nothing changed);
/// every org: each failure is a warning on stderr and a `failed` report.
pub async fn refresh<S: OrgStore>(
    store: &S,
    org: Option<&str>,
    now: i64,
) -> Result<Value, AdminError> {
    use shared::admin::refresh::{refresh_all, refresh_org, Https, Outcome};
    use shared::destination::FetchPolicy;
    let source = Https(FetchPolicy::from_env());
    let reports = match org {
        Some(name) => {
            let report = refresh_org(store, &source, name, now).await?;
            if let Outcome::Failed(why) = &report.outcome {
                return Err(AdminError::MetadataUnreadable {
                    source_name: report.metadata_url.clone().unwrap_or_default(),
                    reason: format!("{why} (nothing changed)"),
                });
            }
            vec![report]
        }
        None => {
            refresh_all(store, &source, now, None, |r| {
                if let Outcome::Failed(why) = &r.outcome {
                    eprintln!("ssoctl: warning: organization {:?}: metadata refresh failed, nothing changed: {why}", r.org);
                }
            })
            .await?
        }
    };
    Ok(serde_json::json!({ "refreshed": reports.iter().map(|r| r.to_json()).collect::<Vec<_>>() }))
}
