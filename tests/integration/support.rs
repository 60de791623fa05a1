//! Shared fixtures: a table created from template.yaml, unique org names, API Gateway events.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use shared::store::{DynamoStore, MemoryStore};
use shared::{App, Config};
use ssoctl::template::{self, Template};

/// The table every test shares; each test works in organizations of its own.
pub fn table_name() -> String {
    format!("sso-test-{}", std::process::id())
}

pub fn require_local_dynamodb() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1"),
        "these tests need a DynamoDB-API server on 127.0.0.1: run them with `bash infra/test` (AWS_ENDPOINT_URL={endpoint:?})"
    );
}

/// A store on the test table, creating the table from template.yaml if needed. A client per test:
/// each `#[tokio::test]` has its own runtime, and SDK clients must not outlive theirs.
pub async fn store() -> DynamoStore {
    require_local_dynamodb();
    let client = shared::app::dynamodb_client().await;
    let def = Template::load(&template::default_path())
        .unwrap()
        .table()
        .unwrap();
    ssoctl::local::create_table(&client, &table_name(), &def)
        .await
        .unwrap();
    DynamoStore::new(client, table_name())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// An organization name no other test (or earlier run against the same server) uses.
pub fn unique_org(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{prefix}-{}-{n}-{}",
        std::process::id(),
        &shared::tokens::random_hex(3)
    )
}

pub fn config() -> Config {
    Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some(table_name()),
        // infra/lib.sh relaxes it for moto on a busy machine.
        "REQUEST_DEADLINE_MS" => std::env::var(k).ok(),
        // Per-org SCIM rate limit: the default unless a run sets it (scim_rate_limit.rs does).
        "SCIM_REQUESTS_PER_SECOND" => std::env::var(k).ok(),
        _ => None,
    })
    .unwrap()
}

pub async fn app() -> App<DynamoStore> {
    App::new(config(), store().await)
}

/// An app on a store of its own in memory (`shared::store::MemoryStore`, run through the same
/// conformance suite as DynamoDB): for handler tests that test no DynamoDB behaviour. They need
/// no server, and run in milliseconds rather than moto's seconds.
pub fn memory_app() -> App<MemoryStore> {
    App::new(config(), MemoryStore::new())
}

/// An API Gateway HTTP API (payload v2) event, as Lambda receives it, parsed by lambda_http.
pub fn event(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> lambda_http::Request {
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut hdrs = serde_json::Map::new();
    let mut cookies = Vec::new();
    for (k, v) in headers {
        if k.eq_ignore_ascii_case("cookie") {
            cookies.extend(
                v.split("; ")
                    .map(|c| serde_json::Value::String(c.to_string())),
            );
        } else {
            hdrs.insert(k.to_lowercase(), serde_json::Value::String(v.to_string()));
        }
    }
    hdrs.insert(
        "host".into(),
        "abc123.execute-api.us-east-1.amazonaws.com".into(),
    );
    let mut ev = serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": hdrs,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": { "method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "test" },
            "requestId": "test-request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "28/Nov/2026:13:00:00 +0000",
            "timeEpoch": 1795870800000u64
        },
        "isBase64Encoded": false
    });
    if !cookies.is_empty() {
        ev["cookies"] = serde_json::Value::Array(cookies);
    }
    if let Some(b) = body {
        ev["body"] = serde_json::Value::String(b.to_string());
    }
    lambda_http::request::from_str(&ev.to_string()).expect("valid API Gateway event")
}

pub fn body_text(resp: &lambda_http::Response<lambda_http::Body>) -> String {
    match resp.body() {
        lambda_http::Body::Text(t) => t.clone(),
        lambda_http::Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

pub fn body_json(resp: &lambda_http::Response<lambda_http::Body>) -> serde_json::Value {
    serde_json::from_str(&body_text(resp))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", body_text(resp)))
}

/// Kills the child process when dropped. For a local stack, then checks that every AWS call
/// it made on behalf of a function is allowed by that function's policy in template.yaml (the
/// stack's IAM record, `ssoctl::iam_record`), so a call a deployed Lambda would be refused
/// fails the test that made it.
pub struct Killed(Child, Option<std::path::PathBuf>);

impl Killed {
    pub fn new(child: Child) -> Self {
        Killed(child, None)
    }
}

/// The calls in an IAM record that the template's policies do not allow: `function: action`.
pub fn calls_outside_the_policies(record: &str) -> Vec<String> {
    let mut refused: Vec<String> = Vec::new();
    for line in record.lines() {
        let Some((function, action)) = line.split_once('\t') else {
            continue;
        };
        if function == "unrouted" {
            continue;
        }
        let allowed = crate::packaging::function_resource(function)
            .map(|resource| crate::packaging::allowed_actions(&resource))
            .unwrap_or_default();
        let entry = format!("{function}: {action}");
        if !allowed.iter().any(|a| a == action) && !refused.contains(&entry) {
            refused.push(entry);
        }
    }
    refused
}

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let Some(path) = self.1.take() else { return };
        let record = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        if std::thread::panicking() {
            return;
        }
        let refused = calls_outside_the_policies(&record);
        assert!(
            refused.is_empty(),
            "the local stack made AWS calls that template.yaml does not allow the function: {refused:?}"
        );
    }
}

/// Starts the local stack on a free port; returns its base URL and the guard that stops it.
pub fn local_stack(table: &str, demo_org: &str) -> (String, Killed) {
    local_stack_with_env(table, demo_org, &[])
}

/// [`local_stack`] with extra environment variables (e.g. a short webhook retry schedule).
pub fn local_stack_with_env(table: &str, demo_org: &str, env: &[(&str, &str)]) -> (String, Killed) {
    let record = std::env::temp_dir().join(format!(
        "sso-iam-{table}-{}-{}.tsv",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ssoctl"))
        .args([
            "local",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--demo-org",
            demo_org,
        ])
        .env("TABLE_NAME", table)
        .env("RUST_LOG", "warn")
        .env("SSO_LOCAL_IAM_RECORD", &record)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ssoctl local serve");
    let stderr = child.stderr.take().unwrap();
    let guard = Killed(child, Some(record));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("serving every route on ").nth(1) {
                let _ = tx.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
    });
    let base = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the local stack printed its address");
    (base, guard)
}
