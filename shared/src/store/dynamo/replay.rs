//! Single-use SAML identifiers (AuthnRequest IDs, seen assertion IDs).

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;

use super::*;
use crate::store::keys::*;
use crate::store::*;

impl ReplayStore for DynamoStore {
    async fn remember_request_id(&self, org: &str, id: &str, expires_at: i64) -> StoreResult<()> {
        let item = HashMap::from([
            ("pk".to_string(), s(authn_request_pk(org, id))),
            ("sk".to_string(), s(AUTHN_REQUEST_SK)),
            ("type".to_string(), s("authn_request")),
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
        Ok(())
    }

    async fn consume_request_id(&self, org: &str, id: &str, now: i64) -> StoreResult<bool> {
        let used = self
            .delete_if_live(authn_request_pk(org, id), AUTHN_REQUEST_SK, now)
            .await?;
        Ok(used.is_some())
    }

    async fn record_assertion_id(
        &self,
        org: &str,
        id: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let item = HashMap::from([
            ("pk".to_string(), s(assertion_pk(org, id))),
            ("sk".to_string(), s(ASSERTION_SK)),
            ("type".to_string(), s("assertion")),
            (TTL_ATTR.to_string(), n(expires_at)),
        ]);
        // An expired record that DynamoDB has not swept yet does not count as a replay.
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #exp <= :now")
            .expression_attribute_names("#exp", TTL_ATTR)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(sdk(e)),
        }
    }
}
