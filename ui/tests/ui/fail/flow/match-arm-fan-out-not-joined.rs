use workflow::prelude::*;

struct Pipeline;

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Kind {
    Both(String),
    Other(String),
}

#[workflow]
impl Pipeline {
    async fn classify(&self, input: String) -> Kind {
        Kind::Other(input)
    }

    async fn a(&self, input: String) -> String {
        input
    }

    async fn b(&self, input: String) -> String {
        input
    }

    async fn join(&self, (a, b): (String, String)) -> String {
        a + &b
    }

    flow! {
        start -> classify;
        classify -> match {
            Kind::Both(text) => (a, b),
            Kind::Other(text) => end(text),
        };
        a -> join -> end;
    }
}

fn main() {}
