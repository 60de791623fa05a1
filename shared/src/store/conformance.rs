//! The store conformance suite: what every implementation of the store traits must do. Each check
//! is generic over the store; [`conformance_suite!`](crate::conformance_suite) turns them into
//! `#[tokio::test]`s for one store. It runs against the in-memory store in `cargo test -p
//! sso-shared` (`store::memory`) and against DynamoDB's API in `infra/test`
//! (`tests/integration/store_conformance.rs`).

use std::sync::Arc;

use serde_json::json;

use crate::model::org::Org;
use crate::model::user_name::UserName;
use crate::store::*;

/// An org name no other test (or earlier run against the same table) uses.
pub fn unique_org(prefix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "{prefix}-{}-{n}-{}",
        std::process::id(),
        crate::tokens::random_hex(3)
    )
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        user_name: name.into(),
        external_id: Some(format!("ext-{name}")),
        active: true,
        attributes: json!({ "displayName": name }),
    }
}

async fn org<S: Store>(s: &S, prefix: &str) -> String {
    let name = unique_org(prefix);
    s.create_org(&Org::new(&name, "https://sso.example.com", 1_000))
        .await
        .unwrap();
    name
}

pub async fn orgs_are_created_once_and_updated_only_at_their_current_version<S: Store>(s: &S) {
    let name = unique_org("orgs");
    let org = Org::new(&name, "https://sso.example.com", 1_000);
    s.create_org(&org).await.unwrap();
    assert!(matches!(
        s.create_org(&org).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let stored = s.get_org(&name).await.unwrap().unwrap();
    assert_eq!(stored, org);

    let mut changed = stored.clone();
    changed.default_app_url = Some("https://app.example.com".into());
    let v1 = s.update_org(&changed).await.unwrap();
    assert_eq!(v1.version, stored.version + 1);
    // A writer still holding the old version loses, and nothing of its write lands.
    let mut stale = stored.clone();
    stale.allow_idp_initiated = false;
    assert!(matches!(
        s.update_org(&stale).await,
        Err(StoreError::VersionConflict)
    ));
    assert_eq!(s.get_org(&name).await.unwrap().unwrap(), v1);

    let mut ghost = Org::new(&unique_org("ghost"), "https://x.example.com", 0);
    ghost.version = 0;
    assert!(matches!(
        s.update_org(&ghost).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(s.list_orgs().await.unwrap().iter().any(|o| o.org == name));
}

pub async fn users_are_found_by_id_and_case_insensitive_user_name_within_their_org_only<
    S: Store,
>(
    s: &S,
) {
    let a = org(s, "users-a").await;
    let b = org(s, "users-b").await;
    let u = s
        .create_user(&a, new_user("Ada@Example.com"), 2_000)
        .await
        .unwrap();
    assert_eq!(u.version, 1);
    assert_eq!(s.get_user(&a, &u.id).await.unwrap().unwrap(), u);
    assert_eq!(
        s.find_user_by_user_name(&a, &UserName::parse("ada@example.COM").unwrap())
            .await
            .unwrap()
            .unwrap()
            .id,
        u.id
    );
    // Nothing of org a is visible from org b.
    assert_eq!(s.get_user(&b, &u.id).await.unwrap(), None);
    assert_eq!(
        s.find_user_by_user_name(&b, &UserName::parse("ada@example.com").unwrap())
            .await
            .unwrap(),
        None
    );
    // The same userName is free in another org.
    s.create_user(&b, new_user("ada@example.com"), 2_000)
        .await
        .unwrap();
    assert!(matches!(
        s.create_user(&a, new_user("ADA@example.com"), 2_000).await,
        Err(StoreError::Uniqueness {
            attribute: "userName"
        })
    ));
}

pub async fn user_updates_need_the_current_version_and_renames_move_the_user_name_claim<
    S: Store,
>(
    s: &S,
) {
    let o = org(s, "upd").await;
    let u = s
        .create_user(&o, new_user("old@example.com"), 10)
        .await
        .unwrap();
    let other = s
        .create_user(&o, new_user("taken@example.com"), 10)
        .await
        .unwrap();

    let mut renamed = u.clone();
    renamed.user_name = "new@example.com".into();
    let v2 = s.update_user(&o, &renamed, 20).await.unwrap();
    assert_eq!((v2.version, v2.updated_at, v2.created_at), (2, 20, 10));
    assert_eq!(
        s.find_user_by_user_name(&o, &UserName::parse("new@example.com").unwrap())
            .await
            .unwrap()
            .unwrap()
            .id,
        u.id
    );
    // The old name is free again; the new one is taken.
    s.create_user(&o, new_user("old@example.com"), 30)
        .await
        .unwrap();
    assert!(matches!(
        s.create_user(&o, new_user("NEW@example.com"), 30).await,
        Err(StoreError::Uniqueness { .. })
    ));

    // Stale version: refused, nothing written.
    let mut stale = u.clone();
    stale.active = false;
    assert!(matches!(
        s.update_user(&o, &stale, 40).await,
        Err(StoreError::VersionConflict)
    ));
    assert!(s.get_user(&o, &u.id).await.unwrap().unwrap().active);

    // Renaming onto a taken name: refused, nothing written.
    let mut clash = v2.clone();
    clash.user_name = other.user_name.clone();
    assert!(matches!(
        s.update_user(&o, &clash, 50).await,
        Err(StoreError::Uniqueness { .. })
    ));
    assert_eq!(
        s.get_user(&o, &u.id).await.unwrap().unwrap().user_name,
        "new@example.com"
    );
}

pub async fn of_twenty_concurrent_creates_of_one_user_name_exactly_one_wins<S: Store + 'static>(
    s: Arc<S>,
) {
    let o = org(&*s, "race").await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = s.clone();
            let o = o.clone();
            // Case variants of one name: the claim is case-insensitive.
            let name = if i % 2 == 0 {
                "Race@Example.com"
            } else {
                "race@example.com"
            };
            tokio::spawn(async move { s.create_user(&o, new_user(name), 1).await })
        })
        .collect();
    let mut wins = 0;
    let mut uniqueness = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::Uniqueness { .. }) => uniqueness += 1,
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!((wins, uniqueness), (1, 19));
    let page = s.list_users(&o, None, 100).await.unwrap();
    assert_eq!(page.items.len(), 1);
}

pub async fn listing_users_walks_every_user_exactly_once<S: Store>(s: &S) {
    let o = org(s, "list").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(
            s.create_user(&o, new_user(&format!("u{i}@example.com")), 1)
                .await
                .unwrap()
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = s.list_users(&o, cursor.as_deref(), 3).await.unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.into_iter().map(|u| u.id));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
    // A cursor from another org's listing is refused, not followed.
    let other = org(s, "list-other").await;
    let first = s.list_users(&o, None, 3).await.unwrap();
    assert!(matches!(
        s.list_users(&other, first.next.as_deref(), 3).await,
        Err(StoreError::BadCursor)
    ));
    assert!(matches!(
        s.list_users(&o, Some("not-a-cursor!"), 3).await,
        Err(StoreError::BadCursor)
    ));
}

pub async fn expired_records_are_never_returned_even_before_the_ttl_sweeper_runs<S: Store>(s: &S) {
    let o = org(s, "ttl").await;
    let u = s
        .create_user(&o, new_user("ttl@example.com"), 1)
        .await
        .unwrap();
    let now = 1_000_000;
    let live = Session {
        token_hash: "h-live".into(),
        user_id: u.id.clone(),
        created_at: now,
        expires_at: now + 86_400,
    };
    let dead = Session {
        token_hash: "h-dead".into(),
        user_id: u.id.clone(),
        created_at: now - 90_000,
        expires_at: now - 3_600,
    };
    s.create_session(&o, &live).await.unwrap();
    s.create_session(&o, &dead).await.unwrap();
    assert_eq!(
        s.get_session(&o, "h-live", now).await.unwrap(),
        Some(live.clone())
    );
    assert_eq!(s.get_session(&o, "h-dead", now).await.unwrap(), None);
    // The same live session is expired once the clock passes its expiry.
    assert_eq!(
        s.get_session(&o, "h-live", now + 86_400).await.unwrap(),
        None
    );
}

pub async fn memberships_are_items_of_their_own_and_only_join_users_of_the_org<S: Store>(s: &S) {
    let o = org(s, "groups").await;
    let other = org(s, "groups-other").await;
    let g = s
        .create_group(&o, "Engineering", Some("okta-g1"), 1)
        .await
        .unwrap();
    let users: Vec<String> = {
        let mut v = Vec::new();
        for i in 0..3 {
            v.push(
                s.create_user(&o, new_user(&format!("m{i}@example.com")), 1)
                    .await
                    .unwrap()
                    .id,
            );
        }
        v
    };
    s.add_members(&o, &g.id, &users, 2).await.unwrap();
    let page = s.list_members(&o, &g.id, None, 100).await.unwrap();
    let mut members = page.items.clone();
    members.sort();
    let mut expected = users.clone();
    expected.sort();
    assert_eq!(members, expected);
    assert_eq!(
        s.groups_of_user(&o, &users[0]).await.unwrap(),
        vec![g.id.clone()]
    );

    // A user of another org (or no user at all) cannot be added, and nothing is written.
    let stranger = s
        .create_user(&other, new_user("stranger@example.com"), 1)
        .await
        .unwrap();
    let attempt = vec![stranger.id.clone()];
    assert!(matches!(
        s.add_members(&o, &g.id, &attempt, 3).await,
        Err(StoreError::NotFound(Entity::User))
    ));
    assert!(s.groups_of_user(&o, &stranger.id).await.unwrap().is_empty());
    assert!(matches!(
        s.add_members(&o, "no-such-group", &users, 3).await,
        Err(StoreError::NotFound(Entity::Group))
    ));

    s.remove_members(&o, &g.id, &users[..1]).await.unwrap();
    assert_eq!(
        s.list_members(&o, &g.id, None, 100)
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    assert!(s.groups_of_user(&o, &users[0]).await.unwrap().is_empty());
}

pub async fn deleting_a_user_removes_their_memberships_and_sessions<S: Store>(s: &S) {
    let o = org(s, "del").await;
    let u = s
        .create_user(&o, new_user("gone@example.com"), 1)
        .await
        .unwrap();
    let g = s.create_group(&o, "G", None, 1).await.unwrap();
    s.add_members(&o, &g.id, std::slice::from_ref(&u.id), 1)
        .await
        .unwrap();
    let sess = Session {
        token_hash: "del-h".into(),
        user_id: u.id.clone(),
        created_at: 1,
        expires_at: i64::MAX / 2,
    };
    s.create_session(&o, &sess).await.unwrap();

    s.delete_user(&o, &u.id, None).await.unwrap();
    assert_eq!(s.get_user(&o, &u.id).await.unwrap(), None);
    assert!(s
        .list_members(&o, &g.id, None, 10)
        .await
        .unwrap()
        .items
        .is_empty());
    assert_eq!(s.get_session(&o, "del-h", 2).await.unwrap(), None);
    // The userName is free again.
    s.create_user(&o, new_user("gone@example.com"), 2)
        .await
        .unwrap();
    assert!(matches!(
        s.delete_user(&o, &u.id, None).await,
        Err(StoreError::NotFound(_))
    ));
}

/// If-Match on DELETE (RFC 7644 §3.14): the version the client named is the one deleted, so an
/// update that lands between the client's read and the delete makes it a conflict.
pub async fn deleting_a_user_at_a_stale_version_is_a_conflict_and_removes_nothing<S: Store>(s: &S) {
    let o = org(s, "del-v").await;
    let u = s
        .create_user(&o, new_user("dv@example.com"), 1)
        .await
        .unwrap();
    let g = s.create_group(&o, "G", None, 1).await.unwrap();
    s.add_members(&o, &g.id, std::slice::from_ref(&u.id), 1)
        .await
        .unwrap();
    let mut change = u.clone();
    change.active = false;
    let updated = s.update_user(&o, &change, 2).await.unwrap();
    assert!(matches!(
        s.delete_user(&o, &u.id, Some(u.version)).await,
        Err(StoreError::VersionConflict)
    ));
    assert_eq!(s.get_user(&o, &u.id).await.unwrap(), Some(updated.clone()));
    assert_eq!(
        s.groups_of_user(&o, &u.id).await.unwrap(),
        vec![g.id.clone()]
    );
    s.delete_user(&o, &u.id, Some(updated.version))
        .await
        .unwrap();
    assert_eq!(s.get_user(&o, &u.id).await.unwrap(), None);
    assert!(matches!(
        s.delete_user(&o, &u.id, Some(updated.version)).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn deactivation_can_drop_every_session_of_a_user<S: Store>(s: &S) {
    let o = org(s, "sess").await;
    let u = s
        .create_user(&o, new_user("s@example.com"), 1)
        .await
        .unwrap();
    for i in 0..3 {
        let sess = Session {
            token_hash: format!("s-{i}"),
            user_id: u.id.clone(),
            created_at: 1,
            expires_at: i64::MAX / 2,
        };
        s.create_session(&o, &sess).await.unwrap();
    }
    assert_eq!(s.delete_user_sessions(&o, &u.id).await.unwrap(), 3);
    for i in 0..3 {
        assert_eq!(s.get_session(&o, &format!("s-{i}"), 2).await.unwrap(), None);
    }
}

pub async fn offset_pages_walk_every_user_once_with_a_correct_total_even_without_a_cursor<
    S: Store,
>(
    s: &S,
) {
    let o = org(s, "offset").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(
            s.create_user(&o, new_user(&format!("p{i}@example.com")), 1)
                .await
                .unwrap()
                .id,
        );
    }
    ids.sort();
    let mut walked = Vec::new();
    let mut start = 1;
    loop {
        let page = s.list_users_at(&o, start, 3, 10).await.unwrap();
        assert_eq!(page.total, 7);
        if page.items.is_empty() {
            break;
        }
        start += page.items.len();
        walked.extend(page.items.into_iter().map(|u| u.id));
    }
    assert_eq!(walked, ids, "key order, each user once");
    // Pages asked for out of order (no cursor), or after the cursors expired, are the same.
    let jump = s.list_users_at(&o, 5, 2, 10).await.unwrap();
    assert_eq!(
        jump.items.iter().map(|u| u.id.clone()).collect::<Vec<_>>(),
        ids[4..6].to_vec()
    );
    let late = s.list_users_at(&o, 4, 3, 10 + 4 * 3600).await.unwrap();
    assert_eq!(
        late.items.iter().map(|u| u.id.clone()).collect::<Vec<_>>(),
        ids[3..6].to_vec()
    );
    assert!(s
        .list_users_at(&o, 8, 3, 10)
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(s
        .list_users_at(&o, 1, 0, 10)
        .await
        .unwrap()
        .items
        .is_empty());
    // Deleting keeps the total right.
    s.delete_user(&o, &ids[0], None).await.unwrap();
    assert_eq!(s.list_users_at(&o, 1, 10, 10).await.unwrap().total, 6);
}

pub async fn groups_are_renamed_at_their_version_found_by_name_and_deleted_with_their_members<
    S: Store,
>(
    s: &S,
) {
    let o = org(s, "grp").await;
    let u = s
        .create_user(&o, new_user("gm@example.com"), 1)
        .await
        .unwrap();
    let g = s
        .create_group(&o, "Sales", Some("okta-sales"), 1)
        .await
        .unwrap();
    s.add_members(&o, &g.id, std::slice::from_ref(&u.id), 2)
        .await
        .unwrap();
    let found = s.find_groups_by_display_name(&o, "SALES").await.unwrap();
    assert_eq!(
        found.iter().map(|g| g.id.clone()).collect::<Vec<_>>(),
        vec![g.id.clone()]
    );
    assert_eq!(
        s.find_groups_by_external_id(&o, "okta-sales")
            .await
            .unwrap()
            .len(),
        1
    );
    // Member changes do not bump the group's version: concurrent adds never conflict with it.
    assert_eq!(
        s.get_group(&o, &g.id).await.unwrap().unwrap().version,
        g.version
    );
    let mut renamed = g.clone();
    renamed.display_name = "Revenue".into();
    let saved = s.update_group(&o, &renamed, 3).await.unwrap();
    assert_eq!(saved.version, g.version + 1);
    assert!(matches!(
        s.update_group(&o, &renamed, 4).await,
        Err(StoreError::VersionConflict)
    ));
    assert!(s
        .find_groups_by_display_name(&o, "Sales")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.get_groups(&o, &[g.id.clone(), "nope".into()])
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.list_groups_at(&o, 1, 10, 5).await.unwrap().total, 1);
    s.delete_group(&o, &g.id, None).await.unwrap();
    assert!(s.get_group(&o, &g.id).await.unwrap().is_none());
    assert!(s.groups_of_user(&o, &u.id).await.unwrap().is_empty());
    assert!(s
        .list_members(&o, &g.id, None, 10)
        .await
        .unwrap()
        .items
        .is_empty());
    assert_eq!(s.list_groups_at(&o, 1, 10, 5).await.unwrap().total, 0);
    assert!(matches!(
        s.delete_group(&o, &g.id, None).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn missing_users_names_exactly_the_ids_that_are_not_users_of_the_org<S: Store>(s: &S) {
    let o = org(s, "missing").await;
    let other = org(s, "missing-other").await;
    let a = s
        .create_user(&o, new_user("a@example.com"), 1)
        .await
        .unwrap();
    let b = s
        .create_user(&other, new_user("b@example.com"), 1)
        .await
        .unwrap();
    let ext = s
        .find_users_by_external_id(&o, "ext-a@example.com")
        .await
        .unwrap();
    assert_eq!(
        ext.iter().map(|u| u.id.clone()).collect::<Vec<_>>(),
        vec![a.id.clone()]
    );
    let missing = s
        .missing_users(
            &o,
            &[a.id.clone(), b.id.clone(), "ghost".into(), a.id.clone()],
        )
        .await
        .unwrap();
    let mut want = vec![b.id.clone(), "ghost".to_string()];
    want.sort();
    assert_eq!(missing, want);
}

pub async fn reissuing_a_user_retires_the_old_id_and_hands_over_the_user_name<S: Store>(s: &S) {
    let o = org(s, "reissue").await;
    let old = s
        .create_user(&o, new_user("r@example.com"), 1)
        .await
        .unwrap();
    let g = s.create_group(&o, "G", None, 1).await.unwrap();
    s.add_members(&o, &g.id, std::slice::from_ref(&old.id), 1)
        .await
        .unwrap();
    let new = s
        .reissue_user(&o, &old, new_user("R@example.com"), 2)
        .await
        .unwrap();
    assert_ne!(new.id, old.id);
    assert!(s.get_user(&o, &old.id).await.unwrap().is_none());
    assert_eq!(
        s.find_user_by_user_name(&o, &UserName::parse("r@example.com").unwrap())
            .await
            .unwrap()
            .map(|u| u.id),
        Some(new.id.clone())
    );
    assert!(s
        .list_members(&o, &g.id, None, 10)
        .await
        .unwrap()
        .items
        .is_empty());
    assert_eq!(s.list_users_at(&o, 1, 10, 2).await.unwrap().total, 1);
    // The userName is still unique: a second create fails, and the new user can be deleted.
    assert!(matches!(
        s.create_user(&o, new_user("r@example.com"), 3).await,
        Err(StoreError::Uniqueness { .. })
    ));
    assert!(matches!(
        s.reissue_user(&o, &old, new_user("r@example.com"), 3).await,
        Err(StoreError::VersionConflict)
    ));
    s.delete_user(&o, &new.id, None).await.unwrap();
    assert!(s
        .find_user_by_user_name(&o, &UserName::parse("r@example.com").unwrap())
        .await
        .unwrap()
        .is_none());
}

pub async fn adding_more_members_than_one_transaction_holds_writes_every_one<S: Store>(s: &S) {
    let o = org(s, "chunks").await;
    let g = s.create_group(&o, "Big", None, 1).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..60 {
        ids.push(
            s.create_user(&o, new_user(&format!("c{i}@example.com")), 1)
                .await
                .unwrap()
                .id,
        );
    }
    s.add_members(&o, &g.id, &ids, 2).await.unwrap();
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = s
            .list_members(&o, &g.id, cursor.as_deref(), 25)
            .await
            .unwrap();
        all.extend(page.items);
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    all.sort();
    ids.sort();
    assert_eq!(all, ids);
    s.remove_members(&o, &g.id, &ids[..30]).await.unwrap();
    assert_eq!(
        s.list_members(&o, &g.id, None, 100)
            .await
            .unwrap()
            .items
            .len(),
        30
    );
}

pub async fn replacing_a_user_from_a_fresh_read_needs_that_version_and_moves_the_claim<S: Store>(
    s: &S,
) {
    let o = org(s, "replace").await;
    let stored = s
        .create_user(&o, new_user("old@example.com"), 1)
        .await
        .unwrap();
    let mut next = stored.clone();
    next.user_name = "New@example.com".into();
    let saved = s.replace_user(&o, &stored, &next, 2).await.unwrap();
    assert_eq!((saved.version, saved.updated_at), (stored.version + 1, 2));
    assert!(s
        .find_user_by_user_name(&o, &UserName::parse("old@example.com").unwrap())
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        s.find_user_by_user_name(&o, &UserName::parse("new@EXAMPLE.com").unwrap())
            .await
            .unwrap()
            .map(|u| u.id),
        Some(stored.id.clone())
    );
    // Replaying the same change from the stale read fails, and changes nothing.
    let mut stale = stored.clone();
    stale.active = false;
    assert!(matches!(
        s.replace_user(&o, &stored, &stale, 3).await,
        Err(StoreError::VersionConflict)
    ));
    assert!(s.get_user(&o, &stored.id).await.unwrap().unwrap().active);
}

pub async fn a_walk_with_users_created_midway_repeats_no_user_and_misses_no_earlier_user<
    S: Store,
>(
    s: &S,
) {
    let o = org(s, "midway").await;
    let mut before = Vec::new();
    for i in 0..9 {
        before.push(
            s.create_user(&o, new_user(&format!("w{i}@example.com")), 1)
                .await
                .unwrap()
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut start = 1;
    let mut created = 0;
    loop {
        let page = s.list_users_at(&o, start, 3, 10).await.unwrap();
        if page.items.is_empty() {
            break;
        }
        start += page.items.len();
        seen.extend(page.items.into_iter().map(|u| u.id));
        // Okta's import runs while other provisioning goes on: users appear between pages.
        if created < 6 {
            for _ in 0..3 {
                s.create_user(&o, new_user(&format!("late{created}@example.com")), 1)
                    .await
                    .unwrap();
                created += 1;
            }
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no user twice");
    for id in &before {
        assert!(
            seen.contains(id),
            "every user that existed throughout is seen"
        );
    }
}

/// One `#[tokio::test]` per check of the suite, each on a store made by `$make` (an expression,
/// evaluated once per test, `.await` allowed).
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        #[tokio::test]
        async fn orgs_are_created_once_and_updated_only_at_their_current_version() {
            $crate::store::conformance::orgs_are_created_once_and_updated_only_at_their_current_version(&$make).await;
        }

        #[tokio::test]
        async fn users_are_found_by_id_and_case_insensitive_user_name_within_their_org_only() {
            $crate::store::conformance::users_are_found_by_id_and_case_insensitive_user_name_within_their_org_only(&$make).await;
        }

        #[tokio::test]
        async fn user_updates_need_the_current_version_and_renames_move_the_user_name_claim() {
            $crate::store::conformance::user_updates_need_the_current_version_and_renames_move_the_user_name_claim(&$make).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn of_twenty_concurrent_creates_of_one_user_name_exactly_one_wins() {
            $crate::store::conformance::of_twenty_concurrent_creates_of_one_user_name_exactly_one_wins(std::sync::Arc::new($make)).await;
        }

        #[tokio::test]
        async fn listing_users_walks_every_user_exactly_once() {
            $crate::store::conformance::listing_users_walks_every_user_exactly_once(&$make).await;
        }

        #[tokio::test]
        async fn expired_records_are_never_returned_even_before_the_ttl_sweeper_runs() {
            $crate::store::conformance::expired_records_are_never_returned_even_before_the_ttl_sweeper_runs(&$make).await;
        }

        #[tokio::test]
        async fn memberships_are_items_of_their_own_and_only_join_users_of_the_org() {
            $crate::store::conformance::memberships_are_items_of_their_own_and_only_join_users_of_the_org(&$make).await;
        }

        #[tokio::test]
        async fn deleting_a_user_removes_their_memberships_and_sessions() {
            $crate::store::conformance::deleting_a_user_removes_their_memberships_and_sessions(&$make).await;
        }

        #[tokio::test]
        async fn deleting_a_user_at_a_stale_version_is_a_conflict_and_removes_nothing() {
            $crate::store::conformance::deleting_a_user_at_a_stale_version_is_a_conflict_and_removes_nothing(&$make).await;
        }

        #[tokio::test]
        async fn deactivation_can_drop_every_session_of_a_user() {
            $crate::store::conformance::deactivation_can_drop_every_session_of_a_user(&$make).await;
        }

        #[tokio::test]
        async fn offset_pages_walk_every_user_once_with_a_correct_total_even_without_a_cursor() {
            $crate::store::conformance::offset_pages_walk_every_user_once_with_a_correct_total_even_without_a_cursor(&$make).await;
        }

        #[tokio::test]
        async fn groups_are_renamed_at_their_version_found_by_name_and_deleted_with_their_members() {
            $crate::store::conformance::groups_are_renamed_at_their_version_found_by_name_and_deleted_with_their_members(&$make).await;
        }

        #[tokio::test]
        async fn missing_users_names_exactly_the_ids_that_are_not_users_of_the_org() {
            $crate::store::conformance::missing_users_names_exactly_the_ids_that_are_not_users_of_the_org(&$make).await;
        }

        #[tokio::test]
        async fn reissuing_a_user_retires_the_old_id_and_hands_over_the_user_name() {
            $crate::store::conformance::reissuing_a_user_retires_the_old_id_and_hands_over_the_user_name(&$make).await;
        }

        #[tokio::test]
        async fn adding_more_members_than_one_transaction_holds_writes_every_one() {
            $crate::store::conformance::adding_more_members_than_one_transaction_holds_writes_every_one(&$make).await;
        }

        #[tokio::test]
        async fn replacing_a_user_from_a_fresh_read_needs_that_version_and_moves_the_claim() {
            $crate::store::conformance::replacing_a_user_from_a_fresh_read_needs_that_version_and_moves_the_claim(&$make).await;
        }

        #[tokio::test]
        async fn a_walk_with_users_created_midway_repeats_no_user_and_misses_no_earlier_user() {
            $crate::store::conformance::a_walk_with_users_created_midway_repeats_no_user_and_misses_no_earlier_user(&$make).await;
        }
    };
}
