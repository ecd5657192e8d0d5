// Names in the user's scope that the generated code also uses must not interfere, and user
// bindings named like generated locals stay the user's.
#![allow(dead_code)]

struct Context;
struct Loops;
struct StepPolicy;
enum Error {}
trait Workflow {}
trait Serialize {}
fn run() {}

struct Relay;

#[workflow::workflow]
impl Relay {
    async fn first(&self, __input: u32) -> u32 {
        __input + 1
    }

    async fn second(&self, __output: u32) -> u32 {
        __output * 2
    }

    flow! {
        start -> first;
        first -> match {
            __cx if __cx > 100 => end(__cx),
            __loops => second(__loops),
        };
        second -> end;
    }
}

#[tokio::main]
async fn main() {
    assert_eq!(Relay.run(1).await.unwrap(), 4);
    assert_eq!(Relay.run(100).await.unwrap(), 101);
}
