// A type of the user's named as the state enum's alias (`{Type}State`): rustc's one error, at
// the workflow's name. `#[workflow(state = Name)]` names the alias otherwise.
use workflow::prelude::*;

/// The user's own type, named as the macro names the state enum.
#[derive(Debug)]
struct PipelineState {
    runs: u32,
}

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn count(&self, text: String) -> usize {
        text.len()
    }

    flow! {
        start -> count -> end;
    }
}

fn main() {
    let _ = PipelineState { runs: 0 }.runs;
}
