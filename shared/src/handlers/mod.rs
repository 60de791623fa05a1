//! Request handlers, one module per area. `dispatch` checks the method and calls the handler; the
//! handler returns a response and its outcome code, or an `AppError` that `App::handle` renders.
//! Handlers see [`Services`] (config, store, signer, clock), never the `App` that routes to them,
//! so the dependency runs one way: app → handlers → domain → store (docs/architecture.md).

mod login;
pub(crate) mod oidc;
pub mod saml;
mod scim;
mod scim_common;
mod scim_groups;
mod scim_search;
mod scim_users;
mod session;

use std::sync::Arc;

use http::Method;
use lambda_http::{Body, Request, Response};

use crate::config::Config;
use crate::error::AppError;
use crate::model::Org;
use crate::oidc::jwt::Signer;
use crate::routes::Route;
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

pub(crate) async fn dispatch<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request) -> Handled {
    let method = req.method().clone();
    match (&ctx.route, method) {
        (Route::SamlMetadata, Method::GET) => saml::metadata(ctx),
        (Route::SamlLogin, Method::GET) => saml::login(app, ctx, req).await,
        (Route::SamlAcs, Method::POST) => saml::acs(app, ctx, req).await,
        (Route::Session, Method::GET) => session::current(app, ctx, req).await,
        (Route::Logout, Method::POST) => session::logout(app, ctx, req).await,
        (Route::SignedIn, Method::GET) => session::signed_in_page(app, ctx, req).await,
        (r, m) if r.is_scim() => scim::dispatch(app, ctx, req, m).await,
        (_, m) => Err(AppError::MethodNotAllowed(m)),
    }
}
