use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn research(&self, input: String) -> String {
        input
    }

    async fn review(&self, input: String) -> String {
        input
    }

    flow! {
        start -> research -> reveiw -> end;
    }
}

#[tokio::main]
async fn main() {
    let text: String = Pipeline.run("topic".to_string()).await.unwrap();
    println!("{text} {}", Pipeline::MERMAID);
}
