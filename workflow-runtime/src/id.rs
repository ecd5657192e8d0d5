//! [`RunId`]: the id of a run, in memory or durable.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The id of a run: a UUID v7, so ids sort by the time runs were created.
///
/// It prints and parses as a hyphenated UUID, and serializes as one.
///
/// ```
/// use workflow_runtime::RunId;
///
/// let id = RunId::new();
/// let again: RunId = id.to_string().parse().expect("a UUID");
/// assert_eq!(id, again);
/// assert!(id < RunId::new(), "later runs sort after");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(Uuid);

impl RunId {
    /// A new id, from the current time and random bits.
    pub fn new() -> Self {
        RunId(Uuid::now_v7())
    }

    /// The id that is `uuid`.
    pub const fn from_uuid(uuid: Uuid) -> Self {
        RunId(uuid)
    }

    /// The UUID of this id.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl FromStr for RunId {
    type Err = uuid::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(text).map(RunId)
    }
}
