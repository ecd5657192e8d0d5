//! [`TextStream`]: the text of a streamed answer, accounted when it ends.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::Stream;

use crate::provider::{
    ChatResponse, ChatStream, ProviderError, ProviderErrorKind, StreamEvent, Usage,
};
use crate::scope::Call;
use crate::Error;

/// The text of an answer as the model writes it: from [`Agent::stream`](super::Agent::stream).
///
/// Yields the text deltas, in order; ends after the last one, or after an error. Inside an
/// observed run, each delta is also an [`EventKind::TextDelta`](crate::event::EventKind::TextDelta)
/// tagged with the step that started the stream. The call is
/// recorded when the answer is complete, with the usage the provider reported; a stream that
/// fails, or is dropped before its end, is recorded as a failed call, with the usage the
/// provider had reported before it failed (the tokens of a broken stream count in the budget). A call that goes past
/// the run's budget yields [`Error::BudgetExceeded`] last.
///
/// From an agent with tools, the stream goes through the turns of its tool loop, running the
/// tools between them: each turn is a call of its own, recorded as above.
///
/// ```
/// use std::sync::Arc;
/// use futures_util::TryStreamExt;
/// use workflow_runtime::provider::Scripted;
/// use workflow_runtime::Agent;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), workflow_runtime::Error> {
/// let agent = Agent::builder(Arc::new(Scripted::new().reply("one word at a time"))).build();
/// let deltas: Vec<String> = agent.stream("go").await?.try_collect().await?;
/// assert_eq!(deltas, ["one ", "word ", "at ", "a ", "time"]);
/// # Ok(())
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct TextStream {
    inner: Pin<Box<dyn Stream<Item = Result<String, Error>> + Send>>,
}

impl TextStream {
    /// The text of one model call.
    pub(super) fn new(turn: Turn) -> Self {
        TextStream::from_stream(turn)
    }

    /// The text `stream` yields.
    pub(super) fn from_stream(
        stream: impl Stream<Item = Result<String, Error>> + Send + 'static,
    ) -> Self {
        TextStream {
            inner: Box::pin(stream),
        }
    }
}

impl Stream for TextStream {
    type Item = Result<String, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().inner.as_mut().poll_next(cx)
    }
}

impl std::fmt::Debug for TextStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextStream").finish_non_exhaustive()
    }
}

/// The text of one streamed model call, which records the call when it ends and keeps the
/// whole answer.
pub(super) struct Turn {
    /// `None` once the stream has ended.
    events: Option<ChatStream>,
    call: Option<Call>,
    /// The last usage the stream reported.
    usage: Option<Usage>,
    /// The whole answer, once the stream has given it.
    answer: Option<ChatResponse>,
    /// Whether the turn is replayed from its record, not asked of the model.
    replayed: bool,
}

impl Turn {
    pub(super) fn new(events: ChatStream, call: Call) -> Self {
        Turn {
            events: Some(events),
            call: Some(call),
            usage: None,
            answer: None,
            replayed: false,
        }
    }

    /// A turn of a durable run's tool loop replayed from its record: its text at once, then
    /// its answer; nothing is asked, nothing accounted.
    pub(super) fn replayed(response: ChatResponse) -> Self {
        let text =
            (!response.text.is_empty()).then(|| StreamEvent::TextDelta(response.text.clone()));
        let events = text
            .into_iter()
            .chain([StreamEvent::Done(response)])
            .map(Ok);
        Turn {
            events: Some(Box::pin(futures_util::stream::iter(events))),
            call: None,
            usage: None,
            answer: None,
            replayed: true,
        }
    }

    /// Whether the turn is replayed from its record.
    pub(super) fn is_replayed(&self) -> bool {
        self.replayed
    }

    /// The whole answer, if the stream ended with one.
    pub(super) fn take_answer(&mut self) -> Option<ChatResponse> {
        self.answer.take()
    }

    /// Records the end of the call: `Ok` with the final response's usage, or failed with
    /// `error`, counting the usage it carries or else the last the stream reported.
    fn end(&mut self, done: Result<ChatResponse, Option<&Error>>) -> Option<Error> {
        self.events = None;
        let call = self.call.take()?;
        match done {
            Ok(mut response) => {
                response.usage = response.usage.or(self.usage);
                call.succeeded(&response.model, response.usage).err()
            }
            Err(error) => {
                call.failed(error.and_then(super::spent).or(self.usage));
                None
            }
        }
    }
}

impl Stream for Turn {
    type Item = Result<String, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            let Some(events) = this.events.as_mut() else {
                return Poll::Ready(None);
            };
            let event = ready!(events.as_mut().poll_next(cx));
            match event {
                Some(Ok(StreamEvent::TextDelta(text))) => {
                    if let Some(call) = &this.call {
                        call.text_delta(&text);
                    }
                    return Poll::Ready(Some(Ok(text)));
                }
                Some(Ok(StreamEvent::Usage(usage))) => this.usage = Some(usage),
                Some(Ok(StreamEvent::Done(response))) => {
                    this.answer = Some(response.clone());
                    return Poll::Ready(this.end(Ok(response)).map(Err));
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    this.end(Err(Some(&error)));
                    return Poll::Ready(Some(Err(error)));
                }
                None => {
                    this.end(Err(None));
                    let kind = ProviderErrorKind::Stream;
                    let message = "the stream ended before the answer was complete";
                    let error = ProviderError::new("agent", kind, message);
                    return Poll::Ready(Some(Err(error.into())));
                }
            }
        }
    }
}
