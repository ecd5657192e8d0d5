//! Drives a streamed response: reads the body chunk by chunk, each within the idle timeout,
//! parses its SSE events and hands them to the provider's [`Decoder`], which queues what they
//! mean in a [`Sink`]. The stream ends after [`Sink::done`] or the first error.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use serde_json::Value;

use super::{SseEvent, SseParser};
use crate::provider::http::Caller;
use crate::provider::{
    ChatResponse, ChatStream, ProviderError, ProviderErrorKind, StreamEvent, Usage,
};
use crate::Error;

/// What a provider makes of the events of its stream.
pub(crate) trait Decoder: Send + 'static {
    /// Reads `event`. `at_end` says the body has ended, so an event that is not JSON was cut
    /// off.
    fn event(&mut self, event: &SseEvent, at_end: bool, sink: &mut Sink);

    /// The body ended and the stream is not finished: complete the answer or fail.
    fn end(&mut self, sink: &mut Sink);
}

/// Where a [`Decoder`] queues the items of the stream.
pub(crate) struct Sink {
    caller: Caller,
    started: Instant,
    pending: VecDeque<Result<StreamEvent, Error>>,
    /// Whether `Done` or an error is queued: nothing more is read.
    finished: bool,
    /// The latest usage the stream reported, which an error ending the stream carries.
    usage: Option<Usage>,
}

impl Sink {
    /// Who is calling: to build errors with.
    pub(crate) fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Whether the stream is over.
    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }

    /// Queues `event`.
    pub(crate) fn push(&mut self, event: StreamEvent) {
        self.pending.push_back(Ok(event));
    }

    /// Ends the stream with an error of `kind`.
    pub(crate) fn fail(&mut self, kind: ProviderErrorKind, message: &str) {
        self.fail_with(self.caller.error(kind, message));
    }

    /// Records the usage the stream reported so far (counts are cumulative: it replaces the
    /// previous one), so that an error ending the stream carries it.
    pub(crate) fn saw_usage(&mut self, usage: Usage) {
        self.usage = Some(usage);
    }

    /// Ends the stream with `error`, which carries the usage seen so far unless it has one.
    pub(crate) fn fail_with(&mut self, error: ProviderError) {
        self.finished = true;
        let error = match self.usage {
            Some(usage) if error.usage().is_none() => error.with_usage(usage),
            _ => error,
        };
        self.pending.push_back(Err(error.into()));
    }

    /// Ends the stream with the usage, if there is one, and [`StreamEvent::Done`], setting the
    /// response's latency.
    pub(crate) fn done(&mut self, mut response: ChatResponse) {
        self.finished = true;
        if let Some(usage) = response.usage {
            self.push(StreamEvent::Usage(usage));
        }
        response.latency = self.started.elapsed();
        self.push(StreamEvent::Done(response));
    }

    /// The JSON data of `event`, or `None` after failing the stream: with a
    /// [`ProviderErrorKind::Stream`] error if the event is a named `error` or was cut off by the
    /// end of the body, as malformed otherwise.
    pub(crate) fn json(&mut self, event: &SseEvent, at_end: bool) -> Option<Value> {
        match serde_json::from_str(&event.data) {
            Ok(value) => Some(value),
            Err(_) if event.event.as_deref() == Some("error") => {
                let message = format!("the stream sent an error: {}", event.data.trim());
                self.fail(ProviderErrorKind::Stream, &message);
                None
            }
            Err(_) if at_end => {
                let message = "the stream ended in the middle of an event";
                self.fail(ProviderErrorKind::Stream, message);
                None
            }
            Err(error) => {
                let message = format!("a stream chunk is not valid JSON: {error}");
                self.fail(ProviderErrorKind::MalformedResponse, &message);
                None
            }
        }
    }
}

/// The events of the streamed `response`, which started at `started`, as `decoder` reads them.
/// Each chunk of the body must arrive within `idle_timeout`.
pub(crate) fn events<D: Decoder>(
    caller: Caller,
    response: reqwest::Response,
    idle_timeout: Duration,
    started: Instant,
    decoder: D,
) -> ChatStream {
    let reader = Reader {
        body: Box::pin(response.bytes_stream()),
        idle_timeout,
        parser: SseParser::new(),
        sink: Sink {
            caller,
            started,
            pending: VecDeque::new(),
            finished: false,
            usage: None,
        },
        decoder,
    };
    Box::pin(futures_util::stream::unfold(
        reader,
        |mut reader| async move {
            loop {
                if let Some(item) = reader.sink.pending.pop_front() {
                    return Some((item, reader));
                }
                if reader.sink.finished {
                    return None;
                }
                reader.read().await;
            }
        },
    ))
}

/// Reads the body and feeds its events to the decoder.
struct Reader<S, D> {
    body: Pin<Box<S>>,
    idle_timeout: Duration,
    parser: SseParser,
    sink: Sink,
    decoder: D,
}

impl<S, B, D> Reader<S, D>
where
    S: Stream<Item = reqwest::Result<B>>,
    B: AsRef<[u8]>,
    D: Decoder,
{
    /// Reads the next chunk of the body and decodes the events it completes.
    async fn read(&mut self) {
        let mut events = Vec::new();
        match tokio::time::timeout(self.idle_timeout, self.body.next()).await {
            Err(_) => {
                let message = format!("no data for {:?}", self.idle_timeout);
                return self.sink.fail(ProviderErrorKind::Timeout, &message);
            }
            Ok(Some(Err(error))) => {
                let error = self.sink.caller.transport_error(error);
                return self.sink.fail_with(error);
            }
            Ok(Some(Ok(bytes))) => {
                self.parser.feed(bytes.as_ref(), &mut events);
                return self.decode(&events, false);
            }
            Ok(None) => self.parser.finish(&mut events),
        }
        self.decode(&events, true);
        if !self.sink.finished {
            self.decoder.end(&mut self.sink);
        }
        if !self.sink.finished {
            let message = "the stream ended before the answer was complete";
            self.sink.fail(ProviderErrorKind::Stream, message);
        }
    }

    fn decode(&mut self, events: &[SseEvent], at_end: bool) {
        for event in events {
            if self.sink.finished {
                return;
            }
            self.decoder.event(event, at_end, &mut self.sink);
        }
    }
}
