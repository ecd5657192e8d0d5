use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    fn fetch(&self, url: String) -> String {
        url
    }

    flow! {
        start -> fetch -> end;
    }
}

#[tokio::main]
async fn main() {
    let page: String = Pipeline.run("https://example.com".to_string()).await.unwrap();
    println!("{page}");
}
