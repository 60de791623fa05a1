//! The store in memory: every role trait, with the DynamoDB store's semantics (uniqueness,
//! versions, conditional failures, expiry, paging), for tests and local runs that need no
//! database. The conformance suite (`store::conformance`) runs against both implementations, so a
//! behaviour both pass is one the handlers may rely on.
//!
//! One mutex guards the whole state and is never held across an `.await`: every operation is one
//! critical section, which makes each write as atomic as the DynamoDB transaction it mirrors (all
//! conditions are checked before anything changes).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound::{Excluded, Unbounded};
use std::sync::{Mutex, MutexGuard};

use crate::model::user_name::{fold, UserName};
use crate::store::keys::logout_notice_pk;
use crate::store::oidc::{CODE_MEMORY_SECONDS, LOGOUT_LEASE_SECONDS};
use crate::store::*;

/// How long a queued back-channel logout notice is kept (as `store::dynamo::oidc`).
const NOTICE_SECONDS: i64 = 24 * 60 * 60;
/// Sessions one sign-in may link (as `store::dynamo::sessions`).
const MAX_SESSIONS_PER_SIGN_IN: usize = 10;

#[derive(Default)]
struct OrgData {
    org: Option<Org>,
    /// Users by id: listings are in id order, like the DynamoDB store's key order.
    users: BTreeMap<String, User>,
    /// Folded userName → user id: the uniqueness claim.
    claims: HashMap<String, String>,
    retired: HashMap<String, User>,
    groups: BTreeMap<String, Group>,
    /// Offset paging: (listing, start) → the id the page starting there continues after, so
    /// that a walk in order neither repeats nor misses a resource created meanwhile (as
    /// `store::dynamo::paging`).
    page_cursors: HashMap<(&'static str, usize), String>,
    /// (group id, user id).
    members: BTreeSet<(String, String)>,
    /// Token hash → session and the sign-in it belongs to.
    sessions: HashMap<String, (Session, Option<String>)>,
    /// AuthnRequest id → expiry and the hash of the browser it was issued to.
    requests: HashMap<String, (i64, Option<String>)>,
    assertions: HashMap<String, i64>,
    authorizations: HashMap<String, AuthorizationRequest>,
    grants: HashMap<String, Grant>,
}

#[derive(Default)]
struct State {
    orgs: BTreeMap<String, OrgData>,
    clients: BTreeMap<String, AppClient>,
    /// Queue order (`{now}#{org}#{token}`) → the queued notice.
    notices: BTreeMap<String, Queued>,
    /// Management API keys by key hash (`memory/api.rs`).
    api_keys: BTreeMap<String, crate::model::api_key::ApiKey>,
}

struct Queued {
    key: String,
    notice: LogoutNotice,
    expires_at: i64,
    /// A claim holds it until then (`OidcStore::claim_logout`).
    leased_until: Option<i64>,
}

/// All records in one process's memory. Cheap to create: one per test.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, State>> {
        // A panic while holding the lock would leave half a write: refuse to read past it.
        self.state
            .lock()
            .map_err(|_| StoreError::Corrupt("memory store poisoned by a panic".into()))
    }
}

impl MemoryStore {
    /// The one list-by-lookup: what `pick` finds among the org's records (nothing for an org
    /// never written), read in one critical section.
    fn in_org<T>(&self, org: &str, pick: impl FnOnce(&OrgData) -> Vec<T>) -> StoreResult<Vec<T>> {
        Ok(self.lock()?.orgs.get(org).map(pick).unwrap_or_default())
    }
}

impl State {
    fn org(&mut self, org: &str) -> &mut OrgData {
        self.orgs.entry(org.to_string()).or_default()
    }
}

impl OrgData {
    fn user(&self, id: &str) -> Option<&User> {
        self.users.get(id)
    }
    fn group(&self, id: &str) -> Option<&Group> {
        self.groups.get(id)
    }
    fn insert_user(&mut self, user: User) {
        self.claims.insert(fold(&user.user_name), user.id.clone());
        self.users.insert(user.id.clone(), user);
    }
    fn remove_user(&mut self, id: &str) -> Option<User> {
        self.users.remove(id)
    }
    fn put_user(&mut self, user: User) {
        if let Some(stored) = self.users.get_mut(&user.id) {
            *stored = user;
        }
    }
    fn user_sessions(&self, user_id: &str) -> Vec<String> {
        self.sessions
            .iter()
            .filter(|(_, (s, _))| s.user_id == user_id)
            .map(|(k, _)| k.clone())
            .collect()
    }
    fn user_grants(&self, user_id: &str) -> Vec<Grant> {
        self.grants
            .values()
            .filter(|g| g.user_id == user_id)
            .cloned()
            .collect()
    }
}

/// Ends grants the way `OidcStore::end_grants` does: each present grant goes, a live one queues
/// its logout notice. Returns how many were live.
fn end_grants_in(state: &mut State, org: &str, grants: &[Grant], now: i64) -> usize {
    let mut ended = 0;
    for g in grants {
        if state.org(org).grants.remove(&g.token_hash).is_none() {
            continue;
        }
        if g.expires_at > now {
            let notice = LogoutNotice {
                org: org.to_string(),
                client_id: g.client_id.clone(),
                user_id: g.user_id.clone(),
                sid: g.sid.clone(),
                issuer: g.issuer.clone(),
            };
            state.notices.insert(
                format!("{now:012}#{org}#{}", g.token_hash),
                Queued {
                    key: logout_notice_pk(org, &g.token_hash),
                    notice,
                    expires_at: now + NOTICE_SECONDS,
                    leased_until: None,
                },
            );
            ended += 1;
        }
    }
    ended
}

/// Items `start ..` (1-based) of `all` in key order, at most `count`, and how many there are.
/// A page that starts where the previous one ended continues after its last key.
fn offset_page<T: Clone>(
    all: &BTreeMap<String, T>,
    cursors: &mut HashMap<(&'static str, usize), String>,
    list: &'static str,
    start: usize,
    count: usize,
) -> (Vec<T>, u64) {
    let total = all.len() as u64;
    let start = start.max(1);
    if start as u64 > total {
        return (Vec::new(), total);
    }
    let page: Vec<(String, T)> = match cursors.get(&(list, start)) {
        Some(last) => all
            .range::<String, _>((Excluded(last), Unbounded))
            .take(count)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        None => all
            .iter()
            .skip(start - 1)
            .take(count)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    if let Some((last, _)) = page.last() {
        cursors.insert((list, start + page.len()), last.clone());
    }
    (page.into_iter().map(|(_, v)| v).collect(), total)
}

fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Cursors name the org, the listing and the last key returned, so one from elsewhere is refused.
fn cursor(org: &str, list: &str, last: &str) -> String {
    format!("mem1|{org}|{list}|{last}")
}

fn after<'a>(c: Option<&'a str>, org: &str, list: &str) -> StoreResult<Option<&'a str>> {
    let Some(c) = c else { return Ok(None) };
    let prefix = cursor(org, list, "");
    c.strip_prefix(prefix.as_str())
        .filter(|rest| !rest.is_empty())
        .map(Some)
        .ok_or(StoreError::BadCursor)
}

impl OrgStore for MemoryStore {
    async fn create_org(&self, org: &Org) -> StoreResult<()> {
        let mut st = self.lock()?;
        let data = st.org(&org.org);
        if data.org.is_some() {
            return Err(StoreError::AlreadyExists(Entity::Organization));
        }
        data.org = Some(org.clone());
        Ok(())
    }

    async fn get_org(&self, org: &str) -> StoreResult<Option<Org>> {
        let st = self.lock()?;
        Ok(st.orgs.get(org).and_then(|d| d.org.clone()))
    }

    async fn update_org(&self, org: &Org) -> StoreResult<Org> {
        let mut st = self.lock()?;
        let data = st.org(&org.org);
        match &data.org {
            None => Err(StoreError::NotFound(Entity::Organization)),
            Some(stored) if stored.version != org.version => Err(StoreError::VersionConflict),
            Some(_) => {
                let mut next = org.clone();
                next.version += 1;
                data.org = Some(next.clone());
                Ok(next)
            }
        }
    }

    async fn list_orgs(&self) -> StoreResult<Vec<Org>> {
        let st = self.lock()?;
        Ok(st.orgs.values().filter_map(|d| d.org.clone()).collect())
    }
}

impl UserStore for MemoryStore {
    async fn create_user(&self, org: &str, new: NewUser, now: i64) -> StoreResult<User> {
        let user = User::create(new, now);
        let mut st = self.lock()?;
        let data = st.org(org);
        if data.claims.contains_key(&fold(&user.user_name)) {
            return Err(StoreError::Uniqueness {
                attribute: "userName",
            });
        }
        data.insert_user(user.clone());
        Ok(user)
    }

    async fn get_user(&self, org: &str, id: &str) -> StoreResult<Option<User>> {
        let st = self.lock()?;
        Ok(st.orgs.get(org).and_then(|d| d.user(id).cloned()))
    }

    async fn find_user_by_user_name(
        &self,
        org: &str,
        user_name: &UserName,
    ) -> StoreResult<Option<User>> {
        let st = self.lock()?;
        Ok(st.orgs.get(org).and_then(|d| {
            d.users
                .values()
                .find(|u| fold(&u.user_name) == user_name.key())
                .cloned()
        }))
    }

    async fn find_users_by_external_id(
        &self,
        org: &str,
        external_id: &str,
    ) -> StoreResult<Vec<User>> {
        self.in_org(org, |d| {
            d.users
                .values()
                .filter(|u| u.external_id.as_deref() == Some(external_id))
                .cloned()
                .collect()
        })
    }

    async fn update_user(&self, org: &str, user: &User, now: i64) -> StoreResult<User> {
        let stored = self
            .get_user(org, &user.id)
            .await?
            .ok_or(StoreError::NotFound(Entity::User))?;
        self.replace_user(org, &stored, user, now).await
    }

    async fn replace_user(
        &self,
        org: &str,
        stored: &User,
        user: &User,
        now: i64,
    ) -> StoreResult<User> {
        let next = User::successor(stored, user, now);
        let mut st = self.lock()?;
        let data = st.org(org);
        if data.user(&user.id).map(|u| u.version) != Some(user.version) {
            return Err(StoreError::VersionConflict);
        }
        let (old_key, new_key) = (fold(&stored.user_name), fold(&next.user_name));
        if old_key != new_key {
            if data.claims.contains_key(&new_key) {
                return Err(StoreError::Uniqueness {
                    attribute: "userName",
                });
            }
            data.claims.remove(&old_key);
            data.claims.insert(new_key, next.id.clone());
        }
        data.put_user(next.clone());
        Ok(next)
    }

    async fn delete_user(&self, org: &str, id: &str, version: Option<u64>) -> StoreResult<()> {
        let mut st = self.lock()?;
        let data = st.org(org);
        let stored = data.user(id).ok_or(StoreError::NotFound(Entity::User))?;
        if version.is_some_and(|v| v != stored.version) {
            return Err(StoreError::VersionConflict);
        }
        let user = data
            .remove_user(id)
            .ok_or(StoreError::NotFound(Entity::User))?;
        data.claims.remove(&fold(&user.user_name));
        data.members.retain(|(_, u)| u != id);
        for token in data.user_sessions(id) {
            data.sessions.remove(&token);
        }
        let grants = data.user_grants(id);
        end_grants_in(&mut st, org, &grants, wall_clock());
        Ok(())
    }

    async fn list_users(
        &self,
        org: &str,
        cursor_in: Option<&str>,
        limit: i32,
    ) -> StoreResult<Page<User>> {
        let from = after(cursor_in, org, "users")?.map(str::to_string);
        let limit = limit.max(1) as usize;
        let st = self.lock()?;
        let Some(data) = st.orgs.get(org) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let range = match &from {
            Some(last) => data
                .users
                .range::<String, _>((Excluded(last), Unbounded))
                .take(limit + 1),
            None => data.users.range::<String, _>(..).take(limit + 1),
        };
        let mut items: Vec<User> = range.map(|(_, u)| u.clone()).collect();
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|u| cursor(org, "users", &u.id))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn list_users_at(
        &self,
        org: &str,
        start: usize,
        count: usize,
        _now: i64,
    ) -> StoreResult<OffsetPage<User>> {
        let mut st = self.lock()?;
        let data = st.org(org);
        let (items, total) =
            offset_page(&data.users, &mut data.page_cursors, "users", start, count);
        Ok(OffsetPage { items, total })
    }

    async fn missing_users(&self, org: &str, ids: &[String]) -> StoreResult<Vec<String>> {
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        let st = self.lock()?;
        let data = st.orgs.get(org);
        Ok(unique
            .into_iter()
            .filter(|id| data.and_then(|d| d.user(id)).is_none())
            .collect())
    }

    async fn reissue_user(
        &self,
        org: &str,
        old: &User,
        new: NewUser,
        now: i64,
    ) -> StoreResult<User> {
        let user = User::create(new, now);
        let mut st = self.lock()?;
        let data = st.org(org);
        if data.user(&old.id).map(|u| u.version) != Some(old.version) {
            return Err(StoreError::VersionConflict);
        }
        let (old_key, new_key) = (fold(&old.user_name), fold(&user.user_name));
        let claim_ok = if old_key == new_key {
            data.claims.get(&new_key) == Some(&old.id)
        } else {
            !data.claims.contains_key(&new_key)
        };
        if !claim_ok {
            return Err(StoreError::Uniqueness {
                attribute: "userName",
            });
        }
        data.remove_user(&old.id);
        data.claims.remove(&old_key);
        data.retired.insert(old.id.clone(), old.clone());
        data.members.retain(|(_, u)| u != &old.id);
        data.insert_user(user.clone());
        Ok(user)
    }
}

impl GroupStore for MemoryStore {
    async fn create_group(
        &self,
        org: &str,
        display_name: &str,
        external_id: Option<&str>,
        now: i64,
    ) -> StoreResult<Group> {
        self.create_group_with_members(org, display_name, external_id, &[], now)
            .await
    }

    async fn create_group_with_members(
        &self,
        org: &str,
        display_name: &str,
        external_id: Option<&str>,
        members: &[String],
        now: i64,
    ) -> StoreResult<Group> {
        let group = Group::create(display_name, external_id, now);
        let (first, rest) = members.split_at(members.len().min(FIRST_MEMBERS));
        {
            let mut st = self.lock()?;
            let data = st.org(org);
            if first.iter().any(|u| data.user(u).is_none()) {
                return Err(StoreError::NotFound(Entity::User));
            }
            data.groups.insert(group.id.clone(), group.clone());
            for u in first {
                data.members.insert((group.id.clone(), u.clone()));
            }
        }
        if !rest.is_empty() {
            self.add_members(org, &group.id, rest, now).await?;
        }
        Ok(group)
    }

    async fn get_group(&self, org: &str, id: &str) -> StoreResult<Option<Group>> {
        let st = self.lock()?;
        Ok(st.orgs.get(org).and_then(|d| d.group(id).cloned()))
    }

    async fn get_groups(&self, org: &str, ids: &[String]) -> StoreResult<Vec<Group>> {
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        let st = self.lock()?;
        let Some(data) = st.orgs.get(org) else {
            return Ok(Vec::new());
        };
        Ok(unique
            .iter()
            .filter_map(|id| data.group(id).cloned())
            .collect())
    }

    async fn update_group(&self, org: &str, group: &Group, now: i64) -> StoreResult<Group> {
        let next = Group::successor(group, now);
        let mut st = self.lock()?;
        let data = st.org(org);
        match data.groups.get_mut(&group.id) {
            Some(stored) if stored.version == group.version => {
                *stored = next.clone();
                Ok(next)
            }
            _ => Err(StoreError::VersionConflict),
        }
    }

    async fn delete_group(&self, org: &str, id: &str, version: Option<u64>) -> StoreResult<()> {
        let mut st = self.lock()?;
        let data = st.org(org);
        let stored = data.group(id).ok_or(StoreError::NotFound(Entity::Group))?;
        if version.is_some_and(|v| v != stored.version) {
            return Err(StoreError::VersionConflict);
        }
        data.groups.remove(id);
        data.members.retain(|(g, _)| g != id);
        Ok(())
    }

    async fn find_groups_by_display_name(
        &self,
        org: &str,
        display_name: &str,
    ) -> StoreResult<Vec<Group>> {
        let key = fold(display_name);
        self.in_org(org, |d| {
            d.groups
                .values()
                .filter(|g| fold(&g.display_name) == key)
                .cloned()
                .collect()
        })
    }

    async fn find_groups_by_external_id(
        &self,
        org: &str,
        external_id: &str,
    ) -> StoreResult<Vec<Group>> {
        self.in_org(org, |d| {
            d.groups
                .values()
                .filter(|g| g.external_id.as_deref() == Some(external_id))
                .cloned()
                .collect()
        })
    }

    async fn list_groups_at(
        &self,
        org: &str,
        start: usize,
        count: usize,
        _now: i64,
    ) -> StoreResult<OffsetPage<Group>> {
        let mut st = self.lock()?;
        let data = st.org(org);
        let (items, total) =
            offset_page(&data.groups, &mut data.page_cursors, "groups", start, count);
        Ok(OffsetPage { items, total })
    }

    async fn add_members(
        &self,
        org: &str,
        group_id: &str,
        user_ids: &[String],
        _now: i64,
    ) -> StoreResult<()> {
        // Chunk by chunk, as the DynamoDB store's transactions: a failing chunk writes nothing.
        for chunk in user_ids.chunks(FIRST_MEMBERS) {
            let mut st = self.lock()?;
            let data = st.org(org);
            if data.group(group_id).is_none() {
                return Err(StoreError::NotFound(Entity::Group));
            }
            if chunk.iter().any(|u| data.user(u).is_none()) {
                return Err(StoreError::NotFound(Entity::User));
            }
            for u in chunk {
                data.members.insert((group_id.to_string(), u.clone()));
            }
        }
        Ok(())
    }

    async fn remove_members(
        &self,
        org: &str,
        group_id: &str,
        user_ids: &[String],
    ) -> StoreResult<()> {
        let mut st = self.lock()?;
        let data = st.org(org);
        for u in user_ids {
            data.members.remove(&(group_id.to_string(), u.clone()));
        }
        Ok(())
    }

    async fn list_members(
        &self,
        org: &str,
        group_id: &str,
        cursor_in: Option<&str>,
        limit: i32,
    ) -> StoreResult<Page<String>> {
        let list = format!("members/{group_id}");
        let from = after(cursor_in, org, &list)?;
        let limit = limit.max(1) as usize;
        let st = self.lock()?;
        let Some(data) = st.orgs.get(org) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let mut items: Vec<String> = data
            .members
            .iter()
            .filter(|(g, u)| g == group_id && from.is_none_or(|f| u.as_str() > f))
            .map(|(_, u)| u.clone())
            .take(limit + 1)
            .collect();
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|u| cursor(org, &list, u))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn groups_of_user(&self, org: &str, user_id: &str) -> StoreResult<Vec<String>> {
        self.in_org(org, |d| {
            d.members
                .iter()
                .filter(|(_, u)| u == user_id)
                .map(|(g, _)| g.clone())
                .collect()
        })
    }
}

impl SessionStore for MemoryStore {
    async fn create_session(&self, org: &str, session: &Session) -> StoreResult<()> {
        let mut st = self.lock()?;
        let data = st.org(org);
        if data.sessions.contains_key(&session.token_hash) {
            return Err(StoreError::AlreadyExists(Entity::Session));
        }
        data.sessions
            .insert(session.token_hash.clone(), (session.clone(), None));
        Ok(())
    }

    async fn get_session(
        &self,
        org: &str,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<Session>> {
        let st = self.lock()?;
        Ok(st
            .orgs
            .get(org)
            .and_then(|d| d.sessions.get(token_hash))
            .filter(|(s, _)| s.expires_at > now)
            .map(|(s, _)| s.clone()))
    }

    async fn delete_session(&self, org: &str, token_hash: &str) -> StoreResult<()> {
        let mut st = self.lock()?;
        st.org(org).sessions.remove(token_hash);
        Ok(())
    }

    async fn delete_user_sessions(&self, org: &str, user_id: &str) -> StoreResult<usize> {
        let mut st = self.lock()?;
        let data = st.org(org);
        let tokens = data.user_sessions(user_id);
        for t in &tokens {
            data.sessions.remove(t);
        }
        let grants = data.user_grants(user_id);
        let count = tokens.len() + grants.len();
        end_grants_in(&mut st, org, &grants, wall_clock());
        Ok(count)
    }
}

impl SignInStore for MemoryStore {
    async fn remember_browser_request(
        &self,
        org: &str,
        id: &str,
        browser_hash: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        let mut st = self.lock()?;
        let data = st.org(org);
        if data.requests.contains_key(id) {
            return Err(StoreError::AlreadyExists(Entity::AuthnRequest));
        }
        data.requests
            .insert(id.to_string(), (expires_at, Some(browser_hash.to_string())));
        Ok(())
    }

    async fn sign_in(&self, org: &str, si: &SignIn, now: i64) -> Result<(), SignInError> {
        let mut st = self.lock()?;
        let data = st.org(org);
        // Every condition of the DynamoDB transaction first, in its order; then every write.
        if data
            .assertions
            .get(&si.assertion_id)
            .is_some_and(|exp| *exp > now)
        {
            return Err(SignInError::Replayed);
        }
        if let Some(req) = &si.request {
            let issued = data.requests.get(&req.id).is_some_and(|(exp, browser)| {
                *exp > now && browser.as_deref() == Some(req.browser_hash.as_str())
            });
            if !issued {
                return Err(SignInError::UnknownRequest);
            }
        }
        let session_free = !data.sessions.contains_key(&si.session.token_hash);
        let user_ok = match &si.user {
            UserWrite::Unchanged { user_id, version } => {
                data.user(user_id).map(|u| u.version) == Some(*version)
            }
            UserWrite::Create(u) => {
                data.user(&u.id).is_none() && !data.claims.contains_key(&fold(&u.user_name))
            }
            UserWrite::Update(u) => {
                data.user(&u.id).map(|s| s.version) == Some(u.version.saturating_sub(1))
            }
        };
        if !(session_free && user_ok) {
            return Err(SignInError::UserConflict);
        }
        data.assertions
            .insert(si.assertion_id.clone(), si.assertion_expires_at);
        if let Some(req) = &si.request {
            data.requests.remove(&req.id);
        }
        data.sessions.insert(
            si.session.token_hash.clone(),
            (si.session.clone(), Some(si.sign_in_id.clone())),
        );
        match &si.user {
            UserWrite::Unchanged { .. } => {}
            UserWrite::Create(u) => data.insert_user(u.clone()),
            UserWrite::Update(u) => data.put_user(u.clone()),
        }
        Ok(())
    }

    async fn end_sign_in(&self, org: &str, token_hash: &str) -> StoreResult<usize> {
        let mut st = self.lock()?;
        let data = st.org(org);
        let Some((_, sign_in)) = data.sessions.get(token_hash).cloned() else {
            return Ok(0);
        };
        let mut tokens = vec![token_hash.to_string()];
        if let Some(id) = sign_in {
            tokens.extend(
                data.sessions
                    .iter()
                    .filter(|(t, (_, s))| s.as_deref() == Some(id.as_str()) && *t != token_hash)
                    .map(|(t, _)| t.clone())
                    .take(MAX_SESSIONS_PER_SIGN_IN),
            );
        }
        for t in &tokens {
            data.sessions.remove(t);
        }
        Ok(tokens.len())
    }
}

impl OidcStore for MemoryStore {
    async fn create_app_client(&self, client: &AppClient) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st.clients.contains_key(&client.client_id) {
            return Err(StoreError::AlreadyExists(Entity::AppClient));
        }
        st.clients.insert(client.client_id.clone(), client.clone());
        Ok(())
    }

    async fn get_app_client(&self, client_id: &str) -> StoreResult<Option<AppClient>> {
        Ok(self.lock()?.clients.get(client_id).cloned())
    }

    async fn list_app_clients(&self) -> StoreResult<Vec<AppClient>> {
        Ok(self.lock()?.clients.values().cloned().collect())
    }

    async fn update_app_client(&self, client: &AppClient) -> StoreResult<AppClient> {
        let mut st = self.lock()?;
        match st.clients.get(&client.client_id) {
            Some(c) if c.version == client.version => {
                let mut next = client.clone();
                next.version += 1;
                st.clients.insert(next.client_id.clone(), next.clone());
                Ok(next)
            }
            _ => Err(StoreError::VersionConflict),
        }
    }

    async fn delete_app_client(&self, client_id: &str) -> StoreResult<()> {
        self.lock()?
            .clients
            .remove(client_id)
            .map(|_| ())
            .ok_or(StoreError::NotFound(Entity::AppClient))
    }

    async fn put_authorization_request(
        &self,
        org: &str,
        request: &AuthorizationRequest,
    ) -> StoreResult<()> {
        let mut st = self.lock()?;
        let data = st.org(org);
        if data.authorizations.contains_key(&request.id) {
            return Err(StoreError::AlreadyExists(Entity::AuthorizationRequest));
        }
        data.authorizations
            .insert(request.id.clone(), request.clone());
        Ok(())
    }

    async fn get_authorization_request(
        &self,
        org: &str,
        id: &str,
        now: i64,
    ) -> StoreResult<Option<AuthorizationRequest>> {
        let st = self.lock()?;
        Ok(st
            .orgs
            .get(org)
            .and_then(|d| d.authorizations.get(id))
            .filter(|r| r.expires_at > now)
            .cloned())
    }

    async fn issue_code(
        &self,
        org: &str,
        id: &str,
        code: &IssuedCode,
        now: i64,
    ) -> StoreResult<Option<AuthorizationRequest>> {
        let mut st = self.lock()?;
        let data = st.org(org);
        match data.authorizations.get_mut(id) {
            Some(r) if r.expires_at > now && r.code.is_none() => {
                r.code = Some(code.clone());
                r.expires_at = now + CODE_MEMORY_SECONDS;
                Ok(Some(r.clone()))
            }
            _ => Ok(None),
        }
    }

    async fn redeem_authorization_code(
        &self,
        org: &str,
        id: &str,
        code_hash: &str,
        grant: &Grant,
    ) -> StoreResult<bool> {
        let mut st = self.lock()?;
        let data = st.org(org);
        if data.grants.contains_key(&grant.token_hash) {
            return Ok(false);
        }
        let Some(code) = data
            .authorizations
            .get_mut(id)
            .and_then(|r| r.code.as_mut())
            .filter(|c| c.code_hash == code_hash && c.redeemed_token_hash.is_none())
        else {
            return Ok(false);
        };
        code.redeemed_token_hash = Some(grant.token_hash.clone());
        data.grants.insert(grant.token_hash.clone(), grant.clone());
        Ok(true)
    }

    async fn get_grant(&self, org: &str, token_hash: &str, now: i64) -> StoreResult<Option<Grant>> {
        let st = self.lock()?;
        Ok(st
            .orgs
            .get(org)
            .and_then(|d| d.grants.get(token_hash))
            .filter(|g| g.expires_at > now)
            .cloned())
    }

    async fn grants_of_user(&self, org: &str, user_id: &str) -> StoreResult<Vec<Grant>> {
        self.in_org(org, |d| d.user_grants(user_id))
    }

    async fn end_grants(&self, org: &str, grants: &[Grant], now: i64) -> StoreResult<usize> {
        let mut st = self.lock()?;
        Ok(end_grants_in(&mut st, org, grants, now))
    }

    async fn queued_logouts(&self, limit: i32) -> StoreResult<Vec<String>> {
        let st = self.lock()?;
        Ok(st
            .notices
            .values()
            .take(limit.max(1) as usize)
            .map(|q| q.key.clone())
            .collect())
    }

    async fn claim_logout(&self, key: &str, now: i64) -> StoreResult<Option<LogoutNotice>> {
        let mut st = self.lock()?;
        let Some(q) = st.notices.values_mut().find(|q| q.key == key) else {
            return Ok(None);
        };
        if q.expires_at <= now || q.leased_until.is_some_and(|until| until > now) {
            return Ok(None);
        }
        q.leased_until = Some(now.saturating_add(LOGOUT_LEASE_SECONDS));
        Ok(Some(q.notice.clone()))
    }

    async fn complete_logout(&self, key: &str) -> StoreResult<()> {
        self.lock()?.notices.retain(|_, q| q.key != key);
        Ok(())
    }

    async fn release_logout(&self, key: &str) -> StoreResult<()> {
        let mut st = self.lock()?;
        if let Some(q) = st.notices.values_mut().find(|q| q.key == key) {
            q.leased_until = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod conformance {
    crate::conformance_suite!(super::MemoryStore::new());
}

// The management API's traits (keys, key-ordered listings, org deletion, events).
mod api;
