//! The local stack as a newcomer runs it: `ssoctl local serve` answers real HTTP on 127.0.0.1.

use std::process::Command;

use crate::support::{local_stack, require_local_dynamodb, unique_org};

#[tokio::test]
async fn the_local_stack_serves_metadata_for_its_demo_org_and_the_cli_adds_a_second_org() {
    require_local_dynamodb();
    let table = format!("sso-local-test-{}", std::process::id());
    let demo = unique_org("demo");
    let (base, _guard) = local_stack(&table, &demo);

    let resp = reqwest::get(format!("{base}/orgs/{demo}/saml/metadata"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let xml = resp.text().await.unwrap();
    assert!(
        xml.contains(&format!(r#"entityID="{base}/orgs/{demo}/saml/metadata""#)),
        "{xml}"
    );

    let resp = reqwest::get(format!("{base}/orgs/nobody-here/saml/metadata"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    let second = unique_org("second");
    let out = Command::new(env!("CARGO_BIN_EXE_ssoctl"))
        .args(["org", "create", &second, "--base-url", &base])
        .env("TABLE_NAME", &table)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in [
        "org",
        "entity_id",
        "acs_url",
        "metadata_url",
        "login_url",
        "scim_base_url",
        "scim_token",
    ] {
        assert!(created[field].is_string(), "{field} missing in {created}");
    }
    let resp = reqwest::get(created["metadata_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}
