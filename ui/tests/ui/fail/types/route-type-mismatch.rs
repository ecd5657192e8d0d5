use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn classify(&self, question: String) -> (bool, String) {
        (question.contains('$'), question)
    }

    async fn billing(&self, question: String) -> String {
        question
    }

    flow! {
        start -> classify;
        classify -> match {
            (true, question) => billing(question.len()),
            (false, question) => end(question),
        };
        billing -> end;
    }
}

fn main() {}
