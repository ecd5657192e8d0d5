//! `Ten`, the ten-step workflow over a `u64` the durable benchmarks run, and the states its
//! checkpoints hold (what the raw-SQL side of each benchmark writes).

use divan::black_box;
use workflow::prelude::*;

pub(crate) struct Ten;

#[workflow]
impl Ten {
    async fn s0(&self, x: u64) -> u64 {
        black_box(x) + 1
    }
    async fn s1(&self, x: u64) -> u64 {
        black_box(x) + 1
    }
    async fn s2(&self, x: u64) -> u64 {
        black_box(x) + 1
    }
    async fn s3(&self, x: u64) -> u64 {
        black_box(x) + 1
    }
    async fn s4(&self, x: u64) -> u64 {
        black_box(x) + 1
    }
    async fn s5(&self, x: u64) -> u64 {
        black_box(x) + 1
    }
    async fn s6(&self, x: u64) -> u64 {
        black_box(x) + 1
    }
    async fn s7(&self, x: u64) -> u64 {
        black_box(x) + 1
    }
    async fn s8(&self, x: u64) -> u64 {
        black_box(x) + 1
    }
    async fn s9(&self, x: u64) -> u64 {
        black_box(x) + 1
    }

    flow! {
        start -> s0 -> s1 -> s2 -> s3 -> s4 -> s5 -> s6 -> s7 -> s8 -> s9 -> end;
    }
}

/// The JSON of the states after each of `Ten`'s steps from 0: what its checkpoints 1 to 10
/// hold, and what the raw-SQL side of a benchmark writes.
pub(crate) fn ten_states() -> Vec<String> {
    let states: [fn(u64) -> TenState; 10] = [
        TenState::S1,
        TenState::S2,
        TenState::S3,
        TenState::S4,
        TenState::S5,
        TenState::S6,
        TenState::S7,
        TenState::S8,
        TenState::S9,
        TenState::End,
    ];
    (1..)
        .zip(states)
        .map(|(x, state)| serde_json::to_string(&state(x)).expect("serializes"))
        .collect()
}
