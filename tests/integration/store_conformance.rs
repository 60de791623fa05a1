//! The store conformance suite (`shared::store::conformance`) against DynamoDB's API: the same
//! checks `cargo test -p sso-shared` runs against the in-memory store.

use crate::support::store;

shared::conformance_suite!(store().await);
