use workflow::prelude::*;

struct Inner;

#[workflow]
impl Inner {
    async fn only(&self, text: String) -> String {
        text
    }

    flow! {
        start -> only -> end;
    }
}

struct Inbox {
    inner: Inner,
}

#[workflow]
impl Inbox {
    // Marked `receive` below, but takes no message.
    async fn open(&self, topic: String) -> (String, bool) {
        (topic, true)
    }

    // Marked both `pause` and `receive`.
    async fn take(&self, topic: String, note: String) -> String {
        format!("{topic}: {note}")
    }

    fn inner(&self) -> &Inner {
        &self.inner
    }

    flow! {
        start -> receive open -> match {
            (topic, true) => pause take(topic),
            (topic, false) => receive take(topic),
        };
        // A step that runs another workflow cannot receive; nor can `end`.
        take -> receive inner -> receive end;
    }
}

fn main() {}
