//! Workflows written by hand against the public API, for the durable tests: a three-step
//! chain with knobs, an approval with a pause, and a fan-out that checkpoints mid-step.

// `transition` is written as the trait declares it, as `#[workflow]` generates it.
#![allow(clippy::manual_async_fn)]

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Notify;
use workflow_runtime::state::Branch;
use workflow_runtime::{Answer, Context, Error, Pause, PauseDefinition, StepPolicy, Workflow};

const POLICY: StepPolicy = StepPolicy::new();

/// A transient failure of a step.
#[derive(Debug)]
pub(crate) struct Flake;

impl std::fmt::Display for Flake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the step flaked")
    }
}

impl std::error::Error for Flake {}

/// `first -> second -> third`: `x + 1`, `x * 10`, `x + 7`; 1 gives 27. `FP` is its
/// fingerprint, so that a "changed definition" is `Chain<2>`.
#[derive(Default)]
pub(crate) struct Chain<const FP: u64 = 1> {
    /// How many times each step ran.
    pub(crate) runs: [AtomicU32; 3],
    /// A step that never finishes: the process "crashes" in it.
    pub(crate) hang_at: Option<usize>,
    /// Told when the step that never finishes has started (the steps before it saved).
    pub(crate) hung: Arc<Notify>,
    /// A step that fails this many times first.
    pub(crate) fail_at: Option<(usize, AtomicU32)>,
    /// A step that panics this many times first.
    pub(crate) panic_at: Option<(usize, AtomicU32)>,
    /// How long each step takes.
    pub(crate) sleep: Duration,
    /// How long the first step blocks its thread (no `.await`).
    pub(crate) block: Duration,
}

impl<const FP: u64> Chain<FP> {
    pub(crate) fn hanging_at(step: usize) -> Self {
        Chain {
            hang_at: Some(step),
            ..Self::default()
        }
    }

    pub(crate) fn failing_at(step: usize, times: u32) -> Self {
        Chain {
            fail_at: Some((step, AtomicU32::new(times))),
            ..Self::default()
        }
    }

    pub(crate) fn panicking_at(step: usize, times: u32) -> Self {
        Chain {
            panic_at: Some((step, AtomicU32::new(times))),
            ..Self::default()
        }
    }

    pub(crate) fn sleeping(sleep: Duration) -> Self {
        Chain {
            sleep,
            ..Self::default()
        }
    }

    pub(crate) fn runs(&self) -> [u32; 3] {
        self.runs.each_ref().map(|runs| runs.load(Ordering::SeqCst))
    }

    async fn step(&self, index: usize, x: u64) -> Result<u64, Flake> {
        self.runs[index].fetch_add(1, Ordering::SeqCst);
        if index == 0 && !self.block.is_zero() {
            std::thread::sleep(self.block);
        }
        if !self.sleep.is_zero() {
            tokio::time::sleep(self.sleep).await;
        }
        if self.hang_at == Some(index) {
            self.hung.notify_one();
            std::future::pending::<()>().await;
        }
        if let Some((at, left)) = &self.fail_at {
            if *at == index
                && left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            {
                return Err(Flake);
            }
        }
        if let Some((at, left)) = &self.panic_at {
            if *at == index
                && left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            {
                panic!("step {index} panics on {x}");
            }
        }
        Ok(match index {
            0 => x + 1,
            1 => x * 10,
            _ => x + 7,
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ChainState {
    First(u64),
    Second(u64),
    Third(u64),
    End(u64),
}

impl<const FP: u64> Workflow for Chain<FP> {
    type Input = u64;
    type Output = u64;
    type State = ChainState;
    const NAME: &'static str = "Chain";
    const FINGERPRINT: u64 = FP;
    const STEPS: &'static [&'static str] = &["first", "second", "third"];

    fn start(input: u64) -> ChainState {
        ChainState::First(input)
    }

    fn finish(state: ChainState) -> Result<u64, ChainState> {
        match state {
            ChainState::End(out) => Ok(out),
            other => Err(other),
        }
    }

    fn step_name(state: &ChainState) -> &'static str {
        match state {
            ChainState::First(_) => "first",
            ChainState::Second(_) => "second",
            ChainState::Third(_) => "third",
            ChainState::End(_) => "end",
        }
    }

    fn transition<'a>(
        &'a self,
        state: ChainState,
        cx: &'a mut Context,
    ) -> impl Future<Output = Result<ChainState, Error>> + Send + 'a {
        async move {
            let (index, name, x) = match state {
                ChainState::First(x) => (0, "first", x),
                ChainState::Second(x) => (1, "second", x),
                ChainState::Third(x) => (2, "third", x),
                end @ ChainState::End(_) => return Ok(end),
            };
            let out = cx
                .step(name, &POLICY, async { Ok(self.step(index, x).await?) })
                .await?;
            Ok(match index {
                0 => ChainState::Second(out),
                1 => ChainState::Third(out),
                _ => ChainState::End(out),
            })
        }
    }
}

/// A human's decision on a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub(crate) struct Decision {
    pub(crate) approved: bool,
    pub(crate) note: String,
}

/// `draft -> approve (a pause waiting for a Decision) -> publish`.
#[derive(Default)]
pub(crate) struct Approval {
    pub(crate) drafts: AtomicU32,
    pub(crate) publishes: AtomicU32,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ApprovalState {
    Draft(String),
    Approve(String),
    Publish((String, Decision)),
    End(String),
}

impl Approval {
    fn given(state: ApprovalState, decision: Decision) -> Result<ApprovalState, Error> {
        match state {
            ApprovalState::Approve(draft) => Ok(ApprovalState::Publish((draft, decision))),
            other => Err(Error::NotPaused {
                workflow: "Approval",
                step: Self::step_name(&other),
            }),
        }
    }
}

impl Workflow for Approval {
    type Input = String;
    type Output = String;
    type State = ApprovalState;
    const NAME: &'static str = "Approval";
    const FINGERPRINT: u64 = 7;
    const STEPS: &'static [&'static str] = &["draft", "approve", "publish"];
    const MERMAID: &'static str =
        "flowchart TD\n  start --> draft --> approve --> publish --> end\n";

    fn pauses() -> Vec<PauseDefinition> {
        let schema = serde_json::to_value(schemars::schema_for!(Decision)).ok();
        vec![PauseDefinition::new("approve", "Decision", schema)]
    }

    fn start(topic: String) -> ApprovalState {
        ApprovalState::Draft(topic)
    }

    fn finish(state: ApprovalState) -> Result<String, ApprovalState> {
        match state {
            ApprovalState::End(out) => Ok(out),
            other => Err(other),
        }
    }

    fn step_name(state: &ApprovalState) -> &'static str {
        match state {
            ApprovalState::Draft(_) => "draft",
            ApprovalState::Approve(_) => "approve",
            ApprovalState::Publish(_) => "publish",
            ApprovalState::End(_) => "end",
        }
    }

    fn pause(state: &ApprovalState) -> Option<Pause> {
        match state {
            ApprovalState::Approve(draft) => Some(Pause::new("approve", json!({ "draft": draft }))),
            _ => None,
        }
    }

    fn answer_json(state: ApprovalState, value: serde_json::Value) -> Result<ApprovalState, Error> {
        if !matches!(state, ApprovalState::Approve(_)) {
            let step = Self::step_name(&state);
            return Err(Error::NotPaused {
                workflow: "Approval",
                step,
            });
        }
        let decision = serde_json::from_value(value).map_err(|source| Error::AnswerValue {
            workflow: "Approval",
            step: "approve",
            expected: "Decision",
            source,
        })?;
        Self::given(state, decision)
    }

    fn transition<'a>(
        &'a self,
        state: ApprovalState,
        _cx: &'a mut Context,
    ) -> impl Future<Output = Result<ApprovalState, Error>> + Send + 'a {
        async move {
            Ok(match state {
                ApprovalState::Draft(topic) => {
                    self.drafts.fetch_add(1, Ordering::SeqCst);
                    ApprovalState::Approve(format!("a draft on {topic}"))
                }
                ApprovalState::Publish((draft, decision)) => {
                    self.publishes.fetch_add(1, Ordering::SeqCst);
                    ApprovalState::End(match decision.approved {
                        true => format!("published: {draft} ({})", decision.note),
                        false => format!("rejected: {}", decision.note),
                    })
                }
                other => other,
            })
        }
    }
}

impl Answer<Decision> for Approval {
    fn answer(state: ApprovalState, decision: Decision) -> Result<ApprovalState, Error> {
        Self::given(state, decision)
    }
}

/// `fan -> end`: step `fan` runs three branches concurrently (`x + 1`, `x * 2`, `x * x`)
/// and sums them; each finished branch is saved as it finishes (`Context::each`), so a
/// resumed run does not run it again.
#[derive(Default)]
pub(crate) struct Fan {
    /// How many times each branch ran.
    pub(crate) runs: [AtomicU32; 3],
    /// Branches that never finish.
    pub(crate) hang: Vec<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FanState {
    /// `x`, and each branch, finished or not.
    Fan((u64, Vec<Branch<u64>>)),
    End(u64),
}

impl Fan {
    pub(crate) fn runs(&self) -> [u32; 3] {
        self.runs.each_ref().map(|runs| runs.load(Ordering::SeqCst))
    }

    async fn branch(&self, index: usize, x: u64) -> u64 {
        self.runs[index].fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(5 * index as u64)).await;
        if self.hang.contains(&index) {
            std::future::pending::<()>().await;
        }
        [x + 1, x * 2, x * x][index]
    }
}

impl Workflow for Fan {
    type Input = u64;
    type Output = u64;
    type State = FanState;
    const NAME: &'static str = "Fan";
    const FINGERPRINT: u64 = 3;
    const STEPS: &'static [&'static str] = &["fan"];

    fn start(x: u64) -> FanState {
        FanState::Fan((x, Branch::pending(3)))
    }

    fn finish(state: FanState) -> Result<u64, FanState> {
        match state {
            FanState::End(out) => Ok(out),
            other => Err(other),
        }
    }

    fn step_name(state: &FanState) -> &'static str {
        match state {
            FanState::Fan(_) => "fan",
            FanState::End(_) => "end",
        }
    }

    fn transition<'a>(
        &'a self,
        state: FanState,
        cx: &'a mut Context,
    ) -> impl Future<Output = Result<FanState, Error>> + Send + 'a {
        async move {
            let FanState::Fan((x, done)) = state else {
                return Ok(state);
            };
            let branches = [0, 1, 2];
            let outs = cx
                .each("fan", &branches, done, 3, |index: &usize| {
                    let index = *index;
                    async move { Ok(self.branch(index, x).await) }
                })
                .await?;
            Ok(FanState::End(outs.iter().sum()))
        }
    }
}
