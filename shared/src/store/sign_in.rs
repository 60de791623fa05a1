//! The sign-in write: everything a valid SAML assertion changes, as one atomic step, so the ACS
//! costs at most three DynamoDB round trips (read the org; find the user; this).

use std::future::Future;

use super::{Session, StoreError, StoreResult, User};

/// What the ACS writes after a valid assertion.
#[derive(Clone, Debug)]
pub struct SignIn {
    /// Recorded until `assertion_expires_at`; a second use within that window fails the whole write
    /// (profiles §4.1.4.5: the SP must not accept a bearer assertion twice).
    pub assertion_id: String,
    pub assertion_expires_at: i64,
    /// The AuthnRequest being answered (SP-initiated): consumed, so it works once, and only from
    /// the browser that started it.
    pub request: Option<AnsweredRequest>,
    /// Random id shared by every session this sign-in opens, so that logout ends them all.
    pub sign_in_id: String,
    pub session: Session,
    pub user: UserWrite,
}

/// An SP-initiated response's InResponseTo, with the hash of the browser-binding cookie that came
/// with it: the request ID must have been issued to that browser (login CSRF, issue 9 finding 2).
#[derive(Clone, Debug)]
pub struct AnsweredRequest {
    pub id: String,
    pub browser_hash: String,
}

/// What happens to the user record.
#[derive(Clone, Debug)]
pub enum UserWrite {
    /// Known user, profile unchanged: the sign-in still requires the user to be at `version`, so
    /// that a deactivation between our read and this write (which bumps the version) fails the
    /// transaction instead of leaving a live session of a deactivated user.
    Unchanged { user_id: String, version: u64 },
    /// First-login provisioning: the user and their userName claim, both only if absent.
    Create(User),
    /// Profile sync: written only if the stored version is still `user.version - 1`.
    Update(User),
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("assertion ID already used")]
    Replayed,
    #[error("InResponseTo is not a live request ID of this organization issued to this browser")]
    UnknownRequest,
    #[error("the user changed concurrently")]
    UserConflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub trait SignInStore {
    /// Remembers an AuthnRequest ID issued to the browser whose binding cookie hashes to
    /// `browser_hash`, until `expires_at`.
    fn remember_browser_request(
        &self,
        org: &str,
        id: &str,
        browser_hash: &str,
        expires_at: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// One transaction: record the assertion ID, consume the request ID (if it was issued to this
    /// browser), write the session, create or update the user. All or nothing.
    fn sign_in(
        &self,
        org: &str,
        sign_in: &SignIn,
        now: i64,
    ) -> impl Future<Output = Result<(), SignInError>> + Send;
    /// Logout: deletes the session `token_hash` and every other session of its sign-in. Returns
    /// how many sessions went.
    fn end_sign_in(
        &self,
        org: &str,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<usize>> + Send;
}
