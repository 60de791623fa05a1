//! Structured JSON logs (CloudWatch reads them as JSON; see template.yaml's LoggingConfig).
//! What we never log: tokens, cookies, SAML messages, passwords. Handlers log outcome codes.

/// Installs the JSON log subscriber on stdout (where Lambda collects logs); `RUST_LOG` filters
/// (default `info`).
pub fn init() {
    init_with(std::io::stdout);
}

/// Same, on stderr: for `ssoctl`, whose stdout carries its JSON output.
pub fn init_stderr() {
    init_with(std::io::stderr);
}

fn init_with<W>(writer: W)
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer)
        .try_init();
}
