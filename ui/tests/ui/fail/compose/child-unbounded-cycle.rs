use workflow::prelude::*;

struct Research;

#[workflow]
impl Research {
    async fn search(&self, topic: String) -> String {
        topic
    }

    flow! {
        start -> search -> end;
    }
}

struct Article {
    research: Research,
}

#[workflow]
impl Article {
    fn research(&self) -> &Research {
        &self.research
    }

    async fn check(&self, notes: String) -> (String, bool) {
        let done = notes.len() > 10;
        (notes, done)
    }

    flow! {
        type Output = String;
        start -> research -> check -> match {
            (notes, true) => end(notes),
            (notes, false) => research(notes),
        };
    }
}

fn main() {}
