//! The JSON shapes of the API: `model::shape`.

pub use crate::model::shape::*;
