//! Organization administration: what `ssoctl org ...` does, as functions tests can call.
//! Every command validates all its input before it writes anything.

use serde_json::{json, Value};
use shared::org::{validate_org_name, IdpConfig, Org, Provisioning, Reactivation};
use shared::saml::metadata::{parse_idp_metadata, MetadataError};
use shared::store::{OrgStore, StoreError};
use shared::tokens::Secret;

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

/// Metadata documents are small; a cap keeps a wrong URL from streaming gigabytes at us.
const MAX_METADATA_BYTES: usize = 1024 * 1024;

/// Reads IdP metadata from a file path or an http(s) URL, and parses it.
pub async fn load_idp_metadata(source: &str) -> Result<IdpConfig, AdminError> {
    let unreadable = |reason: String| AdminError::MetadataUnreadable {
        source_name: source.to_string(),
        reason,
    };
    let text = if source.starts_with("https://") || source.starts_with("http://") {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| unreadable(e.to_string()))?;
        let resp = client
            .get(source)
            .send()
            .await
            .map_err(|e| unreadable(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(unreadable(format!("HTTP {}", resp.status())));
        }
        let bytes = resp.bytes().await.map_err(|e| unreadable(e.to_string()))?;
        if bytes.len() > MAX_METADATA_BYTES {
            return Err(unreadable(format!(
                "larger than {MAX_METADATA_BYTES} bytes"
            )));
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| unreadable("not UTF-8".into()))?
    } else {
        let meta = std::fs::metadata(source).map_err(|e| unreadable(e.to_string()))?;
        if meta.len() > MAX_METADATA_BYTES as u64 {
            return Err(unreadable(format!(
                "larger than {MAX_METADATA_BYTES} bytes"
            )));
        }
        std::fs::read_to_string(source).map_err(|e| unreadable(e.to_string()))?
    };
    parse_idp_metadata(&text).map_err(|error| AdminError::MetadataInvalid {
        source_name: source.to_string(),
        error,
    })
}

/// What an Okta admin pastes, for one org. `scim_token` only when one was just minted.
pub fn org_json(org: &Org, scim_token: Option<&Secret>) -> Value {
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
        "default_app_url": org.default_app_url,
        "allowed_redirect_urls": org.allowed_redirect_urls,
        "clock_skew_seconds": org.clock_skew_seconds,
        "attribute_mapping": org.attribute_mapping,
        "scim_token_configured": org.scim_token_hash.is_some(),
        "idp": org.idp.as_ref().map(|i| json!({
            "entity_id": i.entity_id,
            "sso_url": i.sso_url,
            "signing_certificates": i.certificates.len(),
        })),
    });
    if let Some(t) = scim_token {
        v["scim_token"] = json!(t.expose());
    }
    v
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
    validate_org_name(req.name).map_err(AdminError::Invalid)?;
    let base_url = shared::config::normalize_base_url(req.base_url).map_err(AdminError::Invalid)?;
    let idp = match req.idp_metadata {
        Some(src) => Some(load_idp_metadata(src).await?),
        None => None,
    };
    let token = Secret::generate("scim");
    let mut org = Org::new(req.name, &base_url, now);
    org.provisioning = req.provisioning;
    org.reactivation = req.reactivation;
    org.idp = idp;
    org.scim_token_hash = Some(token.hash().0);
    match store.create_org(&org).await {
        Ok(()) => Ok(org_json(&org, Some(&token))),
        Err(StoreError::AlreadyExists(_)) => Err(AdminError::Exists(req.name.to_string())),
        Err(e) => Err(e.into()),
    }
}

async fn existing<S: OrgStore>(store: &S, name: &str) -> Result<Org, AdminError> {
    if validate_org_name(name).is_err() {
        return Err(AdminError::UnknownOrg(name.to_string()));
    }
    store
        .get_org(name)
        .await?
        .ok_or_else(|| AdminError::UnknownOrg(name.to_string()))
}

pub async fn show_org<S: OrgStore>(store: &S, name: &str) -> Result<Value, AdminError> {
    Ok(org_json(&existing(store, name).await?, None))
}

pub async fn set_idp<S: OrgStore>(
    store: &S,
    name: &str,
    metadata: &str,
    now: i64,
) -> Result<Value, AdminError> {
    let mut org = existing(store, name).await?;
    org.idp = Some(load_idp_metadata(metadata).await?);
    org.updated_at = now;
    let org = store.update_org(&org).await?;
    Ok(org_json(&org, None))
}

/// Mints a new SCIM token; the old one stops working at once (SCIM reads the org on every request).
pub async fn rotate_scim_token<S: OrgStore>(
    store: &S,
    name: &str,
    now: i64,
) -> Result<Value, AdminError> {
    let mut org = existing(store, name).await?;
    let token = Secret::generate("scim");
    org.scim_token_hash = Some(token.hash().0);
    org.updated_at = now;
    let org = store.update_org(&org).await?;
    Ok(
        json!({ "org": org.org, "scim_base_url": org.scim_base_url(), "scim_token": token.expose() }),
    )
}

pub async fn list_orgs<S: OrgStore>(store: &S) -> Result<Value, AdminError> {
    let orgs = store.list_orgs().await?;
    Ok(json!({
        "orgs": orgs.iter().map(|o| json!({
            "org": o.org,
            "metadata_url": o.metadata_url(),
            "idp_configured": o.idp.is_some(),
            "provisioning": o.provisioning,
        })).collect::<Vec<_>>()
    }))
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
    /// Tolerated clock difference with Okta, in seconds (default 180, at most 600).
    #[arg(long)]
    pub clock_skew: Option<u32>,
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

/// App URLs users are redirected to: absolute https (http on loopback), no credentials or
/// fragment — the redirect allow-list is our defence against open redirects.
fn app_url(raw: &str) -> Result<String, AdminError> {
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
    s: Settings,
    now: i64,
) -> Result<Value, AdminError> {
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
    if let Some(skew) = s.clock_skew {
        if skew > 600 {
            return Err(AdminError::Invalid(format!(
                "clock skew {skew} s is too lax: at most 600"
            )));
        }
        org.clock_skew_seconds = skew;
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
    Ok(org_json(&org, None))
}
