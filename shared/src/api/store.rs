//! What the API needs of the store: `store::directory`.

pub use crate::store::directory::*;
