//! Lambda `api`: the management API, `/api/v1` (docs/api.md); see `shared::routes::ROUTES`.

use lambda_http::{run, service_fn, Error, Request};
use shared::{App, Function};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    run(service_fn(|req: Request| {
        app.handle(Some(Function::Api), req)
    }))
    .await
}
