//! Directory and session events (docs/api.md, "Events"): the records are `model::event`, their
//! storage `store::events`.

pub use crate::model::event::*;
pub use crate::store::events::EventStore;
