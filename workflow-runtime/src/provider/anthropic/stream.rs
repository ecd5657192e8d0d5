//! A streamed message: Anthropic's SSE events in, [`StreamEvent`]s out.
//!
//! A stream is `message_start`, then for each content block a `content_block_start`, its
//! `content_block_delta`s and a `content_block_stop`, then `message_delta` (the stop reason and
//! the output tokens) and `message_stop`; `ping`s may come anywhere. Text deltas are passed on
//! as they arrive; a tool call's `input_json_delta`s are joined per block index and the call is
//! passed on whole at its block's stop. Event types we do not know are skipped, as Anthropic's
//! versioning policy asks.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::wire::{self, Delta, Event, InBlock, InUsage, StartMessage};
use crate::provider::http::Caller;
use crate::provider::sse::{self, Decoder, Sink, SseEvent};
use crate::provider::{
    ChatResponse, ChatStream, FinishReason, ProviderErrorKind, StreamEvent, Usage,
};

/// The events of the streamed response `response`, which started at `started`. `answer_tool`
/// is the tool carrying a structured answer, whose input is streamed as the text.
pub(super) fn events(
    caller: Caller,
    response: reqwest::Response,
    idle_timeout: Duration,
    model: String,
    answer_tool: Option<String>,
    started: Instant,
) -> ChatStream {
    let answer = Answer {
        response: ChatResponse::new("").with_model(model),
        answer_tool,
        usage: None,
        stop_reason: None,
        blocks: Vec::new(),
        answered: false,
    };
    sse::events(caller, response, idle_timeout, started, answer)
}

/// The answer so far.
struct Answer {
    response: ChatResponse,
    answer_tool: Option<String>,
    usage: Option<InUsage>,
    stop_reason: Option<String>,
    /// The content blocks that started and have not stopped, with their index.
    blocks: Vec<(u32, Block)>,
    /// Whether the answer tool's input was read.
    answered: bool,
}

/// A content block being read.
enum Block {
    Text,
    Tool {
        id: Option<String>,
        name: Option<String>,
        /// The `input` of `content_block_start`, used if no delta comes.
        input: Option<Value>,
        json: String,
    },
    /// A call of the answer tool, whose input is the text.
    Answer {
        json: String,
    },
    /// A kind of block we skip, such as `thinking`.
    Skipped,
}

impl Decoder for Answer {
    fn event(&mut self, event: &SseEvent, at_end: bool, sink: &mut Sink) {
        let Some(value) = sink.json(event, at_end) else {
            return;
        };
        let is_error = value.get("type").and_then(Value::as_str) == Some("error");
        if is_error || event.event.as_deref() == Some("error") {
            let error = sink
                .caller()
                .payload_error(&value, ProviderErrorKind::Stream);
            return sink.fail_with(error);
        }
        match serde_json::from_value::<Event>(value) {
            Ok(event) => self.apply(event, sink),
            Err(error) => {
                let message = format!("a stream event does not have the expected shape: {error}");
                sink.fail(ProviderErrorKind::MalformedResponse, &message);
            }
        }
    }

    /// The body ended without `message_stop`: complete if the model had stopped.
    fn end(&mut self, sink: &mut Sink) {
        if self.stop_reason.is_some() {
            self.complete(sink);
        }
    }
}

impl Answer {
    fn apply(&mut self, event: Event, sink: &mut Sink) {
        match event {
            Event::MessageStart { message } => {
                let message = message.unwrap_or(StartMessage {
                    model: None,
                    usage: None,
                });
                if let Some(model) = message.model.filter(|model| !model.is_empty()) {
                    self.response.model = model;
                }
                self.usage = message.usage;
                self.saw_usage(sink);
            }
            Event::ContentBlockStart {
                index,
                content_block,
            } => self.start(index, content_block, sink),
            Event::ContentBlockDelta { index, delta } => self.delta(index, delta, sink),
            Event::ContentBlockStop { index } => {
                if let Some(slot) = self.blocks.iter().position(|(i, _)| *i == index) {
                    let (_, block) = self.blocks.remove(slot);
                    self.finish(index, block, sink);
                }
            }
            Event::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.and_then(|delta| delta.stop_reason) {
                    self.stop_reason = Some(reason);
                }
                if let Some(usage) = usage {
                    self.usage.get_or_insert_default().update(usage);
                    self.saw_usage(sink);
                }
            }
            Event::MessageStop => self.complete(sink),
            Event::Other => {}
        }
    }

    /// Tells `sink` the usage so far, which an error ending the stream carries.
    fn saw_usage(&self, sink: &mut Sink) {
        if let Some(usage) = self.usage {
            sink.saw_usage(Usage::from(usage));
        }
    }

    fn start(&mut self, index: u32, block: InBlock, sink: &mut Sink) {
        let block = match block {
            InBlock::Text { .. } if self.answer_tool.is_some() => Block::Skipped,
            InBlock::Text { text } => {
                self.text(text.unwrap_or_default(), sink);
                Block::Text
            }
            InBlock::ToolUse { name, .. } if name.is_some() && name == self.answer_tool => {
                Block::Answer {
                    json: String::new(),
                }
            }
            InBlock::ToolUse { id, name, input } => Block::Tool {
                id,
                name,
                input,
                json: String::new(),
            },
            InBlock::Other => Block::Skipped,
        };
        self.blocks.retain(|(i, _)| *i != index);
        self.blocks.push((index, block));
    }

    fn delta(&mut self, index: u32, delta: Delta, sink: &mut Sink) {
        let block = self.blocks.iter_mut().find(|(i, _)| *i == index);
        let block = block.map(|(_, block)| block);
        match (delta, block) {
            (Delta::Text { text }, Some(Block::Text)) => self.text(text, sink),
            // Text of a block whose start was lost is still text.
            (Delta::Text { text }, None) if self.answer_tool.is_none() => {
                self.text(text, sink);
            }
            (Delta::InputJson { partial_json }, Some(Block::Tool { json, .. })) => {
                json.push_str(&partial_json);
            }
            (Delta::InputJson { partial_json }, Some(Block::Answer { json })) => {
                json.push_str(&partial_json);
                self.text(partial_json, sink);
            }
            (Delta::InputJson { .. }, None) => {
                let message = format!("content block {index} has input but never started");
                sink.fail(ProviderErrorKind::MalformedResponse, &message);
            }
            _ => {}
        }
    }

    /// Adds `text` to the answer and passes it on.
    fn text(&mut self, text: String, sink: &mut Sink) {
        if !text.is_empty() {
            self.response.text.push_str(&text);
            sink.push(StreamEvent::TextDelta(text));
        }
    }

    /// Ends the block at `index`: a tool call is passed on whole.
    fn finish(&mut self, index: u32, block: Block, sink: &mut Sink) {
        match block {
            Block::Tool {
                id,
                name,
                input,
                json,
            } => {
                let input = match json.trim() {
                    "" => Ok(input),
                    json => serde_json::from_str(json).map(Some),
                };
                let call = input
                    .map_err(|error| invalid_input(name.as_deref(), &error))
                    .and_then(|input| wire::tool_call(index as usize, id, name, input));
                match call {
                    Ok(call) => {
                        self.response.tool_calls.push(call.clone());
                        sink.push(StreamEvent::ToolCall(call));
                    }
                    Err((kind, message)) => sink.fail(kind, &message),
                }
            }
            Block::Answer { json } if json.trim().is_empty() => {
                self.answered = true;
                self.text("{}".to_owned(), sink);
            }
            Block::Answer { json } => match serde_json::from_str::<Value>(&json) {
                Ok(_) => self.answered = true,
                Err(error) => {
                    let (kind, message) = invalid_input(self.answer_tool.as_deref(), &error);
                    sink.fail(kind, &message);
                }
            },
            Block::Text | Block::Skipped => {}
        }
    }

    /// Ends the blocks still open, then queues the usage and [`StreamEvent::Done`].
    fn complete(&mut self, sink: &mut Sink) {
        let mut blocks = std::mem::take(&mut self.blocks);
        blocks.sort_by_key(|(index, _)| *index);
        for (index, block) in blocks {
            self.finish(index, block, sink);
            if sink.is_finished() {
                return;
            }
        }
        let mut response = std::mem::take(&mut self.response);
        response.usage = self.usage.map(Usage::from);
        response.finish_reason = wire::finish_reason(self.stop_reason.take());
        if self.answered && response.tool_calls.is_empty() {
            response.finish_reason = Some(FinishReason::Stop);
        }
        sink.done(response);
    }
}

fn invalid_input(name: Option<&str>, error: &serde_json::Error) -> wire::Problem {
    let name = name.unwrap_or("?");
    wire::malformed(format!(
        "the input of tool call `{name}` is not valid JSON: {error}"
    ))
}
