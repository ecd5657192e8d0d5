//! Fan-out and join: three analyst agents judge one proposal at once, each from their own
//! angle, and a summarizer agent joins their three opinions into a recommendation. If one
//! analyst fails, the others are cancelled and the run fails (the default, fail-fast). Run it
//! with `cargo run --example analysts` (the model: see `examples/support/mod.rs`).

use workflow::prelude::*;

mod support;

struct Committee {
    market: Agent,
    risk: Agent,
    cost: Agent,
    chair: Agent,
}

impl Committee {
    async fn opinion(agent: &Agent, angle: &str, proposal: &str) -> Result<String> {
        let prompt = format!("Judge this proposal for its {angle}, in one sentence.\n\n{proposal}");
        let opinion = agent.prompt(&prompt).await?.trim().to_owned();
        println!("[{angle}] {opinion}\n");
        Ok(opinion)
    }
}

#[workflow]
impl Committee {
    #[step(retry = 2, timeout = "120s")]
    async fn market(&self, proposal: String) -> Result<String> {
        Self::opinion(&self.market, "market potential", &proposal).await
    }

    #[step(retry = 2, timeout = "120s")]
    async fn risk(&self, proposal: String) -> Result<String> {
        Self::opinion(&self.risk, "risks", &proposal).await
    }

    #[step(retry = 2, timeout = "120s")]
    async fn cost(&self, proposal: String) -> Result<String> {
        Self::opinion(&self.cost, "costs", &proposal).await
    }

    /// Joins the three opinions, in the order the branches are written.
    #[step(retry = 2, timeout = "120s")]
    async fn summarize(&self, (market, risk, cost): (String, String, String)) -> Result<String> {
        let prompt = format!(
            "Market: {market}\nRisks: {risk}\nCosts: {cost}\n\n\
             Given these three opinions, should we go ahead? Answer in two sentences."
        );
        Ok(self.chair.prompt(&prompt).await?.trim().to_owned())
    }

    flow! {
        start -> (market, risk, cost) -> summarize -> end;
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let model = support::chat_model().await;
    let agent = |name: &'static str, system: &str| {
        Agent::builder(model.clone())
            .name(name)
            .system(system)
            .temperature(0.3)
            .max_tokens(80)
            .build()
    };
    let committee = Committee {
        market: agent("market", "You are a market analyst. You are brief."),
        risk: agent("risk", "You are a risk analyst. You are brief."),
        cost: agent("cost", "You are a financial analyst. You are brief."),
        chair: agent(
            "chair",
            "You chair an investment committee. You are brief and decisive.",
        ),
    };
    let proposal = "Open a small bakery next to the train station that also sells coffee \
                    to commuters from 6 am.";
    println!("proposal: {proposal}\n");
    println!("{}", Committee::MERMAID);
    let report = Run::new(&committee, proposal.to_owned()).report().await;
    support::print_usage(&report.usage);
    println!("\nrecommendation: {}", report.into_output()?);
    Ok(())
}
