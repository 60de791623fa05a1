//! SCIM scale benchmark (not a test): run with `bash infra/bench-scim` (starts moto).
//!
//! Reports DynamoDB round trips and items read/written per SCIM operation, a full Okta-style walk
//! of N users with `startIndex`/`count=100` (items read must grow linearly), the same walk with
//! every paging cursor expired (the skip-scan fallback, quadratic, for comparison), and adding /
//! removing one member of a large group. Every request goes through `App::handle` with an API
//! Gateway HTTP API event, as in Lambda. Sizes: SCIM_BENCH_USERS (10000), SCIM_BENCH_SKIP_USERS
//! (2000), SCIM_BENCH_GROUPS (1000, the GET /Groups walk), SCIM_BENCH_GROUP (50000).

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use shared::org::Org;
use shared::store::{DynamoStore, NewUser, OrgStore};
use shared::tokens::Secret;
use shared::{App, Config};
use ssoctl::template::{self, Template};

type Error = Box<dyn std::error::Error + Send + Sync>;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn event(
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Result<lambda_http::Request, Error> {
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut ev = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": raw_path, "rawQueryString": query,
        "headers": {"authorization": format!("Bearer {token}"), "content-type": "application/scim+json",
                    "host": "bench.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {"accountId": "1", "apiId": "bench", "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "bench", "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.1", "userAgent": "Okta SCIM Client 1.0.0"}, "requestId": "bench",
            "routeKey": "$default", "stage": "$default", "time": "28/Nov/2026:13:00:00 +0000", "timeEpoch": 0},
        "isBase64Encoded": false
    });
    if let Some(b) = body {
        ev["body"] = json!(b.to_string());
    }
    Ok(lambda_http::request::from_str(&ev.to_string())?)
}

struct Bench {
    app: App<DynamoStore>,
    org: String,
    token: String,
}

struct Measured {
    status: u16,
    body: Value,
    trips: u64,
    read: u64,
    written: u64,
    ms: f64,
}

impl Bench {
    async fn new(table: &str, clock: Option<Arc<AtomicI64>>) -> Result<Bench, Error> {
        let client = shared::app::dynamodb_client().await;
        let def = Template::load(&template::default_path())?.table()?;
        ssoctl::local::create_table(&client, table, &def).await?;
        let t = table.to_string();
        // The rate limit is off: the figures are the operations' own round trips (the limit adds
        // one UpdateItem per request, docs/scim.md "Rate limits").
        let config = Config::from_lookup(|k| match k {
            "TABLE_NAME" => Some(t.clone()),
            "SCIM_REQUESTS_PER_SECOND" => Some("0".into()),
            // infra/lib.sh relaxes it: moto's transactions slow down as the table grows.
            "REQUEST_DEADLINE_MS" => std::env::var(k).ok(),
            _ => None,
        })?;
        let mut app = App::new(config, DynamoStore::new(client, table));
        if let Some(c) = clock {
            app = app.with_clock(move || c.load(Ordering::Relaxed));
        }
        let token = Secret::generate("scim");
        let org_name = format!("bench-{}", shared::tokens::random_hex(4));
        let mut org = Org::new(&org_name, "https://sso.example.com", 1);
        org.scim_token_hash = Some(token.hash().into_string());
        app.store.create_org(&org).await?;
        Ok(Bench {
            app,
            org: org_name,
            token: token.expose().to_string(),
        })
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Measured, Error> {
        let full = format!("/orgs/{}/scim/v2{path}", self.org);
        let req = event(method, &full, &self.token, body.as_ref())?;
        let before = self.app.store.stats().snapshot();
        let t = Instant::now();
        let Ok(resp) = self.app.handle(None, req).await;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let after = self.app.store.stats().snapshot();
        let body = match resp.body() {
            lambda_http::Body::Text(t) if !t.is_empty() => serde_json::from_str(t)?,
            _ => Value::Null,
        };
        Ok(Measured {
            status: resp.status().as_u16(),
            body,
            trips: after.0 - before.0,
            read: after.1 - before.1,
            written: after.2 - before.2,
            ms,
        })
    }
}

fn row(name: &str, m: &Measured) {
    println!(
        "| {name} | {} | {} | {} | {} | {:.1} |",
        m.status, m.trips, m.read, m.written, m.ms
    );
}

fn user_body(name: &str) -> Value {
    json!({"schemas": [USER], "userName": name, "name": {"givenName": "B", "familyName": "U"},
           "emails": [{"value": name, "type": "work", "primary": true}], "active": true, "externalId": name})
}

async fn round_trips(table: &str) -> Result<(), Error> {
    let b = Bench::new(table, None).await?;
    println!("\n## Round trips per operation (includes the org GetItem each SCIM request does)\n");
    println!("| operation | status | round trips | items read | items written | ms |\n|---|---|---|---|---|---|");
    let m = b
        .call("POST", "/Users", Some(user_body("rt1@example.com")))
        .await?;
    row("POST /Users", &m);
    let id = m.body["id"].as_str().unwrap_or_default().to_string();
    let other = b
        .call("POST", "/Users", Some(user_body("rt2@example.com")))
        .await?
        .body["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let m = b
        .call(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "RT", "members": [{"value": id}]})),
        )
        .await?;
    row("POST /Groups (1 member)", &m);
    let gid = m.body["id"].as_str().unwrap_or_default().to_string();
    row(
        "GET /Users/{id} (1 group)",
        &b.call("GET", &format!("/Users/{id}"), None).await?,
    );
    let mut full = b.call("GET", &format!("/Users/{id}"), None).await?.body;
    full["title"] = json!("Dr");
    row(
        "PUT /Users/{id}",
        &b.call("PUT", &format!("/Users/{id}"), Some(full)).await?,
    );
    let op = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Prof"}]});
    row(
        "PATCH /Users/{id} (profile)",
        &b.call("PATCH", &format!("/Users/{id}"), Some(op)).await?,
    );
    let off = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": false}}]});
    row(
        "PATCH /Users/{id} (deactivate)",
        &b.call("PATCH", &format!("/Users/{id}"), Some(off)).await?,
    );
    row(
        "GET /Users?filter=userName eq (hit)",
        &b.call(
            "GET",
            "/Users?filter=userName%20eq%20%22rt2%40example.com%22&startIndex=1&count=100",
            None,
        )
        .await?,
    );
    row(
        "GET /Users?startIndex=1&count=100",
        &b.call("GET", "/Users?startIndex=1&count=100", None).await?,
    );
    let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": other}]}]});
    row(
        "PATCH /Groups/{id} add 1 member",
        &b.call("PATCH", &format!("/Groups/{gid}"), Some(add))
            .await?,
    );
    let rm = json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": format!("members[value eq \"{other}\"]")}]});
    row(
        "PATCH /Groups/{id} remove 1 member",
        &b.call("PATCH", &format!("/Groups/{gid}"), Some(rm)).await?,
    );
    row(
        "GET /Groups/{id}?excludedAttributes=members",
        &b.call(
            "GET",
            &format!("/Groups/{gid}?excludedAttributes=members"),
            None,
        )
        .await?,
    );
    row(
        "DELETE /Users/{id}",
        &b.call("DELETE", &format!("/Users/{id}"), None).await?,
    );
    Ok(())
}

/// Imports `n` users, then walks them as Okta does. With `expire`, the clock jumps 2 h between
/// requests so every paging cursor has expired (the skip-scan fallback).
async fn walk(table: &str, n: usize, expire: bool) -> Result<(), Error> {
    let clock = Arc::new(AtomicI64::new(1_800_000_000));
    let b = Bench::new(table, Some(clock.clone())).await?;
    let t = Instant::now();
    let mut imported = 0;
    while imported < n {
        let batch: Vec<NewUser> = (imported..n.min(imported + 1000))
            .map(|i| NewUser { user_name: format!("user{i:06}@example.com"), external_id: Some(format!("00u{i}")), active: true,
                               attributes: json!({"name": {"givenName": "U", "familyName": format!("{i}")}, "emails": [{"value": format!("user{i:06}@example.com"), "type": "work"}]}) })
            .collect();
        imported += batch.len();
        b.app.store.bulk_import_users(&b.org, batch, 1).await?;
    }
    let import_s = t.elapsed().as_secs_f64();
    let before = b.app.store.stats().snapshot();
    let t = Instant::now();
    let (mut start, mut pages, mut seen) = (1usize, 0u64, HashSet::new());
    let mut total;
    let mut dupes = 0;
    loop {
        if expire {
            clock.fetch_add(7200, Ordering::Relaxed);
        }
        let m = b
            .call("GET", &format!("/Users?startIndex={start}&count=100"), None)
            .await?;
        if m.status != 200 {
            return Err(format!("page {start}: {} {}", m.status, m.body).into());
        }
        total = m.body["totalResults"].as_u64().unwrap_or(0);
        if std::env::var("SCIM_BENCH_DEBUG").is_ok() {
            eprintln!(
                "page {start}: trips {} read {} written {}",
                m.trips, m.read, m.written
            );
        }
        let rs = m.body["Resources"].as_array().cloned().unwrap_or_default();
        pages += 1;
        if rs.is_empty() {
            break;
        }
        for r in &rs {
            if !seen.insert(r["id"].as_str().unwrap_or_default().to_string()) {
                dupes += 1;
            }
        }
        start += rs.len();
    }
    let walk_s = t.elapsed().as_secs_f64();
    let after = b.app.store.stats().snapshot();
    let read = after.1 - before.1;
    println!(
        "| {} | {n} | {:.1} | {pages} | {} | {total} | {dupes} | {} | {read} | {:.2} | {:.1} | {:.1} |",
        if expire { "skip-scan (cursors expired)" } else { "cursor (as Okta walks)" },
        import_s, seen.len(), after.0 - before.0, read as f64 / n as f64, walk_s, walk_s * 1000.0 / pages as f64
    );
    Ok(())
}

async fn big_group(table: &str, size: usize) -> Result<(), Error> {
    let b = Bench::new(table, None).await?;
    let gid = b
        .call(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Everyone"})),
        )
        .await?
        .body["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Members are synthetic ids: a membership item's cost does not depend on the user item.
    let t = Instant::now();
    let ids: Vec<String> = (0..size).map(|i| format!("member-{i:06}")).collect();
    for chunk in ids.chunks(5000) {
        b.app
            .store
            .bulk_import_members(&b.org, &gid, chunk, 1)
            .await?;
    }
    let seed_s = t.elapsed().as_secs_f64();
    let created = b
        .call("POST", "/Users", Some(user_body("newbie@example.com")))
        .await?;
    let uid = created.body["id"].as_str().unwrap_or_default().to_string();
    println!("\n## One member added to / removed from a {size}-member group (members seeded in {seed_s:.1} s)\n");
    println!("| operation | status | round trips | items read | items written | ms |\n|---|---|---|---|---|---|");
    // For scale: moto's cost of any transaction on this table (it deep-copies the whole table).
    row(
        "POST /Users, same table (moto's per-transaction cost)",
        &created,
    );
    let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}]});
    row(
        "PATCH add 1 member",
        &b.call("PATCH", &format!("/Groups/{gid}"), Some(add))
            .await?,
    );
    let rm = json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": format!("members[value eq \"{uid}\"]")}]});
    row(
        "PATCH remove 1 member",
        &b.call("PATCH", &format!("/Groups/{gid}"), Some(rm)).await?,
    );
    row(
        "GET group, excludedAttributes=members",
        &b.call(
            "GET",
            &format!("/Groups/{gid}?excludedAttributes=members"),
            None,
        )
        .await?,
    );
    let m = b.call("GET", &format!("/Groups/{gid}"), None).await?;
    let n = m.body["members"].as_array().map(Vec::len).unwrap_or(0);
    row(&format!("GET group with all {n} members"), &m);
    Ok(())
}

/// Okta's SPEC test on groups at scale: `n` groups, then GET /Groups as Okta pages it (count=100,
/// members left out of unfiltered pages), twice, checking integer paging fields and that the
/// order is the same both times; and the displayName lookup Okta makes before a push.
async fn groups_walk(table: &str, n: usize) -> Result<(), Error> {
    let b = Bench::new(table, None).await?;
    let t = Instant::now();
    for i in 0..n {
        let body = json!({"schemas": [GROUP], "displayName": format!("group {i:05}")});
        let mut m = b.call("POST", "/Groups", Some(body.clone())).await?;
        // A slow moto answer is retried as Okta would (the POST wrote nothing: one transaction).
        for _ in 0..5 {
            if m.status != 503 && m.status != 429 {
                break;
            }
            m = b.call("POST", "/Groups", Some(body.clone())).await?;
        }
        if m.status != 201 {
            return Err(format!("create group {i}: {} {}", m.status, m.body).into());
        }
    }
    let seed_s = t.elapsed().as_secs_f64();
    println!("\n## GET /Groups at {n} groups (created through POST /Groups in {seed_s:.1} s)\n");
    println!("| request | status | round trips | items read | items written | ms |\n|---|---|---|---|---|---|");
    let mut orders = Vec::new();
    for pass in 0..2 {
        let (mut start, mut ids, mut worst, mut total_ms, mut pages) =
            (1usize, Vec::new(), 0f64, 0f64, 0);
        loop {
            let m = b
                .call(
                    "GET",
                    &format!("/Groups?startIndex={start}&count=100"),
                    None,
                )
                .await?;
            for k in ["totalResults", "startIndex", "itemsPerPage"] {
                if !m.body[k].is_u64() {
                    return Err(format!("{k} is not an integer: {}", m.body).into());
                }
            }
            if pass == 0 && start == 1 {
                row("GET /Groups?startIndex=1&count=100 (first page)", &m);
            }
            let rs = m.body["Resources"].as_array().cloned().unwrap_or_default();
            pages += 1;
            worst = worst.max(m.ms);
            total_ms += m.ms;
            if rs.is_empty() {
                break;
            }
            ids.extend(
                rs.iter()
                    .map(|r| r["id"].as_str().unwrap_or_default().to_string()),
            );
            start += rs.len();
        }
        println!(
            "| walk {} ({pages} pages, {} groups) | 200 | | | | {:.1} per page, worst {worst:.1} |",
            pass + 1,
            ids.len(),
            total_ms / pages as f64
        );
        orders.push(ids);
    }
    if orders[0] != orders[1] || orders[0].len() != n {
        return Err("GET /Groups pages are not in a stable order".into());
    }
    let name = format!("group {:05}", n / 2);
    let q: String =
        url::form_urlencoded::byte_serialize(format!("displayName eq \"{name}\"").as_bytes())
            .collect();
    row(
        "GET /Groups?filter=displayName eq (hit)",
        &b.call("GET", &format!("/Groups?filter={q}"), None).await?,
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let users = env_usize("SCIM_BENCH_USERS", 10_000);
    let skip_users = env_usize("SCIM_BENCH_SKIP_USERS", 2_000);
    let group = env_usize("SCIM_BENCH_GROUP", 50_000);
    let pid = std::process::id();
    round_trips(&format!("sso-bench-rt-{pid}")).await?;
    println!("\n## Okta-style walk, startIndex/count=100 (items read = items DynamoDB returned to a read; no query uses a filter expression, so that is what it examined)\n");
    println!("| paging | users | import s | pages | distinct users seen | totalResults | duplicates | round trips | items read | read/user | walk s | ms/page |\n|---|---|---|---|---|---|---|---|---|---|---|---|");
    if users > 0 {
        walk(&format!("sso-bench-walk-{pid}"), users, false).await?;
    }
    if skip_users > 0 {
        walk(&format!("sso-bench-skip-{pid}"), skip_users, true).await?;
        walk(&format!("sso-bench-skipc-{pid}"), skip_users, false).await?;
    }
    let groups = env_usize("SCIM_BENCH_GROUPS", 1_000);
    if groups > 0 {
        groups_walk(&format!("sso-bench-groups-{pid}"), groups).await?;
    }
    if group > 0 {
        big_group(&format!("sso-bench-group-{pid}"), group).await?;
    }
    Ok(())
}
