//! A streamed chat completion: SSE chunks in, [`StreamEvent`]s out.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::wire::{self, Chunk};
use crate::provider::http::Caller;
use crate::provider::sse::{self, Decoder, Sink, SseEvent};
use crate::provider::{ChatResponse, ChatStream, ProviderErrorKind, StreamEvent, Usage};

/// The events of the streamed response `response`, which started at `started`.
pub(super) fn events(
    caller: Caller,
    response: reqwest::Response,
    idle_timeout: Duration,
    model: String,
    started: Instant,
) -> ChatStream {
    let answer = Answer {
        response: ChatResponse::new("").with_model(model),
        ..Answer::default()
    };
    sse::events(caller, response, idle_timeout, started, answer)
}

impl Decoder for Answer {
    fn event(&mut self, event: &SseEvent, at_end: bool, sink: &mut Sink) {
        if event.is_done() {
            return self.complete(sink);
        }
        let Some(value) = sink.json(event, at_end) else {
            return;
        };
        if let Some(error) = value.get("error").filter(|error| !error.is_null()) {
            let error = sink
                .caller()
                .payload_error(error, ProviderErrorKind::Stream);
            return sink.fail_with(error);
        }
        if event.event.as_deref() == Some("error") {
            let error = sink
                .caller()
                .payload_error(&value, ProviderErrorKind::Stream);
            return sink.fail_with(error);
        }
        match serde_json::from_value::<Chunk>(value) {
            Ok(chunk) => {
                let delta = self.add(chunk);
                if let Some(usage) = self.response.usage {
                    sink.saw_usage(usage);
                }
                if let Some(delta) = delta {
                    sink.push(StreamEvent::TextDelta(delta));
                }
            }
            Err(error) => {
                let message = format!("a stream chunk does not have the expected shape: {error}");
                sink.fail(ProviderErrorKind::MalformedResponse, &message);
            }
        }
    }

    /// The body ended without `[DONE]`: complete if the model had finished.
    fn end(&mut self, sink: &mut Sink) {
        if self.response.finish_reason.is_some() {
            self.complete(sink);
        }
    }
}

impl Answer {
    /// Queues the tool calls, the usage and [`StreamEvent::Done`].
    fn complete(&mut self, sink: &mut Sink) {
        let mut response = std::mem::take(&mut self.response);
        let calls = std::mem::take(&mut self.calls);
        for (position, call) in calls.into_iter().enumerate() {
            let arguments = Some(Value::String(call.arguments));
            match wire::tool_call(position, call.id, call.name, arguments) {
                Ok(call) => response.tool_calls.push(call),
                Err((kind, message)) => return sink.fail(kind, &message),
            }
        }
        for call in &response.tool_calls {
            sink.push(StreamEvent::ToolCall(call.clone()));
        }
        sink.done(response);
    }
}

/// The answer so far.
#[derive(Default)]
struct Answer {
    response: ChatResponse,
    /// The tool calls, in the order their first chunk arrived.
    calls: Vec<PartialCall>,
}

/// A tool call whose chunks are still arriving.
struct PartialCall {
    /// The `index` the server gives it.
    index: u32,
    id: Option<String>,
    name: Option<String>,
    arguments: String,
}

impl Answer {
    /// Adds `chunk`; returns its text, if it has some.
    fn add(&mut self, chunk: Chunk) -> Option<String> {
        if let Some(model) = chunk.model.filter(|model| !model.is_empty()) {
            self.response.model = model;
        }
        if let Some(usage) = chunk.usage {
            self.response.usage = Some(Usage::from(usage));
        }
        let choices = chunk.choices.unwrap_or_default();
        let choice = choices.into_iter().find(|c| c.index.unwrap_or(0) == 0)?;
        if let Some(reason) = wire::finish_reason(choice.finish_reason) {
            self.response.finish_reason = Some(reason);
        }
        let delta = choice.delta?;
        for (position, call) in delta.tool_calls.into_iter().flatten().enumerate() {
            self.add_call(position, call);
        }
        let text = delta.content.filter(|text| !text.is_empty());
        if let Some(text) = &text {
            self.response.text.push_str(text);
        }
        text
    }

    /// Adds a piece of a tool call to the call with the same `index`, or starts a new call. A
    /// new id at a known index also starts a new call: Ollama gives every call index 0.
    fn add_call(&mut self, position: usize, delta: wire::ToolCallDelta) {
        let index = delta.index.unwrap_or(position as u32);
        let id = delta.id.filter(|id| !id.is_empty());
        let known = self.calls.iter().rposition(|call| call.index == index);
        let slot = match known {
            Some(slot) if id.is_none() || self.calls[slot].id == id => slot,
            Some(slot) if self.calls[slot].id.is_none() => slot,
            _ => {
                self.calls.push(PartialCall {
                    index,
                    id: None,
                    name: None,
                    arguments: String::new(),
                });
                self.calls.len() - 1
            }
        };
        let call = &mut self.calls[slot];
        if call.id.is_none() {
            call.id = id;
        }
        if let Some(function) = delta.function {
            if call.name.is_none() {
                call.name = function.name.filter(|name| !name.is_empty());
            }
            call.arguments
                .push_str(function.arguments.as_deref().unwrap_or(""));
        }
    }
}
