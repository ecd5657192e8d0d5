//! Fan-outs, maps and many concurrent runs of `#[workflow]`s against the same work written by
//! hand with `futures`/`tokio`.
//!
//! Group `fan_out` (driver: the run's future polled with [`Waker::noop`] until it is ready, no
//! runtime around it, as in `benches/overhead.rs`):
//!
//! - `map100`: `start -> split -> each work -> join -> end` over 100 elements, against
//!   `split`, `futures_util::future::join_all` over `work`, then `join`, the same three
//!   `async fn`s awaited by hand. `split` builds `0..n` in a `Vec`, `work` adds one, `join` sums.
//! - `map100_yield`: the same with a `work` that awaits `tokio::task::yield_now()` first, so
//!   that every element suspends once and is polled again.
//! - `map100_concurrency10_yield`: the map with `[concurrency 10]`, against
//!   `stream::iter(..).buffered(10)`, the hand-written bound, with the yielding `work`.
//!   (`[concurrency 100]` over 100 elements would run the very code of the unbounded map.)
//! - `fan_out4` and `fan_out4_yield`: `start -> (a, b, c, d) -> join -> end`, against
//!   `tokio::join!` of the four `async fn`s then `join`.
//! - `fan_out16` and `fan_out16_yield`: the same with sixteen branches, against one
//!   `tokio::join!` of the sixteen.
//!
//! Group `runs_10k`: 10,000 runs at once of a three-step workflow whose steps each await a 1 ms
//! `tokio::time::sleep`, against the same three `async fn`s awaited in sequence by hand. Each
//! run is its own task (`tokio::spawn`), as a server running one workflow per request would do;
//! the timed iteration spawns them all and awaits every `JoinHandle`.
//!
//! - `multi_thread`: a 2-worker multi-thread runtime, for wall time.
//! - `current_thread`: a current-thread runtime, for memory: every allocation then happens on
//!   the benchmark's thread, where divan's `AllocProfiler` (the global allocator of this binary)
//!   counts them, and `max alloc` is the peak of live bytes during one iteration (one iteration
//!   per sample). Divided by 10,000 it is the memory of one run in flight.
//!
//! `main` prints the size of each run's future (`size_of_val`, the state machine held in each
//! task) and checks that both sides of each pair compute the same value.
//!
//! Run with `cargo bench --bench parallel`; `BENCHMARKS.md` has the numbers.

use std::future::Future;
use std::mem::size_of_val;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use divan::{black_box, AllocProfiler, Bencher};
use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};
use workflow::prelude::*;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

/// Elements of the maps.
const ELEMENTS: u64 = 100;

/// Concurrent runs in group `runs_10k`.
const RUNS: u64 = 10_000;

fn main() {
    // Both sides of each pair compute the same thing.
    let sum = (1..=ELEMENTS).sum::<u64>();
    assert_eq!(block_on(Map.run(ELEMENTS)).ok(), Some(sum));
    assert_eq!(block_on(HandMap.run(ELEMENTS)).ok(), Some(sum));
    assert_eq!(block_on(MapYield.run(ELEMENTS)).ok(), Some(sum));
    assert_eq!(block_on(HandMapYield.run(ELEMENTS)).ok(), Some(sum));
    assert_eq!(block_on(MapLimited.run(ELEMENTS)).ok(), Some(sum));
    assert_eq!(block_on(HandMapLimited.run(ELEMENTS)).ok(), Some(sum));
    assert_eq!(block_on(Fan.run(1)).ok(), Some(14));
    assert_eq!(block_on(HandFan.run(1)).ok(), Some(14));
    assert_eq!(block_on(FanYield.run(1)).ok(), Some(14));
    assert_eq!(block_on(HandFanYield.run(1)).ok(), Some(14));
    let sum16 = (0..16).map(|i| 1 + i).sum::<u64>();
    assert_eq!(block_on(Fan16.run(1)).ok(), Some(sum16));
    assert_eq!(block_on(HandFan16.run(1)).ok(), Some(sum16));
    assert_eq!(block_on(Fan16Yield.run(1)).ok(), Some(sum16));
    assert_eq!(block_on(HandFan16Yield.run(1)).ok(), Some(sum16));
    let rt = current_thread();
    assert_eq!(rt.block_on(Three.run(0)).ok(), Some(3));
    assert_eq!(rt.block_on(HandThree.run(0)).ok(), Some(3));
    let expected = (3..RUNS + 3).sum::<u64>();
    assert_eq!(
        rt.block_on(spawn_runs(|i| async move { Three.run(i).await })),
        expected
    );
    assert_eq!(
        rt.block_on(spawn_runs(|i| async move { HandThree.run(i).await })),
        expected
    );

    println!("size_of_val of one run's future, in bytes (hand-written / #[workflow]):");
    let sizes = [
        (
            "map100",
            size_of_val(&HandMap.run(0)),
            size_of_val(&Map.run(0)),
        ),
        (
            "map100_concurrency10_yield",
            size_of_val(&HandMapLimited.run(0)),
            size_of_val(&MapLimited.run(0)),
        ),
        (
            "fan_out4",
            size_of_val(&HandFan.run(0)),
            size_of_val(&Fan.run(0)),
        ),
        (
            "fan_out4_yield",
            size_of_val(&HandFanYield.run(0)),
            size_of_val(&FanYield.run(0)),
        ),
        (
            "three_sleeps",
            size_of_val(&HandThree.run(0)),
            size_of_val(&Three.run(0)),
        ),
    ];
    for (name, hand, ours) in sizes {
        #[allow(clippy::cast_precision_loss)]
        let ratio = ours as f64 / hand as f64;
        println!("  {name:<28} {hand:>5} / {ours:>5}  ({ratio:.2}x)");
    }
    println!();
    divan::main();
}

/// Polls `future` to completion with a waker that does nothing: a future that yields is polled
/// again at once.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread tokio runtime")
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a multi-thread tokio runtime")
}

// ---------------------------------------------------------------------------------------------
// A map over 100 elements, every element running at once.

struct Map;

#[workflow]
impl Map {
    async fn split(&self, n: u64) -> Vec<u64> {
        (0..black_box(n)).collect()
    }

    async fn work(&self, x: u64) -> u64 {
        black_box(x) + 1
    }

    async fn join(&self, values: Vec<u64>) -> u64 {
        values.iter().sum()
    }

    flow! {
        start -> split -> each work -> join -> end;
    }
}

struct HandMap;

impl HandMap {
    async fn split(&self, n: u64) -> Vec<u64> {
        (0..black_box(n)).collect()
    }

    async fn work(&self, x: u64) -> u64 {
        black_box(x) + 1
    }

    #[allow(clippy::needless_pass_by_value)]
    async fn join(&self, values: Vec<u64>) -> u64 {
        values.iter().sum()
    }

    async fn run(&self, n: u64) -> Result<u64> {
        let items = self.split(n).await;
        let values = join_all(items.iter().map(|&x| self.work(x))).await;
        Ok(self.join(values).await)
    }
}

// The same, with elements that suspend once.

struct MapYield;

#[workflow]
impl MapYield {
    async fn split(&self, n: u64) -> Vec<u64> {
        (0..black_box(n)).collect()
    }

    async fn work(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 1
    }

    async fn join(&self, values: Vec<u64>) -> u64 {
        values.iter().sum()
    }

    flow! {
        start -> split -> each work -> join -> end;
    }
}

struct HandMapYield;

impl HandMapYield {
    async fn split(&self, n: u64) -> Vec<u64> {
        (0..black_box(n)).collect()
    }

    async fn work(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 1
    }

    #[allow(clippy::needless_pass_by_value)]
    async fn join(&self, values: Vec<u64>) -> u64 {
        values.iter().sum()
    }

    async fn run(&self, n: u64) -> Result<u64> {
        let items = self.split(n).await;
        let values = join_all(items.iter().map(|&x| self.work(x))).await;
        Ok(self.join(values).await)
    }
}

// The same, at most 10 elements at a time.

struct MapLimited;

#[workflow]
impl MapLimited {
    async fn split(&self, n: u64) -> Vec<u64> {
        (0..black_box(n)).collect()
    }

    async fn work(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 1
    }

    async fn join(&self, values: Vec<u64>) -> u64 {
        values.iter().sum()
    }

    flow! {
        start -> split -> each work [concurrency 10] -> join -> end;
    }
}

struct HandMapLimited;

impl HandMapLimited {
    async fn split(&self, n: u64) -> Vec<u64> {
        (0..black_box(n)).collect()
    }

    async fn work(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 1
    }

    #[allow(clippy::needless_pass_by_value)]
    async fn join(&self, values: Vec<u64>) -> u64 {
        values.iter().sum()
    }

    async fn run(&self, n: u64) -> Result<u64> {
        let items = self.split(n).await;
        let values = stream::iter(items.iter().map(|&x| self.work(x)))
            .buffered(10)
            .collect()
            .await;
        Ok(self.join(values).await)
    }
}

// ---------------------------------------------------------------------------------------------
// A static fan-out of four branches.

struct Fan;

#[workflow]
impl Fan {
    async fn a(&self, x: u64) -> u64 {
        black_box(x) + 1
    }
    async fn b(&self, x: u64) -> u64 {
        black_box(x) + 2
    }
    async fn c(&self, x: u64) -> u64 {
        black_box(x) + 3
    }
    async fn d(&self, x: u64) -> u64 {
        black_box(x) + 4
    }

    async fn join(&self, (a, b, c, d): (u64, u64, u64, u64)) -> u64 {
        a + b + c + d
    }

    flow! {
        start -> (a, b, c, d) -> join -> end;
    }
}

struct HandFan;

impl HandFan {
    async fn a(&self, x: u64) -> u64 {
        black_box(x) + 1
    }
    async fn b(&self, x: u64) -> u64 {
        black_box(x) + 2
    }
    async fn c(&self, x: u64) -> u64 {
        black_box(x) + 3
    }
    async fn d(&self, x: u64) -> u64 {
        black_box(x) + 4
    }

    async fn join(&self, (a, b, c, d): (u64, u64, u64, u64)) -> u64 {
        a + b + c + d
    }

    async fn run(&self, x: u64) -> Result<u64> {
        let joined = tokio::join!(self.a(x), self.b(x), self.c(x), self.d(x));
        Ok(self.join(joined).await)
    }
}

// The same, with branches that suspend once.

struct FanYield;

#[workflow]
impl FanYield {
    async fn a(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 1
    }
    async fn b(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 2
    }
    async fn c(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 3
    }
    async fn d(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 4
    }

    async fn join(&self, (a, b, c, d): (u64, u64, u64, u64)) -> u64 {
        a + b + c + d
    }

    flow! {
        start -> (a, b, c, d) -> join -> end;
    }
}

struct HandFanYield;

impl HandFanYield {
    async fn a(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 1
    }
    async fn b(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 2
    }
    async fn c(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 3
    }
    async fn d(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 4
    }

    async fn join(&self, (a, b, c, d): (u64, u64, u64, u64)) -> u64 {
        a + b + c + d
    }

    async fn run(&self, x: u64) -> Result<u64> {
        let joined = tokio::join!(self.a(x), self.b(x), self.c(x), self.d(x));
        Ok(self.join(joined).await)
    }
}

// ---------------------------------------------------------------------------------------------
// A static fan-out of sixteen branches.

/// The outputs of the sixteen branches.
type Sixteen = (
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
);

/// Sums the outputs of the sixteen branches.
fn sum16(t: Sixteen) -> u64 {
    let (b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15) = t;
    [
        b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15,
    ]
    .iter()
    .sum()
}

struct Fan16;

#[workflow]
impl Fan16 {
    async fn b0(&self, x: u64) -> u64 {
        black_box(x)
    }
    async fn b1(&self, x: u64) -> u64 {
        black_box(x) + 1
    }
    async fn b2(&self, x: u64) -> u64 {
        black_box(x) + 2
    }
    async fn b3(&self, x: u64) -> u64 {
        black_box(x) + 3
    }
    async fn b4(&self, x: u64) -> u64 {
        black_box(x) + 4
    }
    async fn b5(&self, x: u64) -> u64 {
        black_box(x) + 5
    }
    async fn b6(&self, x: u64) -> u64 {
        black_box(x) + 6
    }
    async fn b7(&self, x: u64) -> u64 {
        black_box(x) + 7
    }
    async fn b8(&self, x: u64) -> u64 {
        black_box(x) + 8
    }
    async fn b9(&self, x: u64) -> u64 {
        black_box(x) + 9
    }
    async fn b10(&self, x: u64) -> u64 {
        black_box(x) + 10
    }
    async fn b11(&self, x: u64) -> u64 {
        black_box(x) + 11
    }
    async fn b12(&self, x: u64) -> u64 {
        black_box(x) + 12
    }
    async fn b13(&self, x: u64) -> u64 {
        black_box(x) + 13
    }
    async fn b14(&self, x: u64) -> u64 {
        black_box(x) + 14
    }
    async fn b15(&self, x: u64) -> u64 {
        black_box(x) + 15
    }

    async fn join(&self, all: Sixteen) -> u64 {
        sum16(all)
    }

    flow! {
        start -> (b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15) -> join -> end;
    }
}

struct HandFan16;

impl HandFan16 {
    async fn b0(&self, x: u64) -> u64 {
        black_box(x)
    }
    async fn b1(&self, x: u64) -> u64 {
        black_box(x) + 1
    }
    async fn b2(&self, x: u64) -> u64 {
        black_box(x) + 2
    }
    async fn b3(&self, x: u64) -> u64 {
        black_box(x) + 3
    }
    async fn b4(&self, x: u64) -> u64 {
        black_box(x) + 4
    }
    async fn b5(&self, x: u64) -> u64 {
        black_box(x) + 5
    }
    async fn b6(&self, x: u64) -> u64 {
        black_box(x) + 6
    }
    async fn b7(&self, x: u64) -> u64 {
        black_box(x) + 7
    }
    async fn b8(&self, x: u64) -> u64 {
        black_box(x) + 8
    }
    async fn b9(&self, x: u64) -> u64 {
        black_box(x) + 9
    }
    async fn b10(&self, x: u64) -> u64 {
        black_box(x) + 10
    }
    async fn b11(&self, x: u64) -> u64 {
        black_box(x) + 11
    }
    async fn b12(&self, x: u64) -> u64 {
        black_box(x) + 12
    }
    async fn b13(&self, x: u64) -> u64 {
        black_box(x) + 13
    }
    async fn b14(&self, x: u64) -> u64 {
        black_box(x) + 14
    }
    async fn b15(&self, x: u64) -> u64 {
        black_box(x) + 15
    }

    async fn join(&self, all: Sixteen) -> u64 {
        sum16(all)
    }

    async fn run(&self, x: u64) -> Result<u64> {
        let joined = tokio::join!(
            self.b0(x),
            self.b1(x),
            self.b2(x),
            self.b3(x),
            self.b4(x),
            self.b5(x),
            self.b6(x),
            self.b7(x),
            self.b8(x),
            self.b9(x),
            self.b10(x),
            self.b11(x),
            self.b12(x),
            self.b13(x),
            self.b14(x),
            self.b15(x)
        );
        Ok(self.join(joined).await)
    }
}

// The same, with branches that suspend once.

struct Fan16Yield;

#[workflow]
impl Fan16Yield {
    async fn b0(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x)
    }
    async fn b1(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 1
    }
    async fn b2(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 2
    }
    async fn b3(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 3
    }
    async fn b4(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 4
    }
    async fn b5(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 5
    }
    async fn b6(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 6
    }
    async fn b7(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 7
    }
    async fn b8(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 8
    }
    async fn b9(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 9
    }
    async fn b10(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 10
    }
    async fn b11(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 11
    }
    async fn b12(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 12
    }
    async fn b13(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 13
    }
    async fn b14(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 14
    }
    async fn b15(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 15
    }

    async fn join(&self, all: Sixteen) -> u64 {
        sum16(all)
    }

    flow! {
        start -> (b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15) -> join -> end;
    }
}

struct HandFan16Yield;

impl HandFan16Yield {
    async fn b0(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x)
    }
    async fn b1(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 1
    }
    async fn b2(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 2
    }
    async fn b3(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 3
    }
    async fn b4(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 4
    }
    async fn b5(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 5
    }
    async fn b6(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 6
    }
    async fn b7(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 7
    }
    async fn b8(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 8
    }
    async fn b9(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 9
    }
    async fn b10(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 10
    }
    async fn b11(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 11
    }
    async fn b12(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 12
    }
    async fn b13(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 13
    }
    async fn b14(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 14
    }
    async fn b15(&self, x: u64) -> u64 {
        tokio::task::yield_now().await;
        black_box(x) + 15
    }

    async fn join(&self, all: Sixteen) -> u64 {
        sum16(all)
    }

    async fn run(&self, x: u64) -> Result<u64> {
        let joined = tokio::join!(
            self.b0(x),
            self.b1(x),
            self.b2(x),
            self.b3(x),
            self.b4(x),
            self.b5(x),
            self.b6(x),
            self.b7(x),
            self.b8(x),
            self.b9(x),
            self.b10(x),
            self.b11(x),
            self.b12(x),
            self.b13(x),
            self.b14(x),
            self.b15(x)
        );
        Ok(self.join(joined).await)
    }
}

// ---------------------------------------------------------------------------------------------
// Three steps, each awaiting a 1 ms sleep.

struct Three;

#[workflow]
impl Three {
    async fn s0(&self, x: u64) -> Result<u64> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(x + 1)
    }
    async fn s1(&self, x: u64) -> Result<u64> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(x + 1)
    }
    async fn s2(&self, x: u64) -> Result<u64> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(x + 1)
    }

    flow! {
        start -> s0 -> s1 -> s2 -> end;
    }
}

struct HandThree;

impl HandThree {
    async fn s0(&self, x: u64) -> Result<u64> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(x + 1)
    }
    async fn s1(&self, x: u64) -> Result<u64> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(x + 1)
    }
    async fn s2(&self, x: u64) -> Result<u64> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(x + 1)
    }

    async fn run(&self, x: u64) -> Result<u64> {
        let x = self.s0(x).await?;
        let x = self.s1(x).await?;
        let x = self.s2(x).await?;
        Ok(x)
    }
}

/// Spawns `RUNS` runs, run `i` on input `i`, each its own task, then awaits them all; returns
/// the sum of their outputs. Must be called inside a runtime.
async fn spawn_runs<F, Fut>(run: F) -> u64
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<u64>> + Send + 'static,
{
    let mut handles = Vec::with_capacity(RUNS as usize);
    for i in 0..RUNS {
        handles.push(tokio::spawn(run(black_box(i))));
    }
    let mut sum = 0;
    for handle in handles {
        sum += handle.await.expect("the run's task").expect("the run");
    }
    sum
}

// ---------------------------------------------------------------------------------------------
// The benchmarks.
//
// Both sides of a pair time the same number of runs per sample. Left to choose, divan doubles
// a sample's runs until the slowest sample of a round takes 2 µs (100 times its timer's 20 ns),
// so a run that now and then takes a few microseconds (an interrupt, a page fault) is timed
// one run a sample, each rounded to the timer's grain, while its pair is timed in batches.

#[divan::bench_group(sample_count = 1000, sample_size = 64)]
mod fan_out {
    use super::*;

    #[divan::bench]
    fn map100_hand_written(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(HandMap.run(black_box(ELEMENTS)))));
    }

    #[divan::bench]
    fn map100_workflow(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(Map.run(black_box(ELEMENTS)))));
    }

    #[divan::bench]
    fn map100_yield_hand_written(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(HandMapYield.run(black_box(ELEMENTS)))));
    }

    #[divan::bench]
    fn map100_yield_workflow(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(MapYield.run(black_box(ELEMENTS)))));
    }

    #[divan::bench]
    fn map100_concurrency10_yield_hand_written(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(HandMapLimited.run(black_box(ELEMENTS)))));
    }

    #[divan::bench]
    fn map100_concurrency10_yield_workflow(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(MapLimited.run(black_box(ELEMENTS)))));
    }

    #[divan::bench]
    fn fan_out4_hand_written(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(HandFan.run(black_box(1)))));
    }

    #[divan::bench]
    fn fan_out4_workflow(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(Fan.run(black_box(1)))));
    }

    #[divan::bench]
    fn fan_out4_yield_hand_written(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(HandFanYield.run(black_box(1)))));
    }

    #[divan::bench]
    fn fan_out4_yield_workflow(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(FanYield.run(black_box(1)))));
    }

    #[divan::bench]
    fn fan_out16_hand_written(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(HandFan16.run(black_box(1)))));
    }

    #[divan::bench]
    fn fan_out16_workflow(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(Fan16.run(black_box(1)))));
    }

    #[divan::bench]
    fn fan_out16_yield_hand_written(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(HandFan16Yield.run(black_box(1)))));
    }

    #[divan::bench]
    fn fan_out16_yield_workflow(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(Fan16Yield.run(black_box(1)))));
    }
}

/// One iteration per sample, so that `max alloc` is the peak of one iteration.
#[divan::bench_group(sample_count = 100, sample_size = 1)]
mod runs_10k {
    use super::*;

    #[divan::bench]
    fn multi_thread_hand_written(bencher: Bencher<'_, '_>) {
        let rt = multi_thread();
        bencher.bench_local(|| {
            black_box(rt.block_on(spawn_runs(|i| async move { HandThree.run(i).await })))
        });
    }

    #[divan::bench]
    fn multi_thread_workflow(bencher: Bencher<'_, '_>) {
        let rt = multi_thread();
        bencher.bench_local(|| {
            black_box(rt.block_on(spawn_runs(|i| async move { Three.run(i).await })))
        });
    }

    #[divan::bench]
    fn current_thread_hand_written(bencher: Bencher<'_, '_>) {
        let rt = current_thread();
        bencher.bench_local(|| {
            black_box(rt.block_on(spawn_runs(|i| async move { HandThree.run(i).await })))
        });
    }

    #[divan::bench]
    fn current_thread_workflow(bencher: Bencher<'_, '_>) {
        let rt = current_thread();
        bencher.bench_local(|| {
            black_box(rt.block_on(spawn_runs(|i| async move { Three.run(i).await })))
        });
    }
}
