//! Agents with tools, end to end on the scripted model: the tool loop inside a step, tool calls
//! of one turn running concurrently, what the model is told of an unknown tool, of arguments
//! that do not fit and of a tool that fails, the turn bound, typed answers, the events and the
//! usage of every turn, failed ones included.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::Barrier;
use workflow::event::{Event, EventKind};
use workflow::prelude::*;
use workflow::provider::{ProviderError, ProviderErrorKind, Scripted, ToolCall, Usage};
use workflow::tool::{self, ToolError};

#[derive(Debug, Deserialize, JsonSchema)]
struct City {
    /// The city's name.
    name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Trip {
    from: String,
    to: String,
}

/// A weather tool: sunny everywhere but in Atlantis, which it cannot find.
fn weather() -> impl tool::Tool {
    tool::from_fn(
        "weather",
        "The weather of a city now.",
        |city: City| async move {
            match city.name.as_str() {
                "Atlantis" => Err(ToolError::new("no weather station in Atlantis")),
                name => Ok(json!({"city": name, "sky": "sunny"})),
            }
        },
    )
}

/// A distance tool: 100 km between any two cities.
fn distance() -> impl tool::Tool {
    tool::from_fn(
        "distance",
        "The distance between two cities.",
        |trip: Trip| async move { Ok(format!("{} to {}: 100 km", trip.from, trip.to)) },
    )
}

fn call(id: &str, name: &str, arguments: Value) -> ToolCall {
    ToolCall::new(id, name, arguments)
}

fn turn(calls: Vec<ToolCall>, usage: Usage) -> ChatResponse {
    let mut response = ChatResponse::new("").with_usage(usage).with_model("m-1");
    for call in calls {
        response = response.with_tool_call(call);
    }
    response
}

struct Planner {
    agent: Agent,
}

#[workflow]
impl Planner {
    async fn plan(&self, question: String) -> Result<String> {
        self.agent.prompt(&question).await
    }

    flow! {
        start -> plan -> end;
    }
}

async fn watch(planner: &Planner) -> (Result<String>, Vec<Event>, workflow::usage::UsageReport) {
    let executor = Executor::new();
    let mut run = executor.start(planner, "Plan a trip.".into());
    let mut events = run.events();
    let collect = async {
        let mut all = Vec::new();
        while let Some(event) = events.recv().await {
            all.push(event);
        }
        all
    };
    let (report, events) = tokio::join!(run.report(), collect);
    let result = match report.outcome {
        Outcome::Finished(output) => Ok(output),
        Outcome::Failed(error) => Err(error),
        other => panic!("the run neither completed nor failed: {other:?}"),
    };
    (result, events, report.usage)
}

/// The tool messages of `request`, as (call id, content).
fn results(request: &ChatRequest) -> Vec<(String, String)> {
    request
        .messages
        .iter()
        .filter_map(|message| match message {
            Message::Tool { call_id, content } => Some((call_id.clone(), content.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_step_runs_the_tool_loop_and_every_error_goes_back_to_the_model() {
    let model = Arc::new(
        Scripted::new().replies([
            turn(
                vec![
                    call("c1", "weather", json!({"name": "Paris"})),
                    call("c2", "distance", json!({"from": "Paris", "to": "Lyon"})),
                    call("c3", "wether", json!({"name": "Paris"})),
                    call("c4", "weather", json!({"city": "Paris"})),
                    call("c5", "weather", json!("{\"name\": ")),
                ],
                Usage::new(100, 10),
            ),
            turn(
                vec![call("c6", "weather", json!({"name": "Atlantis"}))],
                Usage::new(200, 20),
            ),
            ChatResponse::new("Go to Lyon, it is sunny.")
                .with_usage(Usage::new(300, 30))
                .with_model("m-1"),
        ]),
    );
    let agent = Agent::builder(model.clone())
        .name("planner")
        .system("You plan trips.")
        .tool(weather())
        .tool(distance())
        .build();

    let (result, events, usage) = watch(&Planner { agent }).await;
    assert_eq!(
        result.expect("the run completes"),
        "Go to Lyon, it is sunny."
    );

    let requests = model.requests();
    assert_eq!(requests.len(), 3);
    let offered: Vec<&str> = requests[0].tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(offered, ["weather", "distance"]);
    assert_eq!(requests[0].tools[0].parameters["required"], json!(["name"]));
    assert_eq!(requests[2].system.as_deref(), Some("You plan trips."));

    let first = results(&requests[1]);
    let ids: Vec<&str> = first.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["c1", "c2", "c3", "c4", "c5"], "results in call order");
    assert_eq!(first[0].1, r#"{"city":"Paris","sky":"sunny"}"#);
    assert_eq!(first[1].1, "Paris to Lyon: 100 km");
    assert_eq!(
        first[2].1,
        "error: there is no tool `wether`; call one of `weather`, `distance`"
    );
    assert!(
        first[3].1.starts_with(
            "error: the arguments do not fit the schema of `weather`: missing field `name`"
        ),
        "{}",
        first[3].1
    );
    assert_eq!(
        first[4].1,
        "error: the arguments are not valid JSON: `{\"name\": `; call `weather` again with a JSON object"
    );
    let second = results(&requests[2]);
    assert_eq!(second.len(), 6, "the conversation keeps every result");
    assert_eq!(second[5].1, "error: no weather station in Atlantis");
    // The assistant turns that called the tools are in the conversation too.
    let assistant_calls = requests[2].messages.iter().filter(|message| {
        matches!(message, Message::Assistant { tool_calls, .. } if !tool_calls.is_empty())
    });
    assert_eq!(assistant_calls.count(), 2);

    // Every model call is accounted to the step.
    let plan = usage.step("plan").expect("the step made calls");
    assert_eq!((plan.calls, plan.failed_calls), (3, 0));
    assert_eq!(plan.usage, Usage::new(600, 60));

    // Each tool call is a `ToolCalled` and a `ToolFinished`, tagged with the step.
    let called: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::ToolCalled {
                step: Some("plan"),
                agent,
                tool,
                call_id,
                ..
            } => {
                assert_eq!(agent, "planner");
                Some((call_id.as_str(), tool.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(called.len(), 6);
    assert!(called.contains(&("c3", "wether")));
    let failed: Vec<&str> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::ToolFinished {
                step: Some("plan"),
                call_id,
                error: Some(_),
                ..
            } => Some(call_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 4, "{failed:?}");
    for id in ["c3", "c4", "c5", "c6"] {
        assert!(failed.contains(&id), "{id} failed: {failed:?}");
    }
    let finished = events.iter().filter(|event| {
        matches!(
            &event.kind,
            EventKind::ToolFinished {
                step: Some("plan"),
                ..
            }
        )
    });
    assert_eq!(finished.count(), 6);
    // Neither arguments nor results are in the events.
    let shown = format!("{events:?}");
    assert!(
        !shown.contains("sunny") && !shown.contains("Lyon"),
        "{shown}"
    );
}

#[tokio::test]
async fn the_calls_of_one_turn_run_concurrently() {
    // Each call waits for the other: run one after the other, they never finish.
    let barrier = Arc::new(Barrier::new(2));
    let meet = |name: &'static str| {
        let barrier = barrier.clone();
        tool::from_fn(name, "Meets the other tool.", move |_: City| {
            let barrier = barrier.clone();
            async move {
                barrier.wait().await;
                Ok("met")
            }
        })
    };
    let model = Arc::new(Scripted::new().replies([
        turn(
            vec![
                call("a", "left", json!({"name": "x"})),
                call("b", "right", json!({"name": "y"})),
            ],
            Usage::new(1, 1),
        ),
        ChatResponse::new("both met"),
    ]));
    let agent = Agent::builder(model.clone())
        .tool(meet("left"))
        .tool(meet("right"))
        .build();
    let answer = tokio::time::timeout(Duration::from_secs(10), agent.prompt("meet"))
        .await
        .expect("the calls ran concurrently")
        .expect("the loop answers");
    assert_eq!(answer, "both met");
    let met = results(&model.requests()[1]);
    assert_eq!(
        met,
        [("a".into(), "met".into()), ("b".into(), "met".into())]
    );
}

#[tokio::test]
async fn the_turn_bound_stops_a_model_that_never_answers() {
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = runs.clone();
    let counter = tool::from_fn("count", "Counts.", move |_: City| {
        let runs = counted.clone();
        async move {
            runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(1)
        }
    });
    let looping = turn(
        vec![call("c", "count", json!({"name": "again"}))],
        Usage::new(10, 1),
    );
    let model = Arc::new(Scripted::new().when("Plan", looping));
    let agent = Agent::builder(model.clone())
        .name("looper")
        .tool(counter)
        .max_turns(3)
        .build();

    let (result, _, usage) = watch(&Planner { agent }).await;
    let error = result.expect_err("the bound stops the loop");
    let Error::Step { step, source, .. } = &error else {
        panic!("a step error, got {error:?}");
    };
    assert_eq!(*step, "plan");
    let limit = source.downcast_ref::<Error>();
    assert!(
        matches!(limit, Some(Error::ToolLimit { agent, max: 3 }) if agent == "looper"),
        "{source:?}"
    );
    assert!(error.to_string().contains("step `plan` failed"), "{error}");
    assert!(
        source
            .to_string()
            .contains("no final answer after 3 model turns"),
        "{source}"
    );
    assert!(!error.is_transient(), "not retried");
    assert_eq!(model.requests().len(), 3);
    // The tools of the last turn are not run: nothing reads their results.
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 2);
    let plan = usage.step("plan").expect("calls");
    assert_eq!((plan.calls, plan.usage), (3, Usage::new(30, 3)));
}

#[tokio::test]
async fn the_default_bound_is_small() {
    let looping = turn(
        vec![call("c", "weather", json!({"name": "Paris"}))],
        Usage::new(1, 1),
    );
    let model = Arc::new(Scripted::new().when("Paris", looping));
    let agent = Agent::builder(model.clone()).tool(weather()).build();
    let error = agent.prompt("Paris?").await.expect_err("bounded");
    assert!(
        matches!(error, Error::ToolLimit { max: 8, .. }),
        "{error:?}"
    );
    assert_eq!(Agent::DEFAULT_MAX_TURNS, 8);
    assert_eq!(model.requests().len(), 8);
}

#[tokio::test]
async fn a_failed_model_call_in_the_loop_is_accounted() {
    let fatal = ProviderError::new(
        "scripted",
        ProviderErrorKind::BadRequest,
        "context too long",
    )
    .with_usage(Usage::new(500, 0));
    let model = Arc::new(
        Scripted::new().replies([
            turn(
                vec![call("c", "weather", json!({"name": "Paris"}))],
                Usage::new(100, 10),
            )
            .into(),
            workflow::provider::Reply::Error(fatal),
        ]),
    );
    let agent = Agent::builder(model).tool(weather()).build();
    let (result, _, usage) = watch(&Planner { agent }).await;
    let error = result.expect_err("the second call fails");
    assert!(
        matches!(
            error.provider().map(ProviderError::kind),
            Some(ProviderErrorKind::BadRequest)
        ),
        "{error:?}"
    );
    let plan = usage.step("plan").expect("calls");
    assert_eq!((plan.calls, plan.failed_calls), (2, 1));
    assert_eq!(plan.usage, Usage::new(600, 10));
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct Forecast {
    city: String,
    sunny: bool,
}

#[tokio::test]
async fn a_typed_answer_after_tools() {
    let model = Arc::new(Scripted::new().replies([
        turn(
            vec![call("c", "weather", json!({"name": "Nice"}))],
            Usage::new(1, 1),
        ),
        ChatResponse::new(r#"{"city": "Nice", "sunny": true}"#),
    ]));
    let agent = Agent::builder(model.clone()).tool(weather()).build();
    let forecast: Forecast = agent
        .extract("Will it be sunny in Nice?")
        .await
        .expect("typed");
    assert_eq!(
        forecast,
        Forecast {
            city: "Nice".into(),
            sunny: true
        }
    );
    let requests = model.requests();
    for request in &requests {
        let schema = request
            .response_schema
            .as_ref()
            .expect("every turn asks for the shape");
        assert_eq!(schema.name, "Forecast");
        assert_eq!(request.tools.len(), 1);
    }
}

#[tokio::test]
async fn converse_returns_the_whole_conversation() {
    let model = Arc::new(Scripted::new().replies([
        turn(
            vec![call("c", "weather", json!({"name": "Rome"}))],
            Usage::new(1, 1),
        ),
        ChatResponse::new("Sunny."),
    ]));
    let agent = Agent::builder(model).name("a").tool(weather()).build();
    let conversation = agent
        .converse(agent.request("Rome?"))
        .await
        .expect("answers");
    assert_eq!(conversation.response.text, "Sunny.");
    assert_eq!((conversation.agent.as_str(), conversation.turns), ("a", 2));
    let roles: Vec<&str> = conversation
        .messages
        .iter()
        .map(|message| match message {
            Message::User { .. } => "user",
            Message::Assistant { .. } => "assistant",
            Message::Tool { .. } => "tool",
            _ => "other",
        })
        .collect();
    assert_eq!(roles, ["user", "assistant", "tool", "assistant"]);
}

fn specialist(model: Arc<Scripted>, name: &str, what: &str) -> Agent {
    Agent::builder(model)
        .name(name)
        .description(what)
        .system(format!("You are the {name} specialist."))
        .tool(weather())
        .build()
}

#[tokio::test]
async fn a_triage_agent_hands_the_conversation_to_a_specialist() {
    let model = Arc::new(Scripted::new().replies([
        turn(
            vec![call("h", "transfer_to_billing", json!({}))],
            Usage::new(10, 1),
        ),
        ChatResponse::new("Your refund is on its way."),
    ]));
    let billing = specialist(model.clone(), "billing", "Refunds and invoices.");
    let support = specialist(model.clone(), "support", "Broken things.");
    let triage = Agent::builder(model.clone())
        .name("triage")
        .system("You route questions.")
        .handoff(billing)
        .handoff(support)
        .build();

    let conversation = triage
        .converse(triage.request("I was charged twice."))
        .await
        .expect("answers");
    assert_eq!(conversation.response.text, "Your refund is on its way.");
    assert_eq!(
        (conversation.agent.as_str(), conversation.turns),
        ("billing", 2)
    );

    let requests = model.requests();
    let offered =
        |i: usize| -> Vec<String> { requests[i].tools.iter().map(|t| t.name.clone()).collect() };
    assert_eq!(offered(0), ["transfer_to_billing", "transfer_to_support"]);
    assert!(requests[0].tools[0]
        .description
        .ends_with("Refunds and invoices."));
    // The specialist goes on with the whole conversation, under its own prompt and tools.
    assert_eq!(
        requests[1].system.as_deref(),
        Some("You are the billing specialist.")
    );
    assert_eq!(offered(1), ["weather"]);
    assert_eq!(
        requests[1].messages[0],
        Message::user("I was charged twice.")
    );
    assert_eq!(
        results(&requests[1]),
        [("h".to_owned(), "agent `billing` takes over".to_owned())]
    );
    // `prompt` is the same loop.
    let model = Arc::new(Scripted::new().replies([
        turn(
            vec![call("h", "transfer_to_support", json!({}))],
            Usage::new(1, 1),
        ),
        ChatResponse::new("Try turning it off and on."),
    ]));
    let triage = Agent::builder(model.clone())
        .handoff(specialist(model.clone(), "support", "Broken things."))
        .build();
    assert_eq!(
        triage.prompt("It broke.").await.expect("answers"),
        "Try turning it off and on."
    );
}

#[tokio::test]
async fn turns_before_a_handoff_count_against_the_next_bound() {
    let model = Arc::new(Scripted::new().replies([
        turn(
            vec![call("h", "transfer_to_slow", json!({}))],
            Usage::new(1, 1),
        ),
        turn(
            vec![call("w", "weather", json!({"name": "Oslo"}))],
            Usage::new(1, 1),
        ),
    ]));
    let slow = Agent::builder(model.clone())
        .name("slow")
        .tool(weather())
        .max_turns(2)
        .build();
    let triage = Agent::builder(model.clone()).handoff(slow).build();
    let error = triage.prompt("Oslo?").await.expect_err("bounded");
    assert!(
        matches!(&error, Error::ToolLimit { agent, max: 2 } if agent == "slow"),
        "{error:?}"
    );
    assert_eq!(model.requests().len(), 2);
}

#[tokio::test]
async fn a_supervisor_delegates_to_agents_given_as_tools() {
    let researcher_model = Arc::new(Scripted::new().reply("Rust 1.0 shipped in May 2015."));
    let researcher = Agent::builder(researcher_model.clone())
        .name("researcher")
        .description("Finds facts.")
        .build();
    let model = Arc::new(Scripted::new().replies([
        turn(
            vec![call(
                "r",
                "researcher",
                json!({"request": "When did Rust 1.0 ship?"}),
            )],
            Usage::new(1, 1),
        ),
        ChatResponse::new("Rust is ten years old in 2025."),
    ]));
    let supervisor = Agent::builder(model.clone())
        .name("supervisor")
        .tool(researcher)
        .build();
    let answer = supervisor
        .prompt("How old is Rust?")
        .await
        .expect("answers");
    assert_eq!(answer, "Rust is ten years old in 2025.");
    let asked = researcher_model.requests();
    assert_eq!(
        asked[0].messages,
        [Message::user("When did Rust 1.0 ship?")]
    );
    let requests = model.requests();
    assert_eq!(requests[0].tools[0].name, "researcher");
    assert_eq!(requests[0].tools[0].description, "Finds facts.");
    assert_eq!(
        results(&requests[1]),
        [("r".to_owned(), "Rust 1.0 shipped in May 2015.".to_owned())]
    );
}

#[tokio::test]
async fn a_forced_tool_choice_holds_for_the_first_turn_only() {
    let model = Arc::new(Scripted::new().replies([
        turn(
            vec![call("c", "weather", json!({"name": "Oslo"}))],
            Usage::new(1, 1),
        ),
        ChatResponse::new("Sunny in Oslo."),
    ]));
    let agent = Agent::builder(model.clone()).tool(weather()).build();
    let request = agent
        .request("Oslo?")
        .tool_choice(workflow::provider::ToolChoice::tool("weather"));
    let conversation = agent.converse(request).await.expect("answers");
    assert_eq!(conversation.response.text, "Sunny in Oslo.");
    let requests = model.requests();
    let choices: Vec<_> = requests.iter().map(|r| r.tool_choice.clone()).collect();
    assert_eq!(
        choices,
        [Some(workflow::provider::ToolChoice::tool("weather")), None]
    );
}

#[tokio::test]
async fn streaming_runs_the_tools_between_streamed_turns() {
    let model = Arc::new(Scripted::new().replies([
        turn(
            vec![call("c", "weather", json!({"name": "Oslo"}))],
            Usage::new(10, 1),
        ),
        ChatResponse::new("Sunny in Oslo.").with_usage(Usage::new(20, 3)),
    ]));
    let agent = Agent::builder(model.clone()).tool(weather()).build();
    let ledger = workflow::usage::Ledger::new("stream");
    let deltas: Vec<String> = ledger
        .scope(async {
            let stream = agent.stream("Oslo?").await?;
            futures_util::TryStreamExt::try_collect(stream).await
        })
        .await
        .expect("streams");
    assert_eq!(deltas, ["Sunny ", "in ", "Oslo."]);
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].tools.len(), 1, "the tools are offered");
    assert_eq!(
        results(&requests[1]),
        [(
            "c".to_owned(),
            r#"{"city":"Oslo","sky":"sunny"}"#.to_owned()
        )]
    );
    let total = ledger.report().total;
    assert_eq!((total.calls, total.usage), (2, Usage::new(30, 4)));

    // The bound is an item of the stream.
    let looping = turn(
        vec![call("c", "weather", json!({"name": "Oslo"}))],
        Usage::new(1, 1),
    );
    let model = Arc::new(Scripted::new().when("Oslo", looping));
    let agent = Agent::builder(model).tool(weather()).max_turns(2).build();
    let items: Vec<Result<String>> =
        futures_util::StreamExt::collect(agent.stream("Oslo?").await.expect("starts")).await;
    assert!(
        matches!(items.as_slice(), [Err(Error::ToolLimit { max: 2, .. })]),
        "{items:?}"
    );
}
