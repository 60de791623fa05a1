//! Sessions, keyed by the hash of their token.

use std::collections::HashMap;

use super::*;
use crate::store::keys::*;
use crate::store::*;

/// The session item; also written by the sign-in transaction (`sign_in.rs`).
pub(super) fn session_item(org: &str, session: &Session) -> Item {
    HashMap::from([
        ("pk".to_string(), s(session_pk(org, &session.token_hash))),
        ("sk".to_string(), s(SESSION_SK)),
        (
            "gsi1pk".to_string(),
            s(user_sessions_index_pk(org, &session.user_id)),
        ),
        ("gsi1sk".to_string(), s(&session.token_hash)),
        ("type".to_string(), s("session")),
        ("token_hash".to_string(), s(&session.token_hash)),
        ("user_id".to_string(), s(&session.user_id)),
        ("created_at".to_string(), n(session.created_at)),
        (TTL_ATTR.to_string(), n(session.expires_at)),
    ])
}

/// A session opened by sign-in `sign_in_id`: indexed on gsi2 by it, so logout finds its siblings.
pub(super) fn linked_session_item(org: &str, session: &Session, sign_in_id: &str) -> Item {
    let mut item = session_item(org, session);
    item.insert(
        "gsi2pk".to_string(),
        s(sign_in_sessions_index_pk(org, sign_in_id)),
    );
    item.insert("gsi2sk".to_string(), s(&session.token_hash));
    item.insert("sign_in_id".to_string(), s(sign_in_id));
    item
}

/// One sign-in opens one browser session (the one-time codes that once added a second are gone):
/// a few is all there can be, so the logout query reads one bounded page.
pub(super) const MAX_SESSIONS_PER_SIGN_IN: i32 = 10;

impl DynamoStore {
    /// The session `token_hash` and its sign-in's other sessions, in one transaction.
    pub(super) async fn delete_sign_in_sessions(
        &self,
        org: &str,
        token_hash: &str,
    ) -> StoreResult<usize> {
        let Some(item) = self.get(session_pk(org, token_hash), SESSION_SK).await? else {
            return Ok(0);
        };
        let mut pks = vec![session_pk(org, token_hash)];
        let user_id = get_opt_s(&item, "user_id").unwrap_or_default();
        if let Some(sign_in_id) = get_opt_s(&item, "sign_in_id") {
            let (siblings, _) = self
                .query_page(
                    Some("gsi2"),
                    "gsi2pk",
                    &sign_in_sessions_index_pk(org, &sign_in_id),
                    None,
                    None,
                    Some(MAX_SESSIONS_PER_SIGN_IN),
                )
                .await?;
            for sibling in &siblings {
                let pk = get_s(sibling, "pk")?;
                if !pks.contains(&pk) {
                    pks.push(pk);
                }
            }
        }
        let count = pks.len();
        let deletes = pks
            .into_iter()
            .map(|pk| self.delete(pk, SESSION_SK.to_string(), None, &[]))
            .collect::<StoreResult<Vec<_>>>()?;
        // Sign-out ends the sign-in: one `session.ended` (docs/api.md, "Events").
        let event = crate::model::event::NewEvent::new(
            crate::model::event::EventType::SessionEnded,
            serde_json::json!({ "user_id": user_id }),
        );
        match self
            .transact_with_events(org, deletes, vec![event], wall_clock())
            .await
        {
            Ok(()) => Ok(count),
            Err(TxError::Condition(_)) => Ok(count),
            Err(TxError::Store(e)) => Err(e),
        }
    }
}

impl SessionStore for DynamoStore {
    async fn create_session(&self, org: &str, session: &Session) -> StoreResult<()> {
        let item = session_item(org, session);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn get_session(
        &self,
        org: &str,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<Session>> {
        let Some(item) = self
            .get(session_pk(org, token_hash), SESSION_SK)
            .await?
            .and_then(|i| live(i, now))
        else {
            return Ok(None);
        };
        Ok(Some(Session {
            token_hash: get_s(&item, "token_hash")?,
            user_id: get_s(&item, "user_id")?,
            created_at: get_n(&item, "created_at")?,
            expires_at: get_n(&item, TTL_ATTR)?,
        }))
    }

    async fn delete_session(&self, org: &str, token_hash: &str) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(session_pk(org, token_hash)))
            .key("sk", s(SESSION_SK))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn delete_user_sessions(&self, org: &str, user_id: &str) -> StoreResult<usize> {
        let items = self
            .query_all(
                Some("gsi1"),
                "gsi1pk",
                &user_sessions_index_pk(org, user_id),
                None,
            )
            .await?;
        // OIDC grants share this index: they end too, and queue their back-channel logouts.
        let (grants, sessions): (Vec<Item>, Vec<Item>) =
            items.into_iter().partition(super::oidc::is_grant);
        let keys = sessions
            .iter()
            .map(|i| Ok((get_s(i, "pk")?, SESSION_SK.to_string())))
            .collect::<StoreResult<Vec<_>>>()?;
        let count = keys.len() + grants.len();
        self.batch_delete(keys).await?;
        self.end_grant_items(org, &grants, wall_clock()).await?;
        Ok(count)
    }
}
