//! A generic SCIM conformance suite this project did not write — python-scim's `scim2-tester`
//! (pinned in infra/requirements.txt) — run against the local stack over real HTTP. It reads
//! /ServiceProviderConfig, /ResourceTypes and /Schemas, then creates, reads, lists, replaces,
//! patches (add/replace/remove on every published attribute) and deletes every resource type,
//! checking each answer against RFC 7643/7644 and the schemas we publish.

use std::process::Command;

use crate::support::{local_stack, require_local_dynamodb, unique_org};

#[tokio::test]
async fn the_generic_scim2_tester_suite_passes_against_the_local_stack() {
    require_local_dynamodb();
    let python = std::env::var("SSO_PYTHON")
        .expect("SSO_PYTHON names the venv's python: run the tests with `bash infra/test`");
    let table = format!("sso-conformance-test-{}", std::process::id());
    let (base, _guard) = local_stack(&table, &unique_org("demo"));

    let org = unique_org("conformance");
    let out = Command::new(env!("CARGO_BIN_EXE_ssoctl"))
        .args(["org", "create", &org, "--base-url", &base])
        .env("TABLE_NAME", &table)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let scim_base = created["scim_base_url"].as_str().unwrap().to_string();
    let token = created["scim_token"].as_str().unwrap().to_string();

    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/scim_conformance.py");
    // The token goes through the child's environment (not its argv, which `ps` shows), never a log line.
    let run = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(&scim_base)
            .env("SCIM_TOKEN", &token)
            .output()
            .expect("start infra/scim_conformance.py")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "scim2-tester found violations:\n{report}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // The suite must have exercised resources, not stopped at discovery.
    assert!(
        report.contains("[User]") && report.contains("[Group]"),
        "{report}"
    );
}
