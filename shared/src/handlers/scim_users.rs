//! `/Users` and `/Users/{id}` (RFC 7644 §3), as Okta drives them (docs/scim.md).

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
use crate::model::org::Reactivation;
use crate::model::user_name::UserName;
use crate::scim::list::{self, Kind, Lookup, Plan};
use crate::scim::user::{self, UserInput, EXTENSIONS};
use crate::scim::{check_schemas, patch, MAX_ID_BYTES, SCHEMA_USER};
use crate::store::{NewUser, Store, StoreError, User};

pub(super) async fn handle<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    req: &Request,
    method: Method,
    id: Option<&str>,
) -> Handled {
    if id.is_some_and(|id| id.len() > MAX_ID_BYTES) {
        // Not one of our ids, and too long to be a DynamoDB key: no such user.
        return Err(not_found("(id too long)"));
    }
    match (method, id) {
        (Method::GET, None) => list_users(app, ctx, req).await,
        (Method::POST, None) => create(app, ctx, req).await,
        (Method::GET, Some(id)) => get(app, ctx, id).await,
        (Method::PUT, Some(id)) => replace(app, ctx, req, id).await,
        (Method::PATCH, Some(id)) => patch_user(app, ctx, req, id).await,
        (Method::DELETE, Some(id)) => delete(app, ctx, req, id).await,
        (m, _) => Err(AppError::MethodNotAllowed(m)),
    }
}

fn not_found(id: &str) -> AppError {
    super::scim_common::not_found("User", id)
}

/// The user's groups as (id, displayName), sorted by name.
async fn groups_of<S: Store>(
    app: &Services<S>,
    org: &str,
    id: &str,
) -> Result<Vec<(String, String)>, AppError> {
    let ids = app.store.groups_of_user(org, id).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut gs: Vec<(String, String)> = app
        .store
        .get_groups(org, &ids)
        .await?
        .into_iter()
        .map(|g| (g.id, g.display_name))
        .collect();
    gs.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    Ok(gs)
}

async fn full<S: Store>(app: &Services<S>, ctx: &Ctx, u: &User) -> Result<Value, AppError> {
    let groups = groups_of(app, &ctx.org.org, &u.id).await?;
    Ok(user::to_scim(u, Some(&groups), &ctx.org.scim_base_url()))
}

async fn create<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request) -> Handled {
    let body = read_json(req)?;
    check_schemas(&body, SCHEMA_USER, EXTENSIONS)?;
    let input = user::from_scim(&body)?;
    let name = input.user_name.clone();
    let new = NewUser {
        user_name: input.user_name.into_string(),
        external_id: input.external_id,
        active: input.active,
        attributes: input.attributes,
    };
    let u = match app
        .store
        .create_user(&ctx.org.org, new.clone(), ctx.now)
        .await
    {
        Ok(u) => u,
        // `fresh` reactivation: Okta pushing a user whose userName belongs to a deactivated
        // record gets a new user (new id); the old record is retired (docs/scim.md).
        Err(StoreError::Uniqueness { .. }) if ctx.org.reactivation == Reactivation::Fresh => {
            match app
                .store
                .find_user_by_user_name(&ctx.org.org, &name)
                .await?
            {
                Some(old) if !old.active => {
                    app.store
                        .reissue_user(&ctx.org.org, &old, new, ctx.now)
                        .await?
                }
                _ => {
                    return Err(StoreError::Uniqueness {
                        attribute: "userName",
                    }
                    .into())
                }
            }
        }
        Err(e) => return Err(e.into()),
    };
    let v = user::to_scim(&u, Some(&[]), &ctx.org.scim_base_url());
    Ok((resource(StatusCode::CREATED, &v, u.version), "created"))
}

async fn get<S: Store>(app: &Services<S>, ctx: &Ctx, id: &str) -> Handled {
    let u = app
        .store
        .get_user(&ctx.org.org, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok((
        resource(StatusCode::OK, &full(app, ctx, &u).await?, u.version),
        "ok",
    ))
}

async fn list_users<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request) -> Handled {
    let p = list::params(&query_pairs(req))?;
    let org = &ctx.org.org;
    let base = ctx.org.scim_base_url();
    let body = match list::plan(p.filter.as_ref(), Kind::User)? {
        Plan::All => {
            let page = app
                .store
                .list_users_at(org, p.start_index, p.count, ctx.now)
                .await?;
            // Unfiltered pages leave out `groups` (one more query per user); GET by id has them.
            let rs = page
                .items
                .iter()
                .map(|u| user::to_scim(u, None, &base))
                .collect();
            list::response(rs, page.total, p.start_index)
        }
        Plan::Lookups(lookups, filter) => {
            let mut found: Vec<User> = Vec::new();
            for l in lookups {
                let users = match l {
                    Lookup::Id(id) => app.store.get_user(org, &id).await?.into_iter().collect(),
                    // `plan` keeps only valid names; anything else matches no user.
                    Lookup::UserName(n) => match UserName::parse(&n) {
                        Ok(n) => app
                            .store
                            .find_user_by_user_name(org, &n)
                            .await?
                            .into_iter()
                            .collect(),
                        Err(_) => Vec::new(),
                    },
                    Lookup::ExternalId(e) => app.store.find_users_by_external_id(org, &e).await?,
                    Lookup::DisplayName(_) => Vec::new(),
                };
                found.extend(users);
            }
            found.sort_by(|a, b| a.id.cmp(&b.id));
            found.dedup_by(|a, b| a.id == b.id);
            let mut matches = Vec::new();
            for u in &found {
                let v = full(app, ctx, u).await?;
                if filter.matches(&v) {
                    matches.push(v);
                }
            }
            let total = matches.len() as u64;
            let page = matches
                .into_iter()
                .skip(p.start_index - 1)
                .take(p.count)
                .collect();
            list::response(page, total, p.start_index)
        }
    };
    Ok((scim_json(StatusCode::OK, &body), "ok"))
}

/// Writes `input` over `stored`. Deactivation deletes every session of the user in this request;
/// reactivation follows the org's policy (docs/scim.md, "Reactivation").
async fn save<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    stored: &User,
    input: UserInput,
) -> Result<User, AppError> {
    let org = &ctx.org.org;
    if !stored.active && input.active && ctx.org.reactivation == Reactivation::Fresh {
        let new = NewUser {
            user_name: input.user_name.into_string(),
            external_id: input.external_id,
            active: true,
            attributes: input.attributes,
        };
        return Ok(app.store.reissue_user(org, stored, new, ctx.now).await?);
    }
    let next = User {
        user_name: input.user_name.into_string(),
        external_id: input.external_id,
        active: input.active,
        attributes: input.attributes,
        ..stored.clone()
    };
    let saved = app.store.replace_user(org, stored, &next, ctx.now).await?;
    if !saved.active {
        // Revocation must not wait for session expiry: done before we answer.
        app.store.delete_user_sessions(org, &saved.id).await?;
    }
    Ok(saved)
}

/// Read, change, write; re-done on a version conflict unless the client pinned a version.
async fn modify<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    req: &Request,
    id: &str,
    change: impl Fn(&User) -> Result<UserInput, AppError>,
) -> Handled {
    let change = &change;
    let u = retry_on_conflict(req, "user", |_| async move {
        let stored = app
            .store
            .get_user(&ctx.org.org, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        check_if_match(req, stored.version)?;
        save(app, ctx, &stored, change(&stored)?).await
    })
    .await?;
    Ok((
        resource(StatusCode::OK, &full(app, ctx, &u).await?, u.version),
        "ok",
    ))
}

async fn replace<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request, id: &str) -> Handled {
    let body = read_json(req)?;
    check_schemas(&body, SCHEMA_USER, EXTENSIONS)?;
    // Read against the stored user: its unchanged userName is kept even if stored before the
    // current rules (`user::from_scim_over`). Nothing is written before the body is read.
    modify(app, ctx, req, id, |stored| {
        Ok(user::from_scim_over(&body, &stored.user_name)?)
    })
    .await
}

async fn patch_user<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request, id: &str) -> Handled {
    let ops = patch::parse(&read_json(req)?)?;
    modify(app, ctx, req, id, |stored| {
        let mut r = user::patchable(stored);
        for op in &ops {
            patch::apply(&mut r, op, &user::check_path)?;
        }
        Ok(user::from_patched(&r, &stored.user_name)?)
    })
    .await
}

async fn delete<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request, id: &str) -> Handled {
    retry_on_conflict(req, "user", |_| async move {
        // With If-Match the delete is conditional on the version it named (checked here and
        // again by the store's write, so an update in between is a 412: RFC 7644 §3.14).
        let version = if has_if_match(req) {
            let stored = app
                .store
                .get_user(&ctx.org.org, id)
                .await?
                .ok_or_else(|| not_found(id))?;
            check_if_match(req, stored.version)?;
            Some(stored.version)
        } else {
            None
        };
        match app.store.delete_user(&ctx.org.org, id, version).await {
            Ok(()) => Ok((empty(StatusCode::NO_CONTENT), "deleted")),
            Err(StoreError::NotFound(_)) => Err(not_found(id)),
            Err(e) => Err(e.into()),
        }
    })
    .await
}
