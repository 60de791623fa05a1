//! Webhook endpoints and deliveries (`webhooks`): deployment-level items.
//!
//! | item      | pk               | sk                      | gsi1pk / gsi1sk   |
//! |-----------|------------------|-------------------------|-------------------|
//! | endpoint  | `WEBHOOK#{id}`   | `WEBHOOK`               | `WEBHOOKS` / id   |
//! | delivery  | `WEBHOOK#{id}`   | `DELIVERY#{feed key}`   |                   |
//!
//! The endpoint item carries the delivery state (feed position, retries of the head event) and
//! a lease (`lease_owner`, `lease_until`), so one worker at a time delivers an endpoint's events
//! and they go out in feed order. Delivery items expire 30 days after their last update.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem, Update};

use super::*;
use crate::model::webhook::{
    Delivery, DeliveryState, DeliveryStatus, TypeFilter, WebhookEndpoint, WebhookId, WebhookUrl,
    MAX_ENDPOINTS,
};
use crate::store::webhooks::WebhookStore;

fn endpoint_pk(id: &WebhookId) -> String {
    format!("WEBHOOK#{}", id.as_str())
}
const ENDPOINT_SK: &str = "WEBHOOK";
const ENDPOINTS_INDEX_PK: &str = "WEBHOOKS";
const DELIVERY_PREFIX: &str = "DELIVERY#";
/// Deliveries are kept as long as events are.
const DELIVERY_TTL_SECS: i64 = crate::model::event::EVENT_TTL_SECS;

fn corrupt(e: impl ToString) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn opt_n<T: std::str::FromStr>(item: &Item, k: &str) -> Option<T> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn endpoint_from(item: &Item) -> StoreResult<WebhookEndpoint> {
    Ok(WebhookEndpoint {
        id: WebhookId::parse(&get_s(item, "id")?).map_err(corrupt)?,
        url: WebhookUrl::parse(&get_s(item, "url")?).map_err(corrupt)?,
        types: TypeFilter::parse(&get_opt_s(item, "event_types").unwrap_or_default())
            .map_err(corrupt)?,
        sealed_secret: item
            .get("secret")
            .and_then(|v| v.as_b().ok())
            .map(|b| b.as_ref().to_vec())
            .ok_or_else(|| corrupt("webhook endpoint without its secret"))?,
        created_at: get_n(item, "created_at")?,
        state: DeliveryState {
            cursor: get_opt_s(item, "cursor"),
            attempts: opt_n(item, "attempts").unwrap_or(0),
            next_attempt: opt_n(item, "next_attempt").unwrap_or(0),
            failing_since: opt_n(item, "failing_since"),
            last_status: opt_n(item, "last_status"),
        },
    })
}

fn delivery_item(d: &Delivery) -> Item {
    let mut item: Item = HashMap::from([
        ("pk".to_string(), s(endpoint_pk(&d.endpoint))),
        (
            "sk".to_string(),
            s(format!("{DELIVERY_PREFIX}{}", d.position)),
        ),
        ("type".to_string(), s("webhook_delivery")),
        ("endpoint".to_string(), s(d.endpoint.as_str())),
        ("event_id".to_string(), s(&d.event_id)),
        ("event_type".to_string(), s(&d.event_type)),
        ("org".to_string(), s(&d.org)),
        ("position".to_string(), s(&d.position)),
        ("status".to_string(), s(d.status.as_str())),
        ("attempts".to_string(), n(d.attempts)),
        ("updated_at".to_string(), n(d.updated_at)),
        (
            TTL_ATTR.to_string(),
            n(d.updated_at.saturating_add(DELIVERY_TTL_SECS)),
        ),
    ]);
    if let Some(st) = d.last_status {
        item.insert("last_status".to_string(), n(st));
    }
    if let Some(at) = d.next_attempt {
        item.insert("next_attempt".to_string(), n(at));
    }
    item
}

fn delivery_from(item: &Item) -> StoreResult<Delivery> {
    Ok(Delivery {
        endpoint: WebhookId::parse(&get_s(item, "endpoint")?).map_err(corrupt)?,
        event_id: get_s(item, "event_id")?,
        event_type: get_s(item, "event_type")?,
        org: get_s(item, "org")?,
        position: get_s(item, "position")?,
        status: DeliveryStatus::parse(&get_s(item, "status")?)
            .ok_or_else(|| corrupt("unknown delivery status"))?,
        attempts: get_n(item, "attempts")?,
        last_status: opt_n(item, "last_status"),
        next_attempt: opt_n(item, "next_attempt"),
        updated_at: get_n(item, "updated_at")?,
    })
}

impl WebhookStore for DynamoStore {
    async fn create_webhook(&self, w: &WebhookEndpoint) -> StoreResult<()> {
        let mut item: Item = HashMap::from([
            ("pk".to_string(), s(endpoint_pk(&w.id))),
            ("sk".to_string(), s(ENDPOINT_SK)),
            ("gsi1pk".to_string(), s(ENDPOINTS_INDEX_PK)),
            ("gsi1sk".to_string(), s(w.id.as_str())),
            ("type".to_string(), s("webhook")),
            ("id".to_string(), s(w.id.as_str())),
            ("url".to_string(), s(w.url.as_str())),
            ("event_types".to_string(), s(w.types.names().join(","))),
            (
                "secret".to_string(),
                AttributeValue::B(Blob::new(w.sealed_secret.clone())),
            ),
            ("created_at".to_string(), n(w.created_at)),
            ("attempts".to_string(), n(0)),
            ("next_attempt".to_string(), n(0)),
        ]);
        if let Some(c) = &w.state.cursor {
            item.insert("cursor".to_string(), s(c));
        }
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => {
                self.stats.trip(0, 1);
                Ok(())
            }
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                Err(StoreError::AlreadyExists(Entity::Webhook))
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn list_webhooks(&self) -> StoreResult<Vec<WebhookEndpoint>> {
        let (items, _) = self
            .query_page(
                Some("gsi1"),
                "gsi1pk",
                ENDPOINTS_INDEX_PK,
                None,
                None,
                Some(MAX_ENDPOINTS as i32),
            )
            .await?;
        items.iter().map(endpoint_from).collect()
    }

    async fn delete_webhook(&self, id: &WebhookId) -> StoreResult<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(endpoint_pk(id)))
            .key("sk", s(ENDPOINT_SK))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk)?;
        self.stats.trip(0, 1);
        Ok(out.attributes.is_some())
    }

    async fn lease_webhook(
        &self,
        id: &WebhookId,
        owner: &str,
        now: i64,
        until: i64,
    ) -> StoreResult<Option<WebhookEndpoint>> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(endpoint_pk(id)))
            .key("sk", s(ENDPOINT_SK))
            .update_expression("SET lease_owner = :me, lease_until = :until")
            .condition_expression(
                "attribute_exists(pk) AND next_attempt <= :now \
                 AND (attribute_not_exists(lease_until) OR lease_until <= :now OR lease_owner = :me)",
            )
            .expression_attribute_values(":me", s(owner))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":until", n(until))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match res {
            Ok(out) => {
                self.stats.trip(1, 1);
                out.attributes.as_ref().map(endpoint_from).transpose()
            }
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                self.stats.trip(0, 0);
                Ok(None)
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn save_delivery(
        &self,
        id: &WebhookId,
        owner: &str,
        state: &DeliveryState,
        delivery: Option<&Delivery>,
        lease_until: i64,
    ) -> StoreResult<()> {
        let mut set = vec![
            "attempts = :attempts",
            "next_attempt = :next",
            "lease_until = :lease",
        ];
        let mut remove = Vec::new();
        let mut u = Update::builder()
            .table_name(&self.table)
            .key("pk", s(endpoint_pk(id)))
            .key("sk", s(ENDPOINT_SK))
            .condition_expression("attribute_exists(pk) AND lease_owner = :me")
            .expression_attribute_values(":me", s(owner))
            .expression_attribute_values(":attempts", n(state.attempts))
            .expression_attribute_values(":next", n(state.next_attempt))
            .expression_attribute_values(":lease", n(lease_until));
        match &state.cursor {
            Some(c) => {
                set.push("#cursor = :cursor");
                u = u.expression_attribute_values(":cursor", s(c));
            }
            None => remove.push("#cursor"),
        }
        u = u.expression_attribute_names("#cursor", "cursor");
        match state.failing_since {
            Some(f) => {
                set.push("failing_since = :since");
                u = u.expression_attribute_values(":since", n(f));
            }
            None => remove.push("failing_since"),
        }
        match state.last_status {
            Some(st) => {
                set.push("last_status = :status");
                u = u.expression_attribute_values(":status", n(st));
            }
            None => remove.push("last_status"),
        }
        let mut expr = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expr.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let mut items = vec![TransactWriteItem::builder()
            .update(u.update_expression(expr).build().map_err(backend)?)
            .build()];
        if let Some(d) = delivery {
            items.push(self.put(delivery_item(d), None, &[])?);
        }
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TxError::Condition(_)) => Err(StoreError::VersionConflict),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    async fn list_deliveries(&self, id: &WebhookId, limit: usize) -> StoreResult<Vec<Delivery>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(endpoint_pk(id)))
            .expression_attribute_values(":prefix", s(DELIVERY_PREFIX))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(sdk)?;
        self.stats.trip(out.count().max(0) as u64, 0);
        out.items
            .unwrap_or_default()
            .iter()
            .map(delivery_from)
            .collect()
    }
}
