//! Steps may take the names of the `Workflow` trait's items: only `run` and `MERMAID`, which
//! `#[workflow]` generates on the type itself, are reserved.

use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn transition(&self, input: String) -> String {
        input + "1"
    }

    async fn finish(&self, input: String) -> String {
        input + "2"
    }

    async fn step_name(&self, input: String) -> String {
        input + "3"
    }

    async fn pause(&self, input: String) -> String {
        input + "4"
    }

    async fn answer(&self, input: String) -> String {
        input + "5"
    }

    flow! {
        start -> transition -> finish -> step_name -> pause -> answer -> end;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let output = Pipeline.run(String::new()).await.expect("the run succeeds");
    assert_eq!(output, "12345");
}
