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
    #[step(retry = 2)]
    fn research(&self) -> &Research {
        &self.research
    }

    flow! {
        start -> research -> end;
    }
}

fn main() {}
