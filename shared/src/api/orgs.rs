//! `/api/v1/orgs...`: what `ssoctl org create|show|set|set-idp|rotate-scim-token|list` do
//! (`shared::admin`, one implementation), over HTTP.

use http::StatusCode;
use lambda_http::Request;
use serde::Deserialize;

use super::{page, read_json, Handled};
use crate::admin::{self, AdminError, OrgSettings};
use crate::error::AppError;
use crate::handlers::Services as App;
use crate::http::{body_bytes, header, json};
use crate::model::org::{Provisioning, Reactivation};
use crate::store::directory::DirectoryStore;
use crate::store::Store;

impl From<AdminError> for AppError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(m) => AppError::bad_request("invalid_request", m),
            AdminError::UnknownOrg(o) => AppError::OrgNotFound(o),
            AdminError::Exists(o) => AppError::NotConfigured {
                code: "org_exists",
                detail: format!("organization {o:?} already exists"),
            },
            e @ AdminError::MetadataUnreadable { .. } => {
                AppError::bad_request("metadata_unreadable", e.to_string())
            }
            e @ AdminError::MetadataInvalid { .. } => {
                AppError::bad_request("metadata_invalid", e.to_string())
            }
            AdminError::NotConfirmed(m) => AppError::bad_request("not_confirmed", m),
            AdminError::Conflict => AppError::NotConfigured {
                code: "conflict",
                detail: "the organization changed while this request ran; retry".into(),
            },
            AdminError::Store(e) => AppError::Store(e),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    org: String,
    base_url: Option<String>,
    #[serde(default)]
    provisioning: Provisioning,
    #[serde(default)]
    reactivation: Reactivation,
    default_app_url: Option<String>,
}

fn parse<T: serde::de::DeserializeOwned>(req: &Request) -> Result<T, AppError> {
    serde_json::from_value(read_json(req)?)
        .map_err(|e| AppError::bad_request("invalid_request", e.to_string()))
}

pub(super) async fn create<S: Store>(app: &App<S>, req: &Request) -> Handled {
    let body: CreateBody = parse(req)?;
    let base_url = body
        .base_url
        .or_else(|| app.config.public_base_url.clone())
        .ok_or_else(|| {
            AppError::bad_request(
                "invalid_request",
                "base_url is required (this deployment has no PUBLIC_BASE_URL)",
            )
        })?;
    let out = admin::create_org(
        &app.store,
        admin::NewOrg {
            name: &body.org,
            base_url: &base_url,
            idp: None,
            idp_metadata_url: None,
            provisioning: body.provisioning,
            reactivation: body.reactivation,
            default_app_url: body.default_app_url.as_deref(),
        },
        app.now(),
    )
    .await?;
    Ok((json(StatusCode::CREATED, &out), "org_created"))
}

pub(super) async fn list<S: Store>(app: &App<S>, req: &Request) -> Handled {
    let q = super::query(req);
    let limit = super::limit(&q)?;
    let after = super::cursor(&q, "orgs")?;
    let page_ = app.store.list_orgs_after(after.as_deref(), limit).await?;
    let data = page_.items.iter().map(admin::org_summary_json).collect();
    let next = page_.last.map(|l| super::encode_cursor("orgs", &l));
    Ok((json(StatusCode::OK, &page(data, next)), "ok"))
}

pub(super) async fn show<S: Store>(app: &App<S>, org: &str) -> Handled {
    Ok((
        json(
            StatusCode::OK,
            &admin::show_org(&app.store, org, app.now()).await?,
        ),
        "ok",
    ))
}

pub(super) async fn patch<S: Store>(app: &App<S>, org: &str, req: &Request) -> Handled {
    admin::existing(&app.store, org).await?;
    let settings: OrgSettings = parse(req)?;
    let out = admin::update_settings(&app.store, org, settings, app.now()).await?;
    Ok((json(StatusCode::OK, &out), "org_updated"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetadataUrl {
    metadata_url: String,
}

/// `PUT .../idp`: metadata XML in the body, or `{"metadata_url": "https://..."}` fetched under
/// `admin::fetch`'s rules (https only, same-origin redirects, capped). Never a file path. The API
/// caller replaces signing keys knowingly (the CLI asks; a PUT is the explicit answer).
pub(super) async fn put_idp<S: Store>(app: &App<S>, org: &str, req: &Request) -> Handled {
    admin::existing(&app.store, org).await?;
    let mime = header(req, "content-type")
        .and_then(|c| c.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (checked, url) = if mime == "application/json" {
        let body: MetadataUrl = parse(req)?;
        if !admin::fetch::looks_like_url(&body.metadata_url) {
            return Err(AppError::bad_request(
                "invalid_request",
                "metadata_url must be an https URL",
            ));
        }
        // Fetched from inside our network: only public destinations (shared/src/destination.rs).
        let checked =
            admin::fetch_checked_metadata(&body.metadata_url, app.config.metadata_fetch).await?;
        (checked, Some(body.metadata_url))
    } else {
        let bytes = body_bytes(req, admin::fetch::MAX_METADATA_BYTES)?;
        let text = std::str::from_utf8(bytes)
            .map_err(|_| AppError::bad_request("metadata_invalid", "metadata is not UTF-8"))?;
        (admin::check_metadata("the request body", text)?, None)
    };
    let out = admin::set_idp(
        &app.store,
        org,
        checked,
        url.as_deref(),
        |_| Ok(()),
        app.now(),
    )
    .await?;
    Ok((json(StatusCode::OK, &out), "idp_updated"))
}

pub(super) async fn rotate<S: Store>(app: &App<S>, org: &str) -> Handled {
    let out = admin::rotate_scim_token(&app.store, org, app.now()).await?;
    Ok((json(StatusCode::OK, &out), "scim_token_rotated"))
}

/// How long a DELETE spends purging before it answers; the rest continues in the background
/// (`purge_pending`). Well under the request deadline.
const PURGE_BUDGET: std::time::Duration = std::time::Duration::from_secs(3);

/// `DELETE /api/v1/orgs/{org}`: one transaction removes the org record and marks it deleted, so
/// every route of the org answers 404 from the next request on (sessions included: the session
/// routes read the org); then its items are purged in bounded batches (docs/api.md, "Deleting an
/// organization").
pub(super) async fn delete<S: Store>(app: &App<S>, org: &str) -> Handled {
    if crate::model::org::validate_org_name(org).is_err() {
        return Err(AppError::OrgNotFound(org.to_string()));
    }
    match app.store.delete_org(org, app.now()).await {
        Ok(()) => {}
        Err(crate::store::StoreError::NotFound(_)) => {
            return Err(AppError::OrgNotFound(org.to_string()))
        }
        Err(e) => return Err(e.into()),
    }
    let started = std::time::Instant::now();
    // Bounded by the budget; a failure here leaves the mark for the next purge run.
    while started.elapsed() < PURGE_BUDGET {
        match app.store.purge_org_batch(org).await {
            Ok(true) => break,
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(org, error = %e, "purge of the deleted organization paused");
                break;
            }
        }
    }
    Ok((crate::http::empty(StatusCode::NO_CONTENT), "org_deleted"))
}

/// Finishes the purges of deleted orgs (run by the local stack's worker and `ssoctl org purge`).
/// Returns the orgs fully purged.
pub async fn purge_pending<S: DirectoryStore>(store: &S, max_batches: usize) -> Vec<String> {
    let mut done = Vec::new();
    let Ok(orgs) = store.pending_purges().await else {
        return done;
    };
    let mut batches = 0;
    for org in orgs {
        while batches < max_batches {
            batches += 1;
            match store.purge_org_batch(&org).await {
                Ok(true) => {
                    done.push(org.clone());
                    break;
                }
                Ok(false) => {}
                Err(_) => break,
            }
        }
    }
    done
}
