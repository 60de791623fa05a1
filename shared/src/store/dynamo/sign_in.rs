//! The sign-in transaction (see `store/sign_in.rs`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem};

use super::sessions::linked_session_item;
use super::users::{claim_item, user_item};
use super::*;
use crate::model::event::{EventType, NewEvent};
use crate::model::shape::user_json;
use crate::store::keys::*;
use crate::store::*;

impl DynamoStore {
    /// A put whose condition names the TTL attribute through `#exp`.
    fn put_with_exp(
        &self,
        item: Item,
        condition: &str,
        now: i64,
    ) -> StoreResult<TransactWriteItem> {
        let p = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .expression_attribute_names("#exp", TTL_ATTR)
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().put(p).build())
    }
}

impl SignInStore for DynamoStore {
    async fn remember_browser_request(
        &self,
        org: &str,
        id: &str,
        browser_hash: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        let item = HashMap::from([
            ("pk".to_string(), s(authn_request_pk(org, id))),
            ("sk".to_string(), s(AUTHN_REQUEST_SK)),
            ("type".to_string(), s("authn_request")),
            ("browser".to_string(), s(browser_hash)),
            (TTL_ATTR.to_string(), n(expires_at)),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(sdk)?;
        self.stats.trip(0, 1);
        Ok(())
    }

    async fn sign_in(&self, org: &str, si: &SignIn, now: i64) -> Result<(), SignInError> {
        let mut items = Vec::with_capacity(6);
        // 0: the assertion ID, new or expired (an unswept expired record is not a replay).
        items.push(self.put_with_exp(
            HashMap::from([
                ("pk".to_string(), s(assertion_pk(org, &si.assertion_id))),
                ("sk".to_string(), s(ASSERTION_SK)),
                ("type".to_string(), s("assertion")),
                (TTL_ATTR.to_string(), n(si.assertion_expires_at)),
            ]),
            "attribute_not_exists(pk) OR #exp <= :now",
            now,
        )?);
        // 1: the AuthnRequest ID, which must exist, be live and have been issued to the browser
        // that posts its answer; deleting it makes it single-use. The stored value is the SHA-256
        // of a 256-bit secret, so DynamoDB's comparison leaks nothing an attacker could steer.
        let request_index = match &si.request {
            Some(req) => {
                let d = Delete::builder()
                    .table_name(&self.table)
                    .key("pk", s(authn_request_pk(org, &req.id)))
                    .key("sk", s(AUTHN_REQUEST_SK))
                    .condition_expression("attribute_exists(pk) AND #exp > :now AND #br = :b")
                    .expression_attribute_names("#exp", TTL_ATTR)
                    .expression_attribute_names("#br", "browser")
                    .expression_attribute_values(":now", n(now))
                    .expression_attribute_values(":b", s(&req.browser_hash))
                    .build()
                    .map_err(backend)?;
                items.push(TransactWriteItem::builder().delete(d).build());
                Some(items.len() - 1)
            }
            None => None,
        };
        items.push(self.put(
            linked_session_item(org, &si.session, &si.sign_in_id),
            Some("attribute_not_exists(pk)"),
            &[],
        )?);
        match &si.user {
            UserWrite::Unchanged { user_id, version } => {
                let c = ConditionCheck::builder()
                    .table_name(&self.table)
                    .key("pk", s(org_pk(org)))
                    .key("sk", s(user_sk(user_id)))
                    .condition_expression("version = :v")
                    .expression_attribute_values(":v", n(*version))
                    .build()
                    .map_err(backend)?;
                items.push(TransactWriteItem::builder().condition_check(c).build());
            }
            UserWrite::Create(user) => {
                // The per-org user count (SCIM totalResults) moves with every create.
                items.push(self.counter_add(org, "USER", 1)?);
                items.push(self.put(
                    user_item(org, user)?,
                    Some("attribute_not_exists(pk)"),
                    &[],
                )?);
                items.push(self.put(
                    claim_item(org, &user.user_name, &user.id),
                    Some("attribute_not_exists(pk)"),
                    &[],
                )?);
            }
            UserWrite::Update(user) => {
                items.push(self.put(
                    user_item(org, user)?,
                    Some("version = :v"),
                    &[(":v", n(user.version.saturating_sub(1)))],
                )?);
            }
        }
        // The outbox (docs/api.md, "Events"): the sign-in's session, and the first-login user
        // it created or the profile it refreshed, in the same transaction.
        let user_id = match &si.user {
            UserWrite::Unchanged { user_id, .. } => user_id.clone(),
            UserWrite::Create(u) | UserWrite::Update(u) => u.id.clone(),
        };
        let mut events = match &si.user {
            UserWrite::Create(u) => vec![NewEvent::new(EventType::UserCreated, user_json(u))],
            UserWrite::Update(u) => vec![NewEvent::new(EventType::UserUpdated, user_json(u))],
            UserWrite::Unchanged { .. } => Vec::new(),
        };
        events.push(NewEvent::new(
            EventType::SessionStarted,
            serde_json::json!({
                "user_id": user_id,
                "expires_at": crate::model::shape::rfc3339(si.session.expires_at),
            }),
        ));
        match self.transact_with_events(org, items, events, now).await {
            Ok(()) => Ok(()),
            Err(TxError::Condition(codes)) if failed(&codes, 0) => Err(SignInError::Replayed),
            Err(TxError::Condition(codes)) if request_index.is_some_and(|i| failed(&codes, i)) => {
                Err(SignInError::UnknownRequest)
            }
            Err(TxError::Condition(_)) => Err(SignInError::UserConflict),
            Err(TxError::Store(e)) => Err(SignInError::Store(e)),
        }
    }

    async fn end_sign_in(&self, org: &str, token_hash: &str) -> StoreResult<usize> {
        self.delete_sign_in_sessions(org, token_hash).await
    }
}
