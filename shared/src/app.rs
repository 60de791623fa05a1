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
use crate::handlers;
use crate::org::{validate_org_name, Org};
use crate::routes::{match_path, Function, Route};
use crate::store::{DynamoStore, Store};

type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub struct App<S = DynamoStore> {
    pub config: Config,
    pub store: S,
    clock: Clock,
    org_cache: Mutex<HashMap<String, (Instant, Org)>>,
}

/// What a handler knows about the request beyond the request itself.
pub struct Ctx {
    pub org: Org,
    pub route: Route,
    pub now: i64,
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
/// DynamoDB-API server).
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_dynamodb::Client::new(&shared)
}

fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl<S: Store> App<S> {
    pub fn new(config: Config, store: S) -> Self {
        App {
            config,
            store,
            clock: Arc::new(system_now),
            org_cache: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the clock (epoch seconds): tests run at any instant.
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Serves one request for `function`; `None` serves every route (the local stack).
    /// Never fails: every error is rendered here, once, and logged with its outcome code.
    pub async fn handle(
        &self,
        function: Option<Function>,
        req: Request,
    ) -> Result<Response<Body>, Infallible> {
        let started = Instant::now();
        let request_id = req
            .lambda_context_ref()
            .map(|c| c.request_id.clone())
            .unwrap_or_default();
        let matched = match_path(req.uri().path())
            .filter(|(_, r)| function.is_none_or(|f| r.function() == f));
        let (org_name, route_template, flavor) = match &matched {
            Some((org, route)) => (org.as_str(), route.template(), flavor_of(route)),
            None => ("", "-", Flavor::Page),
        };
        let result = match matched.clone() {
            None => Err(AppError::NoRoute),
            Some((org, route)) => self.serve(org, route, &req).await,
        };
        let (response, outcome) = match result {
            Ok((resp, outcome)) => (resp, outcome),
            Err(err) => {
                let code = err.code();
                if err.status().is_server_error() && !matches!(err, AppError::NotImplemented(_)) {
                    tracing::error!(error = %err, cause = ?std::error::Error::source(&err), "request failed");
                }
                (render(&err, flavor), code)
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

    async fn serve(
        &self,
        org: String,
        route: Route,
        req: &Request,
    ) -> Result<(Response<Body>, &'static str), AppError> {
        if validate_org_name(&org).is_err() {
            return Err(AppError::OrgNotFound(org));
        }
        // Routes that make trust decisions re-read the org on every request, so that a change
        // takes effect at once (issue 9 finding 8): SCIM (a rotated token stops working), the ACS
        // (a removed IdP key, IdP-initiated turned off, a shrunk RelayState allow-list) and login
        // (a new IdP SSO URL). Metadata and the session routes, which trust nothing in the org
        // but its name and URLs, may use a briefly cached copy (one DynamoDB round trip fewer).
        let mut org = if route.is_scim() || matches!(route, Route::SamlAcs | Route::SamlLogin) {
            self.load_org(&org).await?
        } else {
            self.cached_org(&org).await?
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
        handlers::dispatch(self, &ctx, req).await
    }

    async fn load_org(&self, name: &str) -> Result<Org, AppError> {
        let org = self
            .store
            .get_org(name)
            .await?
            .ok_or_else(|| AppError::OrgNotFound(name.to_string()))?;
        if let Ok(mut cache) = self.org_cache.lock() {
            cache.insert(name.to_string(), (Instant::now(), org.clone()));
        }
        Ok(org)
    }

    async fn cached_org(&self, name: &str) -> Result<Org, AppError> {
        let hit = self.org_cache.lock().ok().and_then(|cache| {
            cache
                .get(name)
                .filter(|(at, _)| at.elapsed() < self.config.org_cache_ttl)
                .map(|(_, org)| org.clone())
        });
        match hit {
            Some(org) => Ok(org),
            None => self.load_org(name).await,
        }
    }
}

fn flavor_of(route: &Route) -> Flavor {
    match route {
        r if r.is_scim() => Flavor::Scim,
        Route::Session | Route::Logout => Flavor::Json,
        _ => Flavor::Page,
    }
}
