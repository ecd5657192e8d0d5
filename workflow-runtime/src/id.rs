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

    /// The id of the child run that step `step` of durable run `parent` started from the
    /// parent's checkpoint `started`: the same each time it is asked for, so that a child
    /// resumed after a crash goes on under its id, and another for each entry of the step (a
    /// step in a loop starts a new child each time) and for a fork of the parent.
    ///
    /// A UUID v8: the first 48 bits are the parent's (its creation time, for a UUID v7), so
    /// that children sort next to their parent; the rest is an FNV-1a hash of the three.
    ///
    /// ```
    /// use workflow_runtime::RunId;
    ///
    /// let parent = RunId::new();
    /// let child = RunId::child(parent, "review", 3);
    /// assert_eq!(child, RunId::child(parent, "review", 3));
    /// assert_ne!(child, RunId::child(parent, "review", 7));
    /// assert_eq!(child.as_uuid().get_version_num(), 8);
    /// ```
    pub fn child(parent: RunId, step: &str, started: u64) -> RunId {
        let mut key = Vec::with_capacity(16 + step.len() + 9);
        key.extend_from_slice(parent.0.as_bytes());
        key.extend_from_slice(step.as_bytes());
        key.push(0);
        key.extend_from_slice(&started.to_le_bytes());
        let hash = fnv1a(&key).to_be_bytes();
        let mut bytes = [0; 16];
        bytes[..6].copy_from_slice(&parent.0.as_bytes()[..6]);
        bytes[6..].copy_from_slice(&hash[6..]);
        RunId(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }
}

/// FNV-1a over `bytes`, 128 bits: stable across compilations and toolchains, so that a
/// process built again finds what the one that crashed derived from the same bytes.
pub(crate) fn fnv1a(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    bytes.iter().fold(OFFSET, |hash, byte| {
        (hash ^ u128::from(*byte)).wrapping_mul(PRIME)
    })
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
