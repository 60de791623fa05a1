//! The local stack: the table created from template.yaml's definition, and every route served on
//! 127.0.0.1 through the very `App::handle` the Lambdas run (requests are handed over as the same
//! `lambda_http::Request` type API Gateway events become).

use std::convert::Infallible;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use shared::store::Store;
use shared::App;

use crate::template::TableDef;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// API Gateway HTTP APIs accept bodies up to 10 MB; so does the local stack.
const MAX_BODY: usize = 10 * 1024 * 1024;

fn key(k: &crate::template::KeyAttr) -> Result<KeySchemaElement, BoxError> {
    Ok(KeySchemaElement::builder()
        .attribute_name(&k.name)
        .key_type(KeyType::from(k.key_type.as_str()))
        .build()?)
}

/// Creates the table exactly as template.yaml declares it (keys, indexes, billing, TTL).
/// Returns false if it already existed.
pub async fn create_table(client: &Client, name: &str, def: &TableDef) -> Result<bool, BoxError> {
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(def.billing_mode.as_str()));
    for (attr, ty) in &def.attributes {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attr)
                .attribute_type(ScalarAttributeType::from(ty.as_str()))
                .build()?,
        );
    }
    for k in &def.keys {
        req = req.key_schema(key(k)?);
    }
    for g in &def.gsis {
        let mut gsi = GlobalSecondaryIndex::builder()
            .index_name(&g.name)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::from(g.projection.as_str()))
                    .build(),
            );
        for k in &g.keys {
            gsi = gsi.key_schema(key(k)?);
        }
        req = req.global_secondary_indexes(gsi.build()?);
    }
    match req.send().await {
        Ok(_) => {}
        Err(e)
            if aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&e)
                == Some("ResourceInUseException") =>
        {
            return Ok(false)
        }
        Err(e) => return Err(Box::new(e)),
    }
    wait_until_active(client, name).await?;
    if let Some(attr) = &def.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attr)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await?;
    }
    Ok(true)
}

/// Real DynamoDB creates tables asynchronously (status CREATING for a few seconds); writes and
/// UpdateTimeToLive need ACTIVE. moto answers ACTIVE at once. Bounded: two minutes at most.
async fn wait_until_active(client: &Client, name: &str) -> Result<(), BoxError> {
    use aws_sdk_dynamodb::types::TableStatus;
    for _ in 0..120 {
        let table = client.describe_table().table_name(name).send().await?;
        if table.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    Err(format!("table {name} did not become ACTIVE within two minutes").into())
}

/// Turns a hyper request into the `lambda_http::Request` a Lambda would receive.
pub async fn to_lambda_request(
    req: hyper::Request<Incoming>,
) -> Result<lambda_http::Request, BoxError> {
    let (parts, body) = req.into_parts();
    let bytes = Limited::new(body, MAX_BODY).collect().await?.to_bytes();
    let body = if bytes.is_empty() {
        lambda_http::Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => lambda_http::Body::Text(text),
            Err(e) => lambda_http::Body::Binary(e.into_bytes()),
        }
    };
    Ok(http::Request::from_parts(parts, body))
}

pub fn from_lambda_response(
    resp: lambda_http::Response<lambda_http::Body>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(t) => Bytes::from(t),
        lambda_http::Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

async fn serve_one<S: Store + 'static>(
    app: Arc<App<S>>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    match to_lambda_request(req).await {
        Ok(lreq) => {
            // The function template.yaml routes this path to (for the IAM record, iam_record.rs).
            let function = shared::routes::match_path(lreq.uri().path())
                .map(|(_, route)| route)
                .or_else(|| shared::routes::match_deployment_path(lreq.uri().path()))
                .map_or("unrouted", |route| route.function().binary());
            let Ok(resp) = crate::iam_record::FUNCTION
                .scope(function, app.handle(None, lreq))
                .await;
            Ok(from_lambda_response(resp))
        }
        Err(_) => Ok(hyper::Response::builder()
            .status(413)
            .body(Full::new(Bytes::from_static(b"request body too large\n")))
            .unwrap_or_default()),
    }
}

/// Creates an OIDC signing key as template.yaml does (ECC_NIST_P256, SIGN_VERIFY) in the KMS the
/// environment points to (the local server), and returns its id.
pub async fn create_signing_key(kms: &aws_sdk_kms::Client) -> Result<String, BoxError> {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    let out = kms
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .description("sso-local OIDC token signing key")
        .send()
        .await?;
    out.key_metadata()
        .map(|m| m.key_id().to_string())
        .ok_or_else(|| "CreateKey returned no key id".into())
}

/// How often the local stack looks for queued back-channel logouts. Deployed, the DynamoDB
/// Stream triggers delivery at once; polling every half second keeps "within seconds" locally.
const BACKCHANNEL_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// The local stand-in for the `oidc-backchannel` function: the same delivery code, fed by
/// polling the queue instead of a stream. Runs until the process ends.
pub async fn deliver_backchannel_logouts<S: Store + 'static>(app: Arc<App<S>>) {
    loop {
        if let Err(e) = shared::oidc::backchannel::drain(app.clone(), 25).await {
            tracing::warn!(error = %e, "reading the back-channel logout queue failed");
        }
        tokio::time::sleep(BACKCHANNEL_POLL).await;
    }
}

/// The local stand-in for what finishes org purges in AWS (the next DELETE or `ssoctl org
/// purge`): purges left unfinished by `DELETE /api/v1/orgs/{org}` continue here.
pub async fn purge_deleted_orgs<S: Store + 'static>(app: Arc<App<S>>) {
    loop {
        shared::api::purge_pending(&app.store, 20).await;
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
}

/// Serves every route on `listener` until the process ends.
pub async fn serve<S: Store + 'static>(
    app: Arc<App<S>>,
    listener: tokio::net::TcpListener,
) -> Result<(), BoxError> {
    loop {
        let (stream, _) = listener.accept().await?;
        let app = app.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| serve_one(app.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// How often the local stack delivers webhooks (deployed: a pass a second, `functions::webhooks`).
const WEBHOOK_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// The local stand-ins for what template.yaml creates for webhooks: the KMS key that seals the
/// signing secrets (`alias/{table}-webhooks`, unless WEBHOOK_KMS_KEY_ID names one) and the SQS
/// dead-letter queue (`{table}-webhooks-dlq`, unless WEBHOOKS_DLQ_URL names one); then the
/// delivery worker (WEBHOOK_RETRY_DELAYS shortens its schedule, for tests).
pub async fn webhook_worker(
    store: &shared::store::DynamoStore,
    recorder: Option<&crate::iam_record::Recorder>,
) -> Result<shared::webhooks::Worker<shared::store::DynamoStore>, BoxError> {
    let table = store.table();
    if std::env::var("WEBHOOK_KMS_KEY_ID").map_or(true, |k| k.trim().is_empty()) {
        let kms = shared::oidc::jwt::kms_client().await;
        let alias = shared::webhooks::secrets::key_id(table);
        if kms.describe_key().key_id(&alias).send().await.is_err() {
            let key = kms
                .create_key()
                .description("sso-local webhook signing secrets")
                .send()
                .await?;
            let key_id = key
                .key_metadata()
                .map(|m| m.key_id().to_string())
                .ok_or("CreateKey returned no key id")?;
            kms.create_alias()
                .alias_name(&alias)
                .target_key_id(key_id)
                .send()
                .await?;
        }
    }
    let mut worker = shared::webhooks::Worker::from_env(store.clone()).await?;
    if std::env::var("WEBHOOKS_DLQ_URL").map_or(true, |u| u.trim().is_empty()) {
        let sqs = shared::webhooks::sqs_client().await;
        let queue = sqs
            .create_queue()
            .queue_name(format!("{table}-webhooks-dlq"))
            .send()
            .await?;
        let url = queue.queue_url().ok_or("CreateQueue returned no URL")?;
        worker.set_dead_letter_url(url.to_string());
    }
    if let Some(rec) = recorder {
        // Every delivery call is then checked against WebhooksFunction's policy (iam_record.rs).
        let kms = shared::oidc::jwt::kms_client().await;
        let kms = kms.config().to_builder().interceptor(rec.clone()).build();
        let sqs = shared::webhooks::sqs_client().await;
        let sqs = sqs.config().to_builder().interceptor(rec.clone()).build();
        worker = worker.with_clients(
            aws_sdk_kms::Client::from_conf(kms),
            aws_sdk_sqs::Client::from_conf(sqs),
        );
    }
    Ok(worker)
}

/// The local stand-in for the `webhooks` function: the same passes, back to back.
pub async fn deliver_webhooks(worker: shared::webhooks::Worker<shared::store::DynamoStore>) {
    // Its AWS calls are the `webhooks` function's (the IAM record, iam_record.rs).
    crate::iam_record::FUNCTION
        .scope("webhooks", async move {
            loop {
                worker.pass().await;
                tokio::time::sleep(WEBHOOK_POLL).await;
            }
        })
        .await
}
