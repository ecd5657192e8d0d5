use workflow::prelude::*;

#[workflow]
struct Pipeline;

fn main() {}
