//! Lambda `oidc-backchannel`: OpenID Connect Back-Channel Logout delivery, triggered by the
//! table's DynamoDB Stream. template.yaml filters the stream to INSERTs of back-channel notices
//! (`sk = BCL`), which the store writes in the same transaction that ends a
//! grant early; this function claims each and POSTs the logout token (`shared::oidc::backchannel`).
//! Deliveries are never done inside the SCIM (or logout) request that ended the session.

use std::sync::Arc;

use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};
use lambda_http::Error;
use shared::oidc::stream::StreamEvent;
use shared::App;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = Arc::new(App::from_env().await?);
    lambda_runtime::run(service_fn(|event: LambdaEvent<StreamEvent>| {
        let app = app.clone();
        async move {
            let keys = event.payload.notice_keys();
            let batch = shared::oidc::backchannel::deliver_all(app, keys).await;
            if batch.failed > 0 {
                // Lambda retries the batch (template: MaximumRetryAttempts); finished notices
                // are gone by then, the failed ones were given back and are claimed again.
                return Err(Error::from(format!(
                    "{} back-channel notices not delivered",
                    batch.failed
                )));
            }
            Ok::<_, Error>(serde_json::json!({ "claimed": batch.claimed }))
        }
    }))
    .await
}
