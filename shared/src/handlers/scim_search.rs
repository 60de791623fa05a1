//! `POST …/.search` (RFC 7644 §3.4.3) and the `attributes` / `excludedAttributes` projection of
//! every SCIM response (§3.4.2.5, §3.9). A SearchRequest is the query of a GET list sent as a
//! body, so it is answered by the same list handlers, fed a GET with the equivalent query string:
//! one planner, one set of limits. At the root, Users and then Groups are searched (§3.4.3: "all
//! resources"), paged as one list.

use http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::Value;

use super::scim_common::{query_pairs, read_json};
use super::{scim_groups, scim_users, Handled};
use super::{Ctx, Services};
use crate::error::AppError;
use crate::http::scim_json;
use crate::scim::attributes_param::Projection;
use crate::scim::filter::get_ci;
use crate::scim::{check_schemas, list, ScimError, ScimType, MAX_RESULTS};
use crate::store::Store;

pub const SCHEMA_SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The path segment of a search (`/Users/.search`, `/Groups/.search`, `/.search`).
pub const SEARCH: &str = ".search";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Users,
    Groups,
    /// The service provider's root: every resource type.
    All,
}

/// The query string equivalent to a SearchRequest body. Fields are read case-insensitively
/// (attribute names are, RFC 7643 §2.1); integers must be integers.
fn query_of(body: &Value) -> Result<Vec<(String, String)>, AppError> {
    check_schemas(body, SCHEMA_SEARCH_REQUEST, &[])?;
    let mut q = Vec::new();
    for key in ["filter", "sortBy", "sortOrder"] {
        match get_ci(body, key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => q.push((key.to_string(), s.clone())),
            Some(_) => {
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    format!("{key} must be a string"),
                )
                .into())
            }
        }
    }
    for key in ["startIndex", "count"] {
        match get_ci(body, key) {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.is_i64() => q.push((key.to_string(), n.to_string())),
            Some(_) => {
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    format!("{key} must be an integer"),
                )
                .into())
            }
        }
    }
    // Validated here (400 on a bad name); applied to the answer by `project`.
    Projection::from_search(body)?;
    for key in ["attributes", "excludedAttributes"] {
        let names = match get_ci(body, key) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            Some(Value::String(s)) => s.clone(),
            _ => continue,
        };
        q.push((key.to_string(), names));
    }
    Ok(q)
}

/// The same request as a GET of the collection with `query`.
fn as_list_request(req: &Request, query: &[(String, String)]) -> Result<Request, AppError> {
    let qs: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    let path = req.uri().path();
    let collection = path.strip_suffix(&format!("/{SEARCH}")).unwrap_or(path);
    let uri = format!("{collection}?{qs}");
    let mut b = http::Request::builder().method(Method::GET).uri(uri);
    for (k, v) in req.headers() {
        b = b.header(k, v);
    }
    // Built from a request that already parsed and a query we encoded: a failure is ours (500),
    // not the client's 400.
    b.body(Body::Empty).map_err(AppError::BadResponse)
}

pub(super) async fn search<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    req: &Request,
    method: Method,
    target: Target,
) -> Handled {
    if method != Method::POST {
        return Err(AppError::MethodNotAllowed(method));
    }
    let query = query_of(&read_json(req)?)?;
    let get = as_list_request(req, &query)?;
    let projection = projection_of(&get)?;
    let answer = match target {
        Target::Users => scim_users::handle(app, ctx, &get, Method::GET, None).await?,
        Target::Groups => scim_groups::handle(app, ctx, &get, Method::GET, None).await?,
        Target::All => search_all(app, ctx, &get, &query).await?,
    };
    // RFC 7644 §3.4.3: the answer is a ListResponse with 200, as for GET.
    project(&projection, Ok(answer))
}

/// Users, then Groups, as one list: `startIndex`/`count` run over the concatenation. A filter
/// only one resource type can serve is answered from that type (the other has no match); one
/// neither can serve is that 400.
async fn search_all<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    get: &Request,
    query: &[(String, String)],
) -> Result<(Response<Body>, &'static str), AppError> {
    let p = list::params(query)?;
    let with = |start: usize, count: usize| -> Result<Request, AppError> {
        let mut q: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k != "startIndex" && k != "count")
            .cloned()
            .collect();
        q.push(("startIndex".into(), start.to_string()));
        q.push(("count".into(), count.to_string()));
        as_list_request(get, &q)
    };
    let serves = |k| list::plan(p.filter.as_ref(), k);
    let (for_users, for_groups) = (serves(list::Kind::User), serves(list::Kind::Group));
    if let (Err(e), Err(_)) = (&for_users, &for_groups) {
        return Err(ScimError::new(
            ScimType::InvalidFilter,
            format!("{} (neither Users nor Groups can serve it)", e.detail),
        )
        .into());
    }
    let (users_total, mut resources) = if for_users.is_ok() {
        let req = with(p.start_index, p.count)?;
        page_of(
            &scim_users::handle(app, ctx, &req, Method::GET, None)
                .await?
                .0,
        )?
    } else {
        (0, Vec::new())
    };
    let groups_total = if for_groups.is_ok() {
        let start = p.start_index.saturating_sub(users_total as usize).max(1);
        let count = p.count.saturating_sub(resources.len()).min(MAX_RESULTS);
        let req = with(start, count)?;
        let (t, rs) = page_of(
            &scim_groups::handle(app, ctx, &req, Method::GET, None)
                .await?
                .0,
        )?;
        resources.extend(rs);
        t
    } else {
        0
    };
    let body = list::response(resources, users_total + groups_total, p.start_index);
    Ok((scim_json(StatusCode::OK, &body), "ok"))
}

/// `totalResults` and `Resources` of a ListResponse we rendered.
fn page_of(resp: &Response<Body>) -> Result<(u64, Vec<Value>), AppError> {
    let text = match resp.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b.as_slice(),
        _ => &[],
    };
    let v: Value = serde_json::from_slice(text)
        .map_err(|_| AppError::NotImplemented("a list response that is not JSON"))?;
    let total = v["totalResults"].as_u64().unwrap_or(0);
    let rs = match v.get("Resources") {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    Ok((total, rs))
}

/// The request's `attributes` / `excludedAttributes` (400 when malformed).
pub(super) fn projection_of(req: &Request) -> Result<Projection, AppError> {
    Ok(Projection::from_query(&query_pairs(req))?)
}

/// Applies the request's `attributes` / `excludedAttributes` to a successful JSON answer (a
/// resource, or a ListResponse), keeping its status and headers (ETag, Location).
pub(super) fn project(projection: &Projection, handled: Handled) -> Handled {
    let (mut resp, outcome) = handled?;
    if projection.is_all() || !matches!(resp.status(), StatusCode::OK | StatusCode::CREATED) {
        return Ok((resp, outcome));
    }
    let parsed: Option<Value> = match resp.body() {
        Body::Text(t) => serde_json::from_str(t).ok(),
        Body::Binary(b) => serde_json::from_slice(b).ok(),
        _ => None,
    };
    if let Some(mut v) = parsed {
        projection.apply_to_body(&mut v);
        *resp.body_mut() = Body::Text(v.to_string());
    }
    Ok((resp, outcome))
}
