//! The domain's records: what an organization, a user, a group and a session are, and the rules
//! of the identifiers they carry (organization names, userNames). Everything above uses them; this
//! module uses nothing of the crate (it sits at the bottom of the graph, docs/architecture.md).

pub mod api_key;
pub mod event;
pub mod group;
pub mod org;
pub mod session;
pub mod shape;
pub mod user;
pub mod user_name;
pub mod webhook;

pub use group::Group;
pub use org::{IdpConfig, Org, OrgName, Provisioning, Reactivation};
pub use session::Session;
pub use user::{NewUser, User};
pub use user_name::UserName;
