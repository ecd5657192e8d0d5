// A user `mod core` and `mod std` must not capture the generated `::core` paths.
#![allow(dead_code)]

mod core {
    pub mod result {
        pub enum Result {}
    }
}

mod std {}

use workflow::prelude::*;

struct Shout;

#[workflow]
impl Shout {
    async fn upper(&self, text: String) -> String {
        text.to_uppercase()
    }

    flow! {
        start -> upper -> end;
    }
}

#[tokio::main]
async fn main() {
    assert_eq!(Shout.run("hi".to_string()).await.unwrap(), "HI");
}
