// A field that is not `Sync` (a `RefCell`) in the workflow type: one error, at the type in
// `impl Counter`, and none from the generated impls.
use std::cell::RefCell;
use workflow::prelude::*;

struct Counter {
    seen: RefCell<u32>,
}

#[workflow]
impl Counter {
    async fn count(&self, text: String) -> usize {
        *self.seen.borrow_mut() += 1;
        text.len()
    }

    flow! {
        start -> count -> end;
    }
}

fn main() {}
