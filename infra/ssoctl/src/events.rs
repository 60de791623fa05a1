//! `ssoctl events [--org ORG] [--follow]`: the events feed (docs/api.md, "Events") read from the
//! table directly, one JSON object per line, oldest first; `--follow` keeps polling for new ones.

use std::time::Duration;

use shared::events::EventStore;

/// How often `--follow` asks for new events.
const POLL: Duration = Duration::from_secs(2);

pub async fn run<S: EventStore>(
    store: &S,
    org: Option<&str>,
    follow: bool,
    now: impl Fn() -> i64,
) -> Result<(), String> {
    if let Some(o) = org {
        shared::org::validate_org_name(o)?;
    }
    let mut position: Option<String> = None;
    loop {
        let page = match org {
            Some(o) => {
                let seq = position
                    .as_deref()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                store.org_events_after(o, seq, 100, now()).await
            }
            None => {
                store
                    .all_events_after(position.as_deref(), 100, now())
                    .await
            }
        }
        .map_err(|e| format!("read events: {e}"))?;
        for e in &page.events {
            println!("{}", e.to_json());
        }
        if page.position.is_some() {
            position = page.position;
        }
        if !page.more {
            if !follow {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
