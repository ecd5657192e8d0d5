// A shadowing `type Result<T>` with a custom error, as many crates define.
use workflow::workflow;

#[derive(Debug)]
struct AppError;

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("app error")
    }
}

impl std::error::Error for AppError {}

type Result<T> = std::result::Result<T, AppError>;

struct Fetch;

#[workflow]
impl Fetch {
    async fn fetch(&self, url: String) -> Result<String> {
        if url.is_empty() {
            Err(AppError)
        } else {
            Ok(format!("<{url}>"))
        }
    }

    flow! {
        start -> fetch -> end;
    }
}

#[tokio::main]
async fn main() {
    assert_eq!(Fetch.run("a".to_string()).await.unwrap(), "<a>");
    let error = Fetch.run(String::new()).await.unwrap_err();
    assert!(error.step_error::<AppError>().is_some());
}
