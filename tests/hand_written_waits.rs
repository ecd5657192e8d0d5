//! A signal and a durable timer written twice: with `#[workflow]` (`receive`, `sleep`), and by
//! hand against the public runtime API only (`PauseState`, `SleepState`, `Workflow::receives`,
//! `deliver_json`, `check_signal`, `signals`, `wakes_at`, `Signal`). Both go through the same checkpoints
//! with the same states, and end with the same output: the macro lowers to public API.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use workflow::state::{PauseState, PauseValue, SleepState};
use workflow::{
    Context, Error, MemoryStore, Outcome, Runner, Signal, SignalDefinition, StepPolicy, Workflow,
    WorkflowDefinition,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Go {
    by: String,
}

/// With the macro.
struct Macro;

#[workflow::workflow]
impl Macro {
    async fn ask(&self, task: String) -> String {
        format!("{task}?")
    }
    async fn hear(&self, asked: String, go: Go) -> String {
        format!("{asked} go, says {}", go.by)
    }
    async fn act(&self, heard: String) -> String {
        format!("{heard}: done")
    }

    flow! {
        start -> ask -> receive hear -> sleep "500ms" -> act -> end;
    }
}

/// By hand.
struct Hand;

#[derive(Debug, Serialize, Deserialize)]
enum HandState {
    #[serde(rename = "ask")]
    Ask(String),
    #[serde(rename = "hear")]
    Hear(PauseState<String, Go>),
    #[serde(rename = "act")]
    Act(SleepState<String>),
    #[serde(rename = "end")]
    End(String),
}

const POLICY: StepPolicy = StepPolicy::new();

impl Signal<Go> for Hand {
    const SIGNAL: &'static str = "Go";
}

impl Workflow for Hand {
    type Input = String;
    type Output = String;
    type State = HandState;
    const NAME: &'static str = "Hand";
    const FINGERPRINT: u64 = 1;
    const STEPS: &'static [&'static str] = &["ask", "hear", "act"];

    fn start(task: String) -> HandState {
        HandState::Ask(task)
    }

    fn finish(state: HandState) -> Result<String, HandState> {
        match state {
            HandState::End(out) => Ok(out),
            other => Err(other),
        }
    }

    fn step_name(state: &HandState) -> &'static str {
        match state {
            HandState::Ask(_) => "ask",
            HandState::Hear(_) => "hear",
            HandState::Act(_) => "act",
            HandState::End(_) => "end",
        }
    }

    fn wakes_at(state: &HandState) -> Option<SystemTime> {
        match state {
            HandState::Act(sleeping) => Some(sleeping.wakes_at()),
            _ => None,
        }
    }

    fn receives(state: &HandState) -> Option<&'static str> {
        match state {
            HandState::Hear(waiting) if waiting.is_waiting() => Some("Go"),
            _ => None,
        }
    }

    fn deliver_json(state: HandState, value: serde_json::Value) -> Result<HandState, Error> {
        match state {
            HandState::Hear(waiting) if waiting.is_waiting() => {
                let go: Go =
                    serde_json::from_value(value).map_err(|source| Error::SignalValue {
                        workflow: "Hand",
                        signal: "Go".into(),
                        expected: "Go",
                        source,
                    })?;
                Ok(HandState::Hear(waiting.give(go)))
            }
            other => Err(Error::NotPaused {
                workflow: "Hand",
                step: Self::step_name(&other),
            }),
        }
    }

    fn signals() -> Vec<SignalDefinition> {
        // `Go` has no JSON Schema: it does not derive `JsonSchema`.
        let value_type = std::any::type_name::<Go>();
        vec![SignalDefinition::new("Go", &["hear"], value_type, None)]
    }

    fn check_signal(signal: &str, value: &serde_json::Value) -> Result<(), Error> {
        let state = HandState::Hear(PauseState::waiting(String::new()));
        match signal {
            "Go" => Self::deliver_json(state, value.clone()).map(drop),
            _ => Err(Error::UnknownSignal {
                workflow: "Hand",
                signal: signal.into(),
                known: "`Go`".into(),
            }),
        }
    }

    async fn transition(&self, state: HandState, cx: &mut Context) -> Result<HandState, Error> {
        Ok(match state {
            HandState::Ask(task) => {
                let asked = cx
                    .step("ask", &POLICY, async { Ok(format!("{task}?")) })
                    .await?;
                HandState::Hear(PauseState::waiting(asked))
            }
            HandState::Hear(PauseState {
                input,
                value: PauseValue::Given(go),
            }) => {
                let heard = async { Ok(format!("{input} go, says {}", go.by)) };
                let heard = cx.step("hear", &POLICY, heard).await?;
                HandState::Act(SleepState::after(heard, Duration::from_millis(500)))
            }
            HandState::Hear(_) => {
                return Err(Error::AwaitingSignal {
                    workflow: "Hand",
                    step: "hear",
                    signal: "Go",
                })
            }
            HandState::Act(sleeping) => {
                let done = async { Ok(format!("{}: done", sleeping.input)) };
                HandState::End(cx.step("act", &POLICY, done).await?)
            }
            done @ HandState::End(_) => done,
        })
    }
}

/// Drives a run of `W` with the runner alone: start, send, resume until the end. Returns the
/// output and the states of its checkpoints, without the wake-up times.
async fn drive<W>(workflow: &W) -> (String, Vec<String>)
where
    W: Workflow<Input = String, Output = String> + Signal<Go>,
{
    let store = Arc::new(MemoryStore::new());
    let runner = Runner::new(store);
    let started = runner
        .start(workflow, "paint".into())
        .await
        .expect("starts");
    assert!(matches!(
        started.outcome,
        Outcome::Receiving {
            step: "hear",
            signal: "Go"
        }
    ));
    let wrong = runner
        .send_json::<W>(started.id, "Go", serde_json::json!({"by": 3}))
        .await;
    assert!(matches!(wrong, Err(Error::SignalValue { .. })), "{wrong:?}");
    let go = Go { by: "Ann".into() };
    runner.send::<W, Go>(started.id, go).await.expect("sends");
    let asleep = runner.resume(workflow, started.id).await.expect("resumes");
    let Outcome::Sleeping { step: "act", until } = asleep.outcome else {
        panic!("not asleep: {:?}", asleep.outcome);
    };
    tokio::time::sleep(until.duration_since(SystemTime::now()).unwrap_or_default()).await;
    let done = runner.resume(workflow, started.id).await.expect("resumes");
    let output = done.into_output().expect("finishes");
    let history = runner.history(started.id).await.expect("history");
    let states = history
        .iter()
        .map(|checkpoint| {
            let mut state: serde_json::Value =
                serde_json::from_str(&checkpoint.state).expect("JSON");
            // The wake-up time differs between two runs.
            if let Some(act) = state.get_mut("act") {
                act[1] = serde_json::json!(0);
            }
            state.to_string()
        })
        .collect();
    (output, states)
}

#[test]
fn both_versions_record_the_same_signals() {
    let (by_macro, by_hand) = (
        WorkflowDefinition::of::<Macro>(),
        WorkflowDefinition::of::<Hand>(),
    );
    assert_eq!(by_macro.signals, by_hand.signals);
    assert!(by_macro.signal("Go").is_some());
}

#[tokio::test]
async fn both_versions_wait_and_store_alike() {
    let (by_macro, macro_states) = drive(&Macro).await;
    let (by_hand, hand_states) = drive(&Hand).await;
    assert_eq!(by_macro, "paint? go, says Ann: done");
    assert_eq!(by_macro, by_hand);
    assert_eq!(macro_states, hand_states);
    assert_eq!(macro_states.len(), 5, "{macro_states:?}");
}
