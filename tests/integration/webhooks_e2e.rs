//! Webhooks end to end on the local stack (`ssoctl local serve`, real HTTP): an API key → two
//! endpoints from `ssoctl webhook create` → an org created by the API → Okta-shaped SCIM pushes →
//! the working endpoint receives the org's events in feed order, each signature verified by the
//! PyPI `standardwebhooks` library (not ours); the failing endpoint is retried on a short schedule
//! (WEBHOOK_RETRY_DELAYS), then dead-lettered to the SQS queue and shown `dead` by
//! `ssoctl webhook deliveries`.

use std::convert::Infallible;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use crate::support::{local_stack_with_env, require_local_dynamodb, unique_org};

fn ssoctl(table: &str, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ssoctl"))
        .args(args)
        .env("TABLE_NAME", table)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One request a receiver got: its webhook headers and raw body.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub headers: Value,
    pub body: String,
}

/// An HTTP receiver on 127.0.0.1 answering every POST with `status`; returns its URL.
pub(crate) async fn receiver(status: u16) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let log = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let log = log.clone();
                        async move {
                            let h = |k: &str| {
                                req.headers()
                                    .get(k)
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or_default()
                                    .to_string()
                            };
                            let headers = json!({
                                "webhook-id": h("webhook-id"),
                                "webhook-timestamp": h("webhook-timestamp"),
                                "webhook-signature": h("webhook-signature"),
                            });
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            log.lock().unwrap().push(Received {
                                headers,
                                body: String::from_utf8_lossy(&body).into_owned(),
                            });
                            Ok::<_, Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .body(Full::new(Bytes::new()))
                                    .unwrap(),
                            )
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (url, got)
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        let content_type = if url.contains("/api/v1/") {
            "application/json"
        } else {
            "application/scim+json"
        };
        req = req.header("content-type", content_type).body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Waits (up to 90 s: the cross-org feed is read 10 s behind) until `done` holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Verifies every request with the `standardwebhooks` library from PyPI and reads the dead-letter
/// queue with boto3; prints `{"verified": n, "dead_letters": [...]}`.
const VERIFY_PY: &str = r#"
import json, os, sys
import boto3
from standardwebhooks.webhooks import Webhook
job = json.load(sys.stdin)
wh = Webhook(job["secret"])
verified = 0
for r in job["requests"]:
    wh.verify(r["body"], r["headers"])
    verified += 1
tampered = 0
for r in job["requests"]:
    try:
        wh.verify(r["body"].replace("}", " }", 1), r["headers"])
    except Exception:
        tampered += 1
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
url = sqs.get_queue_url(QueueName=job["queue"])["QueueUrl"]
dead = []
for _ in range(5):
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    dead += [json.loads(m["Body"]) for m in got]
print(json.dumps({"verified": verified, "tampered_refused": tampered, "dead_letters": dead}))
"#;

fn verify_with_python(job: &Value) -> Value {
    use std::io::Write;
    let python = std::env::var("SSO_PYTHON")
        .expect("SSO_PYTHON names the venv's python: run the tests with `bash infra/test`");
    let mut child = Command::new(python)
        .args(["-c", VERIFY_PY])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_deliver_an_orgs_events_in_order_signed_and_a_failing_endpoint_ends_dead_lettered()
{
    require_local_dynamodb();
    let table = format!("sso-webhooks-e2e-{}", std::process::id());
    let (good_url, good) = receiver(204).await;
    let (bad_url, bad) = receiver(500).await;
    // Attempts at 0 s, 2 s and 4 s (the window's end), then dead: the 24 h schedule's shape in 4 s.
    let (base, _guard) = local_stack_with_env(
        &table,
        &unique_org("demo"),
        &[("WEBHOOK_RETRY_DELAYS", "2,2")],
    );
    let key = ssoctl(&table, &["api-key", "create", &unique_org("app")])["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    let hook = ssoctl(&table, &["webhook", "create", &good_url]);
    let secret = hook["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{hook}");
    let failing = ssoctl(
        &table,
        &["webhook", "create", &bad_url, "--types", "user.created"],
    );
    let failing_id = failing["id"].as_str().unwrap().to_string();
    let listed = ssoctl(&table, &["webhook", "list"]);
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 2);
    assert!(
        !listed.to_string().contains(&secret),
        "list shows no secret"
    );

    let http = reqwest::Client::new();
    use reqwest::Method;
    let org = unique_org("acme");
    let (s, created) = send(
        &http,
        Method::POST,
        &format!("{base}/api/v1/orgs"),
        &key,
        Some(json!({"org": org, "base_url": base})),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let scim = created["scim_token"].as_str().unwrap().to_string();
    let scim_base = created["scim_base_url"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for name in ["ada", "bob"] {
        let user = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("{name}@example.com"),
            "name": {"givenName": name, "familyName": "Okta"},
            "emails": [{"primary": true, "value": format!("{name}@example.com"), "type": "work"}],
            "active": true, "externalId": format!("00u{name}"),
        });
        let (s, u) = send(
            &http,
            Method::POST,
            &format!("{scim_base}/Users"),
            &scim,
            Some(user),
        )
        .await;
        assert_eq!(s, 201, "{u}");
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let (s, _) = send(
        &http,
        Method::PATCH,
        &format!("{scim_base}/Users/{}", ids[1]),
        &scim,
        Some(deactivate),
    )
    .await;
    assert_eq!(s, 200);
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Engineering", "members": [{"value": ids[0]}]});
    let (s, g) = send(
        &http,
        Method::POST,
        &format!("{scim_base}/Groups"),
        &scim,
        Some(group),
    )
    .await;
    assert_eq!(s, 201, "{g}");

    // What the events API says happened to the org, in order.
    let (s, feed) = send(
        &http,
        Method::GET,
        &format!("{base}/api/v1/events?org={org}&limit=100"),
        &key,
        None,
    )
    .await;
    assert_eq!(s, 200, "{feed}");
    let expected: Vec<Value> = feed["data"].as_array().unwrap().clone();
    let types: Vec<&str> = expected
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "org.created",
            "user.created",
            "user.created",
            "user.deactivated",
            "group.created",
            "group.member_added"
        ]
    );

    let of_org = |got: &Arc<Mutex<Vec<Received>>>| -> Vec<Received> {
        got.lock()
            .unwrap()
            .iter()
            .filter(|r| {
                serde_json::from_str::<Value>(&r.body)
                    .map(|b| b["org"] == json!(org))
                    .unwrap_or(false)
            })
            .cloned()
            .collect()
    };
    eventually("the org's events at the working endpoint", || {
        of_org(&good).len() >= expected.len()
    })
    .await;
    let received = of_org(&good);
    let bodies: Vec<Value> = received
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    // The same objects as the events API, in the same order, each once.
    assert_eq!(bodies, expected);
    for (r, e) in received.iter().zip(&expected) {
        assert_eq!(r.headers["webhook-id"], e["id"]);
    }

    // The failing endpoint: user.created only; the first tried three times, then dead; the
    // second after the run of failures outlasted the window: one attempt, dead.
    let dead_of = |table: &str| -> Vec<Value> {
        ssoctl(table, &["webhook", "deliveries", "--endpoint", &failing_id])["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["org"] == json!(org) && d["status"] == "dead")
            .cloned()
            .collect()
    };
    let start = Instant::now();
    let mut dead = dead_of(&table);
    while dead.len() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "the failing endpoint's deliveries: {dead:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        dead = dead_of(&table);
    }
    let user_created: Vec<&Value> = expected
        .iter()
        .filter(|e| e["type"] == "user.created")
        .collect();
    // Newest first.
    assert_eq!(dead[1]["event_id"], user_created[0]["id"]);
    assert_eq!(dead[0]["event_id"], user_created[1]["id"]);
    assert_eq!(dead[1]["attempts"], 3, "{dead:?}");
    assert_eq!(dead[1]["last_http_status"], 500);
    assert!(dead[1]["next_attempt"].is_null());
    let attempts_at_bad = of_org(&bad);
    let first_id = user_created[0]["id"].as_str().unwrap();
    assert_eq!(
        attempts_at_bad
            .iter()
            .filter(|r| r.headers["webhook-id"] == first_id)
            .count(),
        3
    );
    assert!(attempts_at_bad
        .iter()
        .all(|r| r.body.contains("\"user.created\"")));

    // An independent verifier: PyPI's standardwebhooks accepts every signature (and refuses a
    // tampered body); the dead-letter queue holds both given-up events.
    let requests: Vec<Value> = received
        .iter()
        .map(|r| json!({"headers": r.headers, "body": r.body}))
        .collect();
    let report = verify_with_python(&json!({
        "secret": secret,
        "requests": requests,
        "queue": format!("{table}-webhooks-dlq"),
    }));
    assert_eq!(report["verified"], json!(expected.len()), "{report}");
    assert_eq!(
        report["tampered_refused"],
        json!(expected.len()),
        "{report}"
    );
    let mut lettered: Vec<String> = report["dead_letters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["event"]["org"] == json!(org))
        .map(|d| {
            assert_eq!(d["endpoint"], json!(failing_id));
            d["event"]["id"].as_str().unwrap().to_string()
        })
        .collect();
    lettered.sort();
    let mut want: Vec<String> = user_created
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    want.sort();
    assert_eq!(lettered, want, "{report}");

    // Deleting an endpoint: it is gone from the list.
    ssoctl(&table, &["webhook", "delete", &failing_id]);
    assert_eq!(
        ssoctl(&table, &["webhook", "list"])["webhooks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
