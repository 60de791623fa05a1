//! `ssoctl webhook create URL [--types a,b] | list | delete ID | deliveries [--endpoint ID]`
//! (docs/api.md, "Webhooks"), on the table directly like `api-key`.

use serde_json::{json, Value};
use shared::model::webhook::{
    DeliveryState, TypeFilter, WebhookEndpoint, WebhookId, WebhookUrl, MAX_ENDPOINTS,
};
use shared::store::webhooks::WebhookStore;
use shared::webhooks::{secrets, sign};

/// Deliveries shown per endpoint, newest first.
pub const DELIVERIES_SHOWN: usize = 100;

/// The feed position "now": a new endpoint receives the events from its creation on.
fn position_now() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    // Keys are `{ms:013}#…`: continuing after the previous millisecond includes this one.
    format!("{:013}", ms.saturating_sub(1))
}

/// Prints the endpoint's id and its signing secret (`whsec_…`, shown once; stored only
/// encrypted with the deployment's KMS key, `shared::webhooks::secrets`).
pub async fn create<S: WebhookStore>(
    store: &S,
    table: &str,
    url: &str,
    types: Option<&str>,
    now: i64,
) -> Result<Value, String> {
    let url = WebhookUrl::parse(url)?;
    let types = TypeFilter::parse(types.unwrap_or_default())?;
    if store
        .list_webhooks()
        .await
        .map_err(|e| e.to_string())?
        .len()
        >= MAX_ENDPOINTS
    {
        return Err(format!(
            "a deployment has at most {MAX_ENDPOINTS} webhook endpoints (see `ssoctl webhook list`)"
        ));
    }
    let id = WebhookId::mint();
    let secret = sign::new_secret();
    let kms = shared::oidc::jwt::kms_client().await;
    let key = secrets::key_id(table);
    let sealed = secrets::seal(&kms, &key, &id, &secret)
        .await
        .map_err(|e| format!("encrypt the signing secret with KMS key {key}: {e:?}"))?;
    let endpoint = WebhookEndpoint {
        id: id.clone(),
        url,
        types,
        sealed_secret: sealed,
        created_at: now,
        state: DeliveryState {
            cursor: Some(position_now()),
            ..DeliveryState::default()
        },
    };
    store
        .create_webhook(&endpoint)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = endpoint.to_json();
    out["secret"] = json!(sign::display_secret(&secret));
    Ok(out)
}

pub async fn list<S: WebhookStore>(store: &S) -> Result<Value, String> {
    let all = store.list_webhooks().await.map_err(|e| e.to_string())?;
    Ok(json!({ "webhooks": all.iter().map(WebhookEndpoint::to_json).collect::<Vec<_>>() }))
}

pub async fn delete<S: WebhookStore>(store: &S, id: &str) -> Result<Value, String> {
    let id = WebhookId::parse(id)?;
    if !store.delete_webhook(&id).await.map_err(|e| e.to_string())? {
        return Err(format!(
            "no webhook endpoint {:?} (see `ssoctl webhook list`)",
            id.as_str()
        ));
    }
    Ok(json!({ "deleted": id.as_str() }))
}

/// Each delivery's status (pending/delivered/dead), attempts, last HTTP status, next attempt.
pub async fn deliveries<S: WebhookStore>(
    store: &S,
    endpoint: Option<&str>,
) -> Result<Value, String> {
    let ids = match endpoint {
        Some(e) => vec![WebhookId::parse(e)?],
        None => store
            .list_webhooks()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|w| w.id)
            .collect(),
    };
    let mut out = Vec::new();
    for id in ids.iter().take(MAX_ENDPOINTS) {
        for d in store
            .list_deliveries(id, DELIVERIES_SHOWN)
            .await
            .map_err(|e| e.to_string())?
        {
            out.push(d.to_json());
        }
    }
    Ok(json!({ "deliveries": out }))
}
