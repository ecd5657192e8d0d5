//! The checkpointable state `#[workflow]` generates: its serde form, resuming from it, the
//! definition fingerprint, the Mermaid diagram and the step names.

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::json;
use workflow::prelude::*;
use workflow::state::Loops;
use workflow::Context;

/// The critic's verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Verdict {
    Approved(String),
    Revise { draft: String, feedback: String },
}

/// A writer ↔ critic loop whose critic approves after `needed` revisions.
struct Article {
    needed: usize,
    revisions: AtomicU32,
}

impl Article {
    fn new(needed: usize) -> Self {
        Article {
            needed,
            revisions: AtomicU32::new(0),
        }
    }
}

#[workflow]
impl Article {
    async fn draft(&self, topic: String) -> String {
        format!("on {topic}")
    }

    async fn critique(&self, draft: String) -> Result<Verdict> {
        Ok(if draft.matches('+').count() >= self.needed {
            Verdict::Approved(draft)
        } else {
            Verdict::Revise {
                draft,
                feedback: "more".into(),
            }
        })
    }

    async fn revise(&self, (draft, feedback): (String, String)) -> String {
        self.revisions.fetch_add(1, Ordering::SeqCst);
        format!("{draft} +{feedback}")
    }

    flow! {
        type Output = String;
        start -> draft -> critique;
        critique -> match {
            Verdict::Approved(text) => end(text),
            Verdict::Revise { draft, feedback } => revise((draft, feedback)) [max 3 else end(draft)],
        };
        revise -> critique;
    }
}

#[test]
fn every_variant_round_trips_through_json() {
    let states = [
        (ArticleState::Draft("rust".into()), json!({"draft": "rust"})),
        (
            ArticleState::Critique("text".into()),
            json!({"critique": "text"}),
        ),
        (
            ArticleState::Revise(("text".into(), "more".into())),
            json!({"revise": ["text", "more"]}),
        ),
        (ArticleState::End("done".into()), json!({"end": "done"})),
    ];
    let mut names = Vec::new();
    for (state, expected) in states {
        let value = serde_json::to_value(&state).expect("serializes");
        assert_eq!(value, expected);
        let text = serde_json::to_string(&state).expect("serializes");
        let from_str: ArticleState = serde_json::from_str(&text).expect("deserializes");
        let from_value: ArticleState = serde_json::from_value(value).expect("deserializes");
        for back in [&from_str, &from_value] {
            assert_eq!(serde_json::to_value(back).expect("serializes"), expected);
            assert_eq!(Article::step_name(back), Article::step_name(&state));
        }
        names.push(Article::step_name(&state));
    }
    assert_eq!(names, ["draft", "critique", "revise", "end"]);
}

#[test]
fn malformed_states_are_serde_errors() {
    for (text, message) in [
        (r#"{"nope": 1}"#, "unknown variant `nope`"),
        (r#"{"Critique": "text"}"#, "unknown variant `Critique`"),
        (r#"{"critique": 5}"#, "invalid type"),
        (r#"{"revise": ["only one"]}"#, "invalid length"),
        (r#"{"revise": "text"}"#, "invalid type"),
        (r#""critique""#, "invalid type"),
        (r#"{"critique": "a", "draft": "b"}"#, ""),
        ("{}", ""),
        ("[]", ""),
        ("null", ""),
        ("42", ""),
        (r#"{"critique": "#, "EOF"),
    ] {
        let error = serde_json::from_str::<ArticleState>(text)
            .err()
            .unwrap_or_else(|| panic!("{text} should not deserialize"));
        assert!(
            error.to_string().contains(message),
            "{text}: `{error}` should mention `{message}`"
        );
    }
}

/// Runs `steps` transitions by hand, then "crashes": returns the state and loop counters as
/// they would be stored.
async fn checkpoint_after<W: Workflow>(
    workflow: &W,
    input: W::Input,
    steps: usize,
) -> (String, String) {
    let mut cx = Context::new(W::NAME);
    let mut state = W::start(input);
    for _ in 0..steps {
        state = workflow
            .transition(state, &mut cx)
            .await
            .expect("step succeeds");
    }
    let state = serde_json::to_string(&state).expect("serializes");
    let loops = serde_json::to_string(cx.loops()).expect("serializes");
    (state, loops)
}

/// Resumes a fresh workflow from a stored checkpoint.
async fn resume(article: &Article, (state, loops): &(String, String)) -> Result<String> {
    let state: ArticleState = serde_json::from_str(state).expect("a stored state");
    let loops: Loops = serde_json::from_str(loops).expect("stored counters");
    Executor::new().start_from(article, state, loops).await
}

#[tokio::test]
async fn resuming_at_any_point_gives_the_uninterrupted_output() {
    for needed in [0, 2, 5] {
        let uninterrupted = Article::new(needed);
        let whole = uninterrupted.run("rust".into()).await.expect("runs");
        let revisions = uninterrupted.revisions.load(Ordering::SeqCst);
        // draft, then critique/revise pairs: at most 1 + 1 + 2 * 3 transitions.
        for steps in 0..=9 {
            let before = Article::new(needed);
            let saved = checkpoint_after(&before, "rust".into(), steps).await;
            let after = Article::new(needed);
            let resumed = resume(&after, &saved).await.expect("resumes");
            assert_eq!(
                resumed, whole,
                "needed {needed}, resumed after {steps} steps"
            );
            let total =
                before.revisions.load(Ordering::SeqCst) + after.revisions.load(Ordering::SeqCst);
            assert_eq!(total, revisions, "no step runs twice, none is skipped");
        }
    }
}

#[tokio::test]
async fn a_resumed_loop_still_stops_at_its_bound() {
    // draft, critique, revise, critique, revise: the loop was taken twice.
    let saved = checkpoint_after(&Article::new(9), "rust".into(), 5).await;
    assert_eq!(saved.0, r#"{"critique":"on rust +more +more"}"#);
    assert_eq!(saved.1, "[2]");

    let resumed = Article::new(9);
    let out = resume(&resumed, &saved).await.expect("falls back");
    assert_eq!(out, "on rust +more +more +more");
    assert_eq!(
        resumed.revisions.load(Ordering::SeqCst),
        1,
        "one round left"
    );

    // Without the counters, the loop would start over.
    let forgetful = Article::new(9);
    let fresh = (saved.0.clone(), "[]".to_owned());
    let out = resume(&forgetful, &fresh).await.expect("falls back");
    assert_eq!(out, "on rust +more +more +more +more +more");
    assert_eq!(forgetful.revisions.load(Ordering::SeqCst), 3);
}

/// Defines a workflow `Probe` in module `$module`, whose first step takes `$input` and whose
/// step `b` goes to `$b_next`.
macro_rules! probe {
    ($module:ident, [$($input:tt)+], $b_next:ident) => {
        mod $module {
            use workflow::prelude::*;

            pub(crate) struct Probe;

            #[workflow]
            impl Probe {
                async fn a(&self, text: $($input)+) -> String {
                    text.to_string()
                }

                async fn b(&self, text: String) -> String {
                    text
                }

                async fn c(&self, text: String) -> String {
                    text
                }

                flow! {
                    type Output = String;
                    start -> a;
                    a -> match {
                        text if text.is_empty() => b(text),
                        text => c(text),
                    };
                    b -> $b_next;
                    c -> end;
                }
            }
        }
    };
}

probe!(one, [String], c);
probe!(same, [String], c);
probe!(edge, [String], end);
probe!(ty, [Box<str>], c);

#[test]
fn the_fingerprint_tracks_the_definition() {
    let one = <one::Probe as Workflow>::FINGERPRINT;
    assert_eq!(
        one,
        <same::Probe as Workflow>::FINGERPRINT,
        "identical definitions"
    );
    assert_ne!(
        one,
        <edge::Probe as Workflow>::FINGERPRINT,
        "one edge differs"
    );
    assert_ne!(
        one,
        <ty::Probe as Workflow>::FINGERPRINT,
        "one step type differs"
    );
    assert_ne!(one, <Article as Workflow>::FINGERPRINT);
}

#[tokio::test]
async fn the_probes_run() {
    assert_eq!(one::Probe.run("x".into()).await.expect("runs"), "x");
    assert_eq!(edge::Probe.run(String::new()).await.expect("runs"), "");
    assert_eq!(ty::Probe.run("y".into()).await.expect("runs"), "y");
}

#[test]
fn mermaid_shows_every_node_and_edge() {
    assert_eq!(
        one::Probe::MERMAID,
        "flowchart TD\n    start((start))\n    a[\"a\"]\n    b[\"b\"]\n    c[\"c\"]\n    stop((end))\n    \
         start --> a\n    a -->|\"text if text.is_empty()\"| b\n    a -->|\"text\"| c\n    \
         b --> c\n    c --> stop\n"
    );
    let lines: Vec<&str> = Article::MERMAID.lines().map(str::trim).collect();
    for expected in [
        "flowchart TD",
        "start((start))",
        "draft[\"draft\"]",
        "critique[\"critique\"]",
        "revise[\"revise\"]",
        "stop((end))",
        "start --> draft",
        "draft --> critique",
        "critique -->|\"Verdict::Approved(text)\"| stop",
        "critique -->|\"Verdict::Revise { draft, feedback } [max 3]\"| revise",
        "critique -.->|\"else\"| stop",
        "revise --> critique",
    ] {
        assert!(
            lines.contains(&expected),
            "missing `{expected}` in\n{}",
            Article::MERMAID
        );
    }
    assert_eq!(lines.len(), 12, "no other line in\n{}", Article::MERMAID);
}

#[test]
fn steps_and_names() {
    assert_eq!(<Article as Workflow>::NAME, "Article");
    assert_eq!(
        <Article as Workflow>::STEPS,
        ["draft", "critique", "revise"]
    );
    assert_eq!(<one::Probe as Workflow>::STEPS, ["a", "b", "c"]);
    let start = <Article as Workflow>::start("rust".into());
    assert_eq!(Article::step_name(&start), "draft");
    assert!(Article::finish(start).is_err(), "not terminal");
    match Article::finish(ArticleState::End("out".into())) {
        Ok(out) => assert_eq!(out, "out"),
        Err(_) => panic!("`End` is terminal"),
    }
    // The index a watched run tells its scope is the step's place in `STEPS`.
    for (state, index) in [
        (<Article as Workflow>::start("rust".into()), Some(0)),
        (ArticleState::Critique("d".into()), Some(1)),
        (ArticleState::Revise(("d".into(), "f".into())), Some(2)),
        (ArticleState::End("out".into()), None),
    ] {
        assert_eq!(Article::__step_index(&state), index, "{state:?}");
        let name = Article::step_name(&state);
        let looked_up = <Article as Workflow>::STEPS
            .iter()
            .position(|step| *step == name);
        assert_eq!(looked_up, index, "{state:?}");
    }
}
