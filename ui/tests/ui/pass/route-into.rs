// `.into()` as a route's argument converts into what the route passes on: a step's input, or
// the output at `end`, even where the value converts into several types. A receiver with
// `.into()` calls of its own still infers them as before.
use workflow::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Kind {
    Bug(&'static str),
    Question(String),
    Short(u8),
}

struct Triage;

#[workflow]
impl Triage {
    async fn classify(&self, text: String) -> Kind {
        match text.len() {
            0 => Kind::Bug("empty"),
            1 => Kind::Short(1),
            _ => Kind::Question(text),
        }
    }

    async fn fix(&self, text: String) -> String {
        format!("fixed {text}")
    }

    flow! {
        type Output = String;
        start -> classify;
        classify -> match {
            Kind::Bug(text) => fix(text.into()),
            Kind::Short(n) => end({
                let wide: u64 = n.into();
                wide.to_string()
            }.into()),
            Kind::Question(text) => end(text.as_str().into()),
        };
        fix -> end;
    }
}

#[tokio::main]
async fn main() {
    assert_eq!(Triage.run(String::new()).await.unwrap(), "fixed empty");
    assert_eq!(Triage.run("a".into()).await.unwrap(), "1");
    assert_eq!(Triage.run("why?".into()).await.unwrap(), "why?");
}
