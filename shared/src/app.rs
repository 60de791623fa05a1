//! The application: config and clients built once per cold start, then one `handle` per request.
//! The Lambda binaries and the local stack both call [`App::handle`], so what runs locally is what
//! runs in AWS.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use lambda_http::{Body, Request, RequestExt, Response};

use crate::config::Config;
use crate::error::{render, AppError, Flavor};
use crate::handlers::per_function::{Every, Routes};
use crate::handlers::Handled;
use crate::model::org::{Org, OrgName};
use crate::routes::{match_path, Function, Route};
use crate::store::{DynamoStore, Store, StoreError};

pub use crate::handlers::{Ctx, Services};

/// The handlers' [`Services`] plus what only the entry point needs: routing, the org cache and
/// error rendering. Derefs to its `Services` (`app.store`, `app.config`, `app.now()`).
pub struct App<S = DynamoStore> {
    services: Services<S>,
    org_cache: Mutex<HashMap<String, (Instant, Org)>>,
}

impl<S> std::ops::Deref for App<S> {
    type Target = Services<S>;
    fn deref(&self) -> &Services<S> {
        &self.services
    }
}

impl<S> std::ops::DerefMut for App<S> {
    fn deref_mut(&mut self) -> &mut Services<S> {
        &mut self.services
    }
}

impl App<DynamoStore> {
    /// Loads config and builds the DynamoDB client: call once per cold start.
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        let config = Config::from_env()?;
        let store = DynamoStore::new(dynamodb_client().await, config.table_name.clone());
        Ok(App::new(config, store))
    }
}

/// The DynamoDB client, from the standard AWS environment (`AWS_ENDPOINT_URL` points it at a local
/// DynamoDB-API server). `DYNAMODB_ENDPOINT`, when not empty, does the same: template.yaml declares
/// it (empty) because `sam local --env-vars` only overrides variables the template declares, and
/// `AWS_ENDPOINT_URL` is not one a deployed function should carry.
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let shared = crate::aws::sdk_config().await;
    let mut config = aws_sdk_dynamodb::config::Builder::from(&shared)
        .timeout_config(dynamodb_timeouts())
        .retry_config(
            aws_config::retry::RetryConfig::standard().with_max_attempts(DYNAMODB_ATTEMPTS),
        );
    if let Some(endpoint) = std::env::var("DYNAMODB_ENDPOINT")
        .ok()
        .filter(|e| !e.trim().is_empty())
    {
        config = config.endpoint_url(endpoint.trim());
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// Attempts per DynamoDB call, the SDK's own retries included (standard mode: exponential
/// backoff with jitter, retrying throttling, 5xx and transient network errors).
pub const DYNAMODB_ATTEMPTS: u32 = 3;

/// DynamoDB answers in single-digit milliseconds; these bounds only matter when it does not.
/// They keep every call inside the Lambda timeout (10 s, template.yaml) and API Gateway's 30 s:
/// a connection gets 1 s, one attempt 2 s, and a whole call with its retries 5 s, after which the
/// request is answered 503 + Retry-After (docs/operations.md, "When DynamoDB fails").
/// `DYNAMODB_ATTEMPT_TIMEOUT_MS` / `DYNAMODB_OPERATION_TIMEOUT_MS` override the last two: the local
/// DynamoDB-API server (moto) copies the table in every transaction and shares two cores with the
/// tests, so infra/lib.sh relaxes them there.
pub fn dynamodb_timeouts() -> aws_config::timeout::TimeoutConfig {
    let ms = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|v| *v > 0)
            .map(std::time::Duration::from_millis)
            .unwrap_or(std::time::Duration::from_millis(default))
    };
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(1))
        .operation_attempt_timeout(ms("DYNAMODB_ATTEMPT_TIMEOUT_MS", 2_000))
        .operation_timeout(ms("DYNAMODB_OPERATION_TIMEOUT_MS", 5_000))
        .build()
}

fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Every route, the management API's too: what [`App::handle`] serves.
struct Local;

impl Routes for Local {
    fn dispatch<S: Store>(
        app: &Services<S>,
        ctx: &Ctx,
        req: &Request,
    ) -> impl std::future::Future<Output = Handled> + Send {
        Every::dispatch(app, ctx, req)
    }

    fn dispatch_deployment<S: Store>(
        app: &Services<S>,
        route: Route,
        req: &Request,
    ) -> impl std::future::Future<Output = Handled> + Send {
        Every::dispatch_deployment(app, route, req)
    }

    fn dispatch_api<S: Store>(
        app: &Services<S>,
        route: crate::api::ApiRoute,
        req: &Request,
    ) -> impl std::future::Future<Output = Handled> + Send {
        crate::api::dispatch(app, route, req)
    }
}

impl<S: Store> App<S> {
    pub fn new(config: Config, store: S) -> Self {
        let signer = crate::oidc::jwt::Signer::new(
            config.oidc_kms_key_id.clone(),
            config.oidc_previous_kms_key_id.clone(),
        );
        let sp_keys = crate::saml::sp_keys::SpKeyStore::new(
            config.sp_encryption_keys_secret.clone(),
            config.sp_encryption_certificates_secret.clone(),
        );
        App {
            services: Services {
                config,
                signer,
                sp_keys,
                store,
                clock: Arc::new(system_now),
            },
            org_cache: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the clock (epoch seconds): tests run at any instant.
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.services.clock = Arc::new(clock);
        self
    }

    /// What the handlers see.
    pub fn services(&self) -> &Services<S> {
        &self.services
    }

    /// Serves one request for `function`; `None` serves every route (the local stack).
    /// Never fails: every error is rendered here, once, and logged with its outcome code.
    /// This links every handler; a Lambda binary calls its own entry point in
    /// [`crate::functions`] instead, which links only its own.
    pub async fn handle(
        &self,
        function: Option<Function>,
        req: Request,
    ) -> Result<Response<Body>, Infallible> {
        self.handle_routes::<Local>(function, req).await
    }

    /// [`App::handle`] with the handlers of `R` only (issue 10 item 8).
    pub(crate) async fn handle_routes<R: Routes>(
        &self,
        function: Option<Function>,
        req: Request,
    ) -> Result<Response<Body>, Infallible> {
        let started = Instant::now();
        let request_id = req
            .lambda_context_ref()
            .map(|c| c.request_id.clone())
            .unwrap_or_default();
        // Org-less routes (the OpenID Connect provider) first; then `/orgs/{org}/...`.
        let matched = crate::routes::match_deployment_path(req.uri().path())
            .map(|r| (api_org(&r), r))
            .or_else(|| match_path(req.uri().path()))
            .filter(|(_, r)| function.is_none_or(|f| r.function() == f));
        let (org_name, route_template, flavor) = match &matched {
            Some((org, route)) => (org.as_str(), route.template(), flavor_of(route)),
            None => ("", "-", Flavor::Page),
        };
        let result = match matched.clone() {
            None => Err(AppError::NoRoute),
            Some((_, Route::Api(route))) => self.serve_api::<R>(route, &req).await,
            Some((_, route)) if route.is_deployment_level() => {
                R::dispatch_deployment(&self.services, route, &req).await
            }
            Some((org, route)) => self.serve::<R>(org, route, &req).await,
        };
        let (response, outcome) = match result {
            Ok((resp, outcome)) => (resp, outcome),
            Err(err) => {
                let code = err.code();
                if err.status().is_server_error() && !matches!(err, AppError::NotImplemented(_)) {
                    tracing::error!(error = %err, cause = ?std::error::Error::source(&err), "request failed");
                }
                let mut resp = render(&err, flavor);
                // Only the route knows what it accepts (RFC 9110 §15.5.6: a 405 lists them).
                if let (AppError::MethodNotAllowed(_), Some((_, route))) = (&err, &matched) {
                    if let Ok(allow) = http::HeaderValue::from_str(route.allowed_methods()) {
                        resp.headers_mut().insert(http::header::ALLOW, allow);
                    }
                }
                (resp, code)
            }
        };
        tracing::info!(
            request_id = %request_id,
            org = %org_name,
            route = route_template,
            method = %req.method(),
            status = response.status().as_u16(),
            outcome,
            duration_ms = started.elapsed().as_millis() as u64,
            "request"
        );
        if self.config.emit_metrics {
            let line = crate::metrics::RequestMetrics {
                function: function.map(Function::binary).unwrap_or("local"),
                route: route_template,
                method: req.method().as_str(),
                status: response.status().as_u16(),
                outcome,
                org: org_name,
                latency_ms: started.elapsed().as_millis() as u64,
                timestamp_ms: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0),
            }
            .to_emf();
            println!("{line}");
        }
        Ok(response)
    }

    async fn serve<R: Routes>(
        &self,
        org: String,
        route: Route,
        req: &Request,
    ) -> Result<(Response<Body>, &'static str), AppError> {
        // The name is checked once, here, where it enters: anything else is a 404 like an
        // unknown org, and what goes on to the store is an `OrgName`.
        let Ok(name) = OrgName::parse(&org) else {
            return Err(AppError::OrgNotFound(org));
        };
        // Routes that make trust decisions re-read the org on every request, so that a change
        // takes effect at once (issue 9 finding 8): SCIM (a rotated token stops working), the ACS
        // (a removed IdP key, IdP-initiated turned off, a shrunk RelayState allow-list) and login
        // (a new IdP SSO URL). Metadata, logout and the signed-in page, which trust nothing in the org
        // but its name and URLs, may use a briefly cached copy (one DynamoDB round trip fewer).
        // The session check too (issue 12): a deleted org's sessions end at once, on every Lambda,
        // not when a cached copy expires.
        let mut org = if route.is_scim()
            || matches!(route, Route::SamlAcs | Route::SamlLogin | Route::Session)
        {
            self.load_org(&name).await?
        } else {
            // SP metadata holds nothing that changes trust: while DynamoDB is down it is served
            // from the last copy this Lambda saw, however old (issue 15: degrade where the data
            // allows). Sign-in and SCIM refuse cleanly instead (503).
            self.cached_org(&name, route == Route::SamlMetadata).await?
        };
        // A deployment-wide public base URL (custom domain) wins over the one stored per org.
        if let Some(base) = &self.config.public_base_url {
            org.base_url = base.clone();
        }
        let ctx = Ctx {
            org,
            route,
            now: self.now(),
        };
        // Every retry loop below is bounded; this bounds them all together, below the Lambda
        // timeout (10 s in template.yaml): a request still waiting on DynamoDB then gets a 503 +
        // Retry-After instead of being killed mid-answer. What it had written is consistent (the
        // multi-item writes are transactions or ordered for retries: docs/operations.md).
        match tokio::time::timeout(
            self.config.request_deadline,
            R::dispatch(&self.services, &ctx, req),
        )
        .await
        {
            Ok(answer) => answer,
            Err(elapsed) => Err(AppError::Store(StoreError::Unavailable(Box::new(elapsed)))),
        }
    }

    /// The management API: deployment-level, under the same request deadline as the org routes,
    /// through `R`'s API dispatcher (none but the `api` function's and the local stack's).
    async fn serve_api<R: Routes>(
        &self,
        route: crate::api::ApiRoute,
        req: &Request,
    ) -> Result<(Response<Body>, &'static str), AppError> {
        match tokio::time::timeout(
            self.config.request_deadline,
            R::dispatch_api(&self.services, route, req),
        )
        .await
        {
            Ok(answer) => answer,
            Err(elapsed) => Err(AppError::Store(StoreError::Unavailable(Box::new(elapsed)))),
        }
    }

    async fn load_org(&self, name: &OrgName) -> Result<Org, AppError> {
        let org = self
            .store
            .get_org(name.as_str())
            .await?
            .ok_or_else(|| AppError::OrgNotFound(name.to_string()))?;
        if let Ok(mut cache) = self.org_cache.lock() {
            cache.insert(name.to_string(), (Instant::now(), org.clone()));
        }
        Ok(org)
    }

    async fn cached_org(
        &self,
        name: &OrgName,
        stale_if_unavailable: bool,
    ) -> Result<Org, AppError> {
        let cached = self
            .org_cache
            .lock()
            .ok()
            .and_then(|cache| cache.get(name.as_str()).cloned());
        if let Some((at, org)) = &cached {
            if at.elapsed() < self.config.org_cache_ttl {
                return Ok(org.clone());
            }
        }
        match self.load_org(name).await {
            Err(AppError::Store(StoreError::Unavailable(_) | StoreError::Throttled))
                if stale_if_unavailable && cached.is_some() =>
            {
                tracing::warn!(
                    org = %name,
                    "DynamoDB unavailable: serving the cached organization"
                );
                Ok(cached
                    .map(|(_, org)| org)
                    .unwrap_or_else(|| Org::new(name.as_str(), "", 0)))
            }
            other => other,
        }
    }
}

/// The org an API route names (for the log line), or none.
fn api_org(route: &Route) -> String {
    match route {
        Route::Api(r) => r.org().unwrap_or_default().to_string(),
        _ => String::new(),
    }
}

fn flavor_of(route: &Route) -> Flavor {
    match route {
        Route::Api(_) => Flavor::Json,
        r if r.is_scim() => Flavor::Scim,
        Route::Session | Route::Logout => Flavor::Json,
        r if r.is_deployment_level() => crate::handlers::oidc::flavor(r),
        _ => Flavor::Page,
    }
}

/// Back-channel logout delivery runs on the app the function built (`oidc::backchannel`).
impl<S: Store> crate::oidc::backchannel::Sender for App<S> {
    type Store = S;
    fn store(&self) -> &S {
        &self.services.store
    }
    fn signer(&self) -> &crate::oidc::jwt::Signer {
        &self.services.signer
    }
    fn now(&self) -> i64 {
        self.services.now()
    }
}
