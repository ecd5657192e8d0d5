//! Workflows that make model calls, written by hand against the public API, for the tests of
//! what durable runs spend: a chain with a pause, and a fan-out.

// `transition` is written as the trait declares it, as `#[workflow]` generates it.
#![allow(clippy::manual_async_fn)]

use std::error::Error as StdError;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use workflow_runtime::provider::{ChatResponse, Scripted, Usage};
use workflow_runtime::state::Branch;
use workflow_runtime::{Agent, Answer, Context, Error, Pause, StepPolicy, Workflow};

const POLICY: StepPolicy = StepPolicy::new();

type BoxError = Box<dyn StdError + Send + Sync>;

/// An agent whose calls report `usages` (input, output tokens), one per call, in order.
pub(crate) fn agent(usages: &[(u64, u64)]) -> Agent {
    let replies = usages
        .iter()
        .map(|(input, output)| ChatResponse::new("text").with_usage(Usage::new(*input, *output)));
    Agent::builder(Arc::new(Scripted::new().replies(replies))).build()
}

/// `draft -> publish`, or `draft -> review (a pause waiting for a note) -> publish` if its
/// input is `true`. `draft` and `publish` each make one call of `agent`; `publish` fails
/// after its call `fail_publish` times, and hangs after it (a crash) if `hang_publish`.
pub(crate) struct Spender {
    pub(crate) agent: Agent,
    pub(crate) fail_publish: AtomicU32,
    pub(crate) hang_publish: bool,
}

impl Spender {
    pub(crate) fn new(agent: Agent) -> Self {
        Spender {
            agent,
            fail_publish: AtomicU32::new(0),
            hang_publish: false,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SpenderState {
    Draft(bool),
    Review(String),
    Publish(String),
    End(String),
}

impl Workflow for Spender {
    type Input = bool;
    type Output = String;
    type State = SpenderState;
    const NAME: &'static str = "Spender";
    const FINGERPRINT: u64 = 11;
    const STEPS: &'static [&'static str] = &["draft", "review", "publish"];

    fn start(review: bool) -> SpenderState {
        SpenderState::Draft(review)
    }

    fn finish(state: SpenderState) -> Result<String, SpenderState> {
        match state {
            SpenderState::End(out) => Ok(out),
            other => Err(other),
        }
    }

    fn step_name(state: &SpenderState) -> &'static str {
        match state {
            SpenderState::Draft(_) => "draft",
            SpenderState::Review(_) => "review",
            SpenderState::Publish(_) => "publish",
            SpenderState::End(_) => "end",
        }
    }

    fn pause(state: &SpenderState) -> Option<Pause> {
        match state {
            SpenderState::Review(draft) => Some(Pause::new("review", json!({ "draft": draft }))),
            _ => None,
        }
    }

    fn answer_json(state: SpenderState, value: serde_json::Value) -> Result<SpenderState, Error> {
        let note = serde_json::from_value(value).map_err(|source| Error::AnswerValue {
            workflow: "Spender",
            step: "review",
            expected: "String",
            source,
        })?;
        Self::answer(state, note)
    }

    fn transition<'a>(
        &'a self,
        state: SpenderState,
        cx: &'a mut Context,
    ) -> impl Future<Output = Result<SpenderState, Error>> + Send + 'a {
        async move {
            match state {
                SpenderState::Draft(review) => {
                    let draft = cx
                        .step("draft", &POLICY, async {
                            Ok(self.agent.prompt("draft").await?)
                        })
                        .await?;
                    Ok(match review {
                        true => SpenderState::Review(draft),
                        false => SpenderState::Publish(draft),
                    })
                }
                SpenderState::Publish(draft) => {
                    let published = cx.step("publish", &POLICY, self.publish(draft)).await?;
                    Ok(SpenderState::End(published))
                }
                other => Ok(other),
            }
        }
    }
}

impl Spender {
    async fn publish(&self, draft: String) -> Result<String, BoxError> {
        let text = self.agent.prompt("publish").await?;
        if self.hang_publish {
            std::future::pending::<()>().await;
        }
        let fail = |left: u32| left.checked_sub(1);
        if self
            .fail_publish
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, fail)
            .is_ok()
        {
            return Err(Box::new(crate::workflows::Flake));
        }
        Ok(format!("{draft} {text}"))
    }
}

impl Answer<String> for Spender {
    fn answer(state: SpenderState, note: String) -> Result<SpenderState, Error> {
        match state {
            SpenderState::Review(draft) => Ok(SpenderState::Publish(format!("{draft} ({note})"))),
            other => Err(Error::NotPaused {
                workflow: "Spender",
                step: Self::step_name(&other),
            }),
        }
    }
}
/// `fan -> end`: three branches, each one call of `agent`; those in `hang` hang first.
pub(crate) struct SpendingFan {
    pub(crate) agent: Agent,
    pub(crate) hang: Vec<usize>,
    /// How many times each branch ran.
    pub(crate) runs: [AtomicU32; 3],
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SpendingFanState {
    Fan((u64, Vec<Branch<u64>>)),
    End(u64),
}

impl Workflow for SpendingFan {
    type Input = u64;
    type Output = u64;
    type State = SpendingFanState;
    const NAME: &'static str = "SpendingFan";
    const FINGERPRINT: u64 = 12;
    const STEPS: &'static [&'static str] = &["fan"];

    fn start(x: u64) -> SpendingFanState {
        SpendingFanState::Fan((x, Branch::pending(3)))
    }

    fn finish(state: SpendingFanState) -> Result<u64, SpendingFanState> {
        match state {
            SpendingFanState::End(out) => Ok(out),
            other => Err(other),
        }
    }

    fn step_name(state: &SpendingFanState) -> &'static str {
        match state {
            SpendingFanState::Fan(_) => "fan",
            SpendingFanState::End(_) => "end",
        }
    }

    fn transition<'a>(
        &'a self,
        state: SpendingFanState,
        cx: &'a mut Context,
    ) -> impl Future<Output = Result<SpendingFanState, Error>> + Send + 'a {
        async move {
            let SpendingFanState::Fan((x, done)) = state else {
                return Ok(state);
            };
            let branches = [0, 1, 2];
            let outs = cx
                .each("fan", &branches, done, 3, |index: &usize| {
                    let index = *index;
                    async move {
                        self.runs[index].fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(5 * index as u64)).await;
                        if self.hang.contains(&index) {
                            std::future::pending::<()>().await;
                        }
                        self.agent.prompt("branch").await?;
                        Ok(x + index as u64)
                    }
                })
                .await?;
            Ok(SpendingFanState::End(outs.iter().sum()))
        }
    }
}
