use workflow::prelude::*;

struct Remind;

#[workflow]
impl Remind {
    async fn write(&self, who: String) -> String {
        who
    }

    async fn wait(&self, text: String) -> String {
        text
    }

    async fn send(&self, text: String) -> String {
        text
    }

    flow! {
        // Not a duration, a number without a unit, and a unit that does not exist.
        start -> write -> sleep "soon" -> wait;
        wait -> sleep 5 -> send;
        send -> sleep "2 weeks" -> end;
    }
}

fn main() {}
