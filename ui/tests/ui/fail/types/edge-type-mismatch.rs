use workflow::prelude::*;

struct Pipeline;

#[derive(Serialize, Deserialize)]
struct Notes(String);
#[derive(Serialize, Deserialize)]
struct Draft(String);

#[workflow]
impl Pipeline {
    async fn research(&self, topic: String) -> Notes {
        Notes(topic)
    }

    async fn review(&self, draft: Draft) -> String {
        draft.0
    }

    flow! {
        start -> research -> review -> end;
    }
}

fn main() {}
