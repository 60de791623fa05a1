//! Request handlers, one module per area. `dispatch` checks the method and calls the handler; the
//! handler returns a response and its outcome code, or an `AppError` that `App::handle` renders.

pub(crate) mod oidc;
pub mod saml;
mod scim;
mod scim_groups;
mod scim_users;
mod session;

use http::Method;
use lambda_http::{Body, Request, Response};

use crate::app::{App, Ctx};
use crate::error::AppError;
use crate::routes::{Function, Route};
use crate::store::Store;

pub(crate) type Handled = Result<(Response<Body>, &'static str), AppError>;

/// Every route (the local stack, `ssoctl local serve`): each route goes to its own function's
/// dispatcher below, so what runs locally is exactly what each Lambda runs.
pub(crate) async fn dispatch<S: Store>(app: &App<S>, ctx: &Ctx, req: &Request) -> Handled {
    match ctx.route.function() {
        Function::SamlMetadata => saml_metadata(app, ctx, req).await,
        Function::SamlLogin => saml_login(app, ctx, req).await,
        Function::SamlAcs => saml_acs(app, ctx, req).await,
        Function::Session => session(app, ctx, req).await,
        Function::ScimUsers => scim_users(app, ctx, req).await,
        Function::ScimGroups => scim_groups(app, ctx, req).await,
        // The provider's routes carry no org: `App::handle` sends them to `oidc::dispatch`.
        Function::Oidc => Err(AppError::NoRoute),
    }
}

// One dispatcher per Lambda (issue 10 item 8). Each names only its own function's handlers, so a
// binary that calls one of them (through `crate::functions`) links only that function's code:
// the linker drops every handler no dispatcher of that binary names. A route of another function
// is `NoRoute` here too, not only in `App::handle`'s filter.

pub(crate) async fn saml_metadata<S: Store>(_app: &App<S>, ctx: &Ctx, req: &Request) -> Handled {
    match (&ctx.route, req.method()) {
        (Route::SamlMetadata, &Method::GET) => saml::metadata(ctx),
        (route, m) => not_here(route, Function::SamlMetadata, m),
    }
}

pub(crate) async fn saml_login<S: Store>(app: &App<S>, ctx: &Ctx, req: &Request) -> Handled {
    match (&ctx.route, req.method()) {
        (Route::SamlLogin, &Method::GET) => saml::login(app, ctx, req).await,
        (route, m) => not_here(route, Function::SamlLogin, m),
    }
}

pub(crate) async fn saml_acs<S: Store>(app: &App<S>, ctx: &Ctx, req: &Request) -> Handled {
    match (&ctx.route, req.method()) {
        (Route::SamlAcs, &Method::POST) => saml::acs(app, ctx, req).await,
        (route, m) => not_here(route, Function::SamlAcs, m),
    }
}

pub(crate) async fn session<S: Store>(app: &App<S>, ctx: &Ctx, req: &Request) -> Handled {
    match (&ctx.route, req.method()) {
        (Route::Session, &Method::GET) => session::current(app, ctx, req).await,
        (Route::Logout, &Method::POST) => session::logout(app, ctx, req).await,
        (Route::SignedIn, &Method::GET) => session::signed_in_page(app, ctx, req).await,
        (route, m) => not_here(route, Function::Session, m),
    }
}

pub(crate) async fn scim_users<S: Store>(app: &App<S>, ctx: &Ctx, req: &Request) -> Handled {
    match ctx.route.function() {
        Function::ScimUsers => scim::dispatch_users(app, ctx, req, req.method().clone()).await,
        _ => Err(AppError::NoRoute),
    }
}

pub(crate) async fn scim_groups<S: Store>(app: &App<S>, ctx: &Ctx, req: &Request) -> Handled {
    match ctx.route.function() {
        Function::ScimGroups => scim::dispatch_groups(app, ctx, req, req.method().clone()).await,
        _ => Err(AppError::NoRoute),
    }
}

/// A route this function serves, with another method: 405 (the route's `Allow` header is added by
/// `App::handle`); a route of another function: 404.
fn not_here(route: &Route, function: Function, method: &Method) -> Handled {
    if route.function() == function {
        Err(AppError::MethodNotAllowed(method.clone()))
    } else {
        Err(AppError::NoRoute)
    }
}
