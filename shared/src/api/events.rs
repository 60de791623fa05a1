//! `GET /api/v1/events?after=&limit=&org=&types=` (docs/api.md, "Events").
//!
//! `next_cursor` is where to continue: pass it as `after` to get only newer events (none lost,
//! none repeated). Unlike the listings it is not null once caught up (new events arrive after
//! it); `has_more` says whether more were already waiting.

use http::StatusCode;
use lambda_http::Request;
use serde_json::json;

use super::{decode_cursor, encode_cursor, limit, param, query, Handled};
use crate::error::AppError;
use crate::handlers::Services as App;
use crate::http::json;
use crate::model::event::{EventPage, EventType};
use crate::store::events::EventStore;
use crate::store::Store;

/// Pages read at most to fill one answer when `types` filters.
const MAX_PAGES: usize = 4;
/// Types named at most in `types`.
const MAX_TYPES: usize = 16;

fn types(raw: Option<&str>) -> Result<Option<Vec<&'static str>>, AppError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for t in raw.split(',').take(MAX_TYPES + 1) {
        let kind = EventType::parse(t.trim()).ok_or_else(|| {
            AppError::bad_request("invalid_types", format!("unknown event type {t:?}"))
        })?;
        out.push(kind.as_str());
    }
    if out.len() > MAX_TYPES {
        return Err(AppError::bad_request(
            "invalid_types",
            format!("at most {MAX_TYPES} types"),
        ));
    }
    Ok(Some(out))
}

async fn read<S: EventStore>(
    store: &S,
    org: Option<&str>,
    after: Option<String>,
    limit: usize,
    now: i64,
) -> Result<EventPage, AppError> {
    Ok(match org {
        Some(o) => {
            let seq = match after {
                Some(a) => a.parse::<u64>().map_err(|_| {
                    AppError::bad_request("invalid_cursor", "cursor is not one this feed returned")
                })?,
                None => 0,
            };
            store.org_events_after(o, seq, limit, now).await?
        }
        None => store.all_events_after(after.as_deref(), limit, now).await?,
    })
}

pub(super) async fn list<S: Store>(app: &App<S>, req: &Request) -> Handled {
    let q = query(req);
    let limit = limit(&q)?;
    let org = param(&q, "org").filter(|o| !o.is_empty());
    if let Some(o) = org {
        crate::model::org::validate_org_name(o)
            .map_err(|m| AppError::bad_request("invalid_request", m))?;
    }
    let scope = match org {
        Some(o) => format!("events:{o}"),
        None => "events".to_string(),
    };
    let mut after = param(&q, "after")
        .filter(|a| !a.is_empty())
        .map(|a| decode_cursor(a, &scope))
        .transpose()?;
    let wanted = types(param(&q, "types"))?;
    let mut data = Vec::new();
    let mut more = false;
    for _ in 0..MAX_PAGES {
        let page = read(
            &app.store,
            org,
            after.clone(),
            limit - data.len(),
            app.now(),
        )
        .await?;
        for e in &page.events {
            if wanted.as_ref().is_none_or(|w| w.contains(&e.kind.as_str())) {
                data.push(e.to_json());
            }
        }
        if page.position.is_some() {
            after = page.position;
        }
        more = page.more;
        if !more || data.len() >= limit {
            break;
        }
    }
    let next = after.map(|a| encode_cursor(&scope, &a));
    Ok((
        json(
            StatusCode::OK,
            &json!({ "data": data, "next_cursor": next, "has_more": more }),
        ),
        "ok",
    ))
}
