//! A canary API key, echoed back by a provider in every way a faulty server could (whole, at
//! every offset around the cut of a long message, JSON-escaped, in a stream's error event),
//! never reaches anything a durable run leaves behind: its error and report, its events, its
//! `tracing` spans and logs, the run recorded in the store, and the SQLite file and its WAL.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event as TraceEvent, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
use tracing_subscriber::Layer;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use workflow::prelude::*;
use workflow::provider::{Anthropic, ChatModel, ChatRequest, OpenAi};
use workflow::SqliteStore;

/// The canary: long, and made of pieces no message has by chance.
const KEY: &str = "sk-proj-7Hq2ZxW9cR4tLm8NvB3kY6pD";

/// The shortest piece of the key that counts as a leak.
const PIECE: usize = 6;

/// How long a provider's message may be before it is cut.
const CUT: usize = 500;

/// Makes one model call: a chat, or a stream read to its end.
struct Caller {
    model: Arc<dyn ChatModel>,
}

#[workflow]
impl Caller {
    async fn call(&self, stream: bool) -> Result<String> {
        let request = ChatRequest::new().user("hi");
        if !stream {
            return Ok(self.model.chat(request).await?.text);
        }
        let mut text = String::new();
        let mut deltas = self.model.stream(request).await?;
        while let Some(delta) = deltas.next().await {
            if let workflow::provider::StreamEvent::TextDelta(piece) = delta? {
                text.push_str(&piece);
            }
        }
        Ok(text)
    }

    flow! {
        start -> call -> end;
    }
}

/// A fault of the server, echoing the key: its status, body and media type, and whether the
/// step streams.
struct Fault {
    name: String,
    status: u16,
    body: String,
    mime: &'static str,
    stream: bool,
}

/// The faults: the key at offsets around the cut of a long error message, in plain text,
/// JSON-escaped, and in a stream's error event.
fn faults() -> Vec<Fault> {
    let error = |message: &str| {
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
            .to_string()
    };
    let mut faults = Vec::new();
    for offset in (CUT - KEY.len() - 2..=CUT + 2).step_by(3) {
        let message = format!("{}{KEY} was refused", "x".repeat(offset));
        faults.push(Fault {
            name: format!("key at offset {offset}"),
            status: 400,
            body: error(&message),
            mime: "application/json",
            stream: false,
        });
    }
    faults.push(Fault {
        name: "plain text".into(),
        status: 401,
        body: format!("bad key {KEY}"),
        mime: "text/plain",
        stream: false,
    });
    let escaped: String = KEY
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    faults.push(Fault {
        name: "json-escaped".into(),
        status: 400,
        body: format!(r#"{{"error": {{"message": "key {escaped} refused"}}}}"#),
        mime: "application/json",
        stream: false,
    });
    faults.push(Fault {
        name: "stream error event".into(),
        status: 200,
        body: format!("data: {}\n\n", error(&format!("key {KEY} refused"))),
        mime: "text/event-stream",
        stream: true,
    });
    faults
}

/// The OpenAI-compatible and the Anthropic provider, calling `base` with the canary key.
fn models(base: &str) -> [(&'static str, Arc<dyn ChatModel>); 2] {
    let openai = OpenAi::builder(format!("{base}/v1"), "gpt-4o-mini")
        .api_key(KEY)
        .retries(0)
        .build()
        .expect("valid config");
    let anthropic = Anthropic::builder(KEY, "claude-sonnet-4-5")
        .base_url(base)
        .retries(0)
        .build()
        .expect("valid config");
    [
        ("openai", Arc::new(openai)),
        ("anthropic", Arc::new(anthropic)),
    ]
}

/// Everything `tracing` sees, as text: each span's fields as created and recorded, each log.
#[derive(Clone, Default)]
struct Transcript(Arc<Mutex<String>>);

struct Text<'a>(&'a mut String);

impl Visit for Text<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

impl<S: Subscriber> Layer<S> for Transcript {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: LayerContext<'_, S>) {
        let mut text = self.0.lock().expect("not poisoned");
        let _ = write!(text, "\nspan {}", attrs.metadata().name());
        attrs.record(&mut Text(&mut text));
    }

    fn on_record(&self, _id: &Id, values: &Record<'_>, _ctx: LayerContext<'_, S>) {
        let mut text = self.0.lock().expect("not poisoned");
        text.push_str("\nrecord");
        values.record(&mut Text(&mut text));
    }

    fn on_event(&self, event: &TraceEvent<'_>, _ctx: LayerContext<'_, S>) {
        let mut text = self.0.lock().expect("not poisoned");
        text.push_str("\nlog");
        event.record(&mut Text(&mut text));
    }
}

/// Fails if `text` holds a piece of the key of [`PIECE`] characters or more.
#[track_caller]
fn assert_no_piece_of_the_key(text: &str, what: &str) {
    let chars: Vec<char> = KEY.chars().collect();
    for piece in chars.windows(PIECE) {
        let piece: String = piece.iter().collect();
        assert!(
            !text.contains(&piece),
            "{what}: `{piece}` of the key leaked"
        );
    }
}

#[tokio::test]
async fn a_canary_key_never_reaches_what_a_run_leaves_behind() {
    let transcript = Transcript::default();
    let subscriber = tracing_subscriber::registry().with(transcript.clone());
    let _default = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let runner = Runner::new(Arc::new(SqliteStore::open(&path).expect("opens")));
    let mut events = runner.subscribe();
    let server = MockServer::start().await;
    let mut outputs = String::new();
    let mut runs = 0;
    for fault in faults() {
        server.reset().await;
        let response =
            ResponseTemplate::new(fault.status).set_body_raw(fault.body.clone(), fault.mime);
        Mock::given(method("POST"))
            .respond_with(response)
            .mount(&server)
            .await;
        for (provider, model) in models(&server.uri()) {
            let case = format!("{provider}, {}", fault.name);
            let report = runner
                .start(&Caller { model }, fault.stream)
                .await
                .expect("the run is created");
            let Outcome::Failed(error) = &report.outcome else {
                panic!("{case}: the call did not fail: {:?}", report.outcome);
            };
            let mut shown = format!("{error} {error:?} {error:#?} {report:?}");
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                let _ = write!(shown, " {cause} {cause:?}");
                source = cause.source();
            }
            let info = runner.status(report.id).await.expect("the run is stored");
            let _ = write!(shown, " {info:?}");
            assert_no_piece_of_the_key(&shown, &case);
            outputs.push_str(&shown);
            runs += 1;
        }
    }
    assert_eq!(runs, 2 * faults().len());
    assert!(
        outputs.contains("[redacted]"),
        "the key was echoed and scrubbed"
    );

    let mut seen = 0;
    while let Ok(Some(event)) =
        tokio::time::timeout(std::time::Duration::from_millis(100), events.recv()).await
    {
        assert_no_piece_of_the_key(&format!("{event:?}"), "an event");
        seen += 1;
    }
    assert!(
        seen >= 3 * runs,
        "each run started, stepped and failed: {seen}"
    );

    let traced = transcript.0.lock().expect("not poisoned").clone();
    assert!(traced.contains("workflow.run"), "the runs were traced");
    assert_no_piece_of_the_key(&traced, "the tracing transcript");

    // The run errors are stored in the file, or still in its write-ahead log.
    let mut files = 0;
    for file in ["runs.db", "runs.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
            assert_no_piece_of_the_key(&String::from_utf8_lossy(&bytes), file);
            files += 1;
        }
    }
    drop(runner);
    // The errors are there (else the checks above prove nothing), scrubbed.
    let db = rusqlite::Connection::open(&path).expect("opens");
    let errors: Vec<String> = db
        .prepare("SELECT error FROM workflow_runs WHERE error IS NOT NULL")
        .and_then(|mut query| query.query_map([], |row| row.get(0))?.collect())
        .expect("the stored errors");
    assert_eq!(errors.len(), runs, "every failed run stored its error");
    assert!(
        errors.iter().any(|error| error.contains("[redacted]")),
        "{errors:?}"
    );
    drop(db);
    for file in ["runs.db", "runs.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
            assert_no_piece_of_the_key(&String::from_utf8_lossy(&bytes), file);
            files += 1;
        }
    }
    eprintln!(
        "{} faults x 2 providers: {runs} failed runs, {seen} events, {} bytes of tracing, \
         {} stored run errors, {files} reads of the SQLite file and its WAL; no piece leaked",
        faults().len(),
        traced.len(),
        errors.len(),
    );
}
