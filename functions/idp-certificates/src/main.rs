//! Lambda `idp-certificates`: the daily IdP signing-certificate expiry check (issue 13, item 5),
//! invoked once a day by an EventBridge Scheduler schedule (template.yaml). Every certificate that
//! crossed 30, 7 or 1 days before its notAfter since the previous run becomes the metric
//! `connection.certificate_expiring` (`shared::saml::expiry`). Locally:
//! `ssoctl org check-certificates [--now EPOCH]`.

use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};
use lambda_http::Error;
use shared::saml::expiry::{check_all, on_certificate_expiring, CHECK_PERIOD};
use shared::App;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(
        |_schedule: LambdaEvent<serde_json::Value>| async move {
            let now = app.now();
            let notices = check_all(&app.store, now, CHECK_PERIOD, |n| {
                on_certificate_expiring(n, now)
            })
            .await?;
            Ok::<_, Error>(serde_json::json!({ "notices": notices.len() }))
        },
    ))
    .await
}
