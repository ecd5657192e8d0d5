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

    async fn give_up(&self, _error: String) -> String {
        String::new()
    }

    flow! {
        start -> research -> end;
        research? -> give_up -> end;
    }
}

fn main() {}
