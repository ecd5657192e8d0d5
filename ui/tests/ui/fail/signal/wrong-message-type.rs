use workflow::prelude::*;
use workflow::{RunId, Runner};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Note {
    text: String,
}

struct Inbox;

#[workflow]
impl Inbox {
    async fn open(&self, topic: String) -> String {
        topic
    }

    async fn take(&self, topic: String, note: Note) -> String {
        format!("{topic}: {}", note.text)
    }

    flow! {
        start -> open -> receive take -> end;
    }
}

async fn send(runner: &Runner, run: RunId) -> Result<u64, workflow::Error> {
    // `Inbox` receives `Note`s, not numbers.
    runner.send::<Inbox, u32>(run, 7).await
}

fn main() {
    let _ = send;
}
