//! Directory reads: `/api/v1/orgs/{org}/users|groups...` (docs/api.md). Key-ordered walks with
//! opaque cursors (`api::store::DirectoryStore`), one user shape (`api::shape`).

use http::StatusCode;
use lambda_http::Request;
use serde_json::{json, Value};

use super::shape::{group_json, user_json};
use super::store::UserFilter;
use super::{cursor, encode_cursor, limit, page, param, query, Handled};
use crate::error::AppError;
use crate::handlers::Services as App;
use crate::http::json;
use crate::model::org::validate_org_name;
use crate::store::Store;

/// The org must exist (and not be deleted): an unknown org is 404 like every other route of it.
async fn live_org<S: Store>(app: &App<S>, org: &str) -> Result<(), AppError> {
    if validate_org_name(org).is_err() || app.store.get_org(org).await?.is_none() {
        return Err(AppError::OrgNotFound(org.to_string()));
    }
    Ok(())
}

fn parse_bool(name: &str, v: &str) -> Result<bool, AppError> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(AppError::bad_request(
            "invalid_filter",
            format!("{name} must be true or false (got {v:?})"),
        )),
    }
}

fn parse_time(name: &str, v: &str) -> Result<i64, AppError> {
    time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| {
            AppError::bad_request(
                "invalid_filter",
                format!("{name} must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z (got {v:?})"),
            )
        })
}

pub(super) async fn users<S: Store>(app: &App<S>, org: &str, req: &Request) -> Handled {
    let q = query(req);
    let limit = limit(&q)?;
    let scope = format!("users:{org}");
    let after = cursor(&q, &scope)?;
    let filter = UserFilter {
        active: param(&q, "active")
            .map(|v| parse_bool("active", v))
            .transpose()?,
        updated_since: param(&q, "updated_since")
            .map(|v| parse_time("updated_since", v))
            .transpose()?,
        email: param(&q, "email").map(str::to_string),
    };
    live_org(app, org).await?;
    let p = app
        .store
        .list_users_after(org, &filter, after.as_deref(), limit)
        .await?;
    let data = p.items.iter().map(user_json).collect();
    let next = p.last.map(|l| encode_cursor(&scope, &l));
    Ok((json(StatusCode::OK, &page(data, next)), "ok"))
}

/// A user's groups, bounded: a user in more groups than this gets the first ones (a user in
/// thousands of groups is not a directory we are built for; docs/api.md).
const MAX_USER_GROUPS: usize = 1000;

pub(super) async fn user<S: Store>(app: &App<S>, org: &str, id: &str) -> Handled {
    live_org(app, org).await?;
    let u = app
        .store
        .get_user(org, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("user {id:?} not found")))?;
    let mut ids = app.store.groups_of_user(org, id).await?;
    ids.truncate(MAX_USER_GROUPS);
    let mut groups = Vec::new();
    for chunk in ids.chunks(100) {
        groups.extend(app.store.get_groups(org, chunk).await?);
    }
    groups.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    let mut v = user_json(&u);
    v["groups"] = Value::Array(
        groups
            .iter()
            .map(|g| json!({"id": g.id, "displayName": g.display_name}))
            .collect(),
    );
    Ok((json(StatusCode::OK, &v), "ok"))
}

pub(super) async fn groups<S: Store>(app: &App<S>, org: &str, req: &Request) -> Handled {
    let q = query(req);
    let limit = limit(&q)?;
    let scope = format!("groups:{org}");
    let after = cursor(&q, &scope)?;
    live_org(app, org).await?;
    let p = app
        .store
        .list_groups_after(org, after.as_deref(), limit)
        .await?;
    let data = p.items.iter().map(group_json).collect();
    let next = p.last.map(|l| encode_cursor(&scope, &l));
    Ok((json(StatusCode::OK, &page(data, next)), "ok"))
}

pub(super) async fn group<S: Store>(app: &App<S>, org: &str, id: &str) -> Handled {
    live_org(app, org).await?;
    let g = app
        .store
        .get_group(org, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("group {id:?} not found")))?;
    Ok((json(StatusCode::OK, &group_json(&g)), "ok"))
}

/// Members as full users: one Query for the page of member ids, one BatchGetItem for them.
pub(super) async fn members<S: Store>(app: &App<S>, org: &str, id: &str, req: &Request) -> Handled {
    let q = query(req);
    let limit = limit(&q)?;
    let scope = format!("members:{org}:{id}");
    let after = cursor(&q, &scope)?;
    live_org(app, org).await?;
    if app.store.get_group(org, id).await?.is_none() {
        return Err(AppError::NotFound(format!("group {id:?} not found")));
    }
    let p = app
        .store
        .list_members_after(org, id, after.as_deref(), limit)
        .await?;
    let mut users = app.store.get_users(org, &p.items).await?;
    users.sort_by(|a, b| a.id.cmp(&b.id));
    let data = users.iter().map(user_json).collect();
    let next = p.last.map(|l| encode_cursor(&scope, &l));
    Ok((json(StatusCode::OK, &page(data, next)), "ok"))
}
