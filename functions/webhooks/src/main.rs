//! Lambda `webhooks`: delivers the events to the webhook endpoints, signed per Standard Webhooks,
//! retried for 24 h, then dead-lettered (docs/api.md, "Webhooks"). Scheduled every minute; see
//! `shared::functions::webhooks`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::functions::webhooks::run().await
}
