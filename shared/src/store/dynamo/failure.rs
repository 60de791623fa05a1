//! What a failed DynamoDB call means for the client, decided once (docs/operations.md,
//! "When DynamoDB fails"). Called after the SDK's own retries (app.rs sets attempts and
//! timeouts), so whatever arrives here has already been retried.
//!
//! - Throttling and capacity errors → [`StoreError::Throttled`] (429, the client slows down).
//! - DynamoDB's own 5xx (`InternalServerError`, `ServiceUnavailable`), timeouts, connection
//!   failures and answers lost on the way → [`StoreError::Unavailable`] (503 + `Retry-After`):
//!   transient, nothing the client did wrong. A lost answer may hide a write that happened; the
//!   writes are conditional or idempotent, so the client's retry finds a consistent state.
//! - Anything else (validation errors, access denied, a missing table) is our bug or our
//!   deployment's → [`StoreError::Backend`] (500).

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use super::super::StoreError;

/// DynamoDB error codes that mean "too many requests" (API reference, "Common errors" and each
/// operation's errors).
const THROTTLING: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "Throttling",
    // Another request with the same ClientRequestToken is still running: retry shortly.
    "TransactionInProgressException",
];

/// Server-side codes that are transient by definition.
const UNAVAILABLE: &[&str] = &["InternalServerError", "ServiceUnavailable"];

pub(super) fn sdk<E>(e: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            return StoreError::Unavailable(Box::new(e))
        }
        _ => {}
    }
    let server_side = e
        .raw_response()
        .is_some_and(|r| r.status().is_server_error());
    match e.code() {
        Some(code) if THROTTLING.contains(&code) => StoreError::Throttled,
        Some(code) if UNAVAILABLE.contains(&code) => StoreError::Unavailable(Box::new(e)),
        _ if server_side => StoreError::Unavailable(Box::new(e)),
        _ => StoreError::Backend(Box::new(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_smithy_runtime_api::client::result::ConnectorError;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(
            status.try_into().unwrap(),
            aws_smithy_types::body::SdkBody::empty(),
        )
    }

    fn service_error_with(code: &str, status: u16) -> SdkError<GetItemError, HttpResponse> {
        SdkError::service_error(
            GetItemError::generic(ErrorMetadata::builder().code(code).build()),
            response(status),
        )
    }

    fn service_error(code: &str) -> SdkError<GetItemError, HttpResponse> {
        service_error_with(code, 400)
    }

    #[test]
    fn dynamodb_throttling_becomes_throttled_which_clients_see_as_429() {
        for code in [
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "ThrottlingException",
            "TransactionInProgressException",
        ] {
            assert!(
                matches!(sdk(service_error(code)), StoreError::Throttled),
                "{code}"
            );
        }
    }

    #[test]
    fn dynamodb_server_errors_timeouts_and_lost_connections_become_unavailable() {
        for code in ["InternalServerError", "ServiceUnavailable"] {
            assert!(
                matches!(sdk(service_error(code)), StoreError::Unavailable(_)),
                "{code}"
            );
        }
        assert!(matches!(
            sdk(service_error_with("SomethingNew", 502)),
            StoreError::Unavailable(_)
        ));
        let timeout: SdkError<GetItemError, HttpResponse> =
            SdkError::timeout_error("operation timed out");
        assert!(matches!(sdk(timeout), StoreError::Unavailable(_)));
        let refused: SdkError<GetItemError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused,
            ))));
        assert!(matches!(sdk(refused), StoreError::Unavailable(_)));
    }

    #[test]
    fn validation_errors_are_our_bugs_and_stay_server_errors() {
        for code in [
            "ValidationException",
            "ResourceNotFoundException",
            "AccessDeniedException",
        ] {
            assert!(
                matches!(sdk(service_error(code)), StoreError::Backend(_)),
                "{code}"
            );
        }
    }
}
