//! An incremental Server-Sent-Events parser, fed the body in chunks of any size.
//!
//! It follows the WHATWG event-stream format: lines end with LF, CRLF or CR; a blank line
//! dispatches the event; `data:` lines are joined with `\n`; `event:` names the event; lines
//! starting with `:` are comments; one space after the colon is dropped. Bytes are buffered until
//! a line is complete, so a UTF-8 character split across chunks is decoded whole; invalid UTF-8
//! is replaced, never a panic. At the end of the body, [`SseParser::finish`] dispatches an event
//! that had no trailing blank line.
//!
//! [`events`] drives a streamed response through the parser and a provider's [`Decoder`].

mod reader;

pub(crate) use reader::{events, Decoder, Sink};

/// One event of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` name, if there was one.
    pub(crate) event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub(crate) data: String,
}

impl SseEvent {
    /// Whether this is OpenAI's end-of-stream marker, `data: [DONE]`.
    pub(crate) fn is_done(&self) -> bool {
        self.data.trim() == "[DONE]"
    }
}

/// The parser's state between chunks.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    /// The bytes of the line being read.
    line: Vec<u8>,
    /// Whether the last byte seen was a CR, so that an LF right after it ends no new line.
    after_cr: bool,
    /// The data lines of the event being read, each followed by `\n`.
    data: String,
    /// The name of the event being read.
    event: Option<String>,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Reads `chunk` and appends the events it completes to `out`.
    pub(crate) fn feed(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) {
        let mut rest = chunk;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if let [b'\n', tail @ ..] = rest {
                rest = tail;
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&rest[..end]);
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out);
            self.line = line;
            self.line.clear();
            rest = &rest[end..];
            match rest {
                [b'\r', b'\n', tail @ ..] => rest = tail,
                [b'\r'] => {
                    self.after_cr = true;
                    rest = &[];
                }
                [_, tail @ ..] => rest = tail,
                [] => {}
            }
        }
        self.line.extend_from_slice(rest);
    }

    /// Ends the stream: reads a last line without a line ending and dispatches an event that
    /// had no trailing blank line.
    pub(crate) fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out);
        }
        self.dispatch(out);
        self.after_cr = false;
    }

    fn process_line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            return self.dispatch(out);
        }
        let line = String::from_utf8_lossy(line);
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (&*line, ""),
        };
        match field {
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "event" => self.event = Some(value.to_owned()),
            // `id` and `retry` do not matter to a one-shot request; other fields are ignored.
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let event = self.event.take();
        let mut data = std::mem::take(&mut self.data);
        // An event without data is not dispatched.
        if data.pop().is_some() {
            out.push(SseEvent { event, data });
        }
    }
}

#[cfg(test)]
mod tests;
