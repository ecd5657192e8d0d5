// The facade under another name, with `crate = …`.
extern crate workflow as wf;

struct Shout;

#[wf::workflow(crate = ::wf)]
impl Shout {
    async fn upper(&self, text: String) -> String {
        text.to_uppercase()
    }

    flow! {
        start -> upper -> end;
    }
}

mod deps {
    pub use workflow as engine;
}

struct Whisper;

#[deps::engine::workflow(crate = crate::deps::engine)]
impl Whisper {
    async fn lower(&self, text: String) -> String {
        text.to_lowercase()
    }

    flow! {
        start -> lower -> end;
    }
}

#[tokio::main]
async fn main() {
    assert_eq!(Shout.run("hi".to_string()).await.unwrap(), "HI");
    assert_eq!(Whisper.run("HI".to_string()).await.unwrap(), "hi");
}
