//! End to end: a `#[workflow]` whose steps call agents backed by `Scripted` with scripted
//! usage. What each step and the run spent, their cost, a retried step's attempts, budgets and
//! a typed answer that does not parse, as a run's report (`Run::report`) gives them.

use std::sync::Arc;

use workflow::prelude::*;
use workflow::provider::{ProviderError, ProviderErrorKind, Scripted, Usage};
use workflow::usage::{Budget, BudgetLimit, Ledger, Price, Pricing};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Review {
    approved: bool,
    notes: String,
}

struct Article {
    writer: Agent,
    critic: Agent,
}

#[workflow]
impl Article {
    #[step(retry = 2, backoff = "10ms")]
    async fn draft(&self, topic: String) -> Result<String> {
        self.writer.prompt(&format!("Write about {topic}.")).await
    }

    async fn review(&self, draft: String) -> Result<Review> {
        self.critic.extract(&format!("Review this: {draft}")).await
    }

    flow! {
        start -> draft -> review -> end;
    }
}

const REVIEW: &str = r#"{"approved": true, "notes": "crisp"}"#;

fn answer(text: &str, usage: Usage, model: &str) -> ChatResponse {
    ChatResponse::new(text).with_usage(usage).with_model(model)
}

fn article(writer: Scripted, critic: Scripted) -> Article {
    Article {
        writer: Agent::builder(Arc::new(writer)).name("writer").build(),
        critic: Agent::builder(Arc::new(critic)).name("critic").build(),
    }
}

fn pricing() -> Pricing {
    Pricing::new()
        .model("writer-1", Price::new(1.0, 2.0))
        .model("critic-1", Price::new(0.5, 1.5).with_cached_input(0.25))
}

#[tokio::test(start_paused = true)]
async fn usage_and_cost_are_reported_per_step_and_per_run() {
    let overloaded = ProviderError::new("scripted", ProviderErrorKind::Server, "overloaded");
    let writer = Scripted::new().reply(overloaded).reply(answer(
        "A draft.",
        Usage::new(200, 50),
        "writer-1",
    ));
    let critic_usage = Usage::new(300, 20).with_cached(100).with_reasoning(5);
    let critic = Scripted::new().reply(answer(REVIEW, critic_usage, "critic-1"));
    let executor = Executor::new().pricing(pricing());

    let report = executor
        .start(&article(writer, critic), "Rust".into())
        .report()
        .await;
    let review = report.outcome.output().cloned().expect("the review");
    assert_eq!(
        review,
        Review {
            approved: true,
            notes: "crisp".into()
        }
    );

    let usage = &report.usage;
    assert_eq!(usage.workflow, "Article");
    let steps: Vec<&str> = usage.steps.iter().map(|step| step.step).collect();
    assert_eq!(steps, ["draft", "review"]);

    // The draft step was retried once: both attempts' calls count.
    let draft = usage.step("draft").expect("draft made calls");
    assert_eq!((draft.calls, draft.failed_calls), (2, 1));
    assert_eq!(draft.usage, Usage::new(200, 50));
    assert!(
        (draft.cost_usd - 0.0003).abs() < 1e-12,
        "{}",
        draft.cost_usd
    );

    let review = usage.step("review").expect("review made a call");
    assert_eq!(
        (review.calls, review.failed_calls, review.usage),
        (1, 0, critic_usage)
    );
    // 200 input at $0.5/M, 100 cached at $0.25/M, 20 output at $1.5/M.
    assert!(
        (review.cost_usd - 0.000155).abs() < 1e-12,
        "{}",
        review.cost_usd
    );

    assert_eq!((usage.total.calls, usage.total.failed_calls), (3, 1));
    assert_eq!(
        usage.total.usage,
        Usage::new(500, 70).with_cached(100).with_reasoning(5)
    );
    assert!((usage.total.cost_usd - 0.000455).abs() < 1e-12);
}

#[tokio::test]
async fn a_call_budget_stops_the_workflow_with_a_typed_error_and_keeps_the_usage() {
    let writer = Scripted::new().reply(answer("A draft.", Usage::new(10, 10), "writer-1"));
    let critic = Arc::new(Scripted::new().reply(REVIEW));
    let workflow = Article {
        critic: Agent::builder(critic.clone()).build(),
        ..article(writer, Scripted::new())
    };
    let executor = Executor::new().budget(Budget::new().max_calls(1));

    let report = executor.start(&workflow, "Rust".into()).report().await;
    match &report.outcome {
        Outcome::Failed(Error::BudgetExceeded {
            workflow: "Article",
            step: Some("review"),
            limit: BudgetLimit::Calls(1),
            used: BudgetLimit::Calls(1),
        }) => {}
        other => panic!("expected the call budget to stop the run, got {other:?}"),
    }
    assert!(critic.requests().is_empty(), "the critic was never called");
    assert_eq!(report.usage.total.calls, 1);
    assert_eq!(
        report.usage.step("draft").map(|draft| draft.usage),
        Some(Usage::new(10, 10))
    );
}

#[tokio::test]
async fn a_token_budget_stops_the_workflow() {
    let writer = Scripted::new().reply(answer("A draft.", Usage::new(900, 200), "writer-1"));
    let workflow = article(writer, Scripted::new().reply(REVIEW));
    let executor = Executor::new().budget(Budget::new().max_tokens(1_000));
    let error = executor
        .start(&workflow, "Rust".into())
        .await
        .expect_err("over budget");
    assert!(matches!(
        error,
        Error::BudgetExceeded {
            step: Some("draft"),
            limit: BudgetLimit::Tokens(1_000),
            used: BudgetLimit::Tokens(1_100),
            ..
        }
    ));
}

#[tokio::test]
async fn an_answer_that_does_not_parse_fails_the_run_and_still_counts() {
    let writer = Scripted::new().reply("A draft.");
    let critic = Scripted::new().reply(answer("Looks great!", Usage::new(30, 3), "critic-1"));
    let report = Executor::new()
        .start(&article(writer, critic), "Rust".into())
        .report()
        .await;
    let Outcome::Failed(error) = &report.outcome else {
        panic!("expected a failure, got {:?}", report.outcome);
    };
    assert_eq!(error.step(), Some("review"), "{error:?}");
    match error.step_error::<Error>() {
        Some(Error::Extract { agent, target, .. }) => {
            assert_eq!(agent, "critic");
            assert!(target.ends_with("Review"), "{target}");
        }
        _ => panic!("expected an extract error, got {error:?}"),
    }
    let review = report.usage.step("review").expect("the critic's call");
    assert_eq!(
        (review.calls, review.failed_calls, review.usage),
        (1, 0, Usage::new(30, 3))
    );
}

#[tokio::test]
async fn the_generated_run_opens_no_ledger_but_counts_in_one_around_it() {
    let writer = || Scripted::new().reply(answer("A draft.", Usage::new(1, 2), "writer-1"));
    let critic = || Scripted::new().reply(answer(REVIEW, Usage::new(3, 4), "critic-1"));
    assert!(article(writer(), critic()).run("Rust".into()).await.is_ok());

    let ledger = Ledger::new("around");
    let workflow = article(writer(), critic());
    let review = ledger.scope(workflow.run("Rust".into())).await;
    assert!(review.is_ok());
    let report = ledger.report();
    assert_eq!(
        (report.total.calls, report.total.usage),
        (2, Usage::new(4, 6))
    );
    assert!(
        report.steps.is_empty(),
        "the ledger knows no steps of its own"
    );
}
