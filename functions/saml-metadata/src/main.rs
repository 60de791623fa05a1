//! Lambda `saml-metadata`: see `shared::routes::ROUTES` for the routes it serves. It calls its own entry
//! point, which links only its own handlers (`shared::functions`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::functions::saml_metadata::run().await
}
