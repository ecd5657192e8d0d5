//! Fan-outs and maps: concurrency, join order, failure policies, state.

use workflow::prelude::*;
use workflow::BranchError;

struct Review;

#[workflow]
impl Review {
    async fn read(&self, text: String) -> String {
        text.trim().to_owned()
    }

    async fn sentiment(&self, text: String) -> String {
        if text.contains("love") {
            "positive".into()
        } else {
            "neutral".into()
        }
    }

    async fn topic(&self, text: String) -> usize {
        text.len()
    }

    async fn report(&self, (sentiment, topic): (String, usize)) -> String {
        format!("{sentiment}/{topic}")
    }

    flow! {
        start -> read -> (sentiment, topic) -> report -> end;
    }
}

struct Sections;

#[workflow]
impl Sections {
    async fn split(&self, doc: String) -> Vec<String> {
        doc.split('|')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    async fn summarize(&self, section: String) -> Result<usize> {
        Ok(section.len())
    }

    async fn assemble(&self, lengths: Vec<usize>) -> String {
        format!("{lengths:?}")
    }

    flow! {
        start -> split -> each summarize [concurrency 2] -> assemble -> end;
    }
}

struct Settled;

#[derive(Debug)]
struct Boom;
impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("boom")
    }
}
impl std::error::Error for Boom {}

#[workflow]
impl Settled {
    async fn good(&self, n: u32) -> Result<u32, Boom> {
        Ok(n + 1)
    }
    async fn bad(&self, _n: u32) -> Result<u32, Boom> {
        Err(Boom)
    }

    flow! {
        start -> (good, bad) [collect] -> end;
    }
}

#[tokio::test]
async fn fan_out_joins_in_order() {
    let out = Review.run("  I love it ".into()).await.unwrap();
    assert_eq!(out, "positive/9");
    println!("{}", Review::MERMAID);
}

#[tokio::test]
async fn map_keeps_order() {
    assert_eq!(Sections.run("a|bbb|cc".into()).await.unwrap(), "[1, 3, 2]");
    assert_eq!(Sections.run("".into()).await.unwrap(), "[]");
}

#[tokio::test]
async fn collect_keeps_every_result() {
    let (good, bad): (Result<u32, BranchError>, Result<u32, BranchError>) =
        Settled.run(1).await.unwrap();
    assert_eq!(good.unwrap(), 2);
    assert_eq!(bad.unwrap_err().step, "bad");
}
