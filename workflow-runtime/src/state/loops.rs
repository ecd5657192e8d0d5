//! Counters of bounded edges, part of a run's checkpointable state.

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
}
