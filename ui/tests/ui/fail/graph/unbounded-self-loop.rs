use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn poll(&self, input: String) -> String {
        input
    }

    flow! {
        start -> poll;
        poll -> match {
            status if status == "done" => end(status),
            status => poll(status),
        };
    }
}

fn main() {}
