//! The same writer ↔ critic workflow twice: with `#[workflow]`, and written by hand against the
//! public runtime API only. Both must produce the same outputs, errors and serialized states:
//! the macro lowers to public API.

use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};
use workflow::state::Loops;
use workflow::{Context, Error, Executor, Workflow};

/// The critic's verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Verdict {
    Approved(String),
    /// Write again from this topic.
    Restart(String),
    /// Revise the draft; no feedback means the draft cannot be saved.
    Revise {
        draft: String,
        feedback: String,
    },
}

/// A transient failure of the critic.
#[derive(Debug)]
struct Flake;

impl std::fmt::Display for Flake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the critic flaked")
    }
}

impl std::error::Error for Flake {}

/// What both versions call: a writer and a critic, deterministic.
#[derive(Default)]
struct Desk {
    /// Revisions the critic wants before it approves.
    needed: usize,
    /// Whether every other critique attempt fails.
    flaky: bool,
    attempts: AtomicU32,
}

impl Desk {
    fn draft(&self, topic: &str) -> String {
        format!("on {topic}")
    }

    fn critique(&self, draft: String) -> Result<Verdict, Flake> {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        if self.flaky && attempt % 2 == 1 {
            return Err(Flake);
        }
        Ok(if draft.contains("stubborn") {
            Verdict::Restart(draft.trim_start_matches("on ").to_owned())
        } else if draft.contains("off-topic") {
            Verdict::Restart(draft.replace("on off-topic", "on-topic"))
        } else if draft.contains("nonsense") {
            Verdict::Revise {
                draft,
                feedback: String::new(),
            }
        } else if draft.matches('+').count() >= self.needed {
            Verdict::Approved(draft)
        } else {
            Verdict::Revise {
                draft,
                feedback: "more".into(),
            }
        })
    }

    fn revise(&self, draft: &str, feedback: &str) -> String {
        format!("{draft} +{feedback}")
    }
}

mod with_macro {
    use super::{Desk, Flake, Verdict};
    use workflow::prelude::*;

    pub(crate) struct Article(pub(crate) Desk);

    #[workflow(state = pub(crate) ArticleState)]
    impl Article {
        async fn draft(&self, topic: String) -> String {
            self.0.draft(&topic)
        }

        #[step(retry = 2, backoff = "5ms")]
        async fn critique(&self, draft: String) -> Result<Verdict, Flake> {
            self.0.critique(draft)
        }

        async fn revise(&self, (draft, feedback): (String, String)) -> String {
            self.0.revise(&draft, &feedback)
        }

        flow! {
            type Output = String;
            start -> draft -> critique;
            critique -> match {
                Verdict::Approved(text) => end(text),
                Verdict::Restart(topic) => draft(topic) [max 1],
                Verdict::Revise { draft, feedback } if feedback.is_empty() => end(draft),
                Verdict::Revise { draft, feedback } => revise((draft, feedback)) [max 2 else end(draft)],
            };
            revise -> critique;
        }
    }
}

mod by_hand {
    use std::time::Duration;

    use super::{Desk, Verdict};
    use serde::{Deserialize, Serialize};
    use workflow::{BoxError, Context, Error, Run, StepPolicy, Workflow};

    pub(crate) struct Article(pub(crate) Desk);

    /// Serialized like the macro's: externally tagged by step name.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub(crate) enum ArticleState {
        Draft(String),
        Critique(String),
        Revise((String, String)),
        End(String),
    }

    const DEFAULT: StepPolicy = StepPolicy::new();
    const CRITIQUE: StepPolicy = StepPolicy::new().retry(2).backoff(Duration::from_millis(5));

    /// The bounded edges, numbered in the order `flow!` writes them.
    const RESTART: usize = 0;
    const REVISE: usize = 1;

    impl Workflow for Article {
        type Input = String;
        type Output = String;
        type State = ArticleState;
        const NAME: &'static str = "Article";
        const FINGERPRINT: u64 = 1;
        const STEPS: &'static [&'static str] = &["draft", "critique", "revise"];

        fn start(topic: String) -> ArticleState {
            ArticleState::Draft(topic)
        }

        fn finish(state: ArticleState) -> Result<String, ArticleState> {
            match state {
                ArticleState::End(out) => Ok(out),
                other => Err(other),
            }
        }

        fn step_name(state: &ArticleState) -> &'static str {
            match state {
                ArticleState::Draft(_) => "draft",
                ArticleState::Critique(_) => "critique",
                ArticleState::Revise(_) => "revise",
                ArticleState::End(_) => "end",
            }
        }

        async fn transition(
            &self,
            state: ArticleState,
            cx: &mut Context,
        ) -> Result<ArticleState, Error> {
            Ok(match state {
                ArticleState::Draft(topic) => {
                    let draft = async { Ok(self.0.draft(&topic)) };
                    ArticleState::Critique(cx.step("draft", &DEFAULT, draft).await?)
                }
                ArticleState::Critique(draft) => {
                    let verdict = cx
                        .step_with_retry("critique", &CRITIQUE, || {
                            let draft = draft.clone();
                            async move { self.0.critique(draft).map_err(BoxError::from) }
                        })
                        .await?;
                    route(verdict, cx)?
                }
                ArticleState::Revise((draft, feedback)) => {
                    let revised = async { Ok(self.0.revise(&draft, &feedback)) };
                    ArticleState::Critique(cx.step("revise", &DEFAULT, revised).await?)
                }
                done @ ArticleState::End(_) => done,
            })
        }
    }

    /// The `match` of `flow!`.
    fn route(verdict: Verdict, cx: &mut Context) -> Result<ArticleState, Error> {
        Ok(match verdict {
            Verdict::Approved(text) => ArticleState::End(text),
            Verdict::Restart(topic) => {
                if !cx.take_edge(RESTART, 1) {
                    return Err(Error::LoopLimit {
                        workflow: "Article",
                        from: "critique",
                        to: "draft",
                        max: 1,
                    });
                }
                ArticleState::Draft(topic)
            }
            Verdict::Revise { draft, feedback } if feedback.is_empty() => ArticleState::End(draft),
            Verdict::Revise { draft, feedback } => {
                if cx.take_edge(REVISE, 2) {
                    ArticleState::Revise((draft, feedback))
                } else {
                    ArticleState::End(draft)
                }
            }
        })
    }

    impl Article {
        /// What the macro's `run` does.
        pub(crate) fn run(&self, topic: String) -> Run<'_, Self> {
            Run::new(self, topic)
        }
    }
}

/// The cases both versions run: (topic, revisions needed, flaky critic).
const CASES: &[(&str, usize, bool)] = &[
    ("rust", 0, false),
    ("rust", 2, false),
    ("rust", 2, true),
    ("rust", 5, false),
    ("rust", 5, true),
    ("nonsense", 0, false),
    ("off-topic", 1, false),
    ("off-topic", 1, true),
    ("stubborn", 0, false),
    ("stubborn", 0, true),
];

fn desk(needed: usize, flaky: bool) -> Desk {
    Desk {
        needed,
        flaky,
        ..Desk::default()
    }
}

/// An outcome as text: the output, or the error with its fields.
fn outcome(result: Result<String, Error>) -> String {
    match result {
        Ok(out) => format!("ok: {out}"),
        Err(error) => format!("error: {error:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn both_versions_produce_the_same_outcomes() {
    let mut errors = 0;
    for &(topic, needed, flaky) in CASES {
        let generated = with_macro::Article(desk(needed, flaky));
        let manual = by_hand::Article(desk(needed, flaky));
        let from_macro = outcome(generated.run(topic.into()).await);
        let from_hand = outcome(manual.run(topic.into()).await);
        assert_eq!(from_macro, from_hand, "{topic}, {needed}, {flaky}");
        // The same through an executor whose runs are watched: its events and usage.
        let executor = Executor::new();
        let _events = executor.subscribe();
        let executed = executor
            .start(&with_macro::Article(desk(needed, flaky)), topic.into())
            .await;
        assert_eq!(outcome(executed), from_macro, "{topic}, {needed}, {flaky}");
        assert_eq!(
            generated.0.attempts.load(Ordering::SeqCst),
            manual.0.attempts.load(Ordering::SeqCst),
            "same critique attempts"
        );
        errors += usize::from(from_macro.starts_with("error"));
    }
    // The cases cover both ends and the loop limit.
    assert_eq!(errors, 2, "the two stubborn cases hit the restart bound");
    let stubborn = with_macro::Article(desk(0, false))
        .run("stubborn".into())
        .await;
    assert!(
        matches!(
            stubborn,
            Err(Error::LoopLimit {
                workflow: "Article",
                from: "critique",
                to: "draft",
                max: 1
            })
        ),
        "got {stubborn:?}"
    );
}

/// Every state a run goes through, serialized with the loop counters, until it ends or fails.
async fn trace<W: Workflow>(workflow: &W, input: W::Input) -> Vec<String> {
    let mut cx = Context::new(W::NAME);
    let mut state = W::start(input);
    let mut trace = Vec::new();
    loop {
        let json = serde_json::to_string(&state).expect("serializes");
        let counters = serde_json::to_string(cx.loops()).expect("serializes");
        trace.push(format!("{} {json} {counters}", W::step_name(&state)));
        state = match W::finish(state) {
            Ok(_) => return trace,
            Err(state) => match workflow.transition(state, &mut cx).await {
                Ok(next) => next,
                Err(error) => {
                    trace.push(format!("{error:?}"));
                    return trace;
                }
            },
        };
    }
}

#[tokio::test(start_paused = true)]
async fn both_versions_go_through_the_same_serialized_states() {
    for &(topic, needed, flaky) in CASES {
        let generated = trace(&with_macro::Article(desk(needed, flaky)), topic.into()).await;
        let manual = trace(&by_hand::Article(desk(needed, flaky)), topic.into()).await;
        assert_eq!(generated, manual, "{topic}, {needed}, {flaky}");
    }
    let rust = trace(&by_hand::Article(desk(1, false)), "rust".into()).await;
    assert_eq!(
        rust,
        [
            r#"draft {"draft":"rust"} []"#,
            r#"critique {"critique":"on rust"} []"#,
            r#"revise {"revise":["on rust","more"]} [0,1]"#,
            r#"critique {"critique":"on rust +more"} [0,1]"#,
            r#"end {"end":"on rust +more"} [0,1]"#,
        ]
    );
}

#[tokio::test]
async fn a_state_saved_by_one_version_resumes_in_the_other() {
    let saved = r#"{"revise":["on rust +more","more"]}"#;
    let loops: Loops = serde_json::from_str("[0,2]").expect("counters");
    let state: by_hand::ArticleState = serde_json::from_str(saved).expect("hand state");
    let manual = by_hand::Article(desk(3, false));
    let executor = Executor::new();
    let from_hand = executor.start_from(&manual, state, loops.clone()).await;
    let state: with_macro::ArticleState = serde_json::from_str(saved).expect("macro state");
    let generated = with_macro::Article(desk(3, false));
    let from_macro = executor.start_from(&generated, state, loops).await;
    assert_eq!(outcome(from_hand), "ok: on rust +more +more");
    assert_eq!(outcome(from_macro), "ok: on rust +more +more");
}

#[test]
fn both_versions_have_the_same_name_and_steps() {
    assert_eq!(
        <with_macro::Article as Workflow>::NAME,
        <by_hand::Article as Workflow>::NAME
    );
    assert_eq!(
        <with_macro::Article as Workflow>::STEPS,
        <by_hand::Article as Workflow>::STEPS
    );
}
