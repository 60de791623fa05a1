//! The delivery worker against DynamoDB's API, counted: what a delivered event costs in round
//! trips (the figure in docs/api.md, "Webhooks").

use std::process::Command;
use std::time::Duration;

use shared::model::event::SETTLE_MS;
use shared::model::webhook::{
    DeliveryState, RetrySchedule, TypeFilter, WebhookEndpoint, WebhookId, WebhookUrl,
};
use shared::store::webhooks::WebhookStore;
use shared::store::DynamoStore;
use shared::webhooks::{secrets, sign, Worker};
use ssoctl::template::{self, Template};

use crate::support::{require_local_dynamodb, unique_org};
use crate::webhooks_e2e::receiver;

#[tokio::test]
async fn a_delivered_event_costs_one_dynamodb_round_trip_and_no_sqs_call() {
    require_local_dynamodb();
    // A table of its own: the cross-org feed then holds only this test's events.
    let table = format!("sso-webhook-trips-{}", std::process::id());
    let client = shared::app::dynamodb_client().await;
    let def = Template::load(&template::default_path())
        .unwrap()
        .table()
        .unwrap();
    ssoctl::local::create_table(&client, &table, &def)
        .await
        .unwrap();
    let store = DynamoStore::new(client, table.clone());

    let kms = shared::oidc::jwt::kms_client().await;
    let key = kms.create_key().send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_string();
    let (url, got) = receiver(204).await;
    let id = WebhookId::mint();
    let secret = sign::new_secret();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    store
        .create_webhook(&WebhookEndpoint {
            id: id.clone(),
            url: WebhookUrl::parse(&url).unwrap(),
            types: TypeFilter::default(),
            sealed_secret: secrets::seal(&kms, &key_id, &id, &secret).await.unwrap(),
            created_at: now.as_secs() as i64,
            state: DeliveryState {
                cursor: Some(format!("{:013}", now.as_millis() - 1)),
                ..DeliveryState::default()
            },
        })
        .await
        .unwrap();
    const EVENTS: u64 = 20;
    store
        .bulk_import_events(&unique_org("trips"), EVENTS, now.as_secs() as i64)
        .await
        .unwrap();
    // The cross-org feed shows events once they are older than the settle window.
    tokio::time::sleep(Duration::from_millis(SETTLE_MS as u64 + 1_500)).await;

    // No dead-letter queue: a call to SQS would fail the pass.
    let worker = Worker::new(
        store.clone(),
        kms,
        shared::webhooks::sqs_client().await,
        None,
        RetrySchedule::default(),
    );
    let (trips_before, _, _) = store.stats().snapshot();
    let report = worker.pass().await;
    let (trips_after, _, _) = store.stats().snapshot();
    assert_eq!(report.delivered as u64, EVENTS, "{report:?}");
    assert_eq!(got.lock().unwrap().len() as u64, EVENTS);
    let trips = trips_after - trips_before;
    // Per pass: the endpoint list, the feed read, the lease, the closing write; per event: one
    // transaction (its record and the endpoint's new position).
    eprintln!("webhooks: {trips} DynamoDB round trips for {EVENTS} deliveries in one pass");
    assert_eq!(
        trips,
        4 + EVENTS,
        "round trips for one pass of {EVENTS} deliveries"
    );
    let deliveries = store.list_deliveries(&id, 100).await.unwrap();
    assert_eq!(deliveries.len() as u64, EVENTS);
    assert!(deliveries
        .iter()
        .all(|d| d.status.as_str() == "delivered" && d.attempts == 1));

    // An idle pass: the endpoint list and one feed read, no write.
    let (before, _, written_before) = store.stats().snapshot();
    assert_eq!(worker.pass().await.delivered, 0);
    let (after, _, written_after) = store.stats().snapshot();
    assert_eq!((after - before, written_after - written_before), (2, 0));
}

#[test]
fn ssoctl_refuses_a_webhook_url_that_is_not_https_and_an_unknown_event_type() {
    require_local_dynamodb();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ssoctl"))
            .args(args)
            .env(
                "TABLE_NAME",
                format!("sso-webhook-cli-{}", std::process::id()),
            )
            .output()
            .unwrap()
    };
    for (args, says) in [
        (
            &["webhook", "create", "http://app.example.com/hooks"][..],
            "https",
        ),
        (
            &[
                "webhook",
                "create",
                "https://app.example.com/h",
                "--types",
                "user.exploded",
            ][..],
            "unknown event type",
        ),
        (
            &["webhook", "delete", "not-an-id"][..],
            "not a webhook endpoint id",
        ),
    ] {
        let out = run(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
