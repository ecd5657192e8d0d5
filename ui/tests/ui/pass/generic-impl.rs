// Generic workflows: type parameters used in step types, bounds, where clauses, lifetimes.
use workflow::prelude::*;
use workflow::Workflow;

struct Echo<T> {
    suffix: T,
}

#[workflow]
impl<T> Echo<T>
where
    T: Clone + std::fmt::Display + Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    async fn keep(&self, value: T) -> (T, String) {
        (value, self.suffix.to_string())
    }

    async fn show(&self, (value, suffix): (T, String)) -> String {
        format!("{value}{suffix}")
    }

    flow! {
        start -> keep -> show -> end;
    }
}

struct Prefixed<'a> {
    prefix: &'a str,
}

#[workflow]
impl<'a> Prefixed<'a> {
    async fn prefix(&self, text: String) -> String {
        format!("{}{text}", self.prefix)
    }

    flow! {
        start -> prefix -> end;
    }
}

#[tokio::main]
async fn main() {
    let echo = Echo { suffix: 7_u8 };
    assert_eq!(echo.run(3_u8).await.unwrap(), "37");
    assert_eq!(<Echo<u8> as Workflow>::STEPS, ["keep", "show"]);
    let prefix = String::from("> ");
    let prefixed = Prefixed { prefix: &prefix };
    assert_eq!(prefixed.run("hi".to_string()).await.unwrap(), "> hi");
}
