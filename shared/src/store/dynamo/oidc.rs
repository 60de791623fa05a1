//! The OpenID Connect provider's records (see `store/oidc.rs`; keys in `keys.rs`).

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem, Update};

use super::*;
use crate::store::keys::*;
use crate::store::oidc::CODE_MEMORY_SECONDS;
use crate::store::*;

/// Back-channel notices are delivered within seconds; one that is still queued a day later is
/// dropped by TTL (docs/app-integration.md, "When the app is down").
const NOTICE_SECONDS: i64 = 24 * 60 * 60;

fn client_item(c: &AppClient) -> StoreResult<Item> {
    Ok(HashMap::from([
        ("pk".to_string(), s(app_client_pk(&c.client_id))),
        ("sk".to_string(), s(APP_CLIENT_SK)),
        ("gsi1pk".to_string(), s(APP_CLIENTS_INDEX_PK)),
        ("gsi1sk".to_string(), s(&c.client_id)),
        ("type".to_string(), s("app_client")),
        ("version".to_string(), n(c.version)),
        (
            "client".to_string(),
            s(serde_json::to_string(c).map_err(backend)?),
        ),
    ]))
}

fn client_of(item: &Item) -> StoreResult<AppClient> {
    serde_json::from_str(&get_s(item, "client")?).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn request_of(item: &Item) -> StoreResult<AuthorizationRequest> {
    let code = match get_opt_s(item, "code_hash") {
        Some(code_hash) => Some(IssuedCode {
            code_hash,
            user_id: get_s(item, "user_id")?,
            sid: get_s(item, "sid")?,
            auth_time: get_n(item, "auth_time")?,
            session_expires_at: get_n(item, "session_expires_at")?,
            code_expires_at: get_n(item, "code_expires_at")?,
            redeemed_token_hash: get_opt_s(item, "redeemed_token_hash"),
        }),
        None => None,
    };
    Ok(AuthorizationRequest {
        id: get_s(item, "id")?,
        client_id: get_s(item, "client_id")?,
        redirect_uri: get_s(item, "redirect_uri")?,
        scope: get_s(item, "scope")?,
        state: get_opt_s(item, "state"),
        nonce: get_opt_s(item, "nonce"),
        code_challenge: get_opt_s(item, "code_challenge"),
        expires_at: get_n(item, TTL_ATTR)?,
        code,
    })
}

fn grant_item(org: &str, g: &Grant) -> Item {
    HashMap::from([
        ("pk".to_string(), s(grant_pk(org, &g.token_hash))),
        ("sk".to_string(), s(GRANT_SK)),
        (
            "gsi1pk".to_string(),
            s(user_sessions_index_pk(org, &g.user_id)),
        ),
        ("gsi1sk".to_string(), s(&g.token_hash)),
        ("type".to_string(), s(GRANT_TYPE)),
        ("token_hash".to_string(), s(&g.token_hash)),
        ("client_id".to_string(), s(&g.client_id)),
        ("user_id".to_string(), s(&g.user_id)),
        ("sid".to_string(), s(&g.sid)),
        ("scope".to_string(), s(&g.scope)),
        ("issuer".to_string(), s(&g.issuer)),
        ("auth_time".to_string(), n(g.auth_time)),
        ("created_at".to_string(), n(g.created_at)),
        (TTL_ATTR.to_string(), n(g.expires_at)),
    ])
}

pub(super) fn grant_of(item: &Item) -> StoreResult<Grant> {
    Ok(Grant {
        token_hash: get_s(item, "token_hash")?,
        client_id: get_s(item, "client_id")?,
        user_id: get_s(item, "user_id")?,
        sid: get_s(item, "sid")?,
        scope: get_s(item, "scope")?,
        issuer: get_s(item, "issuer")?,
        auth_time: get_n(item, "auth_time")?,
        created_at: get_n(item, "created_at")?,
        expires_at: get_n(item, TTL_ATTR)?,
    })
}

/// Is this item of the user-session index a grant (rather than a browser session)?
pub(super) fn is_grant(item: &Item) -> bool {
    get_opt_s(item, "type").as_deref() == Some(GRANT_TYPE)
}

fn org_of_notice_key(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("ORG#")?;
    let (org, tail) = rest.split_once('#')?;
    tail.starts_with("BCL#").then_some(org)
}

impl DynamoStore {
    /// Ends grant items found in the user-session index (SCIM deactivation and deletion).
    pub(super) async fn end_grant_items(
        &self,
        org: &str,
        items: &[Item],
        now: i64,
    ) -> StoreResult<usize> {
        let grants = items
            .iter()
            .filter(|i| is_grant(i))
            .map(grant_of)
            .collect::<StoreResult<Vec<_>>>()?;
        self.end_grants(org, &grants, now).await
    }
}

impl OidcStore for DynamoStore {
    async fn create_app_client(&self, client: &AppClient) -> StoreResult<()> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(client_item(client)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        self.stats.trip(0, 1);
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                Err(StoreError::AlreadyExists(Entity::AppClient))
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn get_app_client(&self, client_id: &str) -> StoreResult<Option<AppClient>> {
        self.get(app_client_pk(client_id), APP_CLIENT_SK)
            .await?
            .map(|i| client_of(&i))
            .transpose()
    }

    async fn list_app_clients(&self) -> StoreResult<Vec<AppClient>> {
        let items = self
            .query_all(Some("gsi1"), "gsi1pk", APP_CLIENTS_INDEX_PK, None)
            .await?;
        items.iter().map(client_of).collect()
    }

    async fn update_app_client(&self, client: &AppClient) -> StoreResult<AppClient> {
        let mut next = client.clone();
        next.version += 1;
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(client_item(&next)?))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(client.version))
            .send()
            .await;
        self.stats.trip(0, 1);
        match res {
            Ok(_) => Ok(next),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                Err(StoreError::VersionConflict)
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn delete_app_client(&self, client_id: &str) -> StoreResult<()> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(app_client_pk(client_id)))
            .key("sk", s(APP_CLIENT_SK))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        self.stats.trip(0, 1);
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                Err(StoreError::NotFound(Entity::AppClient))
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn put_authorization_request(
        &self,
        org: &str,
        r: &AuthorizationRequest,
    ) -> StoreResult<()> {
        let mut item = HashMap::from([
            ("pk".to_string(), s(oidc_request_pk(org, &r.id))),
            ("sk".to_string(), s(OIDC_REQUEST_SK)),
            ("type".to_string(), s("oidc_request")),
            ("id".to_string(), s(&r.id)),
            ("client_id".to_string(), s(&r.client_id)),
            ("redirect_uri".to_string(), s(&r.redirect_uri)),
            ("scope".to_string(), s(&r.scope)),
            (TTL_ATTR.to_string(), n(r.expires_at)),
        ]);
        for (k, v) in [
            ("state", &r.state),
            ("nonce", &r.nonce),
            ("code_challenge", &r.code_challenge),
        ] {
            if let Some(v) = v {
                item.insert(k.to_string(), s(v));
            }
        }
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

    async fn get_authorization_request(
        &self,
        org: &str,
        id: &str,
        now: i64,
    ) -> StoreResult<Option<AuthorizationRequest>> {
        self.get(oidc_request_pk(org, id), OIDC_REQUEST_SK)
            .await?
            .and_then(|i| live(i, now))
            .map(|i| request_of(&i))
            .transpose()
    }

    async fn issue_code(
        &self,
        org: &str,
        id: &str,
        c: &IssuedCode,
        now: i64,
    ) -> StoreResult<Option<AuthorizationRequest>> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(oidc_request_pk(org, id)))
            .key("sk", s(OIDC_REQUEST_SK))
            .condition_expression(
                "attribute_exists(pk) AND #exp > :now AND attribute_not_exists(code_hash)",
            )
            .update_expression(
                "SET code_hash = :ch, user_id = :uid, sid = :sid, auth_time = :at, \
                 session_expires_at = :se, code_expires_at = :ce, #exp = :keep",
            )
            .expression_attribute_names("#exp", TTL_ATTR)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":ch", s(&c.code_hash))
            .expression_attribute_values(":uid", s(&c.user_id))
            .expression_attribute_values(":sid", s(&c.sid))
            .expression_attribute_values(":at", n(c.auth_time))
            .expression_attribute_values(":se", n(c.session_expires_at))
            .expression_attribute_values(":ce", n(c.code_expires_at))
            .expression_attribute_values(":keep", n(now + CODE_MEMORY_SECONDS))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        self.stats.trip(0, 1);
        match res {
            Ok(out) => out.attributes.map(|i| request_of(&i)).transpose(),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(None),
            Err(e) => Err(sdk(e)),
        }
    }

    async fn redeem_authorization_code(
        &self,
        org: &str,
        id: &str,
        code_hash: &str,
        grant: &Grant,
    ) -> StoreResult<bool> {
        let mark = Update::builder()
            .table_name(&self.table)
            .key("pk", s(oidc_request_pk(org, id)))
            .key("sk", s(OIDC_REQUEST_SK))
            .condition_expression("code_hash = :ch AND attribute_not_exists(redeemed_token_hash)")
            .update_expression("SET redeemed_token_hash = :th")
            .expression_attribute_values(":ch", s(code_hash))
            .expression_attribute_values(":th", s(&grant.token_hash))
            .build()
            .map_err(backend)?;
        let items = vec![
            TransactWriteItem::builder().update(mark).build(),
            self.put(
                grant_item(org, grant),
                Some("attribute_not_exists(pk)"),
                &[],
            )?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TxError::Condition(_)) => Ok(false),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    async fn get_grant(&self, org: &str, token_hash: &str, now: i64) -> StoreResult<Option<Grant>> {
        self.get(grant_pk(org, token_hash), GRANT_SK)
            .await?
            .and_then(|i| live(i, now))
            .map(|i| grant_of(&i))
            .transpose()
    }

    async fn grants_of_user(&self, org: &str, user_id: &str) -> StoreResult<Vec<Grant>> {
        let items = self
            .query_all(
                Some("gsi1"),
                "gsi1pk",
                &user_sessions_index_pk(org, user_id),
                None,
            )
            .await?;
        items.iter().filter(|i| is_grant(i)).map(grant_of).collect()
    }

    async fn end_grants(&self, org: &str, grants: &[Grant], now: i64) -> StoreResult<usize> {
        let mut ended = 0;
        // One transaction per grant: the grant goes and its notice is queued, or neither. A
        // grant someone else ended meanwhile fails its condition and queues nothing twice.
        for g in grants {
            let live = g.expires_at > now;
            let mut items = vec![self.delete(
                grant_pk(org, &g.token_hash),
                GRANT_SK.to_string(),
                Some("attribute_exists(pk)"),
                &[],
            )?];
            if live {
                items.push(self.put(
                    HashMap::from([
                        ("pk".to_string(), s(logout_notice_pk(org, &g.token_hash))),
                        ("sk".to_string(), s(LOGOUT_NOTICE_SK)),
                        ("gsi1pk".to_string(), s(LOGOUT_QUEUE_INDEX_PK)),
                        (
                            "gsi1sk".to_string(),
                            s(format!("{now:012}#{org}#{}", g.token_hash)),
                        ),
                        ("type".to_string(), s(LOGOUT_NOTICE_TYPE)),
                        ("org".to_string(), s(org)),
                        ("client_id".to_string(), s(&g.client_id)),
                        ("user_id".to_string(), s(&g.user_id)),
                        ("sid".to_string(), s(&g.sid)),
                        ("issuer".to_string(), s(&g.issuer)),
                        (TTL_ATTR.to_string(), n(now + NOTICE_SECONDS)),
                    ]),
                    None,
                    &[],
                )?);
            }
            match self.transact(items).await {
                Ok(()) => ended += live as usize,
                Err(TxError::Condition(_)) => {}
                Err(TxError::Store(e)) => return Err(e),
            }
        }
        Ok(ended)
    }

    async fn queued_logouts(&self, limit: i32) -> StoreResult<Vec<String>> {
        let (items, _) = self
            .query_page(
                Some("gsi1"),
                "gsi1pk",
                LOGOUT_QUEUE_INDEX_PK,
                None,
                None,
                Some(limit),
            )
            .await?;
        items.iter().map(|i| get_s(i, "pk")).collect()
    }

    async fn claim_logout(&self, key: &str, now: i64) -> StoreResult<Option<LogoutNotice>> {
        let Some(org) = org_of_notice_key(key) else {
            return Ok(None);
        };
        let Some(item) = self
            .lease_if_live(key.to_string(), LOGOUT_NOTICE_SK, now, LOGOUT_LEASE_SECONDS)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(LogoutNotice {
            org: org.to_string(),
            client_id: get_s(&item, "client_id")?,
            user_id: get_s(&item, "user_id")?,
            sid: get_s(&item, "sid")?,
            issuer: get_s(&item, "issuer")?,
        }))
    }

    async fn complete_logout(&self, key: &str) -> StoreResult<()> {
        self.delete_key(key.to_string(), LOGOUT_NOTICE_SK).await
    }

    async fn release_logout(&self, key: &str) -> StoreResult<()> {
        self.release_lease(key.to_string(), LOGOUT_NOTICE_SK).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_notice_keys_name_an_org_to_claim_in() {
        assert_eq!(org_of_notice_key("ORG#acme#BCL#abc"), Some("acme"));
        assert_eq!(org_of_notice_key("ORG#acme#GRANT#abc"), None);
        assert_eq!(org_of_notice_key("APP#x"), None);
    }
}
