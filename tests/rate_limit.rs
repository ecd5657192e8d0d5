//! End to end: the runs of a `#[workflow]` whose step calls a model through `RateLimited`
//! share its limit, on tokio's paused clock; a 429 the provider still sends is retried by the
//! step's policy, and waits its turn like any call.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::time::Instant;
use workflow::prelude::*;
use workflow::provider::{ProviderError, ProviderErrorKind, RateLimited, Scripted};

struct Summary {
    writer: Agent,
    started: Instant,
    /// When each step answered, in seconds from `started`.
    answered: Mutex<Vec<u64>>,
}

#[workflow]
impl Summary {
    #[step(retry = 2, backoff = "1s")]
    async fn summarise(&self, text: String) -> Result<String> {
        let summary = self.writer.prompt(&format!("Summarise: {text}")).await?;
        let at = self.started.elapsed().as_secs();
        self.answered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(at);
        Ok(summary)
    }

    flow! {
        start -> summarise -> end;
    }
}

#[tokio::test(start_paused = true)]
async fn the_runs_of_a_process_share_a_model_s_rate_limit() {
    let too_many = ProviderError::new(
        "scripted",
        ProviderErrorKind::RateLimited { retry_after: None },
        "too many requests",
    )
    .with_status(429);
    let mut script = Scripted::new().reply(too_many);
    for n in 0..5 {
        script = script.reply(format!("summary {n}"));
    }
    let model = RateLimited::new(script, 2);
    let summary = Summary {
        writer: Agent::builder(Arc::new(model)).name("writer").build(),
        started: Instant::now(),
        answered: Mutex::new(Vec::new()),
    };
    let runs = (0..5).map(|n| summary.run(format!("text {n}")));
    let outputs = futures_util::future::join_all(runs).await;
    let mut outputs: Vec<String> = outputs
        .into_iter()
        .map(|out| out.expect("finishes"))
        .collect();
    outputs.sort();
    assert_eq!(
        outputs,
        (0..5).map(|n| format!("summary {n}")).collect::<Vec<_>>()
    );

    // Two calls a minute: the first two at once (one answered by a 429), the next two a
    // minute later, then the last and the retry of the refused one, queued behind them.
    let mut answered = summary
        .answered
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    answered.sort_unstable();
    assert_eq!(answered, [0, 60, 60, 120, 120]);
}
