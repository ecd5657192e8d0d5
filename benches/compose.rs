//! The cost of composition, in memory: a parent whose second step runs a child workflow of ten
//! no-op steps, against the same eleven steps flattened into one workflow.
//!
//! Every step is `async fn(&self, u64) -> Result<u64>` returning `Ok(black_box(x) + 1)`, as in
//! `benches/overhead.rs`. Two ways to run each side:
//!
//! - `plain`: `wf.run(input)`, nothing watches the run, polled in place with `Waker::noop()`
//!   (no step suspends: one poll);
//! - `watched`: the same run started by an `Executor` with a step budget, so that it gets its
//!   scope (the child its own, nested in the parent's) and every step is counted, on a
//!   current-thread tokio runtime built once.
//!
//! Run with `cargo bench --bench compose`; `BENCHMARKS.md` has the numbers.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use divan::{black_box, Bencher};
use workflow::prelude::*;

fn main() {
    assert_eq!(block_on(Flat.run(0)).ok(), Some(11));
    assert_eq!(block_on(Parent { inner: Inner }.run(0)).ok(), Some(11));
    let parent = Parent { inner: Inner };
    println!(
        "size_of_val of one run's future, in bytes: flat {}, nested {}",
        std::mem::size_of_val(&Flat.run(0)),
        std::mem::size_of_val(&parent.run(0)),
    );
    divan::main();
}

/// Polls `future` to completion with a waker that does nothing.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// Eleven no-op steps in one workflow.
struct Flat;

#[workflow]
impl Flat {
    async fn first(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s0(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s1(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s2(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s3(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s4(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s5(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s6(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s7(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s8(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s9(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }

    flow! {
        start -> first -> s0 -> s1 -> s2 -> s3 -> s4 -> s5 -> s6 -> s7 -> s8 -> s9 -> end;
    }
}

/// The ten steps after `first`, as a workflow of their own.
struct Inner;

#[workflow]
impl Inner {
    async fn s0(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s1(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s2(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s3(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s4(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s5(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s6(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s7(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s8(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }
    async fn s9(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }

    flow! {
        start -> s0 -> s1 -> s2 -> s3 -> s4 -> s5 -> s6 -> s7 -> s8 -> s9 -> end;
    }
}

/// `first`, then `Inner` as one step.
struct Parent {
    inner: Inner,
}

#[workflow]
impl Parent {
    async fn first(&self, x: u64) -> Result<u64> {
        Ok(black_box(x) + 1)
    }

    fn inner(&self) -> &Inner {
        &self.inner
    }

    flow! {
        start -> first -> inner -> end;
    }
}

#[divan::bench_group(sample_count = 1000, sample_size = 20)]
mod plain {
    use super::*;

    #[divan::bench]
    fn flat(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(Flat.run(black_box(0)))));
    }

    #[divan::bench]
    fn nested(bencher: Bencher<'_, '_>) {
        let parent = Parent { inner: Inner };
        bencher.bench_local(|| black_box(block_on(parent.run(black_box(0)))));
    }
}

#[divan::bench_group(sample_count = 1000, sample_size = 20)]
mod watched {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread tokio runtime")
    }

    #[divan::bench]
    fn flat(bencher: Bencher<'_, '_>) {
        let (rt, executor) = (runtime(), Executor::new().max_steps(100));
        bencher.bench_local(|| black_box(rt.block_on(executor.start(&Flat, black_box(0)))));
    }

    #[divan::bench]
    fn nested(bencher: Bencher<'_, '_>) {
        let (rt, executor) = (runtime(), Executor::new().max_steps(100));
        let parent = Parent { inner: Inner };
        bencher.bench_local(|| black_box(rt.block_on(executor.start(&parent, black_box(0)))));
    }
}
