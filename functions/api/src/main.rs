//! Lambda `api`: the management API, `/api/v1` (docs/api.md); see `shared::routes::ROUTES` for the
//! routes it serves. It calls its own entry point, which links only its own handlers
//! (`shared::functions`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::functions::api::run().await
}
