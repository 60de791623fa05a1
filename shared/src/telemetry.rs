//! Structured JSON logs (CloudWatch reads them as JSON; see template.yaml's LoggingConfig).
//! What we never log: tokens, cookies, SAML messages, passwords. Handlers log outcome codes.

/// Installs the JSON log subscriber once; `RUST_LOG` filters (default `info`).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .try_init();
}
