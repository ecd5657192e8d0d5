//! A streamed chat completion: SSE chunks in, [`StreamEvent`]s out.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use serde_json::Value;

use super::wire::{self, Chunk, Problem};
use crate::provider::http::Caller;
use crate::provider::sse::{SseEvent, SseParser};
use crate::provider::{
    ChatResponse, ChatStream, ProviderError, ProviderErrorKind, StreamEvent, Usage,
};
use crate::Error;

/// The events of the streamed response `response`, which started at `started`.
pub(super) fn events(
    caller: Caller,
    response: reqwest::Response,
    idle_timeout: Duration,
    model: String,
    started: Instant,
) -> ChatStream {
    let reader = Reader {
        caller,
        body: Box::pin(response.bytes_stream()),
        idle_timeout,
        parser: SseParser::new(),
        pending: VecDeque::new(),
        answer: Answer {
            response: ChatResponse::new("").with_model(model),
            ..Answer::default()
        },
        started,
        finished: false,
        at_end: false,
    };
    Box::pin(futures_util::stream::unfold(
        reader,
        |mut reader| async move {
            loop {
                if let Some(item) = reader.pending.pop_front() {
                    return Some((item, reader));
                }
                if reader.finished {
                    return None;
                }
                reader.read().await;
            }
        },
    ))
}

/// Reads the body and turns it into events, queued in `pending`.
struct Reader<S> {
    caller: Caller,
    body: Pin<Box<S>>,
    idle_timeout: Duration,
    parser: SseParser,
    pending: VecDeque<Result<StreamEvent, Error>>,
    answer: Answer,
    started: Instant,
    /// Whether the last event, or an error, is queued: nothing more is read.
    finished: bool,
    /// Whether the body has ended: an event that is not JSON then was cut off.
    at_end: bool,
}

impl<S, B> Reader<S>
where
    S: Stream<Item = reqwest::Result<B>>,
    B: AsRef<[u8]>,
{
    /// Reads the next chunk of the body and queues what it completes.
    async fn read(&mut self) {
        let mut events = Vec::new();
        match tokio::time::timeout(self.idle_timeout, self.body.next()).await {
            Err(_) => {
                let message = format!("no data for {:?}", self.idle_timeout);
                return self.fail((ProviderErrorKind::Timeout, message));
            }
            Ok(Some(Err(error))) => return self.fail_with(self.caller.transport_error(error)),
            Ok(Some(Ok(bytes))) => {
                self.parser.feed(bytes.as_ref(), &mut events);
                return self.handle_all(events);
            }
            Ok(None) => self.parser.finish(&mut events),
        }
        self.at_end = true;
        self.handle_all(events);
        if self.finished {
            return;
        }
        // The body ended without `[DONE]`: complete if the model had finished.
        if self.answer.response.finish_reason.is_some() {
            self.complete();
        } else {
            let message = "the stream ended before the answer was complete";
            self.fail((ProviderErrorKind::Stream, message.to_owned()));
        }
    }

    fn handle_all(&mut self, events: Vec<SseEvent>) {
        for event in events {
            if self.finished {
                return;
            }
            self.handle(&event);
        }
    }

    fn handle(&mut self, event: &SseEvent) {
        if event.is_done() {
            return self.complete();
        }
        let is_error = event.event.as_deref() == Some("error");
        let value: Value = match serde_json::from_str(&event.data) {
            Ok(value) => value,
            Err(_) if is_error => {
                let message = format!("the stream sent an error: {}", event.data.trim());
                return self.fail((ProviderErrorKind::Stream, message));
            }
            Err(_) if self.at_end => {
                let message = "the stream ended in the middle of an event";
                return self.fail((ProviderErrorKind::Stream, message.to_owned()));
            }
            Err(error) => {
                let message = format!("a stream chunk is not valid JSON: {error}");
                return self.fail((ProviderErrorKind::MalformedResponse, message));
            }
        };
        if let Some(error) = value.get("error").filter(|error| !error.is_null()) {
            return self.fail_with(self.caller.payload_error(error, ProviderErrorKind::Stream));
        }
        if is_error {
            return self.fail_with(self.caller.payload_error(&value, ProviderErrorKind::Stream));
        }
        match serde_json::from_value::<Chunk>(value) {
            Ok(chunk) => {
                if let Some(delta) = self.answer.add(chunk) {
                    self.pending.push_back(Ok(StreamEvent::TextDelta(delta)));
                }
            }
            Err(error) => {
                let message = format!("a stream chunk does not have the expected shape: {error}");
                self.fail((ProviderErrorKind::MalformedResponse, message));
            }
        }
    }

    /// Queues the tool calls, the usage and [`StreamEvent::Done`].
    fn complete(&mut self) {
        self.finished = true;
        let mut response = std::mem::take(&mut self.answer.response);
        let calls = std::mem::take(&mut self.answer.calls);
        for (position, call) in calls.into_iter().enumerate() {
            let arguments = Some(serde_json::Value::String(call.arguments));
            match wire::tool_call(position, call.id, call.name, arguments) {
                Ok(call) => response.tool_calls.push(call),
                Err(problem) => return self.fail(problem),
            }
        }
        let calls = response
            .tool_calls
            .iter()
            .cloned()
            .map(StreamEvent::ToolCall);
        self.pending.extend(calls.map(Ok));
        if let Some(usage) = response.usage {
            self.pending.push_back(Ok(StreamEvent::Usage(usage)));
        }
        response.latency = self.started.elapsed();
        self.pending.push_back(Ok(StreamEvent::Done(response)));
    }

    fn fail(&mut self, (kind, message): Problem) {
        self.fail_with(self.caller.error(kind, &message));
    }

    fn fail_with(&mut self, error: ProviderError) {
        self.finished = true;
        self.pending.push_back(Err(error.into()));
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
