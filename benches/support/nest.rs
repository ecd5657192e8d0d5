//! `Nest`, `Ten`'s ten steps with the last nine in a child workflow (`Nine`): what a durable
//! child step costs, against `Ten`'s flat steps on the same store.

use divan::black_box;
use workflow::prelude::*;

pub(crate) struct Nine;

#[workflow]
impl Nine {
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
        start -> s1 -> s2 -> s3 -> s4 -> s5 -> s6 -> s7 -> s8 -> s9 -> end;
    }
}

pub(crate) struct Nest {
    nine: Nine,
}

impl Nest {
    pub(crate) const fn new() -> Self {
        Nest { nine: Nine }
    }
}

#[workflow]
impl Nest {
    async fn s0(&self, x: u64) -> u64 {
        black_box(x) + 1
    }

    fn nine(&self) -> &Nine {
        &self.nine
    }

    flow! {
        start -> s0 -> nine -> end;
    }
}
