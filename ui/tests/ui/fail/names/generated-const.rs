use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    const MAX_STEPS: u64 = 10;

    async fn research(&self, input: String) -> String {
        input
    }

    flow! {
        start -> research -> end;
    }
}

fn main() {
    // No follow-on error: the stand-ins of the other generated items are still there.
    let _ = Pipeline::MERMAID;
    let _ = Pipeline.run(String::new());
}
