//! The tool loop over real HTTP on loopback, against mock OpenAI-compatible and Anthropic
//! servers answering in their documented formats: several tool calls in one turn, arguments
//! that are not JSON, an unknown tool and a failing tool told to the model in each wire
//! format, the turn bound, and the usage of every turn summed in the ledger. With the feature
//! `genai`, the loop on a `genai` model speaking Gemini's API too.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use workflow::prelude::*;
use workflow::provider::{Anthropic, OpenAi, Usage};
use workflow::tool::{self, ToolError};
use workflow::usage::Ledger;

/// Answers the calls with `responses`, one each, in order; the last one again after that.
struct Sequence(Mutex<VecDeque<ResponseTemplate>>);

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut responses = self.0.lock().expect("not poisoned");
        let next = match responses.len() {
            0 | 1 => responses.front().cloned(),
            _ => responses.pop_front(),
        };
        next.unwrap_or_else(|| ResponseTemplate::new(500))
    }
}

async fn serve(endpoint: &str, bodies: impl IntoIterator<Item = Value>) -> MockServer {
    let json = |body| ResponseTemplate::new(200).set_body_json(body);
    serve_responses(endpoint, bodies.into_iter().map(json)).await
}

async fn serve_responses(
    endpoint: &str,
    responses: impl IntoIterator<Item = ResponseTemplate>,
) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(endpoint))
        .respond_with(Sequence(Mutex::new(responses.into_iter().collect())))
        .mount(&server)
        .await;
    server
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    let requests = server.received_requests().await.expect("recorded");
    let body = |request: &Request| serde_json::from_slice(&request.body).expect("JSON body");
    requests.iter().map(body).collect()
}

#[derive(Deserialize, JsonSchema)]
struct City {
    city: String,
}

fn agent(model: Arc<dyn ChatModel>, max_turns: u32) -> Agent {
    let weather = tool::from_fn("weather", "The weather of a city.", |c: City| async move {
        match c.city.as_str() {
            "Atlantis" => Err(ToolError::new("no station in Atlantis")),
            city => Ok(json!({"city": city, "sky": "clear"})),
        }
    });
    Agent::builder(model)
        .name("forecaster")
        .tool(weather)
        .max_turns(max_turns)
        .build()
}

/// Runs `agent` on `prompt` in a ledger of its own: the answer and the total usage.
async fn ask(agent: &Agent, prompt: &str) -> (Result<String>, Usage, u64) {
    let ledger = Ledger::new("tools");
    let answer = ledger.scope(agent.prompt(prompt)).await;
    let total = ledger.report().total;
    (answer, total.usage, total.calls)
}

mod openai {
    use super::*;

    fn completion(message: Value, finish: &str, input: u64, output: u64) -> Value {
        let mut body = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1741569952,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": null, "finish_reason": finish}],
            "usage": {"prompt_tokens": input, "completion_tokens": output,
                      "total_tokens": input + output}
        });
        body["choices"][0]["message"] = message;
        body
    }

    fn calls(calls: &[(&str, &str, &str)]) -> Value {
        let calls: Vec<Value> = calls
            .iter()
            .map(|(id, name, arguments)| {
                json!({"id": id, "type": "function",
                       "function": {"name": name, "arguments": arguments}})
            })
            .collect();
        json!({"role": "assistant", "content": null, "tool_calls": calls})
    }

    fn model(server: &MockServer) -> Arc<dyn ChatModel> {
        let model = OpenAi::builder(format!("{}/v1", server.uri()), "gpt-4o-mini")
            .api_key("sk-test")
            .backoff(Duration::from_millis(1))
            .build()
            .expect("valid config");
        Arc::new(model)
    }

    #[tokio::test]
    async fn parallel_calls_and_their_errors_in_the_wire_format() {
        let server = serve(
            "/v1/chat/completions",
            [
                completion(
                    calls(&[
                        ("call_1", "weather", r#"{"city": "Paris"}"#),
                        ("call_2", "weather", r#"{"city": "Atlantis"}"#),
                        ("call_3", "forecast", r#"{"city": "Rome"}"#),
                        ("call_4", "weather", r#"{"city": "#),
                    ]),
                    "tool_calls",
                    100,
                    20,
                ),
                completion(
                    json!({"role": "assistant", "content": "Clear in Paris."}),
                    "stop",
                    300,
                    5,
                ),
            ],
        )
        .await;
        let agent = agent(model(&server), 4);
        let (answer, usage, calls) = ask(&agent, "Weather?").await;
        assert_eq!(answer.expect("answers"), "Clear in Paris.");
        assert_eq!((usage, calls), (Usage::new(400, 25), 2));

        let sent = bodies(&server).await;
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0]["tools"][0]["type"], "function");
        assert_eq!(sent[0]["tools"][0]["function"]["name"], "weather");
        assert_eq!(
            sent[0]["tools"][0]["function"]["parameters"]["required"],
            json!(["city"])
        );
        let messages = sent[1]["messages"].as_array().expect("messages");
        // user, the assistant's four calls, four results.
        assert_eq!(messages.len(), 6);
        let assistant = &messages[1];
        assert_eq!(assistant["role"], "assistant");
        assert_eq!(assistant["tool_calls"].as_array().map(Vec::len), Some(4));
        // Arguments that were not JSON go back as the model wrote them.
        assert_eq!(
            assistant["tool_calls"][3]["function"]["arguments"],
            r#"{"city": "#
        );
        let results: Vec<(&str, &str)> = messages[2..]
            .iter()
            .map(|m| {
                assert_eq!(m["role"], "tool");
                (
                    m["tool_call_id"].as_str().unwrap_or(""),
                    m["content"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            results,
            [
                ("call_1", r#"{"city":"Paris","sky":"clear"}"#),
                ("call_2", "error: no station in Atlantis"),
                (
                    "call_3",
                    "error: there is no tool `forecast`; call one of `weather`"
                ),
                (
                    "call_4",
                    "error: the arguments are not valid JSON: `{\"city\": `; call `weather` \
                     again with a JSON object"
                ),
            ]
        );
    }

    #[tokio::test]
    async fn the_turn_bound_over_http() {
        let looping = completion(
            calls(&[("call_1", "weather", r#"{"city": "Paris"}"#)]),
            "tool_calls",
            10,
            2,
        );
        let server = serve("/v1/chat/completions", [looping]).await;
        let agent = agent(model(&server), 3);
        let (answer, usage, calls) = ask(&agent, "Weather?").await;
        let error = answer.expect_err("bounded");
        assert!(
            matches!(&error, Error::ToolLimit { agent, max: 3 } if agent == "forecaster"),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "agent `forecaster`: no final answer after 3 model turns of tool calls; raise the \
             bound with `AgentBuilder::max_turns`, or make the tools' results easier to answer \
             from"
        );
        assert_eq!((usage, calls), (Usage::new(30, 6), 3));
        assert_eq!(bodies(&server).await.len(), 3);
    }
}

/// `chunks` as a server-sent events body.
fn sse(chunks: &[Value]) -> ResponseTemplate {
    let mut body: String = chunks
        .iter()
        .map(|chunk| format!("data: {chunk}\n\n"))
        .collect();
    body.push_str("data: [DONE]\n\n");
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}

#[tokio::test]
async fn openai_streaming_with_tools() {
    let chunk = |delta: Value, finish: Option<&str>| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let usage = |input: u64, output: u64| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [], "usage": {"prompt_tokens": input, "completion_tokens": output}})
    };
    let call = |index: u32, id: &str, arguments: &str| {
        json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                               "function": {"name": "weather", "arguments": arguments}}]})
    };
    let server = serve_responses(
        "/v1/chat/completions",
        [
            sse(&[
                call(0, "call_1", r#"{"city": "Pa"#),
                json!({"tool_calls": [{"index": 0, "function": {"arguments": r#"ris"}"#}}]}),
                call(1, "call_2", r#"{"city": "Atlantis"}"#),
            ]
            .map(|delta| chunk(delta, None))
            .into_iter()
            .chain([chunk(json!({}), Some("tool_calls")), usage(40, 9)])
            .collect::<Vec<_>>()),
            sse(&[
                chunk(json!({"content": "Clear "}), None),
                chunk(json!({"content": "in Paris."}), None),
                chunk(json!({}), Some("stop")),
                usage(90, 4),
            ]),
        ],
    )
    .await;
    let model = OpenAi::builder(format!("{}/v1", server.uri()), "gpt-4o-mini")
        .api_key("sk-test")
        .build()
        .expect("valid config");
    let agent = agent(Arc::new(model), 4);
    let ledger = Ledger::new("stream");
    let deltas: Vec<String> = ledger
        .scope(async {
            let stream = agent.stream("Weather?").await?;
            futures_util::TryStreamExt::try_collect(stream).await
        })
        .await
        .expect("streams");
    assert_eq!(deltas, ["Clear ", "in Paris."]);
    let total = ledger.report().total;
    assert_eq!((total.calls, total.usage), (2, Usage::new(130, 13)));
    let sent = bodies(&server).await;
    assert_eq!(sent[0]["stream"], true);
    let results: Vec<&Value> = sent[1]["messages"].as_array().expect("messages")[2..]
        .iter()
        .map(|message| &message["content"])
        .collect();
    assert_eq!(
        results,
        [
            &json!(r#"{"city":"Paris","sky":"clear"}"#),
            &json!("error: no station in Atlantis")
        ]
    );
}

mod anthropic {
    use super::*;

    fn message(content: Value, stop: &str, input: u64, output: u64) -> Value {
        let mut body = json!({
            "id": "msg_01", "type": "message", "role": "assistant", "content": null,
            "model": "claude-sonnet-4-5-20250929", "stop_reason": stop, "stop_sequence": null,
            "usage": {"input_tokens": input, "output_tokens": output}
        });
        body["content"] = content;
        body
    }

    fn model(server: &MockServer) -> Arc<dyn ChatModel> {
        let model = Anthropic::builder("sk-ant-test", "claude-sonnet-4-5")
            .base_url(server.uri())
            .backoff(Duration::from_millis(1))
            .build()
            .expect("valid config");
        Arc::new(model)
    }

    #[tokio::test]
    async fn parallel_calls_and_their_errors_in_the_wire_format() {
        let server = serve(
            "/v1/messages",
            [
                message(
                    json!([
                        {"type": "text", "text": "Let me look."},
                        {"type": "tool_use", "id": "toolu_1", "name": "weather",
                         "input": {"city": "Paris"}},
                        {"type": "tool_use", "id": "toolu_2", "name": "weather",
                         "input": {"city": "Atlantis"}},
                        {"type": "tool_use", "id": "toolu_3", "name": "weather",
                         "input": {"town": "Rome"}}
                    ]),
                    "tool_use",
                    50,
                    30,
                ),
                message(
                    json!([{"type": "text", "text": "Clear in Paris."}]),
                    "end_turn",
                    150,
                    6,
                ),
            ],
        )
        .await;
        let agent = agent(model(&server), 4);
        let (answer, usage, calls) = ask(&agent, "Weather?").await;
        assert_eq!(answer.expect("answers"), "Clear in Paris.");
        assert_eq!((usage, calls), (Usage::new(200, 36), 2));

        let sent = bodies(&server).await;
        assert_eq!(sent[0]["tools"][0]["name"], "weather");
        assert_eq!(
            sent[0]["tools"][0]["input_schema"]["required"],
            json!(["city"])
        );
        let messages = sent[1]["messages"].as_array().expect("messages");
        assert_eq!(
            messages.len(),
            3,
            "user, assistant, one user turn of results"
        );
        let assistant = messages[1]["content"].as_array().expect("blocks");
        assert_eq!(
            assistant[0],
            json!({"type": "text", "text": "Let me look."})
        );
        assert_eq!(assistant.len(), 4);
        let results = messages[2]["content"].as_array().expect("blocks");
        let results: Vec<(&str, &str)> = results
            .iter()
            .map(|block| {
                assert_eq!(block["type"], "tool_result");
                (
                    block["tool_use_id"].as_str().unwrap_or(""),
                    block["content"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(results[0], ("toolu_1", r#"{"city":"Paris","sky":"clear"}"#));
        assert_eq!(results[1], ("toolu_2", "error: no station in Atlantis"));
        assert_eq!(results[2].0, "toolu_3");
        assert!(
            results[2].1.starts_with(
                "error: the arguments do not fit the schema of `weather`: missing field `city`"
            ),
            "{}",
            results[2].1
        );
    }

    /// `events` as an SSE body, each named after its `type` as the API does.
    fn named_sse(events: &[Value]) -> ResponseTemplate {
        let event = |data: &Value| {
            format!(
                "event: {}\ndata: {data}\n\n",
                data["type"].as_str().unwrap_or("")
            )
        };
        let body: String = events.iter().map(event).collect();
        ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
    }

    #[tokio::test]
    async fn streaming_with_tools() {
        let start = |input: u64| {
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
                   "role": "assistant", "content": [], "model": "claude-sonnet-4-5",
                   "usage": {"input_tokens": input, "output_tokens": 1}}})
        };
        let stop = |reason: &str, output: u64| {
            [
                json!({"type": "message_delta", "delta": {"stop_reason": reason},
                       "usage": {"output_tokens": output}}),
                json!({"type": "message_stop"}),
            ]
        };
        let tool = |index: u32, id: &str, pieces: &[&str]| {
            let mut events = vec![json!({"type": "content_block_start", "index": index,
                "content_block": {"type": "tool_use", "id": id, "name": "weather", "input": {}}})];
            events.extend(pieces.iter().map(|piece| {
                json!({"type": "content_block_delta", "index": index,
                       "delta": {"type": "input_json_delta", "partial_json": piece}})
            }));
            events.push(json!({"type": "content_block_stop", "index": index}));
            events
        };
        let mut first = vec![start(30)];
        first.extend(tool(0, "toolu_1", &[r#"{"city": "#, r#""Paris"}"#]));
        first.extend(tool(1, "toolu_2", &[r#"{"city": "Atlantis"}"#]));
        first.extend(stop("tool_use", 12));
        let mut second = vec![
            start(80),
            json!({"type": "content_block_start", "index": 0,
                   "content_block": {"type": "text", "text": ""}}),
        ];
        second.extend(["Clear ", "in Paris."].map(|text| {
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": text}})
        }));
        second.push(json!({"type": "content_block_stop", "index": 0}));
        second.extend(stop("end_turn", 4));
        let server = serve_responses("/v1/messages", [named_sse(&first), named_sse(&second)]).await;
        let agent = agent(model(&server), 4);
        let ledger = Ledger::new("stream");
        let deltas: Vec<String> = ledger
            .scope(async {
                let stream = agent.stream("Weather?").await?;
                futures_util::TryStreamExt::try_collect(stream).await
            })
            .await
            .expect("streams");
        assert_eq!(deltas, ["Clear ", "in Paris."]);
        let total = ledger.report().total;
        assert_eq!((total.calls, total.usage), (2, Usage::new(110, 16)));
        let sent = bodies(&server).await;
        let results = sent[1]["messages"][2]["content"]
            .as_array()
            .expect("blocks");
        let results: Vec<(&str, &str)> = results
            .iter()
            .map(|block| {
                (
                    block["tool_use_id"].as_str().unwrap_or(""),
                    block["content"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            results,
            [
                ("toolu_1", r#"{"city":"Paris","sky":"clear"}"#),
                ("toolu_2", "error: no station in Atlantis")
            ]
        );
    }

    #[derive(Debug, PartialEq, Deserialize, JsonSchema)]
    struct Report {
        sky: String,
    }

    #[tokio::test]
    async fn a_typed_answer_after_a_tool_call() {
        let server = serve(
            "/v1/messages",
            [
                message(
                    json!([{"type": "tool_use", "id": "toolu_1", "name": "weather",
                            "input": {"city": "Paris"}}]),
                    "tool_use",
                    10,
                    10,
                ),
                message(
                    json!([{"type": "tool_use", "id": "toolu_2", "name": "Report",
                            "input": {"sky": "clear"}}]),
                    "tool_use",
                    20,
                    5,
                ),
            ],
        )
        .await;
        let agent = agent(model(&server), 4);
        let report: Report = agent.extract("Weather in Paris?").await.expect("typed");
        assert_eq!(report.sky, "clear");
        let sent = bodies(&server).await;
        assert_eq!(sent.len(), 2);
        // Both turns offer the tool and the answer's shape; the model must call one.
        for body in &sent {
            let names: Vec<&str> = body["tools"]
                .as_array()
                .expect("tools")
                .iter()
                .filter_map(|tool| tool["name"].as_str())
                .collect();
            assert_eq!(names, ["weather", "Report"]);
            assert_eq!(body["tool_choice"], json!({"type": "any"}));
        }
    }

    #[tokio::test]
    async fn the_turn_bound_over_http() {
        let looping = message(
            json!([{"type": "tool_use", "id": "toolu_1", "name": "weather",
                    "input": {"city": "Paris"}}]),
            "tool_use",
            10,
            1,
        );
        let server = serve("/v1/messages", [looping]).await;
        let agent = agent(model(&server), 2);
        let (answer, usage, calls) = ask(&agent, "Weather?").await;
        assert!(
            matches!(answer, Err(Error::ToolLimit { max: 2, .. })),
            "{answer:?}"
        );
        assert_eq!((usage, calls), (Usage::new(20, 2), 2));
    }
}

/// The tool loop on a `genai` model speaking Gemini's API: calls without ids, results sent
/// back as `functionResponse`s named after their tool.
#[cfg(feature = "genai")]
mod genai {
    use super::*;
    use workflow::provider::{Genai, Message};

    fn answer(parts: Value, input: u64, output: u64) -> Value {
        let mut body = json!({
            "candidates": [{"content": {"parts": [], "role": "model"},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": input, "candidatesTokenCount": output,
                              "totalTokenCount": input + output},
            "modelVersion": "gemini-2.0-flash-001"
        });
        body["candidates"][0]["content"]["parts"] = parts;
        body
    }

    #[tokio::test]
    async fn converse_with_a_typed_tool() {
        let server = serve(
            "/v1beta/models/gemini-2.0-flash:generateContent",
            [
                answer(
                    json!([
                        {"functionCall": {"name": "weather", "args": {"city": "Paris"}}},
                        {"functionCall": {"name": "weather", "args": {"city": "Atlantis"}}}
                    ]),
                    100,
                    20,
                ),
                answer(json!([{"text": "Clear in Paris."}]), 300, 5),
            ],
        )
        .await;
        let model = Genai::builder("gemini-2.0-flash")
            .base_url(format!("{}/v1beta", server.uri()))
            .api_key("test-key")
            .backoff(Duration::from_millis(1))
            .build()
            .expect("valid config");
        let agent = agent(Arc::new(model), 4);
        let ledger = Ledger::new("tools");
        let conversation = ledger
            .scope(agent.converse(agent.request("Weather in Paris and Atlantis?")))
            .await
            .expect("answers");
        assert_eq!(conversation.response.text, "Clear in Paris.");
        assert_eq!(conversation.turns, 2);
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
        assert_eq!(roles, ["user", "assistant", "tool", "tool", "assistant"]);
        let total = ledger.report().total;
        assert_eq!((total.usage, total.calls), (Usage::new(400, 25), 2));

        let sent = bodies(&server).await;
        assert_eq!(sent.len(), 2);
        let declaration = &sent[0]["tools"][0]["functionDeclarations"][0];
        assert_eq!(declaration["name"], "weather");
        assert_eq!(
            declaration["parametersJsonSchema"]["required"],
            json!(["city"])
        );
        let results = sent[1]["contents"][2]["parts"].as_array().expect("results");
        let results: Vec<(&Value, String)> = results
            .iter()
            .map(|part| {
                let response = &part["functionResponse"];
                (&response["name"], response["response"].to_string())
            })
            .collect();
        assert_eq!(results.len(), 2, "{results:?}");
        assert_eq!(results[0].0, "weather");
        assert!(results[0].1.contains("clear"), "{results:?}");
        assert!(
            results[1].1.contains("no station in Atlantis"),
            "{results:?}"
        );
    }
}
