//! The deployed stream consumers, as far as they can be run here: the records the table's
//! DynamoDB Stream holds after an Okta deactivation (read from the local AWS API server's
//! DynamoDB Streams API), which of them template.yaml's FilterCriteria let through to the
//! back-channel function and the events pipe (matched by moto's EventBridge pattern matcher, not
//! ours), and the back-channel function's own handling of the Lambda event those records make.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};

use crate::oidc::env;
use crate::support::{body_text, event, table_name};

#[tokio::test]
async fn the_template_stream_filters_pass_exactly_the_notices_and_the_events_and_the_notices_are_delivered(
) {
    let env = env().await;
    let python = std::env::var("SSO_PYTHON")
        .expect("SSO_PYTHON names the venv's python: run the tests with `bash infra/test`");
    // The template's table has a NEW_IMAGE stream; `local create-table` leaves it off.
    let enabled = env
        .app
        .store
        .client()
        .update_table()
        .table_name(table_name())
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .unwrap(),
        )
        .send()
        .await;
    if let Err(e) = enabled {
        let text = format!("{e:?}");
        assert!(text.contains("already"), "enable the stream: {text}");
    }

    let redeemed = env.redeem(&env.code().await).await;
    assert_eq!(redeemed.status(), 200, "{}", body_text(&redeemed));
    let patch = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "value": { "active": false } }]
    });
    let bearer = format!("Bearer {}", env.scim_token.expose());
    let deactivated = env
        .call(event(
            "PATCH",
            &format!("/orgs/{}/scim/v2/Users/{}", env.org.org, env.user_id),
            &[
                ("authorization", &bearer),
                ("content-type", "application/scim+json"),
            ],
            Some(&patch.to_string()),
        ))
        .await;
    assert_eq!(deactivated.status(), 200, "{}", body_text(&deactivated));

    let out = std::process::Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../stream_filters.py"))
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"))
        .arg(table_name())
        .env("AWS_REGION", crate::oidc::REGION)
        .env("AWS_DEFAULT_REGION", crate::oidc::REGION)
        .output()
        .expect("run infra/stream_filters.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let records = seen["records"].as_array().unwrap();
    let matched = |filter: &str| -> Vec<usize> {
        seen["matches"][filter]
            .as_array()
            .unwrap_or_else(|| panic!("template.yaml has no filter {filter}"))
            .iter()
            .map(|i| i.as_u64().unwrap() as usize)
            .collect()
    };
    let is_insert = |r: &serde_json::Value| r["eventName"] == "INSERT";
    let ours = |r: &serde_json::Value| {
        r["dynamodb"]["Keys"]["pk"]["S"]
            .as_str()
            .is_some_and(|pk| pk.starts_with(&format!("ORG#{}#", env.org.org)))
    };
    let expected = |pred: &dyn Fn(&serde_json::Value) -> bool| -> Vec<usize> {
        (0..records.len())
            .filter(|&i| is_insert(&records[i]) && pred(&records[i]))
            .collect()
    };

    // Back-channel notices: the inserted `sk = BCL` items, nothing else.
    let notices = expected(&|r| r["dynamodb"]["Keys"]["sk"]["S"] == "BCL");
    assert_eq!(matched("OidcBackchannelFunction.Notices"), notices);
    assert!(
        notices.iter().any(|&i| ours(&records[i])),
        "the deactivation queued a notice: {records:?}"
    );
    // The events outbox: the inserted `type = event` items, nothing else.
    let events = expected(&|r| r["dynamodb"]["NewImage"]["type"]["S"] == "event");
    assert_eq!(matched("EventsPipe"), events);
    let types: Vec<&str> = events
        .iter()
        .filter(|&&i| ours(&records[i]))
        .filter_map(|&i| records[i]["dynamodb"]["NewImage"]["event_type"]["S"].as_str())
        .collect();
    assert!(types.contains(&"user.deactivated"), "{types:?}");
    assert!(
        records.len() > notices.len() + events.len(),
        "other writes are on the stream too, and filtered out"
    );

    // What Lambda hands the back-channel function: the filtered records.
    let batch = serde_json::json!({
        "Records": notices.iter().map(|&i| records[i].clone()).collect::<Vec<_>>()
    });
    let keys = serde_json::from_value::<shared::oidc::stream::StreamEvent>(batch)
        .unwrap()
        .notice_keys();
    assert_eq!(keys.len(), notices.len());
    let ours_keys: Vec<String> = keys
        .into_iter()
        .filter(|k| k.starts_with(&format!("ORG#{}#", env.org.org)))
        .collect();
    let claimed =
        shared::oidc::backchannel::deliver_all(Arc::new(env.app), ours_keys.clone()).await;
    assert_eq!(claimed.claimed, ours_keys.len(), "{claimed:?}");
    assert_eq!(claimed.failed, 0);
}
