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

struct Remind {
    inner: Inner,
}

#[workflow]
impl Remind {
    async fn write(&self, who: String) -> (String, bool) {
        (who, true)
    }

    async fn send(&self, text: String) -> String {
        text
    }

    async fn approve(&self, text: String, approved: bool) -> String {
        format!("{text} {approved}")
    }

    fn inner(&self) -> &Inner {
        &self.inner
    }

    flow! {
        start -> write -> match {
            // Two edges into `send` that sleep for different times.
            (text, true) => sleep "1h" -> send(text),
            (text, false) => sleep "2h" -> send(text),
        };
        // A pause step cannot sleep too; nor a step that runs another workflow.
        send -> sleep "1m" -> pause approve;
        approve -> sleep "1m" -> inner;
        // Sleeping before `end` only delays the output.
        inner -> sleep "1s" -> end;
    }
}

fn main() {}
