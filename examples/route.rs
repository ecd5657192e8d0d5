//! Routing: a router agent sorts each support question into a category (a typed answer, through
//! structured output), then a `match` in `flow!` sends it to the specialist agent for that
//! category. Prints each answer and what each run spent. Run it with
//! `cargo run --example route` (the model: see `examples/support/mod.rs`).

use std::sync::Arc;

use workflow::prelude::*;

mod support;

/// What the router decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Category {
    Billing,
    Technical,
    General,
}

/// The router's answer, as JSON that follows this type's schema: even a tiny model answers
/// with one of the three categories, since the schema constrains what it can write.
#[derive(Debug, Deserialize, JsonSchema)]
struct Route {
    /// billing: invoices, charges, refunds, prices; technical: errors, crashes, logins,
    /// installs; general: anything else.
    category: Category,
}

/// A question with its category: the output of the router.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Ticket {
    category: Category,
    question: String,
}

struct Support {
    router: Agent,
    billing: Agent,
    technical: Agent,
    general: Agent,
}

#[workflow]
impl Support {
    /// Asks the router for the question's category.
    #[step(retry = 1, timeout = "120s")]
    async fn classify(&self, question: String) -> Result<Ticket> {
        let prompt = format!(
            "Classify this support question as billing, technical or general.\n\n\
             Question: {question}"
        );
        let Route { category } = self.router.extract(&prompt).await?;
        println!("[classify] {category:?}");
        Ok(Ticket { category, question })
    }

    #[step(retry = 1, timeout = "120s")]
    async fn answer_billing(&self, question: String) -> Result<String> {
        Ok(self.billing.prompt(&question).await?.trim().to_owned())
    }

    #[step(retry = 1, timeout = "120s")]
    async fn answer_technical(&self, question: String) -> Result<String> {
        Ok(self.technical.prompt(&question).await?.trim().to_owned())
    }

    #[step(retry = 1, timeout = "120s")]
    async fn answer_general(&self, question: String) -> Result<String> {
        Ok(self.general.prompt(&question).await?.trim().to_owned())
    }

    flow! {
        start -> classify;
        // rustc checks that the arms cover every category.
        classify -> match {
            Ticket { category: Category::Billing, question } => answer_billing(question),
            Ticket { category: Category::Technical, question } => answer_technical(question),
            Ticket { category: Category::General, question } => answer_general(question),
        };
        answer_billing -> end;
        answer_technical -> end;
        answer_general -> end;
    }
}

/// A specialist: an agent with its own system prompt, answering in a few sentences.
fn specialist(model: &Arc<dyn ChatModel>, name: &str, system: &str) -> Agent {
    Agent::builder(model.clone())
        .name(name)
        .system(system)
        .temperature(0.3)
        .max_tokens(96)
        .build()
}

#[tokio::main]
async fn main() -> Result<()> {
    let model = support::chat_model().await;
    let support = Support {
        router: Agent::builder(model.clone())
            .name("router")
            .system("You sort customer support questions into categories.")
            .temperature(0.0)
            .max_tokens(24)
            .build(),
        billing: specialist(
            &model,
            "billing",
            "You are a billing specialist: invoices, charges, refunds and prices. \
             Answer the customer in two or three short sentences.",
        ),
        technical: specialist(
            &model,
            "technical",
            "You are a support engineer. Answer the customer with two or three short steps.",
        ),
        general: specialist(
            &model,
            "general",
            "You are a friendly support agent. Answer the customer in two short sentences.",
        ),
    };
    for question in [
        "Why was I charged twice this month?",
        "The app shows an error when I log in.",
        "Do you have an office in Lisbon?",
    ] {
        println!("Q: {question}");
        let report = Run::new(&support, question.to_owned()).report().await;
        let usage = report.usage.clone();
        println!("A: {}\n", report.into_output()?);
        support::print_usage(&usage);
        println!();
    }
    Ok(())
}

/// Route coverage: the questions below take every arm of the routing `match`. Drop one and
/// `assert_complete` names the arm and the route no question took. Run them with
/// `cargo test --example route --features http`.
#[cfg(test)]
mod tests {
    use super::*;
    use workflow::coverage::Coverage;
    use workflow::provider::Scripted;

    /// The support team, on scripted models: the router answers by keyword.
    fn scripted_support() -> Support {
        let router: Arc<dyn ChatModel> = Arc::new(
            Scripted::new()
                .when("charged", r#"{"category":"billing"}"#)
                .when("error", r#"{"category":"technical"}"#)
                .when("office", r#"{"category":"general"}"#),
        );
        let agent = |name: &str| {
            let model: Arc<dyn ChatModel> = Arc::new(Scripted::new().when("", "an answer"));
            Agent::builder(model).name(name).build()
        };
        Support {
            router: Agent::builder(router).name("router").build(),
            billing: agent("billing"),
            technical: agent("technical"),
            general: agent("general"),
        }
    }

    /// The coverage of `Support` after a run of each question.
    async fn coverage_of(questions: &[&str]) -> Coverage {
        let support = scripted_support();
        let executor = Executor::new();
        let mut events = executor.subscribe();
        for question in questions {
            let answer = executor.start(&support, (*question).to_owned()).await;
            assert_eq!(answer.expect("the run finishes"), "an answer");
        }
        let mut coverage = Coverage::new(&Support::GRAPH);
        coverage.read(&mut events);
        coverage
    }

    #[tokio::test]
    async fn the_questions_take_every_route() {
        coverage_of(&[
            "Why was I charged twice this month?",
            "The app shows an error when I log in.",
            "Do you have an office in Lisbon?",
        ])
        .await
        .assert_complete();
    }

    #[tokio::test]
    async fn a_category_no_question_has_is_reported() {
        let coverage = coverage_of(&[
            "Why was I charged twice this month?",
            "The app shows an error when I log in.",
        ])
        .await;
        let missed: Vec<String> = coverage
            .missed_edges()
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            missed,
            ["classify -> answer_general", "answer_general -> end"]
        );
        assert_eq!(coverage.missed_routes().len(), 1);
        let report = coverage.to_string();
        assert!(
            report.contains("(Ticket { category: Category::General, question })"),
            "{report}"
        );
    }
}
