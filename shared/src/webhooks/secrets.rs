//! Webhook signing secrets at rest. A signing secret cannot be stored as a hash (the worker needs
//! it to sign), so it is encrypted with a KMS key (`alias/{table}-webhooks`, template.yaml
//! `WebhookSecretsKey`) under the encryption context `{"webhook": id}`: the ciphertext only
//! decrypts for its own endpoint, only the webhooks function (and the operator who created it)
//! may call Decrypt, and every Decrypt is in CloudTrail (docs/decisions.md, "Webhooks").

use aws_sdk_kms::primitives::Blob;

use crate::error::AppError;
use crate::model::webhook::WebhookId;

/// The KMS key that seals the secrets of the deployment whose table is `table`, unless
/// `WEBHOOK_KMS_KEY_ID` names another.
pub fn key_id(table: &str) -> String {
    std::env::var("WEBHOOK_KMS_KEY_ID")
        .ok()
        .filter(|k| !k.trim().is_empty())
        .unwrap_or_else(|| format!("alias/{table}-webhooks"))
}

fn kms_error(e: impl std::error::Error + Send + Sync + 'static) -> AppError {
    AppError::Kms(Box::new(e))
}

/// Encrypts endpoint `id`'s secret.
pub async fn seal(
    kms: &aws_sdk_kms::Client,
    key_id: &str,
    id: &WebhookId,
    secret: &[u8],
) -> Result<Vec<u8>, AppError> {
    let out = kms
        .encrypt()
        .key_id(key_id)
        .plaintext(Blob::new(secret.to_vec()))
        .encryption_context("webhook", id.as_str())
        .send()
        .await
        .map_err(kms_error)?;
    out.ciphertext_blob
        .map(Blob::into_inner)
        .ok_or_else(|| AppError::Kms("Encrypt returned no ciphertext".into()))
}

/// Decrypts endpoint `id`'s secret (refused by KMS for another endpoint's ciphertext).
pub async fn unseal(
    kms: &aws_sdk_kms::Client,
    id: &WebhookId,
    sealed: &[u8],
) -> Result<Vec<u8>, AppError> {
    let out = kms
        .decrypt()
        .ciphertext_blob(Blob::new(sealed.to_vec()))
        .encryption_context("webhook", id.as_str())
        .send()
        .await
        .map_err(kms_error)?;
    out.plaintext
        .map(Blob::into_inner)
        .ok_or_else(|| AppError::Kms("Decrypt returned no plaintext".into()))
}
