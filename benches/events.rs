//! What watching a run costs the run, and that a subscriber that never reads does not slow it.
//!
//! The same run, a chain of ten no-op steps (22 events: run started, ten steps started and
//! finished, completed), through `Executor::run` on a current-thread tokio runtime built once:
//!
//! - `no_subscriber`: nobody subscribed: no events are built, as before events existed.
//! - `fast_subscriber`: a subscriber on another thread reads every event as it comes. Each
//!   event it waits for wakes its thread: the cost of that wake-up is paid by the run.
//! - `local_subscriber`: a subscriber task on the run's own runtime, reading between runs (a
//!   progress view in the same program).
//! - `idle_subscriber`: a subscriber that never reads. Its ring buffer (1024 events) fills
//!   after 46 runs; from then on each event overwrites the oldest. The run must not be slower
//!   than with a fast subscriber: it never waits for one.
//! - `plain_run`: the generated `Chain.run(x)`, which never sends events, for reference.
//!
//! Run with `cargo bench --bench events`; `BENCHMARKS.md` has the numbers.

use std::thread;

use divan::{black_box, Bencher};
use workflow::prelude::*;

fn main() {
    divan::main();
}

struct Chain;

#[workflow]
impl Chain {
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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread tokio runtime")
}

/// Times runs of the chain with `executor`.
fn bench_runs(bencher: Bencher<'_, '_>, executor: &Executor) {
    bench_runs_on(bencher, executor, &runtime());
}

fn bench_runs_on(bencher: Bencher<'_, '_>, executor: &Executor, runtime: &tokio::runtime::Runtime) {
    bencher.bench_local(|| {
        let output = runtime.block_on(executor.start(&Chain, black_box(0)));
        black_box(output.expect("the chain runs"))
    });
}

#[divan::bench]
fn no_subscriber(bencher: Bencher<'_, '_>) {
    bench_runs(bencher, &Executor::new());
}

#[divan::bench]
fn fast_subscriber(bencher: Bencher<'_, '_>) {
    let executor = Executor::new();
    let mut events = executor.subscribe();
    let reader = thread::spawn(move || {
        runtime().block_on(async {
            let mut read = 0_u64;
            while let Some(event) = events.recv().await {
                black_box(&event);
                read += 1;
            }
            (read, events.missed())
        })
    });
    bench_runs(bencher, &executor);
    drop(executor);
    let (read, missed) = reader.join().expect("the reader ends");
    assert!(
        read > 0,
        "the subscriber read {read} events, missed {missed}"
    );
}

#[divan::bench]
fn local_subscriber(bencher: Bencher<'_, '_>) {
    let executor = Executor::new();
    let mut events = executor.subscribe();
    let runtime = runtime();
    let reader = runtime.spawn(async move {
        let mut read = 0_u64;
        while let Some(event) = events.recv().await {
            black_box(&event);
            read += 1;
        }
        (read, events.missed())
    });
    bench_runs_on(bencher, &executor, &runtime);
    drop(executor);
    let (read, missed) = runtime.block_on(reader).expect("the reader ends");
    assert!(
        read > 0,
        "the subscriber read {read} events, missed {missed}"
    );
}

#[divan::bench]
fn idle_subscriber(bencher: Bencher<'_, '_>) {
    let executor = Executor::new();
    let events = executor.subscribe();
    bench_runs(bencher, &executor);
    drop(events);
}

#[divan::bench]
fn plain_run(bencher: Bencher<'_, '_>) {
    let runtime = runtime();
    bencher.bench_local(|| {
        let output = runtime.block_on(Chain.run(black_box(0)));
        black_box(output.expect("the chain runs"))
    });
}
