//! Structured JSON logs (CloudWatch reads them as JSON; see template.yaml's LoggingConfig).
//! What we never log: tokens, cookies, SAML messages, passwords. Handlers log outcome codes.
//!
//! Event fields sit at the top level of each line (`flatten_event`), so CloudWatch Logs Insights
//! discovers `request_id`, `org`, `route`, `method`, `status`, `outcome` and `duration_ms` as
//! fields by themselves and the queries in docs/operations.md work as written.

use tracing_subscriber::fmt::MakeWriter;

/// Installs the JSON log subscriber on stdout (where Lambda collects logs); `RUST_LOG` filters
/// (default `info`): a level, or `target=level` directives separated by commas
/// (`warn,shared::webhooks=debug`). That is `tracing_subscriber`'s `Targets` syntax, the part of
/// `EnvFilter`'s without span and field matching: `EnvFilter` brings a regex engine (≈ 0.3 MB in
/// every bootstrap, docs/decisions.md "Release profile").
pub fn init() {
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stdout));
}

/// Same, on stderr: for `ssoctl`, whose stdout carries its JSON output.
pub fn init_stderr() {
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stderr));
}

/// The one log format, on any writer.
pub fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer)
        // Every level reaches the filter layer, which decides.
        .with_max_level(tracing::Level::TRACE)
        .finish()
        .with(filter)
}

/// `RUST_LOG`'s directives, or `info` when it is unset or does not parse.
fn log_filter(value: Option<&str>) -> tracing_subscriber::filter::Targets {
    value
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO)
        })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn request_fields_sit_at_the_top_level_of_each_json_line() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = super::subscriber(move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                request_id = "req-1",
                org = "acme",
                route = "/orgs/{org}/saml/acs",
                method = "POST",
                status = 303u16,
                outcome = "ok",
                duration_ms = 7u64,
                "request"
            );
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["request_id"], "req-1");
        assert_eq!(line["org"], "acme");
        assert_eq!(line["route"], "/orgs/{org}/saml/acs");
        assert_eq!(line["method"], "POST");
        assert_eq!(line["status"], 303);
        assert_eq!(line["outcome"], "ok");
        assert_eq!(line["duration_ms"], 7);
        assert_eq!(line["message"], "request");
        assert!(line.get("fields").is_none(), "{line}");
    }

    #[test]
    fn rust_log_sets_the_level_per_target_and_anything_unreadable_means_info() {
        use tracing::Level;
        let f = super::log_filter(Some("warn,shared::webhooks=debug"));
        assert!(f.would_enable("shared::webhooks::delivery", &Level::DEBUG));
        assert!(!f.would_enable("shared::saml", &Level::INFO));
        assert!(f.would_enable("shared::saml", &Level::WARN));
        for unset in [None, Some("not a=level=at all")] {
            let f = super::log_filter(unset);
            assert!(f.would_enable("shared::saml", &Level::INFO), "{unset:?}");
            assert!(!f.would_enable("shared::saml", &Level::DEBUG), "{unset:?}");
        }
    }

    #[test]
    fn lines_under_the_level_are_not_written() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::TRACE)
            .finish();
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = subscriber.with(super::log_filter(Some("warn")));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("quiet");
            tracing::warn!("loud");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("loud") && !text.contains("quiet"), "{text}");
    }
}
