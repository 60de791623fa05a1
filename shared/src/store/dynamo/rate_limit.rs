//! The per-organization SCIM request counter (`scim/rate_limit.rs`): one conditional UpdateItem.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;

use super::*;
use crate::store::*;

const RATE_SK: &str = "RATE";

impl DynamoStore {
    /// `ADD n 1` on the counter of `org`'s second `now`, if fewer than `limit` were counted:
    /// atomic, so concurrent Lambdas never let more than `limit` through in one second.
    pub(super) async fn take_rate_token(
        &self,
        org: &str,
        now: i64,
        limit: u32,
    ) -> StoreResult<bool> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(scim_rate_window_pk(org, now)))
            .key("sk", s(RATE_SK))
            .update_expression("ADD #n :one SET #exp = if_not_exists(#exp, :exp)")
            .condition_expression("attribute_not_exists(#n) OR #n < :limit")
            .expression_attribute_names("#n", "n")
            .expression_attribute_names("#exp", TTL_ATTR)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(i64::from(limit)))
            .expression_attribute_values(":exp", n(now.saturating_add(WINDOW_TTL_SECONDS)))
            .send()
            .await;
        match res {
            Ok(_) => {
                self.stats.trip(0, 1);
                Ok(true)
            }
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                self.stats.trip(0, 0);
                Ok(false)
            }
            Err(e) => Err(sdk(e)),
        }
    }
}
