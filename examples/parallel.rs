//! Parallelization: two agents read the same review at once, one for its sentiment and one for
//! its topic, and a report joins both. With `[collect]` a failed branch does not discard the
//! other's result: the report gets each branch's `Result`. Run it with
//! `cargo run --example parallel` (the model: see `examples/support/mod.rs`).

use workflow::prelude::*;

mod support;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Sentiment {
    Positive,
    Negative,
    Mixed,
}

/// The sentiment agent's answer; the schema constrains even a tiny model to one of three.
#[derive(Debug, Deserialize, JsonSchema)]
struct SentimentAnswer {
    sentiment: Sentiment,
}

/// The topic agent's answer.
#[derive(Debug, Deserialize, JsonSchema)]
struct TopicAnswer {
    /// What the review is about, in at most five words.
    topic: String,
}

struct Reviews {
    sentiment: Agent,
    topic: Agent,
}

#[workflow]
impl Reviews {
    /// Cleans the review up; both branches get a copy.
    async fn read(&self, review: String) -> String {
        review.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[step(retry = 2, timeout = "120s")]
    async fn sentiment(&self, review: String) -> Result<Sentiment> {
        let prompt = format!("Is this review positive, negative or mixed?\n\nReview: {review}");
        let SentimentAnswer { sentiment } = self.sentiment.extract(&prompt).await?;
        println!("[sentiment] {sentiment:?}");
        Ok(sentiment)
    }

    #[step(retry = 2, timeout = "120s")]
    async fn topic(&self, review: String) -> Result<String> {
        let prompt = format!("What product or service is this review about?\n\nReview: {review}");
        let TopicAnswer { topic } = self.topic.extract(&prompt).await?;
        println!("[topic] {topic}");
        Ok(topic)
    }

    /// Joins both results, whatever happened to the other.
    async fn report(
        &self,
        (sentiment, topic): (Result<Sentiment, BranchError>, Result<String, BranchError>),
    ) -> String {
        let sentiment = sentiment.map_or_else(|e| format!("unknown ({e})"), |s| format!("{s:?}"));
        let topic = topic.unwrap_or_else(|e| format!("unknown ({e})"));
        format!("sentiment: {sentiment}; topic: {topic}")
    }

    flow! {
        start -> read -> (sentiment, topic) [collect] -> report -> end;
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let model = support::chat_model().await;
    let agent = |name: &'static str, system: &str| {
        Agent::builder(model.clone())
            .name(name)
            .system(system)
            .temperature(0.0)
            .max_tokens(60)
            .build()
    };
    let reviews = Reviews {
        sentiment: agent("sentiment", "You judge the sentiment of customer reviews."),
        topic: agent(
            "topic",
            "You say in a few words what a customer review is about.",
        ),
    };
    let review = "The espresso machine heats up fast and the coffee is great, \
                  but the milk frother broke after a week.";
    println!("review: {review}\n");
    let report = Run::new(&reviews, review.to_owned()).report().await;
    support::print_usage(&report.usage);
    println!("\n{}", report.into_output()?);
    Ok(())
}
