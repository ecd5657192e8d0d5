// `.into()` as a route's argument, on a value that does not convert into the step's input.
use workflow::prelude::*;

struct Triage;

#[workflow]
impl Triage {
    async fn classify(&self, text: String) -> (bool, String) {
        (text.is_empty(), text)
    }

    async fn fix(&self, text: String) -> String {
        text
    }

    flow! {
        type Output = String;
        start -> classify;
        classify -> match {
            (true, text) => fix(text.len().into()),
            (false, text) => end(text),
        };
        fix -> end;
    }
}

fn main() {}
