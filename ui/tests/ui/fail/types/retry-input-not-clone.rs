use workflow::prelude::*;

struct Pipeline;

#[derive(Serialize, Deserialize)]
struct Request(String);

#[workflow]
impl Pipeline {
    #[step(retry = 3)]
    async fn fetch(&self, request: Request) -> String {
        request.0
    }

    flow! {
        start -> fetch -> end;
    }
}

fn main() {}
