//! A signed-in session, keyed by the hash of its token (the token itself is never stored).

use serde::{Deserialize, Serialize};

/// A signed-in browser or app session; keyed by the hash of its token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub token_hash: String,
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
}
