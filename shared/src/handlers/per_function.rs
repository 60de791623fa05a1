//! One dispatcher per Lambda (issue 10 item 8). Each names only its own function's handlers, so a
//! binary that calls one of them (through `crate::functions`) links only that function's code:
//! the linker drops every handler no dispatcher of that binary names. A route of another function
//! is `NoRoute` here too, not only in `App::handle`'s filter.

use std::future::Future;

use http::Method;
use lambda_http::Request;

use super::{oidc, saml, scim, session as session_handlers, Ctx, Handled, Services};
use crate::api_routes::ApiRoute;
use crate::error::AppError;
use crate::routes::{Function, Route};
use crate::store::Store;

/// The handlers one binary can reach: `App` calls these, and each Lambda's entry point
/// (`crate::functions`) picks its own.
pub(crate) trait Routes {
    /// An `/orgs/{org}/...` route, with its org loaded.
    fn dispatch<S: Store>(
        app: &Services<S>,
        ctx: &Ctx,
        req: &Request,
    ) -> impl Future<Output = Handled> + Send;

    /// A deployment-level route (the OpenID Connect provider): none, unless overridden.
    fn dispatch_deployment<S: Store>(
        app: &Services<S>,
        route: Route,
        req: &Request,
    ) -> impl Future<Output = Handled> + Send {
        let _ = (app, route, req);
        async { Err(AppError::NoRoute) }
    }

    /// A management API route (`/api/v1`, issue 12): none, unless overridden.
    fn dispatch_api<S: Store>(
        app: &Services<S>,
        route: ApiRoute,
        req: &Request,
    ) -> impl Future<Output = Handled> + Send {
        let _ = (app, route, req);
        async { Err(AppError::NoRoute) }
    }
}

/// Every org and OpenID Connect route. `App::handle` (the local stack, `ssoctl local serve`) adds
/// the management API's (`app::Local`): `api` uses the handlers' `Services`, so the handlers do not
/// name `api` back (no module cycle).
pub(crate) struct Every;

impl Routes for Every {
    fn dispatch<S: Store>(
        app: &Services<S>,
        ctx: &Ctx,
        req: &Request,
    ) -> impl Future<Output = Handled> + Send {
        super::dispatch(app, ctx, req)
    }

    fn dispatch_deployment<S: Store>(
        app: &Services<S>,
        route: Route,
        req: &Request,
    ) -> impl Future<Output = Handled> + Send {
        oidc::dispatch(app, route, req)
    }
}

pub(crate) async fn saml_metadata<S: Store>(
    app: &Services<S>,
    ctx: &Ctx,
    req: &Request,
) -> Handled {
    match (&ctx.route, req.method()) {
        (Route::SamlMetadata, &Method::GET) => saml::metadata(app, ctx).await,
        (route, m) => not_here(route, Function::SamlMetadata, m),
    }
}

pub(crate) async fn saml_login<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request) -> Handled {
    match (&ctx.route, req.method()) {
        (Route::SamlLogin, &Method::GET) => saml::login(app, ctx, req).await,
        (route, m) => not_here(route, Function::SamlLogin, m),
    }
}

pub(crate) async fn saml_acs<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request) -> Handled {
    match (&ctx.route, req.method()) {
        (Route::SamlAcs, &Method::POST) => saml::acs(app, ctx, req).await,
        (route, m) => not_here(route, Function::SamlAcs, m),
    }
}

pub(crate) async fn session<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request) -> Handled {
    match (&ctx.route, req.method()) {
        (Route::Session, &Method::GET) => session_handlers::current(app, ctx, req).await,
        (Route::Logout, &Method::POST) => session_handlers::logout(app, ctx, req).await,
        (Route::SignedIn, &Method::GET) => session_handlers::signed_in_page(app, ctx, req).await,
        (route, m) => not_here(route, Function::Session, m),
    }
}

pub(crate) async fn scim_users<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request) -> Handled {
    match ctx.route.function() {
        Function::ScimUsers => scim::dispatch_users(app, ctx, req, req.method().clone()).await,
        _ => Err(AppError::NoRoute),
    }
}

pub(crate) async fn scim_groups<S: Store>(app: &Services<S>, ctx: &Ctx, req: &Request) -> Handled {
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
