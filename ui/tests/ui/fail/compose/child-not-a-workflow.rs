use workflow::prelude::*;

struct Settings;

struct Article {
    settings: Settings,
}

#[workflow]
impl Article {
    async fn plan(&self, topic: String) -> String {
        topic
    }

    fn settings(&self) -> &Settings {
        &self.settings
    }

    flow! {
        start -> plan -> settings -> end;
    }
}

fn main() {}
