//! The sign-in write: everything a valid SAML assertion changes, as one atomic step, so the ACS
//! costs at most two DynamoDB round trips (find the user; this).

use std::future::Future;

use super::{Session, StoreError, StoreResult, User};

/// What the ACS writes after a valid assertion.
#[derive(Clone, Debug)]
pub struct SignIn {
    /// Recorded until `assertion_expires_at`; a second use within that window fails the whole write
    /// (profiles §4.1.4.5: the SP must not accept a bearer assertion twice).
    pub assertion_id: String,
    pub assertion_expires_at: i64,
    /// The AuthnRequest ID being answered (SP-initiated): consumed, so it works once.
    pub in_response_to: Option<String>,
    pub session: Session,
    /// A one-time code for app backends on another domain (hash only).
    pub code: Option<OneTimeCode>,
    pub user: UserWrite,
}

#[derive(Clone, Debug)]
pub struct OneTimeCode {
    pub code_hash: String,
    pub expires_at: i64,
}

/// What happens to the user record.
#[derive(Clone, Debug)]
pub enum UserWrite {
    /// Known user, profile unchanged.
    Unchanged,
    /// First-login provisioning: the user and their userName claim, both only if absent.
    Create(User),
    /// Profile sync: written only if the stored version is still `user.version - 1`.
    Update(User),
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("assertion ID already used")]
    Replayed,
    #[error("InResponseTo is not a live request ID of this organization")]
    UnknownRequest,
    #[error("the user changed concurrently")]
    UserConflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a redeemed one-time code grants.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeGrant {
    pub user_id: String,
    pub session_expires_at: i64,
}

pub trait SignInStore {
    /// One transaction: record the assertion ID, consume the request ID, write the session (and
    /// code), create or update the user. All or nothing.
    fn sign_in(
        &self,
        org: &str,
        sign_in: &SignIn,
        now: i64,
    ) -> impl Future<Output = Result<(), SignInError>> + Send;
    /// The grant of a live code, exactly once; `None` if unknown, used or expired.
    fn redeem_code(
        &self,
        org: &str,
        code_hash: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<CodeGrant>>> + Send;
}
