//! `MAX_STEPS`, the most steps any run can take: its value for a chain, a bounded loop, a
//! routing `match`, a fan-out and a map, and that the worst run takes exactly that many steps
//! (an executor limited to `MAX_STEPS` finishes it, one limited to one step fewer stops it).

use std::fmt::Debug;

use serde::{Deserialize, Serialize};
use workflow::prelude::*;
use workflow::Workflow;

/// Runs `input` on `workflow` under a step limit of `max_steps`, then of one fewer: the first
/// finishes, the second stops on the limit.
async fn takes_exactly<W>(workflow: &W, input: W::Input, max_steps: Option<u64>)
where
    W: Workflow + Sync,
    W::Input: Clone,
    W::Output: Debug,
{
    let max = max_steps.expect("a static envelope");
    let finished = Executor::new()
        .max_steps(max)
        .start(workflow, input.clone())
        .await;
    finished.unwrap_or_else(|error| panic!("{max} steps should fit: {error}"));
    let stopped = Executor::new()
        .max_steps(max - 1)
        .start(workflow, input)
        .await;
    assert!(
        matches!(stopped, Err(Error::StepLimit { .. })),
        "{} steps should not fit: {stopped:?}",
        max - 1
    );
}

struct Chain;

#[workflow]
impl Chain {
    async fn a(&self, x: u32) -> u32 {
        x + 1
    }
    async fn b(&self, x: u32) -> u32 {
        x + 1
    }
    async fn c(&self, x: u32) -> u32 {
        x + 1
    }
    flow! {
        start -> a -> b -> c -> end;
    }
}

#[tokio::test]
async fn a_chain_takes_each_step_once() {
    assert_eq!(Chain::MAX_STEPS, Some(3));
    takes_exactly(&Chain, 0, Chain::MAX_STEPS).await;
}

/// Revises until `n` reaches the goal, at most 3 times.
struct Revisions;

#[workflow]
impl Revisions {
    async fn draft(&self, goal: u32) -> (u32, u32) {
        (0, goal)
    }
    async fn review(&self, draft: (u32, u32)) -> (u32, u32) {
        draft
    }
    async fn revise(&self, (n, goal): (u32, u32)) -> (u32, u32) {
        (n + 1, goal)
    }
    flow! {
        type Output = u32;
        start -> draft -> review;
        review -> match {
            (n, goal) if n < goal => revise((n, goal)) [max 3 else end(n)],
            (n, _) => end(n),
        };
        revise -> review;
    }
}

#[tokio::test]
async fn a_bounded_loop_runs_to_its_bound() {
    // draft, review, then 3 times revise and review.
    assert_eq!(Revisions::MAX_STEPS, Some(2 + 3 * 2));
    // A goal past the bound takes the longest way.
    takes_exactly(&Revisions, 10, Revisions::MAX_STEPS).await;
    // A shorter run fits too.
    let short = Executor::new()
        .max_steps(Revisions::MAX_STEPS.unwrap_or_default())
        .start(&Revisions, 1)
        .await;
    assert_eq!(short.expect("fits"), 1);
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Size {
    Small(String),
    Large(String),
}

struct Triage;

#[workflow]
impl Triage {
    async fn classify(&self, text: String) -> Size {
        if text.len() > 3 {
            Size::Large(text)
        } else {
            Size::Small(text)
        }
    }
    async fn split(&self, text: String) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }
    async fn summarize(&self, parts: Vec<String>) -> String {
        parts.join("/")
    }
    flow! {
        type Output = String;
        start -> classify -> match {
            Size::Small(text) => end(text),
            Size::Large(text) => split(text),
        };
        split -> summarize -> end;
    }
}

#[tokio::test]
async fn a_routing_match_takes_its_longest_arm() {
    assert_eq!(Triage::MAX_STEPS, Some(3));
    takes_exactly(&Triage, "a long text".to_owned(), Triage::MAX_STEPS).await;
}

struct Forks;

#[workflow]
impl Forks {
    async fn split(&self, text: String) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }
    async fn shout(&self, word: String) -> String {
        word.to_uppercase()
    }
    async fn words(&self, words: Vec<String>) -> String {
        words.join(" ")
    }
    async fn length(&self, text: String) -> usize {
        text.len()
    }
    async fn count(&self, text: String) -> usize {
        text.split(' ').count()
    }
    async fn report(&self, (length, count): (usize, usize)) -> String {
        format!("{length}/{count}")
    }
    flow! {
        start -> split -> each shout [concurrency 2] -> words -> (length, count) -> report -> end;
    }
}

#[tokio::test]
async fn a_fan_out_or_a_map_is_one_step() {
    // split, the map, words, the fan-out, report: however many words.
    assert_eq!(Forks::MAX_STEPS, Some(5));
    takes_exactly(
        &Forks,
        "one two three four five six".to_owned(),
        Forks::MAX_STEPS,
    )
    .await;
}
