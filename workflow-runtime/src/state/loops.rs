//! Counters of bounded edges, part of a run's checkpointable state.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// How many times each bounded edge (`[max N]`) of a run has been taken.
///
/// Edges are numbered from 0 in the order they appear in `flow!`. The counters are part of a
/// run's state: a resumed run keeps counting where it stopped.
///
/// ```
/// use workflow_runtime::state::Loops;
///
/// let mut loops = Loops::new();
/// assert!(loops.take(0, 2));
/// assert!(loops.take(0, 2));
/// assert!(!loops.take(0, 2)); // the bound is reached
/// assert_eq!(loops.count(0), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Loops(Vec<u32>);

impl Loops {
    /// No edge taken yet. Does not allocate.
    pub const fn new() -> Self {
        Loops(Vec::new())
    }

    /// Takes bounded edge `edge` once if it was taken fewer than `max` times so far, and says
    /// whether it did.
    #[inline]
    pub fn take(&mut self, edge: usize, max: u32) -> bool {
        match self.0.get_mut(edge) {
            Some(count) if *count < max => {
                *count += 1;
                true
            }
            Some(_) => false,
            None => self.take_first(edge, max),
        }
    }

    /// [`Loops::take`] for an edge never taken before.
    #[cold]
    #[inline(never)]
    fn take_first(&mut self, edge: usize, max: u32) -> bool {
        self.0.resize(edge + 1, 0);
        self.take(edge, max)
    }

    /// How many times bounded edge `edge` was taken.
    pub fn count(&self, edge: usize) -> u32 {
        self.0.get(edge).copied().unwrap_or(0)
    }

    /// The counters as JSON, as a checkpoint keeps them: `[]`, borrowed, for a run that took
    /// no bounded edge (most runs), so that saving it allocates nothing.
    pub(crate) fn to_json(&self) -> serde_json::Result<Cow<'static, str>> {
        if self.0.is_empty() {
            return Ok(Cow::Borrowed("[]"));
        }
        serde_json::to_string(self).map(Cow::Owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_counter_is_the_empty_list_borrowed_and_counters_read_back() {
        assert!(matches!(Loops::new().to_json(), Ok(Cow::Borrowed("[]"))));
        let mut loops = Loops::new();
        assert!(loops.take(1, 3));
        let json = loops.to_json().expect("serializes");
        assert_eq!(json, "[0,1]");
        let read: Loops = serde_json::from_str(&json).expect("reads back");
        assert_eq!(read, loops);
    }
}
