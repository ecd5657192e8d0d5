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
    async fn plan(&self, topic: String) -> String {
        topic
    }

    fn research(&self) -> &Research {
        &self.research
    }

    flow! {
        start -> plan -> pause research -> end;
    }
}

fn main() {}
