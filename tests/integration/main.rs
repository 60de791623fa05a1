//! Integration tests: the real AWS SDK against a DynamoDB-API server on 127.0.0.1 (moto, started by
//! `infra/test`), handlers fed the API Gateway HTTP API event JSON Lambda receives, and the real
//! `ssoctl` binary. One test binary on purpose: builds are heavy on 2 cores.

mod support;

mod api;
mod api_e2e;
mod cli;
mod entra_replay;
mod events;
mod handlers;
mod local_stack;
mod oidc;
mod oidc_e2e;
mod okta_replay;
mod packaging;
mod routes;
mod saml;
mod saml_browser;
mod scim;
mod scim_conformance;
mod scim_limits;
mod scim_rate_limit;
mod scim_schemas;
mod scim_search;
mod soak;
mod store_conformance;
mod store_faults;
mod stream_filters;
mod webhooks;
mod webhooks_e2e;
mod xmldsig_independent;
