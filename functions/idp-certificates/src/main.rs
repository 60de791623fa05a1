//! Lambda `idp-certificates`: the daily IdP job, invoked once a day by an EventBridge Scheduler
//! schedule (template.yaml): the metadata refresh of every org set up from a metadata URL (issue
//! 13 item 4), then the signing-certificate expiry check (item 5). The logic is
//! `shared::functions::idp_certificates`. Locally: `ssoctl idp refresh [ORG]` and
//! `ssoctl org check-certificates [--now EPOCH]`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::functions::idp_certificates::run().await
}
