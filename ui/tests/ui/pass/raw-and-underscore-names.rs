// Names that are valid Rust but unusual: a raw self type, a step named by a raw keyword, steps
// named `_1` and `__`, a step whose camel-case form is a keyword (`self_`), and two forks
// whose branches read the same in camel case.
use workflow::prelude::*;

struct r#Flow;

#[workflow]
impl r#Flow {
    async fn r#match(&self, x: u32) -> u32 {
        x + 1
    }

    async fn _1(&self, x: u32) -> u32 {
        x * 2
    }

    async fn __(&self, x: u32) -> u32 {
        x + 3
    }

    async fn self_(&self, x: u32) -> u32 {
        x * 10
    }

    flow! {
        start -> r#match -> _1 -> __ -> self_ -> end;
    }
}

/// Two fan-outs whose branches read the same in camel case: `(a_b, c)` and `(a, b_c)`.
struct Forks;

#[workflow]
impl Forks {
    async fn split(&self, x: u32) -> u32 {
        x
    }

    async fn a_b(&self, x: u32) -> u32 {
        x + 1
    }

    async fn c(&self, x: u32) -> u32 {
        x + 2
    }

    async fn join(&self, (a, b): (u32, u32)) -> u32 {
        a + b
    }

    async fn a(&self, x: u32) -> u32 {
        x * 2
    }

    async fn b_c(&self, x: u32) -> u32 {
        x * 3
    }

    async fn join_again(&self, (a, b): (u32, u32)) -> u32 {
        a + b
    }

    flow! {
        start -> split -> (a_b, c) -> join -> (a, b_c) -> join_again -> end;
    }
}

#[tokio::main]
async fn main() {
    assert_eq!(r#Flow.run(1).await.unwrap(), 70);
    assert_eq!(<Flow as Workflow>::NAME, "Flow");
    let _state: FlowState = FlowState::End(0);
    assert_eq!(Forks.run(1).await.unwrap(), 25);
}
