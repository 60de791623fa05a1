//! Directory and session events (the records; storage is `store::events`) (docs/api.md, "Events"): an outbox in the table. Every change
//! writes its event item in the same DynamoDB transaction as the change, numbered by a per-org
//! counter updated in that transaction, so within an org the events are in the order of the
//! changes, none without its change and no change without its event.

use serde_json::{json, Value};

/// The cross-org feed only shows events committed this long ago: every write finishes within
/// the request deadline (8 s, app.rs), so none can still commit behind a reader's position.
pub const SETTLE_MS: i64 = 10_000;

/// Events are kept this long (DynamoDB TTL on `expires_at`).
pub const EVENT_TTL_SECS: i64 = 30 * 86_400;

/// The event types of the contract (docs/api.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    UserCreated,
    UserUpdated,
    UserDeactivated,
    UserReactivated,
    UserDeleted,
    GroupCreated,
    GroupUpdated,
    GroupDeleted,
    GroupMemberAdded,
    GroupMemberRemoved,
    SessionStarted,
    SessionEnded,
    ConnectionUpdated,
    ScimTokenRotated,
    OrgCreated,
    OrgDeleted,
}

impl EventType {
    pub const ALL: [EventType; 16] = [
        EventType::UserCreated,
        EventType::UserUpdated,
        EventType::UserDeactivated,
        EventType::UserReactivated,
        EventType::UserDeleted,
        EventType::GroupCreated,
        EventType::GroupUpdated,
        EventType::GroupDeleted,
        EventType::GroupMemberAdded,
        EventType::GroupMemberRemoved,
        EventType::SessionStarted,
        EventType::SessionEnded,
        EventType::ConnectionUpdated,
        EventType::ScimTokenRotated,
        EventType::OrgCreated,
        EventType::OrgDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::UserCreated => "user.created",
            EventType::UserUpdated => "user.updated",
            EventType::UserDeactivated => "user.deactivated",
            EventType::UserReactivated => "user.reactivated",
            EventType::UserDeleted => "user.deleted",
            EventType::GroupCreated => "group.created",
            EventType::GroupUpdated => "group.updated",
            EventType::GroupDeleted => "group.deleted",
            EventType::GroupMemberAdded => "group.member_added",
            EventType::GroupMemberRemoved => "group.member_removed",
            EventType::SessionStarted => "session.started",
            EventType::SessionEnded => "session.ended",
            EventType::ConnectionUpdated => "connection.updated",
            EventType::ScimTokenRotated => "scim_token.rotated",
            EventType::OrgCreated => "org.created",
            EventType::OrgDeleted => "org.deleted",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// An event about to be written with its change.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub kind: EventType,
    pub data: Value,
}

impl NewEvent {
    pub fn new(kind: EventType, data: Value) -> Self {
        NewEvent { kind, data }
    }

    /// `group.member_added` / `group.member_removed`: one event per membership, naming both
    /// sides (ids and names, so the app needs no lookup).
    pub fn member(kind: EventType, group: (&str, &str), user: (&str, &str)) -> Self {
        NewEvent::new(
            kind,
            json!({
                "group": {"id": group.0, "displayName": group.1},
                "user": {"id": user.0, "userName": user.1},
            }),
        )
    }
}

/// Sequence numbers per millisecond: 2^10 (the number is the writer's clock in ms, shifted).
pub const SUB_MS_BITS: u32 = 10;

/// The cross-org feed's key of event `seq` of `org`: `{ms:013}#{org}#{seq:020}`.
pub fn feed_position(seq: u64, org: &str) -> String {
    format!("{:013}#{org}#{seq:020}", seq >> SUB_MS_BITS)
}

/// A stored event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub org: String,
    pub seq: u64,
    pub kind: String,
    pub occurred_at: i64,
    pub data: Value,
}

impl Event {
    /// Globally unique: the org and its sequence number.
    pub fn id(&self) -> String {
        format!("evt_{}_{:020}", self.org, self.seq)
    }

    /// This event's key in the cross-org feed (`all_events_after`): the millisecond its number
    /// was taken in, the org, the number. Passing it as `after` continues after this event.
    pub fn feed_position(&self) -> String {
        feed_position(self.seq, &self.org)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id(),
            "type": self.kind,
            "org": self.org,
            "occurred_at": super::shape::rfc3339(self.occurred_at),
            "data": self.data,
        })
    }
}

/// One read of the feed: the events, where to continue (the last event read, or where the read
/// started when none was new), and whether more were already there.
#[derive(Clone, Debug, PartialEq)]
pub struct EventPage {
    pub events: Vec<Event>,
    pub position: Option<String>,
    pub more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_parses_from_its_contract_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("user.exploded"), None);
    }
}
