//! Routing: a classifier sorts each support question into a category, then a `match` in
//! `flow!` sends it to the specialist for that category. Run it with
//! `cargo run --example route`.

use workflow::prelude::*;

/// What the classifier decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Category {
    Billing,
    Technical,
    General,
}

/// A question with its category: the output of the classifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Ticket {
    category: Category,
    question: String,
}

/// Stands in for an LLM prompted to answer with one word. Deterministic, so the example runs
/// offline.
struct Classifier;

impl Classifier {
    /// A real classifier would send `prompt` to a model and parse its one-word answer (or use
    /// structured output); this one looks for keywords.
    fn respond(&self, prompt: &str) -> String {
        let question = prompt
            .rsplit("\n\n")
            .next()
            .unwrap_or(prompt)
            .to_lowercase();
        let has = |words: &[&str]| words.iter().any(|word| question.contains(word));
        if has(&["invoice", "refund", "charge", "price"]) {
            "billing".to_owned()
        } else if has(&["error", "crash", "install", "login"]) {
            "technical".to_owned()
        } else {
            "general".to_owned()
        }
    }
}

/// Stands in for an LLM agent with a specialist's system prompt.
struct Specialist {
    role: &'static str,
}

impl Specialist {
    /// A real specialist would send its system prompt and `prompt` to a model.
    fn respond(&self, prompt: &str) -> String {
        let question = prompt.rsplit("\n\n").next().unwrap_or(prompt);
        format!(
            "({}) Thanks for asking \"{question}\": here is how we can help.",
            self.role
        )
    }
}

struct Support {
    classifier: Classifier,
    billing: Specialist,
    technical: Specialist,
    general: Specialist,
}

#[workflow]
impl Support {
    /// Asks the classifier for the question's category.
    async fn classify(&self, question: String) -> Result<Ticket> {
        let prompt = format!(
            "Classify this support question as billing, technical or general. \
             Answer with one word.\n\n{question}"
        );
        // A real model call goes here: `self.classifier.prompt(&prompt).await?`.
        let category = match self.classifier.respond(&prompt).as_str() {
            "billing" => Category::Billing,
            "technical" => Category::Technical,
            _ => Category::General,
        };
        println!("[classify] {category:?}");
        Ok(Ticket { category, question })
    }

    async fn answer_billing(&self, question: String) -> Result<String> {
        let prompt = format!("You handle invoices, refunds and prices. Answer:\n\n{question}");
        // A real model call goes here.
        Ok(self.billing.respond(&prompt))
    }

    async fn answer_technical(&self, question: String) -> Result<String> {
        let prompt = format!("You are a support engineer. Answer step by step:\n\n{question}");
        // A real model call goes here.
        Ok(self.technical.respond(&prompt))
    }

    async fn answer_general(&self, question: String) -> Result<String> {
        let prompt = format!("You are a friendly support agent. Answer:\n\n{question}");
        // A real model call goes here.
        Ok(self.general.respond(&prompt))
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

#[tokio::main]
async fn main() -> Result<()> {
    let support = Support {
        classifier: Classifier,
        billing: Specialist { role: "billing" },
        technical: Specialist { role: "technical" },
        general: Specialist { role: "general" },
    };
    for question in [
        "Why was I charged twice this month?",
        "The app shows an error when I log in.",
        "Do you have an office in Lisbon?",
    ] {
        println!("Q: {question}");
        let answer = support.run(question.to_owned()).await?;
        println!("A: {answer}\n");
    }
    Ok(())
}
