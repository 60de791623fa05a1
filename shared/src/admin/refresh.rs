//! Scheduled IdP metadata refresh (issue 13 item 4; docs/operations.md, "IdP metadata refresh").
//!
//! An org whose IdP was set from a metadata URL (`set-idp --metadata https://...`, or the API's
//! `{"metadata_url"}`) remembers it ([`IdpRefresh`]); the daily `idp-certificates` run (and
//! `ssoctl idp refresh [ORG]`) fetches it again under the same rules as `set-idp` (admin/fetch.rs:
//! https only, same-origin https redirects, capped body, public destinations only; then
//! [`super::check_metadata`]: no DTDs, no weak keys) and applies what changed:
//!
//! - **overlap**: a certificate new in the metadata is trusted at once, next to the ones already
//!   trusted — Okta publishes the next certificate before it signs with it (Okta "Rotate keys";
//!   SAML metadata §2.4.1.1 allows several signing KeyDescriptors);
//! - **grace**: a trusted certificate the metadata no longer lists stays trusted for
//!   [`GRACE_PERIOD`] from the first refresh that missed it, then is dropped (sign-ins signed just
//!   before a rotation, or a metadata endpoint briefly serving an older copy, keep working);
//!   back in the metadata within the grace period, it is simply kept;
//! - the IdP's entity ID never changes by refresh: a different entity ID is a different IdP,
//!   an admin's decision (`set-idp`), so the refresh refuses it and changes nothing.
//!
//! A refresh that fails (unreachable, invalid, refused destination) changes nothing and is
//! reported (the run's output, a log line, the metric). A change is one conditional org update,
//! whose `connection.updated` event is written in the same transaction (store `update_org`); no
//! change, no write, no event. The key cache (saml/key_cache.rs) sees every change: it is keyed by
//! the org's certificate list.

use std::future::Future;
use std::time::Duration;

use serde_json::{json, Value};

use super::destination::FetchPolicy;
use super::fetch::FetchError;
use super::{check_metadata, existing, AdminError};
use crate::model::org::{IdpRefresh, MissingCertificate, Org};
use crate::saml::certificate::{inspect, rfc3339};
use crate::saml::expiry::DAY;
use crate::saml::metadata::CheckedIdp;
use crate::saml::verify::decode_b64;
use crate::store::{OrgStore, StoreError};

/// How long a certificate gone from the metadata stays trusted: a week covers a weekend of an
/// admin not looking and several daily runs, and is short next to a certificate's life (Okta's:
/// 10 years) — an attacker who got a retired key gains at most a week.
pub const GRACE_PERIOD: i64 = 7 * DAY;
/// The metric (namespace [`crate::metrics::NAMESPACE`]), one per org and run, by `Outcome`.
pub const METRIC: &str = "connection.metadata_refresh";
/// One org's fetch, all hops included: a slow IdP cannot hold the run for longer.
pub const FETCH_BUDGET: Duration = Duration::from_secs(30);
/// Attempts of one org's update when a concurrent change wins the version race.
const ATTEMPTS: usize = 2;

/// Where refreshed metadata comes from: [`Https`] deployed; tests inject documents they change
/// between runs.
pub trait MetadataSource: Sync {
    fn fetch(&self, url: &str) -> impl Future<Output = Result<String, FetchError>> + Send;
}

/// The network, under admin/fetch.rs's rules and `policy`'s destinations.
pub struct Https(pub FetchPolicy);

impl MetadataSource for Https {
    fn fetch(&self, url: &str) -> impl Future<Output = Result<String, FetchError>> + Send {
        super::fetch::fetch_metadata(url, self.0)
    }
}

/// SHA-256 fingerprint of a stored certificate, as admins compare it with Okta's.
pub fn fingerprint(b64: &str) -> String {
    decode_b64(b64)
        .and_then(|der| inspect(&der).ok())
        .map(|i| i.sha256_fingerprint)
        .unwrap_or_else(|| "(unparsable certificate)".into())
}

/// What one refresh changed, certificates by fingerprint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// New in the metadata: trusted from now on.
    pub added: Vec<String>,
    /// Gone from the metadata in this run: trusted until `missing_since + GRACE_PERIOD`.
    pub missing: Vec<String>,
    /// Back in the metadata within their grace period.
    pub returned: Vec<String>,
    /// Gone for the whole grace period: no longer trusted.
    pub dropped: Vec<String>,
    pub sso_url: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

/// The org after a refresh that found `fresh` at `now`: `Ok(None)` when nothing changed, `Err`
/// (nothing to write) when the metadata may not replace the org's by refresh.
pub fn apply(org: &Org, fresh: &CheckedIdp, now: i64) -> Result<Option<(Org, Changes)>, String> {
    let (Some(idp), Some(refresh)) = (org.idp.as_ref(), org.idp_refresh.as_ref()) else {
        return Err("the organization's IdP was not set from a metadata URL".into());
    };
    if fresh.idp.entity_id != idp.entity_id {
        return Err(format!(
            "the metadata now names IdP {:?} (configured: {:?}); a different IdP is only installed by `set-idp`",
            fresh.idp.entity_id, idp.entity_id
        ));
    }
    let listed = |c: &String| fresh.idp.certificates.contains(c);
    let mut changes = Changes::default();
    let mut certificates = Vec::new();
    let mut missing = Vec::new();
    // Bounded: the stored list (at most the certificates of one metadata document plus those in
    // their grace period) and the fresh one (capped by the 1 MiB body).
    for c in &idp.certificates {
        let since = refresh
            .missing
            .iter()
            .find(|m| &m.certificate == c)
            .map(|m| m.missing_since);
        if listed(c) {
            if since.is_some() {
                changes.returned.push(fingerprint(c));
            }
            certificates.push(c.clone());
            continue;
        }
        let since = since.unwrap_or_else(|| {
            changes.missing.push(fingerprint(c));
            now
        });
        if now - since >= GRACE_PERIOD {
            changes.dropped.push(fingerprint(c));
        } else {
            certificates.push(c.clone());
            missing.push(MissingCertificate {
                certificate: c.clone(),
                missing_since: since,
            });
        }
    }
    for c in &fresh.idp.certificates {
        if !idp.certificates.contains(c) {
            changes.added.push(fingerprint(c));
            certificates.push(c.clone());
        }
    }
    changes.sso_url = fresh.idp.sso_url != idp.sso_url;
    if changes.is_empty() {
        return Ok(None);
    }
    let mut next = org.clone();
    next.idp = Some(crate::model::org::IdpConfig {
        entity_id: idp.entity_id.clone(),
        sso_url: fresh.idp.sso_url.clone(),
        certificates,
    });
    next.idp_refresh = Some(IdpRefresh {
        metadata_url: refresh.metadata_url.clone(),
        missing,
    });
    next.updated_at = now;
    Ok(Some((next, changes)))
}

/// What a refresh did to one org.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Unchanged,
    Changed(Changes),
    /// Nothing written; why.
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub org: String,
    pub metadata_url: Option<String>,
    pub outcome: Outcome,
}

impl Report {
    pub fn outcome_name(&self) -> &'static str {
        match self.outcome {
            Outcome::Unchanged => "unchanged",
            Outcome::Changed(_) => "changed",
            Outcome::Failed(_) => "failed",
        }
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "org": self.org,
            "metadata_url": self.metadata_url,
            "outcome": self.outcome_name(),
        });
        match &self.outcome {
            Outcome::Unchanged => {}
            Outcome::Changed(c) => {
                v["added"] = json!(c.added);
                v["missing"] = json!(c.missing);
                v["returned"] = json!(c.returned);
                v["dropped"] = json!(c.dropped);
                v["sso_url_changed"] = json!(c.sso_url);
            }
            Outcome::Failed(why) => v["error"] = json!(why),
        }
        v
    }

    /// One CloudWatch EMF line: [`METRIC`] = 1 by `Outcome`; the org is a property.
    pub fn to_emf(&self, timestamp_ms: u64) -> String {
        let mut v = self.to_json();
        v["_aws"] = json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": crate::metrics::NAMESPACE,
                "Dimensions": [["Outcome"]],
                "Metrics": [{ "Name": METRIC, "Unit": "Count" }]
            }]
        });
        v["Outcome"] = json!(self.outcome_name());
        v[METRIC] = json!(1);
        v.to_string()
    }
}

/// Refreshes one org. `Err` only when there is nothing to refresh (unknown org, IdP not set
/// from a URL) or the store fails; a fetch or metadata failure is an `Ok` report saying why.
pub async fn refresh_org<S: OrgStore, M: MetadataSource>(
    store: &S,
    source: &M,
    name: &str,
    now: i64,
) -> Result<Report, AdminError> {
    let org = existing(store, name).await?;
    let Some(url) = org.idp_refresh.as_ref().map(|r| r.metadata_url.clone()) else {
        return Err(AdminError::Invalid(format!(
            "organization {name:?} has no metadata URL to refresh from: its IdP was set from a file or request body (`ssoctl org set-idp {name} --metadata https://...` sets one)"
        )));
    };
    let report = |outcome| Report {
        org: name.to_string(),
        metadata_url: Some(url.clone()),
        outcome,
    };
    let fetched = match tokio::time::timeout(FETCH_BUDGET, source.fetch(&url)).await {
        Ok(Ok(text)) => text,
        Ok(Err(e)) => return Ok(report(Outcome::Failed(format!("cannot fetch: {e}")))),
        Err(_) => {
            return Ok(report(Outcome::Failed(format!(
                "cannot fetch: no answer within {} s",
                FETCH_BUDGET.as_secs()
            ))))
        }
    };
    let fresh = match check_metadata(&url, &fetched) {
        Ok(c) => c,
        Err(e) => return Ok(report(Outcome::Failed(e.to_string()))),
    };
    let mut org = org;
    for _ in 0..ATTEMPTS {
        let (next, changes) = match apply(&org, &fresh, now) {
            Ok(Some(change)) => change,
            Ok(None) => return Ok(report(Outcome::Unchanged)),
            Err(why) => return Ok(report(Outcome::Failed(why))),
        };
        match store.update_org(&next).await {
            Ok(_) => return Ok(report(Outcome::Changed(changes))),
            // Someone changed the org meanwhile (an admin's set-idp): apply to what is there now.
            Err(StoreError::VersionConflict) => org = existing(store, name).await?,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AdminError::Conflict)
}

/// Refreshes every org that has a metadata URL, each report handed to `emit` as it is made.
/// Orgs not reached before `deadline` are reported as failed (the next run reaches them: the
/// starting org moves by one each day, so a slow org cannot starve the same others every day).
pub async fn refresh_all<S: OrgStore, M: MetadataSource>(
    store: &S,
    source: &M,
    now: i64,
    deadline: Option<tokio::time::Instant>,
    mut emit: impl FnMut(&Report),
) -> crate::store::StoreResult<Vec<Report>> {
    let mut orgs: Vec<Org> = store
        .list_orgs()
        .await?
        .into_iter()
        .filter(|o| o.idp_refresh.is_some())
        .collect();
    if !orgs.is_empty() {
        let start = usize::try_from(now.div_euclid(DAY)).unwrap_or(0) % orgs.len();
        orgs.rotate_left(start);
    }
    let mut reports = Vec::with_capacity(orgs.len());
    for org in orgs {
        let out_of_time = deadline.is_some_and(|d| tokio::time::Instant::now() + FETCH_BUDGET > d);
        let report = if out_of_time {
            Report {
                org: org.org.clone(),
                metadata_url: org.idp_refresh.as_ref().map(|r| r.metadata_url.clone()),
                outcome: Outcome::Failed(
                    "not reached in this run's time; the next run will".into(),
                ),
            }
        } else {
            match refresh_org(store, source, &org.org, now).await {
                Ok(r) => r,
                Err(e) => Report {
                    org: org.org.clone(),
                    metadata_url: org.idp_refresh.as_ref().map(|r| r.metadata_url.clone()),
                    outcome: Outcome::Failed(e.to_string()),
                },
            }
        };
        emit(&report);
        reports.push(report);
    }
    Ok(reports)
}

/// Where a deployed report goes: the metric (an EMF line on stdout) and a log line. The event of
/// a change is already written, with the change (module docs).
pub fn on_refreshed(report: &Report, now: i64) {
    let timestamp_ms = u64::try_from(now).unwrap_or(0).saturating_mul(1000);
    println!("{}", report.to_emf(timestamp_ms));
    let detail = report.to_json().to_string();
    match &report.outcome {
        Outcome::Failed(_) => {
            tracing::warn!(org = %report.org, outcome = report.outcome_name(), detail = %detail, "IdP metadata refresh failed: nothing changed")
        }
        _ => {
            tracing::info!(org = %report.org, outcome = report.outcome_name(), detail = %detail, "IdP metadata refreshed")
        }
    }
}

/// Adds to a stored certificate's JSON (`org show`, the API) that the metadata no longer lists
/// it, since when and until when it stays trusted.
pub fn annotate_missing(v: &mut Value, refresh: Option<&IdpRefresh>, b64: &str) {
    let Some(m) = refresh.and_then(|r| r.missing.iter().find(|m| m.certificate == b64)) else {
        return;
    };
    v["missing_from_metadata_since"] = json!(rfc3339(m.missing_since));
    v["trusted_until"] = json!(rfc3339(m.missing_since + GRACE_PERIOD));
    v["retiring"] = json!(format!(
        "no longer in the IdP's metadata: still trusted until {}, then dropped",
        rfc3339(m.missing_since + GRACE_PERIOD)
    ));
}

/// Test doubles: metadata served from memory, changed between runs (never in a Lambda).
#[cfg(any(test, feature = "test-idp"))]
pub mod testing {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// Okta-shaped IdP metadata with `certificates` as signing keys.
    pub fn metadata_xml(entity_id: &str, sso_url: &str, certificates: &[String]) -> String {
        let keys: String = certificates
            .iter()
            .map(|c| {
                format!(
                    r#"<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#
                )
            })
            .collect();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso_url}"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
        )
    }

    /// Serves whatever a test put at a URL; a URL with nothing is unreachable. Counts fetches.
    #[derive(Default)]
    pub struct Served {
        documents: Mutex<HashMap<String, Result<String, FetchError>>>,
        fetches: Mutex<usize>,
    }

    impl Served {
        pub fn set(&self, url: &str, document: Result<String, FetchError>) {
            if let Ok(mut d) = self.documents.lock() {
                d.insert(url.to_string(), document);
            }
        }

        pub fn fetches(&self) -> usize {
            self.fetches.lock().map(|n| *n).unwrap_or(0)
        }
    }

    impl MetadataSource for Served {
        fn fetch(&self, url: &str) -> impl Future<Output = Result<String, FetchError>> + Send {
            if let Ok(mut n) = self.fetches.lock() {
                *n += 1;
            }
            let answer = self
                .documents
                .lock()
                .ok()
                .and_then(|d| d.get(url).cloned())
                .unwrap_or_else(|| Err(FetchError::Transport("connection refused".into())));
            std::future::ready(answer)
        }
    }
}

#[cfg(test)]
mod tests;
