//! `/Groups` and `/Groups/{id}` (RFC 7644 §3). Memberships are items of their own: adding or
//! removing k members costs O(k) writes whatever the group's size, and never rewrites the group
//! item, so concurrent member PATCHes do not conflict (docs/scim.md).

use std::collections::HashSet;

use http::{Method, StatusCode};
use lambda_http::Request;
use serde_json::Value;

use super::scim_common::{
    check_if_match, has_if_match, query_pairs, read_json, resource, retry_on_conflict,
};
use super::Handled;
use super::{Ctx, Services};
use crate::error::AppError;
use crate::http::{empty, scim_json};
use crate::scim::group::{self, GroupPatch};
use crate::scim::list::{self, Kind, Lookup, Plan};
use crate::scim::{check_schemas, patch, ScimError, ScimType, MAX_ID_BYTES, SCHEMA_GROUP};
use crate::store::{Entity, Group, Store, StoreError};

pub(super) async fn handle<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    req: &Request,
    method: Method,
    id: Option<&str>,
) -> Handled {
    if id.is_some_and(|id| id.len() > MAX_ID_BYTES) {
        // Not one of our ids, and too long to be a DynamoDB key: no such group.
        return Err(not_found("(id too long)"));
    }
    match (method, id) {
        (Method::GET, None) => list_groups(app, ctx, req).await,
        (Method::POST, None) => create(app, ctx, req).await,
        (Method::GET, Some(id)) => get(app, ctx, req, id).await,
        (Method::PUT, Some(id)) => replace(app, ctx, req, id).await,
        (Method::PATCH, Some(id)) => patch_group(app, ctx, req, id).await,
        (Method::DELETE, Some(id)) => delete(app, ctx, req, id).await,
        (m, _) => Err(AppError::MethodNotAllowed(m)),
    }
}

fn not_found(id: &str) -> AppError {
    super::scim_common::not_found("Group", id)
}

async fn load<S: Store>(app: &Services<S>, ctx: &Ctx, id: &str) -> Result<Group, AppError> {
    app.store
        .get_group(&ctx.org.org, id)
        .await?
        .ok_or_else(|| not_found(id))
}

/// Every member id, read page by page.
async fn all_members<S: Store>(
    app: &Services<S>,
    org: &str,
    id: &str,
) -> Result<Vec<String>, AppError> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = app
            .store
            .list_members(org, id, cursor.as_deref(), 1000)
            .await?;
        all.extend(page.items);
        match page.next {
            Some(c) => cursor = Some(c),
            None => return Ok(all),
        }
    }
}

/// Refuses member ids that are not users of this org before anything is written.
async fn check_members<S: Store>(
    app: &Services<S>,
    org: &str,
    ids: &[String],
) -> Result<(), AppError> {
    if ids.is_empty() {
        return Ok(());
    }
    let missing = app.store.missing_users(org, ids).await?;
    if missing.is_empty() {
        return Ok(());
    }
    // Name a few: enough to act on, without echoing a whole request back.
    const NAMED: usize = 10;
    let mut detail = format!(
        "members are not users of this organization (nested groups are not supported): {}",
        missing[..missing.len().min(NAMED)].join(", ")
    );
    if missing.len() > NAMED {
        detail.push_str(&format!(" and {} more", missing.len() - NAMED));
    }
    Err(ScimError::new(ScimType::InvalidValue, detail).into())
}

/// Applies member changes; a user deleted since `check_members` is still a 400, not a 500.
async fn write_members<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    id: &str,
    add: &[String],
    remove: &[String],
) -> Result<(), AppError> {
    let org = &ctx.org.org;
    if !remove.is_empty() {
        app.store.remove_members(org, id, remove).await?;
    }
    if !add.is_empty() {
        match app.store.add_members(org, id, add, ctx.now).await {
            Ok(()) => {}
            Err(StoreError::NotFound(Entity::User)) => {
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    "a member is not a user of this organization",
                )
                .into())
            }
            Err(StoreError::NotFound(_)) => return Err(not_found(id)),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

async fn render<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    g: &Group,
    members: bool,
) -> Result<Value, AppError> {
    let ms = if members {
        Some(all_members(app, &ctx.org.org, &g.id).await?)
    } else {
        None
    };
    Ok(group::to_scim(g, ms.as_deref(), &ctx.org.scim_base_url()))
}

async fn create<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request) -> Handled {
    let body = read_json(req)?;
    check_schemas(&body, SCHEMA_GROUP, &[])?;
    let input = group::from_scim(&body)?;
    let org = &ctx.org.org;
    check_members(app, org, &input.members).await?;
    // The group and its first members are one transaction: a failure leaves nothing, so Okta's
    // retry of the POST cannot leave an empty duplicate behind (docs/operations.md).
    let g = match app
        .store
        .create_group_with_members(
            org,
            &input.display_name,
            input.external_id.as_deref(),
            &input.members,
            ctx.now,
        )
        .await
    {
        Ok(g) => g,
        Err(StoreError::NotFound(Entity::User)) => {
            return Err(ScimError::new(
                ScimType::InvalidValue,
                "a member is not a user of this organization",
            )
            .into())
        }
        Err(e) => return Err(e.into()),
    };
    let v = group::to_scim(&g, Some(&input.members), &ctx.org.scim_base_url());
    Ok((resource(StatusCode::CREATED, &v, g.version), "created"))
}

async fn get<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request, id: &str) -> Handled {
    let p = list::params(&query_pairs(req))?;
    let g = load(app, ctx, id).await?;
    let v = render(app, ctx, &g, !p.exclude_members).await?;
    Ok((resource(StatusCode::OK, &v, g.version), "ok"))
}

async fn list_groups<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request) -> Handled {
    let p = list::params(&query_pairs(req))?;
    let org = &ctx.org.org;
    let members = !p.exclude_members;
    let body = match list::plan(p.filter.as_ref(), Kind::Group)? {
        Plan::All => {
            let page = app
                .store
                .list_groups_at(org, p.start_index, p.count, ctx.now)
                .await?;
            // Unfiltered pages leave out `members`: 100 large groups would not fit in a Lambda
            // response (6 MB); GET by id and filtered lookups have them.
            let base = ctx.org.scim_base_url();
            let rs = page
                .items
                .iter()
                .map(|g| group::to_scim(g, None, &base))
                .collect();
            list::response(rs, page.total, p.start_index)
        }
        Plan::Lookups(lookups, filter) => {
            let mut found: Vec<Group> = Vec::new();
            for l in lookups {
                let gs = match l {
                    Lookup::Id(id) => app.store.get_group(org, &id).await?.into_iter().collect(),
                    Lookup::DisplayName(n) => {
                        app.store.find_groups_by_display_name(org, &n).await?
                    }
                    Lookup::ExternalId(e) => app.store.find_groups_by_external_id(org, &e).await?,
                    Lookup::UserName(_) => Vec::new(),
                };
                found.extend(gs);
            }
            found.sort_by(|a, b| a.id.cmp(&b.id));
            found.dedup_by(|a, b| a.id == b.id);
            // The filter is evaluated without members (only group attributes are indexed).
            let hits: Vec<&Group> = found
                .iter()
                .filter(|g| filter.matches(&group::to_scim(g, None, "")))
                .collect();
            let total = hits.len() as u64;
            let mut rs = Vec::new();
            for g in hits.into_iter().skip(p.start_index - 1).take(p.count) {
                rs.push(render(app, ctx, g, members).await?);
            }
            list::response(rs, total, p.start_index)
        }
    };
    Ok((scim_json(StatusCode::OK, &body), "ok"))
}

/// Writes a rename / externalId change, re-reading on a conflict unless If-Match pinned a version.
async fn save_group<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    req: &Request,
    g: Group,
    display_name: Option<String>,
    external_id: Option<Option<String>>,
) -> Result<Group, AppError> {
    let first = g;
    retry_on_conflict(req, "group", |n| {
        let first = first.clone();
        let (display_name, external_id) = (&display_name, &external_id);
        async move {
            // The first attempt writes over what the caller read; a retry re-reads.
            let g = if n == 1 {
                first
            } else {
                load(app, ctx, &first.id).await?
            };
            let mut next = g.clone();
            if let Some(n) = display_name {
                next.display_name = n.clone();
            }
            if let Some(e) = external_id {
                next.external_id = e.clone();
            }
            if next == g {
                return Ok(g);
            }
            Ok(app.store.update_group(&ctx.org.org, &next, ctx.now).await?)
        }
    })
    .await
}

/// Member delta against the current list, for a full replacement.
async fn diff<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    id: &str,
    wanted: &[String],
) -> Result<(Vec<String>, Vec<String>), AppError> {
    let current: HashSet<String> = all_members(app, &ctx.org.org, id)
        .await?
        .into_iter()
        .collect();
    let want: HashSet<&String> = wanted.iter().collect();
    let add = wanted
        .iter()
        .filter(|w| !current.contains(*w))
        .cloned()
        .collect();
    let remove = current
        .iter()
        .filter(|c| !want.contains(c))
        .cloned()
        .collect();
    Ok((add, remove))
}

async fn replace<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request, id: &str) -> Handled {
    let body = read_json(req)?;
    check_schemas(&body, SCHEMA_GROUP, &[])?;
    let input = group::from_scim(&body)?;
    let g = load(app, ctx, id).await?;
    check_if_match(req, g.version)?;
    check_members(app, &ctx.org.org, &input.members).await?;
    let g = save_group(
        app,
        ctx,
        req,
        g,
        Some(input.display_name),
        input.external_id.map(Some),
    )
    .await?;
    let (add, remove) = diff(app, ctx, id, &input.members).await?;
    write_members(app, ctx, id, &add, &remove).await?;
    let v = group::to_scim(&g, Some(&input.members), &ctx.org.scim_base_url());
    Ok((resource(StatusCode::OK, &v, g.version), "ok"))
}

async fn patch_group<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request, id: &str) -> Handled {
    let ops = patch::parse(&read_json(req)?)?;
    let plan: GroupPatch = group::plan_patch(&ops, id)?;
    let g = load(app, ctx, id).await?;
    check_if_match(req, g.version)?;
    let (add, remove) = match &plan.replace_members {
        Some(all) => {
            let all: Vec<String> = all.iter().cloned().collect();
            diff(app, ctx, id, &all).await?
        }
        None => (
            plan.add.iter().cloned().collect(),
            plan.remove.iter().cloned().collect(),
        ),
    };
    // Validate everything before writing anything.
    check_members(app, &ctx.org.org, &add).await?;
    let g = if plan.touches_group_item() {
        save_group(
            app,
            ctx,
            req,
            g,
            plan.display_name.clone(),
            plan.external_id.clone(),
        )
        .await?
    } else {
        g
    };
    write_members(app, ctx, id, &add, &remove).await?;
    // RFC 7644 §3.5.2 allows 204; a 50,000-member group is not echoed back on every change.
    let mut resp = empty(StatusCode::NO_CONTENT);
    if let Ok(v) = crate::scim::etag(g.version).parse() {
        resp.headers_mut().insert("etag", v);
    }
    Ok((resp, "ok"))
}

/// With `If-Match`, the group goes only at the version it names (RFC 7644 §3.14, as for Users):
/// the check and the delete are one conditional write, so a rename in between is a 412 too.
async fn delete<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request, id: &str) -> Handled {
    let version = if has_if_match(req) {
        let g = load(app, ctx, id).await?;
        check_if_match(req, g.version)?;
        Some(g.version)
    } else {
        None
    };
    match app.store.delete_group(&ctx.org.org, id, version).await {
        Ok(()) => Ok((empty(StatusCode::NO_CONTENT), "deleted")),
        Err(StoreError::NotFound(_)) => Err(not_found(id)),
        Err(StoreError::VersionConflict) => Err(AppError::PreconditionFailed(
            "the group changed since If-Match's version".into(),
        )),
        Err(e) => Err(e.into()),
    }
}
