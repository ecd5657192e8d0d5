// A static fan-out of 17 branches: one error at the fork, which names the map instead.
use workflow::prelude::*;

struct Wide;

#[workflow]
impl Wide {
    async fn b0(&self, x: u32) -> u32 {
        x + 0
    }

    async fn b1(&self, x: u32) -> u32 {
        x + 1
    }

    async fn b2(&self, x: u32) -> u32 {
        x + 2
    }

    async fn b3(&self, x: u32) -> u32 {
        x + 3
    }

    async fn b4(&self, x: u32) -> u32 {
        x + 4
    }

    async fn b5(&self, x: u32) -> u32 {
        x + 5
    }

    async fn b6(&self, x: u32) -> u32 {
        x + 6
    }

    async fn b7(&self, x: u32) -> u32 {
        x + 7
    }

    async fn b8(&self, x: u32) -> u32 {
        x + 8
    }

    async fn b9(&self, x: u32) -> u32 {
        x + 9
    }

    async fn b10(&self, x: u32) -> u32 {
        x + 10
    }

    async fn b11(&self, x: u32) -> u32 {
        x + 11
    }

    async fn b12(&self, x: u32) -> u32 {
        x + 12
    }

    async fn b13(&self, x: u32) -> u32 {
        x + 13
    }

    async fn b14(&self, x: u32) -> u32 {
        x + 14
    }

    async fn b15(&self, x: u32) -> u32 {
        x + 15
    }

    async fn b16(&self, x: u32) -> u32 {
        x + 16
    }

    async fn join(&self, all: (u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32)) -> u32 {
        all.0 + all.16
    }

    flow! {
        start -> (b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16) -> join;
        join -> end;
    }
}

fn main() {}
