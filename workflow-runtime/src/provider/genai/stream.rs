//! A `genai` chat stream as our [`ChatStream`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ::genai::chat::{ChatStream as GenaiStream, ChatStreamEvent, StreamEnd};
use futures_util::StreamExt;

use super::signatures::Signatures;
use super::{convert, error::provider_error};
use crate::provider::http::Caller;
use crate::provider::{ChatResponse, ChatStream, ProviderErrorKind, StreamEvent};
use crate::Error;

/// A stream whose response has started: its first event, read while the call could still be
/// retried, and the rest.
pub(super) struct Opened {
    pub(super) first: ChatStreamEvent,
    pub(super) rest: GenaiStream,
}

/// What a stream needs besides its events.
pub(super) struct Stream {
    /// Who is calling, for errors.
    pub(super) caller: Caller,
    /// The longest wait for each chunk.
    pub(super) timeout: Duration,
    /// The model asked.
    pub(super) model: String,
    /// When the call started.
    pub(super) started: Instant,
    /// Where the tool calls' thought signatures are kept.
    pub(super) signatures: Signatures,
}

impl Stream {
    /// `opened` as our events: text deltas as they come, then each tool call whole, the usage
    /// and [`StreamEvent::Done`] once `genai` has the whole answer. Each chunk must come within
    /// the timeout; an error ends the stream.
    pub(super) fn events(self, opened: Opened) -> ChatStream {
        let state = State {
            rest: Some(opened.rest),
            first: Some(opened.first),
            ready: VecDeque::new(),
            text: String::new(),
            stream: self,
        };
        Box::pin(futures_util::stream::unfold(
            state,
            |mut state| async move {
                let item = state.next().await?;
                Some((item, state))
            },
        ))
    }
}

/// What the stream has read so far.
struct State {
    rest: Option<GenaiStream>,
    first: Option<ChatStreamEvent>,
    /// Events ready to hand out: the tool calls, usage and answer of the end.
    ready: VecDeque<Result<StreamEvent, Error>>,
    text: String,
    stream: Stream,
}

impl State {
    async fn next(&mut self) -> Option<Result<StreamEvent, Error>> {
        loop {
            if let Some(ready) = self.ready.pop_front() {
                return Some(ready);
            }
            let rest = self.rest.as_mut()?;
            let next = match self.first.take() {
                Some(first) => Some(Ok(first)),
                None => match tokio::time::timeout(self.stream.timeout, rest.next()).await {
                    Ok(next) => next,
                    Err(_) => return self.fail(ProviderErrorKind::Timeout, "no chunk in time"),
                },
            };
            let event = match next {
                Some(Ok(event)) => event,
                Some(Err(error)) => {
                    self.rest = None;
                    return Some(Err(provider_error(&self.stream.caller, &error).into()));
                }
                None => {
                    let message = "the stream ended before the answer was complete";
                    return self.fail(ProviderErrorKind::Stream, message);
                }
            };
            match event {
                ChatStreamEvent::Chunk(chunk) if !chunk.content.is_empty() => {
                    self.text.push_str(&chunk.content);
                    return Some(Ok(StreamEvent::TextDelta(chunk.content)));
                }
                ChatStreamEvent::End(end) => {
                    self.rest = None;
                    self.end(&end);
                }
                // Tool calls come whole with the end; reasoning is not part of the answer.
                _ => {}
            }
        }
    }

    /// Ends the stream with an error of `kind`.
    fn fail(
        &mut self,
        kind: ProviderErrorKind,
        message: &str,
    ) -> Option<Result<StreamEvent, Error>> {
        self.rest = None;
        Some(Err(self.stream.caller.error(kind, message).into()))
    }

    /// Queues the tool calls, the usage and the whole answer of `end`.
    fn end(&mut self, end: &StreamEnd) {
        let mut response = ChatResponse::new(std::mem::take(&mut self.text));
        if let Some(content) = &end.captured_content {
            if response.text.is_empty() {
                response.text = convert::text(content);
            }
            response.tool_calls = convert::tool_calls(content);
            self.stream.signatures.keep(content.tool_calls());
        }
        response.usage = end.captured_usage.as_ref().and_then(convert::usage);
        response.finish_reason = end
            .captured_stop_reason
            .as_ref()
            .map(convert::finish_reason);
        response.model = std::mem::take(&mut self.stream.model);
        response.latency = self.stream.started.elapsed();
        let calls = response.tool_calls.iter().cloned();
        self.ready
            .extend(calls.map(|call| Ok(StreamEvent::ToolCall(call))));
        self.ready
            .extend(response.usage.map(|usage| Ok(StreamEvent::Usage(usage))));
        self.ready.push_back(Ok(StreamEvent::Done(response)));
    }
}
