//! `ssoctl`: the admin CLI (organizations, IdP metadata, SCIM tokens) and the local stack (table
//! from template.yaml, every route served on 127.0.0.1 by the same `App::handle` the Lambdas run).
//! It talks to whatever table `TABLE_NAME` names, at whatever endpoint the standard AWS
//! environment points to: the local DynamoDB-API server or a deployed table.

pub mod admin;
pub mod api_keys;
pub mod apps;
pub mod cli;
pub mod events;
pub mod fetch;
pub mod iam_record;
pub mod local;
pub mod template;
pub mod webhooks;
