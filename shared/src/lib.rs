//! All the logic of the SSO service. Each Lambda binary in `functions/` is a thin `main.rs` around
//! [`app::App`]; the local stack (`ssoctl local serve`, started by `infra/run-local`) runs the very same [`app::App::handle`].
//!
//! Multi-tenant from the first line: every route is `/orgs/{org}/...`, every store key starts with
//! the organization, and every log line carries it.

pub mod admin;
pub mod api;
pub mod api_routes;
pub mod app;
pub mod aws;
pub mod config;
pub mod destination;
pub mod error;
pub mod events;
pub mod functions;
pub mod headers;
pub mod http;
pub mod metrics;
pub mod model;
pub mod oidc;
pub mod routes;
pub mod saml;
pub mod scim;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod webhooks;

mod handlers;

/// Old paths, kept for the binaries and tests: the organization lives in [`model`].
pub use model::org;

pub use app::App;
pub use config::Config;
/// The ACS's body limit, for the benchmark that prices the worst post under it.
pub use handlers::saml::DEFAULT_ACS_BODY_LIMIT;
pub use routes::Function;
