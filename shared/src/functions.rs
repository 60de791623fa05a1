//! One entry point per Lambda binary (issue 10 item 8): `functions/<name>/src/main.rs` calls
//! `shared::functions::<name>::run()`. Each entry point serves requests through [`App`] with a
//! dispatcher ([`Routes`]) that names only its own function's handlers, so each binary links only
//! its own code: the linker (LTO) drops every handler that nothing in the binary calls.
//!
//! Dead-code elimination rather than Cargo features, on purpose: `infra/check-bootstraps` builds
//! every bootstrap in one cargo invocation, and cargo unifies the features of everything it builds
//! at once — but it cannot unify calls. [`App::handle`] (every route, the local stack) stays as it
//! was; what each Lambda serves is [`crate::routes::ROUTES`], and it refuses every other route
//! twice: `App::handle`'s filter, and its own dispatcher (`handlers::per_function`), which has no
//! arm for it.

use std::convert::Infallible;
use std::future::Future;

use lambda_http::{Body, Request, Response};

use crate::app::App;
use crate::error::AppError;
use crate::handlers::per_function::{self as dispatchers, Routes};
use crate::handlers::{Ctx, Handled, Services};
use crate::routes::{Function, Route};
use crate::store::Store;

/// Config and clients once per cold start, then one request at a time, as the Lambda Runtime API
/// hands them over.
async fn run_http<R: Routes>(function: Function) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = App::from_env().await?;
    lambda_http::run(lambda_http::service_fn(|req: Request| {
        app.handle_routes::<R>(Some(function), req)
    }))
    .await
}

/// An org-scoped function: its module holds the binary's `run` and a `handler` for tests.
macro_rules! org_function {
    ($(#[$doc:meta])* $module:ident, $function:ident, $dispatch:path) => {
        $(#[$doc])*
        pub mod $module {
            use super::*;

            pub(crate) struct Own;

            impl Routes for Own {
                fn dispatch<S: Store>(
                    app: &Services<S>,
                    ctx: &Ctx,
                    req: &Request,
                ) -> impl Future<Output = Handled> + Send {
                    $dispatch(app, ctx, req)
                }
            }

            /// One request, as this function's Lambda serves it.
            pub async fn handler<S: Store>(
                app: &App<S>,
                req: Request,
            ) -> Result<Response<Body>, Infallible> {
                app.handle_routes::<Own>(Some(Function::$function), req).await
            }

            /// The Lambda's `main`.
            pub async fn run() -> Result<(), lambda_http::Error> {
                run_http::<Own>(Function::$function).await
            }
        }
    };
}

org_function!(
    /// `saml-metadata`: the SP metadata document.
    saml_metadata, SamlMetadata, dispatchers::saml_metadata
);
org_function!(
    /// `saml-login`: SP-initiated sign-in (the AuthnRequest redirect).
    saml_login, SamlLogin, dispatchers::saml_login
);
org_function!(
    /// `saml-acs`: the Assertion Consumer Service.
    saml_acs, SamlAcs, dispatchers::saml_acs
);
org_function!(
    /// `session`: session introspection, logout, the signed-in page.
    session, Session, dispatchers::session
);
org_function!(
    /// `scim-users`: SCIM Users, discovery and the SCIM catch-all.
    scim_users, ScimUsers, dispatchers::scim_users
);
org_function!(
    /// `scim-groups`: SCIM Groups.
    scim_groups, ScimGroups, dispatchers::scim_groups
);

/// `oidc`: the OpenID Connect provider (deployment-level routes only).
pub mod oidc {
    use super::*;

    pub(crate) struct Own;

    impl Routes for Own {
        fn dispatch<S: Store>(
            app: &Services<S>,
            ctx: &Ctx,
            req: &Request,
        ) -> impl Future<Output = Handled> + Send {
            let _ = (app, ctx, req);
            async { Err(AppError::NoRoute) }
        }

        fn dispatch_deployment<S: Store>(
            app: &Services<S>,
            route: Route,
            req: &Request,
        ) -> impl Future<Output = Handled> + Send {
            crate::handlers::oidc::dispatch(app, route, req)
        }
    }

    /// One request, as this function's Lambda serves it.
    pub async fn handler<S: Store>(
        app: &App<S>,
        req: Request,
    ) -> Result<Response<Body>, Infallible> {
        app.handle_routes::<Own>(Some(Function::Oidc), req).await
    }

    /// The Lambda's `main`.
    pub async fn run() -> Result<(), lambda_http::Error> {
        run_http::<Own>(Function::Oidc).await
    }
}

/// `api`: the management API, `/api/v1` (deployment-level; docs/api.md).
pub mod api {
    use super::*;
    use crate::api_routes::ApiRoute;

    pub(crate) struct Own;

    impl Routes for Own {
        fn dispatch<S: Store>(
            app: &Services<S>,
            ctx: &Ctx,
            req: &Request,
        ) -> impl Future<Output = Handled> + Send {
            let _ = (app, ctx, req);
            async { Err(AppError::NoRoute) }
        }

        fn dispatch_api<S: Store>(
            app: &Services<S>,
            route: ApiRoute,
            req: &Request,
        ) -> impl Future<Output = Handled> + Send {
            crate::api::dispatch(app, route, req)
        }
    }

    /// One request, as this function's Lambda serves it.
    pub async fn handler<S: Store>(
        app: &App<S>,
        req: Request,
    ) -> Result<Response<Body>, Infallible> {
        app.handle_routes::<Own>(Some(Function::Api), req).await
    }

    /// The Lambda's `main`.
    pub async fn run() -> Result<(), lambda_http::Error> {
        run_http::<Own>(Function::Api).await
    }
}

/// `idp-certificates`: the daily IdP job, invoked by an EventBridge Scheduler schedule
/// (template.yaml). First the metadata refresh of every org set up from a metadata URL
/// (`admin::refresh`, issue 13 item 4), then the certificate expiry check (`saml::expiry`, item
/// 5) — in that order, so the check sees the certificates the refresh just installed. One function
/// for both: the same schedule, the same walk over the orgs, one cold start a day instead of two.
pub mod idp_certificates {
    use serde_json::{json, Value};

    use super::*;
    use crate::admin::refresh::{on_refreshed, refresh_all, Https, MetadataSource};
    use crate::saml::expiry::{check_all, on_certificate_expiring, CHECK_PERIOD};

    /// Kept free at the end of a run for the expiry check and the answer.
    const RESERVE: std::time::Duration = std::time::Duration::from_secs(15);

    /// One scheduled run; `deadline`: when the invocation times out. The refresh's failures are
    /// reported per org (a log line and the metric), never fail the run: the expiry check must
    /// still happen.
    pub async fn handle<S: Store, M: MetadataSource>(
        app: &App<S>,
        source: &M,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Value, crate::store::StoreError> {
        let now = app.now();
        let deadline = deadline.map(|d| d.checked_sub(RESERVE).unwrap_or(d));
        let reports =
            refresh_all(&app.store, source, now, deadline, |r| on_refreshed(r, now)).await?;
        let count = |name: &str| reports.iter().filter(|r| r.outcome_name() == name).count();
        let notices = check_all(&app.store, now, CHECK_PERIOD, |n| {
            on_certificate_expiring(n, now)
        })
        .await?;
        Ok(json!({
            "refreshed": { "changed": count("changed"), "unchanged": count("unchanged"), "failed": count("failed") },
            "notices": notices.len(),
        }))
    }

    /// The Lambda's `main`.
    pub async fn run() -> Result<(), lambda_http::Error> {
        use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};
        crate::telemetry::init();
        let app = App::from_env().await?;
        let source = Https(app.config.metadata_fetch);
        let (app, source) = (&app, &source);
        lambda_runtime::run(service_fn(
            |event: LambdaEvent<serde_json::Value>| async move {
                // The invocation's deadline (epoch ms) as an instant of this process's clock.
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0);
                let left = event.context.deadline.saturating_sub(now_ms);
                let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(left);
                // Boxed: the refresh's fetch futures nest deep enough to exceed the compiler's
                // layout recursion limit in the binary's `main`.
                Ok::<_, lambda_http::Error>(Box::pin(handle(app, source, Some(deadline))).await?)
            },
        ))
        .await
    }
}

/// `webhooks`: signs and POSTs the events to the webhook endpoints (`crate::webhooks`). Invoked
/// every minute by its schedule (template.yaml); each invocation delivers for ~50 s, a pass
/// every second, so events go out within about a second of the feed's settle window.
pub mod webhooks {
    use std::time::Duration;

    use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};

    /// What one invocation spends delivering (the function's timeout is 60 s).
    pub const BUDGET: Duration = Duration::from_secs(50);
    /// Between passes.
    pub const POLL: Duration = Duration::from_secs(1);

    /// The Lambda's `main`.
    pub async fn run() -> Result<(), lambda_http::Error> {
        crate::telemetry::init();
        let app = crate::App::from_env().await?;
        let worker = crate::webhooks::Worker::from_env(app.store.clone()).await?;
        let worker = &worker;
        lambda_runtime::run(service_fn(
            move |_: LambdaEvent<serde_json::Value>| async move {
                let r = worker.run_for(BUDGET, POLL).await;
                tracing::info!(
                    delivered = r.delivered,
                    failed = r.failed,
                    dead = r.dead,
                    "webhook deliveries"
                );
                Ok::<_, lambda_http::Error>(serde_json::json!({
                    "delivered": r.delivered, "failed": r.failed, "dead": r.dead,
                }))
            },
        ))
        .await
    }
}

#[cfg(test)]
mod tests;
