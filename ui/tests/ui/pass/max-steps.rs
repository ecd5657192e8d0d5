// `MAX_STEPS` is a constant: usable in `const` items, e.g. to assert a workflow's envelope at
// compile time or to size an executor's step limit.
use workflow::prelude::*;

struct Review;

#[workflow]
impl Review {
    async fn draft(&self, topic: String) -> String {
        topic
    }

    async fn critique(&self, draft: String) -> (String, bool) {
        let done = draft.len() > 10;
        (draft, done)
    }

    async fn revise(&self, draft: String) -> String {
        draft + "!"
    }

    flow! {
        type Output = String;
        start -> draft -> critique -> match {
            (draft, true) => end(draft),
            (draft, false) => revise(draft) [max 2 else end(draft)],
        };
        revise -> critique;
    }
}

// draft, critique, and twice revise and critique.
const _: () = assert!(matches!(Review::MAX_STEPS, Some(6)));
const LIMIT: u64 = match Review::MAX_STEPS {
    Some(steps) => steps,
    None => u64::MAX,
};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let output = Executor::new().max_steps(LIMIT).start(&Review, "rust".to_owned()).await;
    assert_eq!(output.expect("fits in MAX_STEPS"), "rust!!");
}
