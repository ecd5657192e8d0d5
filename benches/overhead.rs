//! Per-step overhead of an in-memory `#[workflow]` run against the same work written by hand.
//!
//! Three pairs; the first two are also measured with the other drivers (see below):
//!
//! - `chain`: ten steps in sequence, each taking and returning a `u64`. The workflow is
//!   `start -> s0 -> … -> s9 -> end`; the hand-written side awaits the ten `async fn`s one
//!   after the other with `?`, as a real pipeline would.
//! - `formatting_chain`: ten steps in sequence that each do a little real work, formatting a new
//!   `String` (one allocation), to show the ratio once a step does anything at all.
//! - `self_loop`: one step looping back to itself until it has run 1000 times, through a
//!   bounded edge `[max 1000]`; the hand-written side is a `while` loop awaiting the same
//!   `async fn`, with the same bound check and the same `Error::LoopLimit` if it is exceeded.
//!
//! Both sides run the very same step bodies: `async fn(&self, u64) -> Result<u64>` returning
//! `Ok(black_box(x) + 1)`. The `black_box` stands for the step's opaque work: without it the
//! hand-written chain folds into a single `x + 10` and there is no per-step cost left to compare.
//! Inputs and outputs of every run also go through `black_box`.
//!
//! Drivers, the same for both sides of a pair:
//!
//! - `noop_waker`: the run's future is pinned on the stack and polled with
//!   [`Waker::noop`] until it is ready. No step ever suspends, so this is exactly one poll and
//!   measures the code of the run itself, with no runtime around it. LLVM may inline the run
//!   into the benchmark's loop, or not, depending on the future's size and drop code.
//! - `opaque_poll`: the same, but polled through a function that is never inlined, as an
//!   executor polls a task through its vtable, so that neither side gains from that choice.
//! - `tokio_current_thread`: `Runtime::block_on` on a current-thread tokio runtime built once,
//!   outside the timed loop; it adds a constant cost per run (entering the runtime), shared by
//!   both sides.
//!
//! Run with `cargo bench --bench overhead`; `BENCHMARKS.md` has the numbers.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use divan::{black_box, Bencher};
use workflow::prelude::*;

fn main() {
    // Both sides of each pair compute the same thing.
    assert_eq!(block_on(Chain.run(0)).ok(), Some(10));
    assert_eq!(block_on(HandChain.run(0)).ok(), Some(10));
    assert_eq!(block_on(Looper.run(0)).ok(), Some(LOOPS));
    assert_eq!(block_on(HandLooper.run(0)).ok(), Some(LOOPS));
    let formatted = block_on(Formatting.run("x".into())).ok();
    assert_eq!(formatted.as_deref(), Some("x0123456789"));
    assert_eq!(block_on(HandFormatting.run("x".into())).ok(), formatted);
    divan::main();
}

/// How many times the looping step runs.
const LOOPS: u64 = 1000;

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

/// Polls `future` to completion with a waker that does nothing, through a function that is
/// never inlined: as an executor polls a task, through its vtable.
fn block_on_opaque<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = poll_opaque(future.as_mut(), &mut cx) {
            return output;
        }
    }
}

#[inline(never)]
fn poll_opaque<F: Future>(future: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<F::Output> {
    future.poll(cx)
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread tokio runtime")
}

// ---------------------------------------------------------------------------------------------
// Chain of ten steps.

struct Chain;

#[workflow]
impl Chain {
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

struct HandChain;

impl HandChain {
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

    async fn run(&self, x: u64) -> Result<u64> {
        let x = self.s0(x).await?;
        let x = self.s1(x).await?;
        let x = self.s2(x).await?;
        let x = self.s3(x).await?;
        let x = self.s4(x).await?;
        let x = self.s5(x).await?;
        let x = self.s6(x).await?;
        let x = self.s7(x).await?;
        let x = self.s8(x).await?;
        let x = self.s9(x).await?;
        Ok(x)
    }
}

// ---------------------------------------------------------------------------------------------
// One step looping back to itself.

struct Looper;

#[workflow]
impl Looper {
    async fn tick(&self, n: u64) -> Result<u64> {
        Ok(black_box(n) + 1)
    }

    flow! {
        type Output = u64;
        start -> tick;
        tick -> match {
            n if n < LOOPS => tick(n) [max 1000],
            n => end(n),
        };
    }
}

struct HandLooper;

impl HandLooper {
    async fn tick(&self, n: u64) -> Result<u64> {
        Ok(black_box(n) + 1)
    }

    async fn run(&self, n: u64) -> Result<u64> {
        const MAX: u32 = 1000;
        let mut n = self.tick(n).await?;
        let mut taken = 0_u32;
        while n < LOOPS {
            if taken == MAX {
                return Err(Error::LoopLimit {
                    workflow: "HandLooper",
                    from: "tick",
                    to: "tick",
                    max: MAX,
                });
            }
            taken += 1;
            n = self.tick(n).await?;
        }
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------------------
// Chain of ten steps that do a little real work: each formats a new string, one allocation.

struct Formatting;

#[workflow]
impl Formatting {
    async fn s0(&self, text: String) -> Result<String> {
        Ok(format!("{text}0"))
    }
    async fn s1(&self, text: String) -> Result<String> {
        Ok(format!("{text}1"))
    }
    async fn s2(&self, text: String) -> Result<String> {
        Ok(format!("{text}2"))
    }
    async fn s3(&self, text: String) -> Result<String> {
        Ok(format!("{text}3"))
    }
    async fn s4(&self, text: String) -> Result<String> {
        Ok(format!("{text}4"))
    }
    async fn s5(&self, text: String) -> Result<String> {
        Ok(format!("{text}5"))
    }
    async fn s6(&self, text: String) -> Result<String> {
        Ok(format!("{text}6"))
    }
    async fn s7(&self, text: String) -> Result<String> {
        Ok(format!("{text}7"))
    }
    async fn s8(&self, text: String) -> Result<String> {
        Ok(format!("{text}8"))
    }
    async fn s9(&self, text: String) -> Result<String> {
        Ok(format!("{text}9"))
    }

    flow! {
        start -> s0 -> s1 -> s2 -> s3 -> s4 -> s5 -> s6 -> s7 -> s8 -> s9 -> end;
    }
}

struct HandFormatting;

impl HandFormatting {
    async fn s0(&self, text: String) -> Result<String> {
        Ok(format!("{text}0"))
    }
    async fn s1(&self, text: String) -> Result<String> {
        Ok(format!("{text}1"))
    }
    async fn s2(&self, text: String) -> Result<String> {
        Ok(format!("{text}2"))
    }
    async fn s3(&self, text: String) -> Result<String> {
        Ok(format!("{text}3"))
    }
    async fn s4(&self, text: String) -> Result<String> {
        Ok(format!("{text}4"))
    }
    async fn s5(&self, text: String) -> Result<String> {
        Ok(format!("{text}5"))
    }
    async fn s6(&self, text: String) -> Result<String> {
        Ok(format!("{text}6"))
    }
    async fn s7(&self, text: String) -> Result<String> {
        Ok(format!("{text}7"))
    }
    async fn s8(&self, text: String) -> Result<String> {
        Ok(format!("{text}8"))
    }
    async fn s9(&self, text: String) -> Result<String> {
        Ok(format!("{text}9"))
    }

    async fn run(&self, text: String) -> Result<String> {
        let text = self.s0(text).await?;
        let text = self.s1(text).await?;
        let text = self.s2(text).await?;
        let text = self.s3(text).await?;
        let text = self.s4(text).await?;
        let text = self.s5(text).await?;
        let text = self.s6(text).await?;
        let text = self.s7(text).await?;
        let text = self.s8(text).await?;
        let text = self.s9(text).await?;
        Ok(text)
    }
}

// ---------------------------------------------------------------------------------------------
// The benchmarks.
//
// Both sides of a pair time the same number of runs per sample. Left to choose, divan doubles
// a sample's runs until the slowest sample of a round takes 2 µs (100 times its timer's 20 ns),
// so a run that now and then takes a few microseconds (an interrupt, a page fault) is timed
// one run a sample, each rounded to the timer's grain, while its pair is timed in batches.

#[divan::bench_group(sample_count = 1000, sample_size = 64)]
mod noop_waker {
    use super::*;

    #[divan::bench]
    fn chain_workflow(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(Chain.run(black_box(0)))));
    }

    #[divan::bench]
    fn chain_hand_written(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(HandChain.run(black_box(0)))));
    }

    #[divan::bench]
    fn self_loop_workflow(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(Looper.run(black_box(0)))));
    }

    #[divan::bench]
    fn self_loop_hand_written(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(HandLooper.run(black_box(0)))));
    }

    #[divan::bench]
    fn formatting_chain_workflow(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on(Formatting.run(black_box(String::from("x"))))));
    }

    #[divan::bench]
    fn formatting_chain_hand_written(bencher: Bencher<'_, '_>) {
        bencher
            .bench_local(|| black_box(block_on(HandFormatting.run(black_box(String::from("x"))))));
    }
}

#[divan::bench_group(sample_count = 1000, sample_size = 64)]
mod opaque_poll {
    use super::*;

    #[divan::bench]
    fn chain_workflow(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on_opaque(Chain.run(black_box(0)))));
    }

    #[divan::bench]
    fn chain_hand_written(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on_opaque(HandChain.run(black_box(0)))));
    }

    #[divan::bench]
    fn self_loop_workflow(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on_opaque(Looper.run(black_box(0)))));
    }

    #[divan::bench]
    fn self_loop_hand_written(bencher: Bencher<'_, '_>) {
        bencher.bench_local(|| black_box(block_on_opaque(HandLooper.run(black_box(0)))));
    }
}

#[divan::bench_group(sample_count = 1000, sample_size = 64)]
mod tokio_current_thread {
    use super::*;

    #[divan::bench]
    fn chain_workflow(bencher: Bencher<'_, '_>) {
        let rt = tokio_runtime();
        bencher.bench_local(|| black_box(rt.block_on(Chain.run(black_box(0)))));
    }

    #[divan::bench]
    fn chain_hand_written(bencher: Bencher<'_, '_>) {
        let rt = tokio_runtime();
        bencher.bench_local(|| black_box(rt.block_on(HandChain.run(black_box(0)))));
    }

    #[divan::bench]
    fn self_loop_workflow(bencher: Bencher<'_, '_>) {
        let rt = tokio_runtime();
        bencher.bench_local(|| black_box(rt.block_on(Looper.run(black_box(0)))));
    }

    #[divan::bench]
    fn self_loop_hand_written(bencher: Bencher<'_, '_>) {
        let rt = tokio_runtime();
        bencher.bench_local(|| black_box(rt.block_on(HandLooper.run(black_box(0)))));
    }
}
