//! Records of the OpenID Connect provider (`crate::oidc`): app clients (deployment-level: one
//! SaaS app serves every customer org), and, org-scoped, authorization requests with their codes,
//! grants (access token + OIDC session) and back-channel logout notices.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::StoreResult;

/// How long a redeemed code is remembered, so that a second use is recognised (and the tokens
/// issued from it revoked, RFC 6749 §4.1.2) rather than answered as merely unknown.
pub const CODE_MEMORY_SECONDS: i64 = 600;

/// An app registered with `ssoctl app create` (OAuth 2.0 client, RFC 6749 §2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppClient {
    pub client_id: String,
    pub name: String,
    /// SHA-256 of the client secret; `None` for a public client (PKCE required).
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

/// An authorization request waiting for its SAML sign-in, stored under the AuthnRequest ID.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthorizationRequest {
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub expires_at: i64,
    /// Set by the ACS once the user has signed in.
    pub code: Option<IssuedCode>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IssuedCode {
    pub code_hash: String,
    pub user_id: String,
    pub sid: String,
    pub auth_time: i64,
    pub session_expires_at: i64,
    pub code_expires_at: i64,
    /// The grant the code was redeemed for; a second redemption revokes it (RFC 6749 §4.1.2).
    pub redeemed_token_hash: Option<String>,
}

/// What a redeemed code grants: an access token (only its hash here) and the OIDC session `sid`
/// of one client, until `expires_at` (the SAML session's end) or until it ends early.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    pub token_hash: String,
    pub client_id: String,
    pub user_id: String,
    pub sid: String,
    pub scope: String,
    /// The issuer the tokens were issued under: back-channel logout tokens use the same.
    pub issuer: String,
    pub auth_time: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A back-channel logout to deliver (OIDC Back-Channel Logout 1.0 §2.5).
#[derive(Clone, Debug, PartialEq)]
pub struct LogoutNotice {
    pub org: String,
    pub client_id: String,
    pub user_id: String,
    pub sid: String,
    pub issuer: String,
}

/// How long a claimed back-channel notice is withheld from other claimers: longer than one
/// delivery can take (`oidc::backchannel`: ≈ 3.5 s of backoff plus 4 attempts of 5 s).
pub const LOGOUT_LEASE_SECONDS: i64 = 60;

pub trait OidcStore {
    /// `AlreadyExists` if the client id is taken.
    fn create_app_client(&self, client: &AppClient)
        -> impl Future<Output = StoreResult<()>> + Send;
    fn get_app_client(
        &self,
        client_id: &str,
    ) -> impl Future<Output = StoreResult<Option<AppClient>>> + Send;
    fn list_app_clients(&self) -> impl Future<Output = StoreResult<Vec<AppClient>>> + Send;
    /// Writes `client` if the stored version is still `client.version`; returns it at +1.
    fn update_app_client(
        &self,
        client: &AppClient,
    ) -> impl Future<Output = StoreResult<AppClient>> + Send;
    /// `NotFound` if there is no such client.
    fn delete_app_client(&self, client_id: &str) -> impl Future<Output = StoreResult<()>> + Send;

    fn put_authorization_request(
        &self,
        org: &str,
        request: &AuthorizationRequest,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// `None` if absent or expired at `now`.
    fn get_authorization_request(
        &self,
        org: &str,
        id: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<AuthorizationRequest>>> + Send;
    /// The ACS: attaches `code` to the live request `id` that has none yet, keeping the record
    /// [`CODE_MEMORY_SECONDS`] for reuse detection. `None` if there is no such request.
    fn issue_code(
        &self,
        org: &str,
        id: &str,
        code: &IssuedCode,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<AuthorizationRequest>>> + Send;
    /// Atomically marks the code of request `id` (hash `code_hash`) redeemed and writes `grant`.
    /// False if it was redeemed meanwhile (nothing written).
    fn redeem_authorization_code(
        &self,
        org: &str,
        id: &str,
        code_hash: &str,
        grant: &Grant,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// `None` if absent or expired at `now`.
    fn get_grant(
        &self,
        org: &str,
        token_hash: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<Grant>>> + Send;
    /// The user's grants (live or not yet swept).
    fn grants_of_user(
        &self,
        org: &str,
        user_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<Grant>>> + Send;
    /// Ends grants early: each is deleted and its back-channel logout notice queued in the same
    /// transaction. Returns how many were live.
    fn end_grants(
        &self,
        org: &str,
        grants: &[Grant],
        now: i64,
    ) -> impl Future<Output = StoreResult<usize>> + Send;

    /// Keys of queued notices, oldest first, at most `limit`.
    fn queued_logouts(&self, limit: i32) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// Leases the notice stored under `key` for [`LOGOUT_LEASE_SECONDS`]: of concurrent claims
    /// one gets it. It stays queued until [`OidcStore::complete_logout`]; a claimer that fails
    /// gives it back with [`OidcStore::release_logout`] (or its lease runs out), so a notice is
    /// never lost between claim and delivery.
    fn claim_logout(
        &self,
        key: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<LogoutNotice>>> + Send;
    /// The notice was delivered (or definitively refused): removes it from the queue.
    fn complete_logout(&self, key: &str) -> impl Future<Output = StoreResult<()>> + Send;
    /// Gives a claimed notice back for the next attempt.
    fn release_logout(&self, key: &str) -> impl Future<Output = StoreResult<()>> + Send;
}
