//! Usage and cost accounting of agents' calls, per step and per run, and budgets: with a
//! two-step workflow written by hand whose steps call agents backed by `Scripted`.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow_runtime::provider::{
    ChatResponse, ProviderError, ProviderErrorKind, Reply, Scripted, Usage,
};
use workflow_runtime::state::Loops;
use workflow_runtime::usage::{Budget, BudgetLimit, Ledger, Price, Pricing, UsageReport};
use workflow_runtime::{Agent, Context, Error, Executor, Run, StepPolicy, Workflow};

/// `draft` asks the writer once; `review` asks the reviewer `reviews` times, each time about
/// the last answer. A `lenient` step that gets an error from its agent carries on with its
/// input instead of failing.
struct Pair {
    writer: Agent,
    reviewer: Agent,
    reviews: usize,
    draft_policy: StepPolicy,
    review_policy: StepPolicy,
    lenient: bool,
}

#[derive(Serialize, Deserialize)]
enum PairState {
    Draft(String),
    Review(String),
    Done(String),
}

impl Pair {
    fn new(writer: Scripted, reviewer: Scripted) -> Self {
        Pair {
            writer: Agent::builder(Arc::new(writer)).name("writer").build(),
            reviewer: Agent::builder(Arc::new(reviewer)).name("reviewer").build(),
            reviews: 1,
            draft_policy: StepPolicy::new(),
            review_policy: StepPolicy::new(),
            lenient: false,
        }
    }

    async fn ask(&self, agent: &Agent, prompt: String) -> Result<String, Error> {
        match agent.prompt(&prompt).await {
            Err(_) if self.lenient => Ok(prompt),
            result => result,
        }
    }

    async fn review(&self, draft: String) -> Result<String, Error> {
        let mut last = draft;
        for _ in 0..self.reviews {
            last = self.ask(&self.reviewer, last).await?;
        }
        Ok(last)
    }
}

impl Workflow for Pair {
    type Input = String;
    type Output = String;
    type State = PairState;
    const NAME: &'static str = "Pair";
    const FINGERPRINT: u64 = 1;
    const STEPS: &'static [&'static str] = &["draft", "review"];

    fn start(input: String) -> PairState {
        PairState::Draft(input)
    }

    fn finish(state: PairState) -> Result<String, PairState> {
        match state {
            PairState::Done(output) => Ok(output),
            other => Err(other),
        }
    }

    fn step_name(state: &PairState) -> &'static str {
        match state {
            PairState::Draft(_) => "draft",
            PairState::Review(_) => "review",
            PairState::Done(_) => "end",
        }
    }

    async fn transition(&self, state: PairState, cx: &mut Context) -> Result<PairState, Error> {
        Ok(match state {
            PairState::Draft(topic) => {
                let attempt = || async { Ok(self.ask(&self.writer, topic.clone()).await?) };
                let draft = cx.step_with_retry("draft", &self.draft_policy, attempt);
                PairState::Review(draft.await?)
            }
            PairState::Review(draft) => {
                let review = async { Ok(self.review(draft).await?) };
                PairState::Done(cx.step("review", &self.review_policy, review).await?)
            }
            done @ PairState::Done(_) => done,
        })
    }
}

fn answer(text: &str, input: u64, output: u64) -> ChatResponse {
    ChatResponse::new(text).with_usage(Usage::new(input, output))
}

fn failure(kind: ProviderErrorKind) -> Reply {
    ProviderError::new("scripted", kind, "scripted failure").into()
}

/// How a run of `pair` ended, and what it spent.
struct Ran {
    result: Result<String, Error>,
    usage: UsageReport,
}

async fn report(executor: &Executor, pair: &Pair) -> Ran {
    let report = executor.start(pair, "topic".into()).report().await;
    let usage = report.usage.clone();
    Ran {
        result: report.into_output(),
        usage,
    }
}

#[tokio::test(start_paused = true)]
async fn calls_add_up_per_step_and_per_run() {
    let writer = Scripted::new()
        .reply(answer("a draft", 100, 20).with_model("big"))
        .delay(Duration::from_secs(3));
    let reviewer = Scripted::new()
        .replies([answer("better", 50, 10), answer("best", 60, 5)])
        .delay(Duration::from_secs(1));
    let pair = Pair {
        reviews: 2,
        ..Pair::new(writer, reviewer)
    };

    let report = report(&Executor::new(), &pair).await;
    assert_eq!(report.result.as_deref().ok(), Some("best"));
    let usage = &report.usage;
    assert_eq!(usage.workflow, "Pair");
    let steps: Vec<&str> = usage.steps.iter().map(|step| step.step).collect();
    assert_eq!(steps, ["draft", "review"]);

    let draft = usage.step("draft").expect("draft made a call");
    assert_eq!((draft.calls, draft.failed_calls), (1, 0));
    assert_eq!(draft.usage, Usage::new(100, 20));
    assert_eq!(draft.latency, Duration::from_secs(3));
    let review = usage.step("review").expect("review made calls");
    assert_eq!((review.calls, review.usage), (2, Usage::new(110, 15)));
    assert_eq!(review.latency, Duration::from_secs(2));

    assert_eq!((usage.total.calls, usage.total.failed_calls), (3, 0));
    assert_eq!(usage.total.usage, Usage::new(210, 35));
    assert_eq!(usage.total.latency, Duration::from_secs(5));
    assert_eq!(usage.total.cost_usd, 0.0);
    assert_eq!(usage.step("end"), None);
}

#[tokio::test]
async fn cost_comes_from_the_pricing_table() {
    let cached = Usage::new(1_000_000, 100_000).with_cached(400_000);
    let big = ChatResponse::new("draft")
        .with_usage(cached)
        .with_model("big-2024-06-01");
    let writer = Scripted::new().reply(big);
    let reviewer = Scripted::new().replies([
        answer("ok", 500_000, 0).with_model("small"),
        answer("ok", 1_000_000, 0).with_model("unknown"),
    ]);
    let pair = Pair {
        reviews: 2,
        ..Pair::new(writer, reviewer)
    };
    let pricing = Pricing::new()
        .model("big", Price::new(2.0, 10.0).with_cached_input(0.5))
        .model("small", Price::new(0.2, 1.0));

    let report = report(&Executor::new().pricing(pricing.clone()), &pair).await;
    // 600k at $2/M + 400k cached at $0.5/M + 100k out at $10/M.
    let draft = report.usage.step("draft").expect("a draft");
    assert!((draft.cost_usd - 2.4).abs() < 1e-9, "{}", draft.cost_usd);
    // 500k at $0.2/M; `unknown` has no price and no default.
    let review = report.usage.step("review").expect("a review");
    assert!((review.cost_usd - 0.1).abs() < 1e-9, "{}", review.cost_usd);
    assert!((report.usage.total.cost_usd - 2.5).abs() < 1e-9);

    // With a default entry, `unknown` costs too.
    let reviewer = Scripted::new().replies([answer("ok", 1_000_000, 0).with_model("unknown")]);
    let writer = Scripted::new().reply(answer("draft", 0, 0));
    let pricing = pricing.default_price(Price::new(3.0, 3.0));
    let executor = Executor::new().pricing(pricing);
    let again = executor
        .start(&Pair::new(writer, reviewer), "topic".into())
        .report()
        .await;
    assert!((again.usage.total.cost_usd - 3.0).abs() < 1e-9);
}

#[tokio::test]
async fn the_model_an_agent_asks_for_prices_calls_whose_response_names_none() {
    let model = Scripted::new().reply(ChatResponse::new("hi").with_usage(Usage::new(1_000_000, 0)));
    let agent = Agent::builder(Arc::new(model)).model("mid").build();
    let pricing = Pricing::new().model("mid", Price::new(7.0, 0.0));
    let ledger = Ledger::new("by hand").pricing(pricing);
    ledger.scope(agent.prompt("hello")).await.expect("scripted");
    assert!((ledger.report().total.cost_usd - 7.0).abs() < 1e-9);
}

#[tokio::test]
async fn failed_calls_are_calls() {
    let writer = Scripted::new().reply(answer("draft", 10, 10));
    let reviewer = Scripted::new()
        .reply(failure(ProviderErrorKind::BadRequest))
        .reply(answer("fine", 5, 5));
    let pair = Pair {
        reviews: 2,
        lenient: true,
        ..Pair::new(writer, reviewer)
    };
    let report = report(&Executor::new(), &pair).await;
    assert_eq!(report.result.as_deref().ok(), Some("fine"));
    let review = report.usage.step("review").expect("a review");
    assert_eq!(
        (review.calls, review.failed_calls, review.usage),
        (2, 1, Usage::new(5, 5))
    );
    assert_eq!(
        (report.usage.total.calls, report.usage.total.failed_calls),
        (3, 1)
    );
}

#[tokio::test]
async fn a_failed_run_reports_its_usage_too() {
    let writer = Scripted::new().reply(answer("draft", 40, 2));
    let reviewer = Scripted::new().reply(failure(ProviderErrorKind::Unauthorized));
    let report = report(&Executor::new(), &Pair::new(writer, reviewer)).await;
    assert!(
        matches!(&report.result, Err(e) if e.provider().map(ProviderError::kind) == Some(ProviderErrorKind::Unauthorized)),
        "{:?}",
        report.result
    );
    let usage = &report.usage;
    assert_eq!(
        usage.step("draft").map(|draft| draft.usage),
        Some(Usage::new(40, 2))
    );
    let review = usage.step("review").expect("the failed call");
    assert_eq!((review.calls, review.failed_calls), (1, 1));
    assert_eq!((usage.total.calls, usage.total.failed_calls), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn each_attempt_of_a_retried_step_counts() {
    let writer = Scripted::new()
        .reply(failure(ProviderErrorKind::Server))
        .reply(failure(ProviderErrorKind::RateLimited {
            retry_after: None,
        }))
        .reply(answer("third time lucky", 30, 3));
    let reviewer = Scripted::new().reply(answer("ok", 1, 1));
    let pair = Pair {
        draft_policy: StepPolicy::new().retry(3),
        ..Pair::new(writer, reviewer)
    };
    let report = report(&Executor::new(), &pair).await;
    assert_eq!(report.result.as_deref().ok(), Some("ok"));
    let draft = report.usage.step("draft").expect("a draft");
    assert_eq!(
        (draft.calls, draft.failed_calls, draft.usage),
        (3, 2, Usage::new(30, 3))
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_cut_short_by_a_step_timeout_is_a_failed_call() {
    let writer = Scripted::new().reply(answer("draft", 1, 1));
    let reviewer = Scripted::new()
        .reply(answer("too late", 100, 100))
        .delay(Duration::from_secs(60));
    let pair = Pair {
        review_policy: StepPolicy::new().timeout(Duration::from_secs(5)),
        ..Pair::new(writer, reviewer)
    };
    let report = report(&Executor::new(), &pair).await;
    assert!(matches!(
        report.result,
        Err(Error::Timeout { step: "review", .. })
    ));
    let review = report.usage.step("review").expect("the cut call");
    assert_eq!((review.calls, review.failed_calls), (1, 1));
    assert_eq!(
        (review.usage, review.latency),
        (Usage::default(), Duration::from_secs(5))
    );
}

fn budget_error(
    result: &Result<String, Error>,
) -> (Option<&'static str>, BudgetLimit, BudgetLimit) {
    match result {
        Err(
            error @ Error::BudgetExceeded {
                workflow,
                step,
                limit,
                used,
            },
        ) => {
            assert_eq!(*workflow, "Pair");
            assert!(!error.is_transient());
            assert_eq!(error.step(), *step);
            (*step, *limit, *used)
        }
        other => panic!("expected a budget error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_token_budget_stops_the_run_after_the_call_that_goes_past_it() {
    let writer = Scripted::new().reply(answer("draft", 100, 20));
    let reviewer = Scripted::new().replies([answer("a", 50, 10), answer("b", 1, 1)]);
    let pair = Pair {
        reviews: 2,
        ..Pair::new(writer, reviewer)
    };
    let executor = Executor::new().budget(Budget::new().max_tokens(150));
    let report = report(&executor, &pair).await;
    let error = budget_error(&report.result);
    assert_eq!(
        error,
        (
            Some("review"),
            BudgetLimit::Tokens(150),
            BudgetLimit::Tokens(180)
        )
    );
    assert_eq!(
        report.result.expect_err("over budget").to_string(),
        "workflow `Pair`: budget of 150 tokens reached (180 tokens used)"
    );
    assert_eq!(report.usage.total.calls, 2);
    assert_eq!(report.usage.total.usage.total_tokens(), 180);
}

#[tokio::test]
async fn a_call_budget_refuses_the_call_past_it() {
    let reviewer = Arc::new(Scripted::new().replies(["a", "b", "c"]));
    let pair = Pair {
        reviewer: Agent::builder(reviewer.clone()).build(),
        reviews: 3,
        ..Pair::new(Scripted::new().reply("draft"), Scripted::new())
    };
    let executor = Executor::new().budget(Budget::new().max_calls(3));
    let report = report(&executor, &pair).await;
    let error = budget_error(&report.result);
    assert_eq!(
        error,
        (Some("review"), BudgetLimit::Calls(3), BudgetLimit::Calls(3))
    );
    assert_eq!(
        reviewer.requests().len(),
        2,
        "the third review was never sent"
    );
    assert_eq!(report.usage.total.calls, 3);
    assert_eq!(
        report.usage.step("review").map(|review| review.calls),
        Some(2)
    );
}

#[tokio::test]
async fn a_usd_budget_stops_the_run() {
    let writer = Scripted::new().reply(answer("draft", 100_000, 20_000));
    let executor = Executor::new()
        .pricing(Pricing::new().default_price(Price::new(1.0, 5.0)))
        .budget(Budget::new().max_usd(0.15));
    let report = report(&executor, &Pair::new(writer, Scripted::new())).await;
    let (step, limit, used) = budget_error(&report.result);
    assert_eq!((step, limit), (Some("draft"), BudgetLimit::Usd(0.15)));
    assert!(matches!(used, BudgetLimit::Usd(usd) if (usd - 0.2).abs() < 1e-9));
    assert!((report.usage.total.cost_usd - 0.2).abs() < 1e-9);
}

#[tokio::test(start_paused = true)]
async fn a_budget_error_is_not_retried() {
    let writer = Arc::new(Scripted::new().replies([answer("a", 100, 0), answer("b", 100, 0)]));
    let pair = Pair {
        writer: Agent::builder(writer.clone()).build(),
        draft_policy: StepPolicy::new().retry(3),
        ..Pair::new(Scripted::new(), Scripted::new())
    };
    let executor = Executor::new().budget(Budget::new().max_tokens(50));
    let result = executor.start(&pair, "topic".into()).await;
    assert_eq!(budget_error(&result).0, Some("draft"));
    assert_eq!(writer.requests().len(), 1);
}

#[tokio::test]
async fn a_step_that_ignores_a_budget_error_does_not_keep_the_run_going() {
    let writer = Scripted::new().reply(answer("draft", 100, 0));
    let reviewer = Arc::new(Scripted::new().reply("never asked"));
    let pair = Pair {
        reviewer: Agent::builder(reviewer.clone()).build(),
        lenient: true,
        ..Pair::new(writer, Scripted::new())
    };
    let executor = Executor::new().budget(Budget::new().max_tokens(50));
    let report = report(&executor, &pair).await;
    let error = budget_error(&report.result);
    assert_eq!(
        error,
        (
            Some("draft"),
            BudgetLimit::Tokens(50),
            BudgetLimit::Tokens(100)
        )
    );
    assert!(reviewer.requests().is_empty());
}

#[tokio::test]
async fn run_without_a_report_enforces_the_budget_and_runs_without_one() {
    let pair = || {
        Pair::new(
            Scripted::new().reply("draft"),
            Scripted::new().reply("done"),
        )
    };
    let limited = Executor::new().budget(Budget::new().max_calls(1));
    let result = limited.start(&pair(), "topic".into()).await;
    assert_eq!(budget_error(&result).1, BudgetLimit::Calls(1));
    let out = Executor::new().start(&pair(), "topic".into()).await;
    assert_eq!(out.ok().as_deref(), Some("done"));
    let out = Run::new(&pair(), "topic".into()).await;
    assert_eq!(out.ok().as_deref(), Some("done"));
}

#[tokio::test]
async fn calls_outside_a_run_are_not_recorded_unless_a_ledger_is_opened() {
    let model = Scripted::new().replies([answer("a", 1, 1), answer("b", 2, 2), answer("c", 4, 4)]);
    let agent = Agent::builder(Arc::new(model)).build();
    assert!(Ledger::current().is_none());
    agent.prompt("outside").await.expect("scripted");

    let ledger = Ledger::new("by hand");
    let inside = ledger.scope(async {
        assert_eq!(
            Ledger::current().map(|current| current.workflow()),
            Some("by hand")
        );
        agent.prompt("inside").await
    });
    assert_eq!(inside.await.expect("scripted"), "b");
    agent.prompt("outside again").await.expect("scripted");

    let report = ledger.report();
    assert_eq!((report.workflow, report.total.calls), ("by hand", 1));
    assert_eq!(report.total.usage, Usage::new(2, 2));
    assert!(report.steps.is_empty());
}

#[tokio::test]
async fn a_ledger_opened_inside_another_reports_to_it_and_obeys_its_budget() {
    let model = Scripted::new().replies([answer("a", 1, 1), answer("b", 2, 2), answer("c", 4, 4)]);
    let agent = Agent::builder(Arc::new(model)).build();
    let outer = Ledger::new("outer").budget(Budget::new().max_calls(2));
    let inner = outer
        .scope(async {
            agent.prompt("one").await?;
            let inner = Ledger::new("inner");
            inner.scope(agent.prompt("two")).await?;
            let error = inner
                .scope(agent.prompt("three"))
                .await
                .expect_err("outer budget");
            assert!(matches!(
                error,
                Error::BudgetExceeded {
                    workflow: "outer",
                    ..
                }
            ));
            Ok::<_, Error>(inner)
        })
        .await
        .expect("two calls");
    assert_eq!(
        (inner.report().total.calls, inner.report().total.usage),
        (1, Usage::new(2, 2))
    );
    assert_eq!(
        (outer.report().total.calls, outer.report().total.usage),
        (2, Usage::new(3, 3))
    );
}

#[tokio::test]
async fn a_run_from_a_saved_state_accounts_each_step() {
    let pair = Pair::new(
        Scripted::new().reply(answer("draft", 3, 3)),
        Scripted::new().reply(answer("done", 4, 4)),
    );
    let executor = Executor::new();
    let run = executor.start_from(&pair, Pair::start("topic".into()), Loops::new());
    let report = run.report().await;
    assert_eq!(
        report.usage.step("draft").map(|step| step.usage),
        Some(Usage::new(3, 3))
    );
    assert_eq!(
        report.usage.step("review").map(|step| step.usage),
        Some(Usage::new(4, 4))
    );
    assert_eq!(report.into_output().ok().as_deref(), Some("done"));
}
