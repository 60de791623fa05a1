//! What the local stack's AWS calls would need in IAM, per function. With
//! `SSO_LOCAL_IAM_RECORD=FILE`, `ssoctl local serve` appends one line `FUNCTION<TAB>ACTION` (e.g.
//! `saml-acs`, tab, `dynamodb:TransactWriteItems`) for every AWS API call a request makes, naming the function
//! whose route it served (the one `template.yaml` routes that path to). The integration tests
//! compare these lines with each function's policy in template.yaml, so a call that only a
//! deployed Lambda would be refused (AccessDenied) fails locally first.

use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;

tokio::task_local! {
    /// The function (binary name) whose request the current task is serving.
    pub static FUNCTION: &'static str;
}

/// Appends `function<TAB>service:Operation` for each request an SDK client sends while
/// [`FUNCTION`] is set. The same interceptor serves every AWS SDK crate (the trait is smithy's).
#[derive(Clone, Debug)]
pub struct Recorder(Arc<Mutex<std::fs::File>>);

impl Recorder {
    /// The recorder `SSO_LOCAL_IAM_RECORD` asks for, if any.
    pub fn from_env() -> Result<Option<Recorder>, String> {
        let Some(path) = std::env::var_os("SSO_LOCAL_IAM_RECORD").filter(|p| !p.is_empty()) else {
            return Ok(None);
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("SSO_LOCAL_IAM_RECORD {}: {e}", path.to_string_lossy()))?;
        Ok(Some(Recorder(Arc::new(Mutex::new(file)))))
    }
}

/// The IAM action of a JSON-protocol call from its `X-Amz-Target` header
/// (`DynamoDB_20120810.UpdateItem` → `dynamodb:UpdateItem`, `TrentService.Sign` → `kms:Sign`).
pub fn iam_action(target: &str) -> Option<String> {
    let (api, operation) = target.rsplit_once('.')?;
    let service = match api {
        a if a.starts_with("DynamoDB_") => "dynamodb",
        "TrentService" => "kms",
        "secretsmanager" => "secretsmanager",
        "AmazonSQS" => "sqs",
        "AWSEvents" => "events",
        other => return Some(format!("{}:{operation}", other.to_ascii_lowercase())),
    };
    Some(format!("{service}:{operation}"))
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "IamRecorder"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(function) = FUNCTION.try_with(|f| *f) else {
            return Ok(()); // a background task of the local stack, not a request
        };
        let Some(action) = ctx
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(iam_action)
        else {
            return Ok(());
        };
        if let Ok(mut file) = self.0.lock() {
            let _ = writeln!(file, "{function}\t{action}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::iam_action;

    #[test]
    fn json_protocol_targets_become_iam_actions() {
        assert_eq!(
            iam_action("DynamoDB_20120810.TransactWriteItems").as_deref(),
            Some("dynamodb:TransactWriteItems")
        );
        assert_eq!(iam_action("TrentService.Sign").as_deref(), Some("kms:Sign"));
        assert_eq!(
            iam_action("secretsmanager.GetSecretValue").as_deref(),
            Some("secretsmanager:GetSecretValue")
        );
        assert_eq!(iam_action("no-operation"), None);
    }
}
