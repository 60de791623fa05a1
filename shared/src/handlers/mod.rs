//! Request handlers, one module per area. `dispatch` checks the method and calls the handler; the
//! handler returns a response and its outcome code, or an `AppError` that `App::handle` renders.

pub(crate) mod oidc;
pub mod saml;
mod scim;
mod scim_groups;
mod scim_search;
mod scim_users;
mod session;

use http::Method;
use lambda_http::{Body, Request, Response};

use crate::app::{App, Ctx};
use crate::error::AppError;
use crate::routes::Route;
use crate::store::Store;

pub(crate) type Handled = Result<(Response<Body>, &'static str), AppError>;

pub(crate) async fn dispatch<S: Store>(app: &App<S>, ctx: &Ctx, req: &Request) -> Handled {
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
