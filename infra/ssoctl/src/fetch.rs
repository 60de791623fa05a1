//! Fetching IdP metadata from a URL: the policy lives in `shared::admin::fetch` (the management
//! API fetches `metadata_url` under the same rules); re-exported here for the CLI and its tests.

pub use shared::admin::fetch::*;
