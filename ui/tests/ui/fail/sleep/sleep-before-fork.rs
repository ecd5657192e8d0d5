use workflow::prelude::*;

struct Remind;

#[workflow]
impl Remind {
    async fn write(&self, who: String) -> String {
        who
    }

    async fn mail(&self, text: String) -> String {
        text
    }

    async fn text(&self, text: String) -> String {
        text
    }

    async fn both(&self, sent: (String, String)) -> String {
        sent.0
    }

    flow! {
        start -> write -> sleep "1h" -> (mail, text) -> both -> end;
    }
}

fn main() {}
