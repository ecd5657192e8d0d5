// Fan-outs and maps in a generic workflow, in a crate that denies warnings.
#![deny(warnings, clippy::all)]

use workflow::prelude::*;

struct Fold<T> {
    zero: T,
}

#[workflow]
impl<T> Fold<T>
where
    T: Clone + std::ops::Add<Output = T> + Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    async fn spread(&self, items: Vec<T>) -> Vec<T> {
        items
    }

    async fn twice(&self, item: T) -> T {
        item.clone() + item
    }

    async fn total(&self, items: Vec<T>) -> T {
        items.into_iter().fold(self.zero.clone(), |sum, item| sum + item)
    }

    async fn first(&self, total: T) -> Result<T> {
        Ok(total)
    }

    async fn second(&self, total: T) -> T {
        total.clone() + total
    }

    async fn both(&self, (first, second): (Result<T, BranchError>, Result<T, BranchError>)) -> T {
        match (first, second) {
            (Ok(first), Ok(second)) => first + second,
            (Ok(one), Err(_)) | (Err(_), Ok(one)) => one,
            (Err(_), Err(_)) => self.zero.clone(),
        }
    }

    flow! {
        start -> spread -> each twice [concurrency 3] -> total -> (first, second) [collect] -> both -> end;
    }
}

#[tokio::main]
async fn main() {
    let fold = Fold { zero: 0_u64 };
    // 2 + 4 + 6 = 12; then 12 + 24.
    assert_eq!(fold.run(vec![1, 2, 3]).await.unwrap(), 36);
}
