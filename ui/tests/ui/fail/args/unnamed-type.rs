use workflow::prelude::*;

#[workflow]
impl (u8, u8) {
    async fn a(&self, input: String) -> String {
        input
    }

    flow! {
        start -> a -> end;
    }
}

fn main() {}
