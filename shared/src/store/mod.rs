//! Storage, behind small traits by role. [`dynamo::DynamoStore`] implements all of them on one
//! DynamoDB table (single-table design, docs/architecture.md), [`memory::MemoryStore`] in memory
//! (tests, no server); the conformance suite in [`conformance`] is what both must pass.
//!
//! Rules every implementation keeps:
//! - every key is scoped by organization;
//! - uniqueness (userName per org, case-insensitive) is enforced by the database in the same
//!   transaction as the write, never by a read-then-write;
//! - every mutable record carries a `version`; updates are conditional on it;
//! - time-limited records carry `expires_at` (epoch seconds) and are treated as absent once
//!   `expires_at <= now`, whether or not the database has deleted them yet.

pub mod api_keys;
#[cfg(any(test, feature = "test-support"))]
pub mod conformance;
pub mod directory;
pub mod dynamo;
pub mod events;
pub(crate) mod keys;
pub mod memory;
pub mod oidc;
pub mod sign_in;
pub mod webhooks;

use std::future::Future;

use crate::model::Org;

pub use crate::model::{Group, NewUser, Session, User};
pub use dynamo::DynamoStore;
pub use memory::MemoryStore;
pub use oidc::{
    AppClient, AuthorizationRequest, Grant, IssuedCode, LogoutNotice, OidcStore,
    LOGOUT_LEASE_SECONDS,
};
pub use sign_in::{AnsweredRequest, SignIn, SignInError, SignInStore, UserWrite};

/// What kind of record a store error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entity {
    Organization,
    User,
    Group,
    Session,
    /// An AuthnRequest ID remembered for its answer (SAML SP-initiated sign-in).
    AuthnRequest,
    /// An OIDC authorization request waiting for its sign-in.
    AuthorizationRequest,
    AppClient,
    /// A management API key (issue 12).
    ApiKey,
    /// A deleted org's pending purge (issue 12).
    Deletion,
    /// A webhook endpoint (issue 12).
    Webhook,
}

impl std::fmt::Display for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Entity::Organization => "organization",
            Entity::User => "user",
            Entity::Group => "group",
            Entity::Session => "session",
            Entity::AuthnRequest => "request id",
            Entity::AuthorizationRequest => "authorization request",
            Entity::AppClient => "app client",
            Entity::ApiKey => "api key",
            Entity::Deletion => "deletion",
            Entity::Webhook => "webhook endpoint",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    AlreadyExists(Entity),
    #[error("{attribute} is already taken in this organization")]
    Uniqueness { attribute: &'static str },
    #[error("the record changed since it was read (version conflict)")]
    VersionConflict,
    #[error("{0} not found")]
    NotFound(Entity),
    #[error("the database is throttling requests")]
    Throttled,
    #[error("stored record is unreadable: {0}")]
    Corrupt(String),
    #[error("the paging cursor is invalid")]
    BadCursor,
    /// DynamoDB answered 5xx, timed out, or could not be reached (after the SDK's retries):
    /// transient, answered 503 with Retry-After.
    #[error("the database is unavailable or not answering in time")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("database request failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One page of a listing, with an opaque cursor for the next page.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

pub trait OrgStore {
    fn create_org(&self, org: &Org) -> impl Future<Output = StoreResult<()>> + Send;
    fn get_org(&self, org: &str) -> impl Future<Output = StoreResult<Option<Org>>> + Send;
    /// Writes `org` if the stored version is still `org.version`; returns the stored record
    /// (version + 1).
    fn update_org(&self, org: &Org) -> impl Future<Output = StoreResult<Org>> + Send;
    fn list_orgs(&self) -> impl Future<Output = StoreResult<Vec<Org>>> + Send;
    /// Counts one SCIM request of `org` in the second `now`; `false` when `limit` requests were
    /// already counted in it (`scim/rate_limit.rs`). Stores without a shared counter (test
    /// doubles) allow everything.
    fn take_scim_request(
        &self,
        _org: &str,
        _now: i64,
        _limit: u32,
    ) -> impl Future<Output = StoreResult<bool>> + Send {
        async { Ok(true) }
    }
}

/// One page of an offset listing (SCIM `startIndex`/`count`), with the total across all pages.
#[derive(Clone, Debug, PartialEq)]
pub struct OffsetPage<T> {
    pub items: Vec<T>,
    pub total: u64,
}

pub trait UserStore {
    /// Creates the user; a userName taken (case-insensitively) in the org is `Uniqueness`.
    fn create_user(
        &self,
        org: &str,
        user: NewUser,
        now: i64,
    ) -> impl Future<Output = StoreResult<User>> + Send;
    fn get_user(
        &self,
        org: &str,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// Lookup by userName under its one case rule (`UserName::key`: ASCII letters fold).
    fn find_user_by_user_name(
        &self,
        org: &str,
        user_name: &crate::model::UserName,
    ) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// Exact lookup by externalId (not unique: Okta owns it).
    fn find_users_by_external_id(
        &self,
        org: &str,
        external_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<User>>> + Send;
    /// Writes `user` if the stored version is still `user.version`; a userName change moves the
    /// uniqueness claim in the same transaction.
    fn update_user(
        &self,
        org: &str,
        user: &User,
        now: i64,
    ) -> impl Future<Output = StoreResult<User>> + Send;
    /// Like `update_user` when the caller has just read `stored` (saves the read): writes `next`
    /// if the stored version is still `next.version`, moving the userName claim from
    /// `stored.user_name` if it changed.
    fn replace_user(
        &self,
        org: &str,
        stored: &User,
        next: &User,
        now: i64,
    ) -> impl Future<Output = StoreResult<User>> + Send;
    /// Removes the user, their group memberships and their sessions. With `version`, only while
    /// the stored version is still that (`VersionConflict` otherwise, nothing removed: If-Match,
    /// RFC 7644 §3.14), as [`GroupStore::delete_group`].
    fn delete_user(
        &self,
        org: &str,
        id: &str,
        version: Option<u64>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn list_users(
        &self,
        org: &str,
        cursor: Option<&str>,
        limit: i32,
    ) -> impl Future<Output = StoreResult<Page<User>>> + Send;
    /// Users `start ..` (1-based, stable order), at most `count`, and how many users the org has.
    /// Walking the pages in order reads each user once (no re-skipping).
    fn list_users_at(
        &self,
        org: &str,
        start: usize,
        count: usize,
        now: i64,
    ) -> impl Future<Output = StoreResult<OffsetPage<User>>> + Send;
    /// The ids among `ids` that are not users of the org.
    fn missing_users(
        &self,
        org: &str,
        ids: &[String],
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// Reactivation with a fresh identity: atomically retires `old` (kept aside, out of listings
    /// and lookups) and creates a new user with a new id that takes over the userName.
    fn reissue_user(
        &self,
        org: &str,
        old: &User,
        new: NewUser,
        now: i64,
    ) -> impl Future<Output = StoreResult<User>> + Send;
}

/// Members written in the group's own create transaction (DynamoDB: 100 items per transaction;
/// the group, its counter, the event counter and `group.created`, and per member a check, a put
/// and its `group.member_added` event: docs/api.md, "Events").
pub const FIRST_MEMBERS: usize = 32;

pub trait GroupStore {
    fn create_group(
        &self,
        org: &str,
        display_name: &str,
        external_id: Option<&str>,
        now: i64,
    ) -> impl Future<Output = StoreResult<Group>> + Send;
    /// Creates the group with its first [`FIRST_MEMBERS`] members in one transaction (each
    /// member must be a user of the org: `NotFound(Entity::User)` otherwise, nothing written), so a
    /// failure leaves either nothing or a group with those members. More members follow with
    /// `add_members`.
    fn create_group_with_members(
        &self,
        org: &str,
        display_name: &str,
        external_id: Option<&str>,
        members: &[String],
        now: i64,
    ) -> impl Future<Output = StoreResult<Group>> + Send;
    fn get_group(
        &self,
        org: &str,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<Group>>> + Send;
    /// The groups among `ids` that exist (any order).
    fn get_groups(
        &self,
        org: &str,
        ids: &[String],
    ) -> impl Future<Output = StoreResult<Vec<Group>>> + Send;
    /// Writes `group` (rename, externalId) if the stored version is still `group.version`.
    /// Member changes never touch the group item, so they never conflict with each other.
    fn update_group(
        &self,
        org: &str,
        group: &Group,
        now: i64,
    ) -> impl Future<Output = StoreResult<Group>> + Send;
    /// Removes the group and every membership item of it. With `version`, only while the
    /// stored version is still that (`VersionConflict` otherwise: If-Match, RFC 7644 §3.14).
    fn delete_group(
        &self,
        org: &str,
        id: &str,
        version: Option<u64>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Case-insensitive lookup by displayName.
    fn find_groups_by_display_name(
        &self,
        org: &str,
        display_name: &str,
    ) -> impl Future<Output = StoreResult<Vec<Group>>> + Send;
    fn find_groups_by_external_id(
        &self,
        org: &str,
        external_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<Group>>> + Send;
    /// Like [`UserStore::list_users_at`], for groups.
    fn list_groups_at(
        &self,
        org: &str,
        start: usize,
        count: usize,
        now: i64,
    ) -> impl Future<Output = StoreResult<OffsetPage<Group>>> + Send;
    /// One item per membership: cost is O(members changed), whatever the group's size. Fails with
    /// `NotFound` (nothing of the failing chunk written) if the group or a user is not in the org.
    fn add_members(
        &self,
        org: &str,
        group_id: &str,
        user_ids: &[String],
        now: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn remove_members(
        &self,
        org: &str,
        group_id: &str,
        user_ids: &[String],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn list_members(
        &self,
        org: &str,
        group_id: &str,
        cursor: Option<&str>,
        limit: i32,
    ) -> impl Future<Output = StoreResult<Page<String>>> + Send;
    /// Ids of the groups a user belongs to.
    fn groups_of_user(
        &self,
        org: &str,
        user_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
}

pub trait SessionStore {
    fn create_session(
        &self,
        org: &str,
        session: &Session,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// `None` if absent or expired at `now`.
    fn get_session(
        &self,
        org: &str,
        token_hash: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<Session>>> + Send;
    fn delete_session(
        &self,
        org: &str,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deactivation revokes access at once: every session of the user goes.
    fn delete_user_sessions(
        &self,
        org: &str,
        user_id: &str,
    ) -> impl Future<Output = StoreResult<usize>> + Send;
}

/// Single-use SAML identifiers.
/// Everything the handlers need, in one bound.
pub trait Store:
    OrgStore
    + UserStore
    + GroupStore
    + SessionStore
    + SignInStore
    + OidcStore
    + api_keys::ApiKeyStore
    + directory::DirectoryStore
    + events::EventStore
    + Send
    + Sync
{
}
impl<
        T: OrgStore
            + UserStore
            + GroupStore
            + SessionStore
            + SignInStore
            + OidcStore
            + api_keys::ApiKeyStore
            + directory::DirectoryStore
            + events::EventStore
            + Send
            + Sync,
    > Store for T
{
}
