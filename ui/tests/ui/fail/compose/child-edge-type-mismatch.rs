use workflow::prelude::*;

struct Research;

#[workflow]
impl Research {
    async fn search(&self, topic: String) -> Vec<String> {
        vec![topic]
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
    async fn plan(&self, topic: String) -> u32 {
        topic.len() as u32
    }

    fn research(&self) -> &Research {
        &self.research
    }

    async fn write(&self, notes: String) -> String {
        notes
    }

    flow! {
        start -> plan -> research -> write -> end;
    }
}

fn main() {}
