//! Request handlers, one module per area. `dispatch` checks the method and calls the handler; the
//! handler returns a response and its outcome code, or an `AppError` that `App::handle` renders.
//! Handlers see [`Services`] (config, store, signer, clock), never the `App` that routes to them,
//! so the dependency runs one way: app → handlers → domain → store (docs/architecture.md).

mod login;
pub(crate) mod oidc;
pub(crate) mod per_function;
pub mod saml;
mod scim;
mod scim_common;
mod scim_groups;
mod scim_search;
mod scim_users;
mod session;

use std::sync::Arc;

use lambda_http::{Body, Request, Response};

use crate::config::Config;
use crate::error::AppError;
use crate::model::Org;
use crate::oidc::jwt::Signer;
use crate::routes::{Function, Route};
use crate::store::Store;

pub(crate) type Handled = Result<(Response<Body>, &'static str), AppError>;

/// Epoch seconds; replaceable so that tests run at any instant.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// What the handlers use, built once per cold start: config, the store, the OIDC token signer
/// (`crate::oidc::jwt`) and the clock.
pub struct Services<S> {
    pub config: Config,
    pub store: S,
    /// Signs OIDC tokens with the KMS key (`crate::oidc::jwt`).
    pub signer: Signer,
    /// The SP encryption keys (ACS) and their certificates (metadata), `crate::saml::sp_keys`.
    pub sp_keys: crate::saml::sp_keys::SpKeyStore,
    pub(crate) clock: Clock,
}

impl<S> Services<S> {
    pub fn now(&self) -> i64 {
        (self.clock)()
    }
}

/// What a handler knows about the request beyond the request itself.
pub struct Ctx {
    pub org: Org,
    pub route: Route,
    pub now: i64,
}

/// Every route (the local stack, `ssoctl local serve`): each route goes to its own function's
/// dispatcher (`per_function`), so what runs locally is exactly what each Lambda runs.
pub(crate) async fn dispatch<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request) -> Handled {
    match ctx.route.function() {
        Function::SamlMetadata => per_function::saml_metadata(app, ctx, req).await,
        Function::SamlLogin => per_function::saml_login(app, ctx, req).await,
        Function::SamlAcs => per_function::saml_acs(app, ctx, req).await,
        Function::Session => per_function::session(app, ctx, req).await,
        Function::ScimUsers => per_function::scim_users(app, ctx, req).await,
        Function::ScimGroups => per_function::scim_groups(app, ctx, req).await,
        // The provider's routes carry no org: `App::handle` sends them to `oidc::dispatch`.
        Function::Oidc => Err(AppError::NoRoute),
        // Nor does the management API's: `App::handle` sends them to `api::dispatch`.
        Function::Api => Err(AppError::NoRoute),
    }
}
