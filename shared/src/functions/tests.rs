//! Each Lambda's entry point dispatches its own routes and nothing else (issue 10 item 8). No
//! DynamoDB server is needed: every request here is answered before the store would be called
//! (the store points at a closed port, so a request that did reach it would be a 503, not a 404).

use http::Method;
use lambda_http::Request;

use super::*;
use crate::config::Config;
use crate::model::Org;
use crate::routes::{match_deployment_path, match_path, ROUTES};
use crate::store::DynamoStore;

fn app() -> App<DynamoStore> {
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::from_static("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            // One attempt: a request that reaches the store fails at once (503).
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .build(),
    );
    let config =
        Config::from_lookup(|k| (k == "TABLE_NAME").then(|| "unused".to_string())).expect("config");
    App::new(config, DynamoStore::new(client, "unused"))
}

/// Every route of the table, as a path a client would send, with the function that owns it.
fn every_route() -> Vec<(String, Route, Function)> {
    ROUTES
        .iter()
        .map(|(template, function)| {
            let path = template
                .replace("{org}", "acme")
                .replace("{id}", "abc-123")
                .replace("{proxy+}", "Bulk");
            let route = match_deployment_path(&path)
                .or_else(|| match_path(&path).map(|(_, r)| r))
                .expect(template);
            (path, route, *function)
        })
        .collect()
}

/// An API Gateway HTTP API (payload v2) event, as Lambda hands it to the binary.
fn request(method: Method, path: &str) -> Request {
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": { "host": "abc123.execute-api.us-east-1.amazonaws.com" },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": { "method": method.as_str(), "path": path, "protocol": "HTTP/1.1",
                      "sourceIp": "192.0.2.1", "userAgent": "test" },
            "requestId": "test-request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "28/Nov/2026:13:00:00 +0000",
            "timeEpoch": 1795870800000u64
        },
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("valid API Gateway event")
}

/// What `function`'s own dispatcher (the one its binary links) does with `route`.
async fn dispatched(function: Function, route: Route, req: &Request) -> Handled {
    async fn via<R: Routes>(route: Route, req: &Request) -> Handled {
        let app = app();
        if let Route::Api(api) = route {
            return R::dispatch_api(app.services(), api, req).await;
        }
        if route.is_deployment_level() {
            return R::dispatch_deployment(app.services(), route, req).await;
        }
        let ctx = Ctx {
            org: Org::new("acme", "https://sso.example.com", 0),
            route,
            now: 0,
        };
        R::dispatch(app.services(), &ctx, req).await
    }
    match function {
        Function::SamlMetadata => via::<saml_metadata::Own>(route, req).await,
        Function::SamlLogin => via::<saml_login::Own>(route, req).await,
        Function::SamlAcs => via::<saml_acs::Own>(route, req).await,
        Function::Session => via::<session::Own>(route, req).await,
        Function::ScimUsers => via::<scim_users::Own>(route, req).await,
        Function::ScimGroups => via::<scim_groups::Own>(route, req).await,
        Function::Oidc => via::<oidc::Own>(route, req).await,
        Function::Api => via::<api::Own>(route, req).await,
    }
}

/// What `function`'s Lambda answers to `req`, status code only.
async fn answered(function: Function, req: Request) -> u16 {
    let app = app();
    let Ok(resp) = match function {
        Function::SamlMetadata => saml_metadata::handler(&app, req).await,
        Function::SamlLogin => saml_login::handler(&app, req).await,
        Function::SamlAcs => saml_acs::handler(&app, req).await,
        Function::Session => session::handler(&app, req).await,
        Function::ScimUsers => scim_users::handler(&app, req).await,
        Function::ScimGroups => scim_groups::handler(&app, req).await,
        Function::Oidc => oidc::handler(&app, req).await,
        Function::Api => api::handler(&app, req).await,
    };
    resp.status().as_u16()
}

#[tokio::test]
async fn a_functions_own_dispatcher_has_no_arm_for_a_route_of_another_function() {
    for function in Function::ALL {
        for (path, route, owner) in every_route() {
            if owner == function {
                continue;
            }
            for method in [Method::GET, Method::POST] {
                let result = dispatched(function, route.clone(), &request(method, &path)).await;
                assert!(
                    matches!(result, Err(AppError::NoRoute)),
                    "{function} dispatched {path} ({owner}'s): {:?}",
                    result.map(|(r, outcome)| (r.status(), outcome))
                );
            }
        }
    }
}

#[tokio::test]
async fn a_functions_own_dispatcher_reaches_every_route_it_owns() {
    // TRACE is allowed nowhere: the handler answers 405 (or 401 first, on SCIM routes) without
    // reading the store, which proves the route has an arm in this dispatcher.
    for (path, route, owner) in every_route() {
        let result = dispatched(owner, route, &request(Method::TRACE, &path)).await;
        assert!(
            matches!(
                result,
                Err(AppError::MethodNotAllowed(_) | AppError::Unauthorized(_))
            ),
            "{owner} did not dispatch its own {path}: {:?}",
            result.map(|(r, outcome)| (r.status(), outcome))
        );
    }
}

#[tokio::test]
async fn a_lambda_answers_404_to_a_route_of_another_function_without_reading_the_store() {
    for function in Function::ALL {
        for (path, _, owner) in every_route() {
            if owner != function {
                let status = answered(function, request(Method::GET, &path)).await;
                assert_eq!(status, 404, "{function} answered {path} ({owner}'s)");
            }
        }
    }
}

#[tokio::test]
async fn a_lambda_answers_its_own_routes() {
    // The provider's discovery document needs no store: a 200 proves the whole path through the
    // entry point (filter, dispatcher, handler, rendering).
    let req = request(Method::GET, "/.well-known/openid-configuration");
    assert_eq!(answered(Function::Oidc, req).await, 200);
    // An org route's org is read first: the closed port makes that a 503 (not a 404), which
    // shows the request got past the filter to this function's own code.
    for (path, _, owner) in every_route() {
        if owner != Function::Oidc {
            let status = answered(owner, request(Method::GET, &path)).await;
            assert_ne!(status, 404, "{owner} refused its own {path}");
        }
    }
}
