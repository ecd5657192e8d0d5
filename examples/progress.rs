//! A live view of a running workflow, from its events: which steps are pending, running,
//! retrying or done, the text a writer agent streams, and the tokens and cost so far. Runs
//! offline in a few seconds (scripted models with delays and token counts); prints the
//! workflow's Mermaid diagram first and writes it to `progress.mmd` in the temp directory.
//! Run it with `cargo run --example progress` (in a terminal; piped, it prints one line per
//! event instead).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use workflow::event::{Event, EventKind, Events};
use workflow::prelude::*;
use workflow::provider::{ProviderError, ProviderErrorKind, Scripted, Usage};
use workflow::usage::{Price, Pricing};

/// A report: an outline, three researchers at once, a draft streamed by a writer, and each
/// section polished, two at a time.
struct Report {
    planner: Agent,
    facts: Agent,
    quotes: Agent,
    critic: Agent,
    writer: Agent,
    editor: Agent,
}

#[workflow]
impl Report {
    async fn outline(&self, topic: String) -> Result<String> {
        self.planner
            .prompt(&format!("Outline a report on {topic}"))
            .await
    }

    async fn facts(&self, outline: String) -> Result<String> {
        self.facts.prompt(&format!("Facts for: {outline}")).await
    }

    async fn quotes(&self, outline: String) -> Result<String> {
        self.quotes.prompt(&format!("Quotes for: {outline}")).await
    }

    /// Its model is overloaded at first: the step is retried.
    #[step(retry = 2, backoff = "300ms")]
    async fn risks(&self, outline: String) -> Result<String> {
        self.critic.prompt(&format!("Risks of: {outline}")).await
    }

    async fn draft(&self, (facts, quotes, risks): (String, String, String)) -> Result<String> {
        let prompt = format!("Write from {facts}; {quotes}; {risks}");
        let mut stream = self.writer.stream(&prompt).await?;
        let mut text = String::new();
        while let Some(piece) = stream.try_next().await? {
            text.push_str(&piece);
            tokio::time::sleep(Duration::from_millis(40)).await; // reading as it comes
        }
        Ok(text)
    }

    async fn split(&self, draft: String) -> Vec<String> {
        draft.split(". ").map(str::to_owned).collect()
    }

    async fn polish(&self, section: String) -> Result<String> {
        self.editor.prompt(&format!("Polish: {section}")).await
    }

    async fn assemble(&self, sections: Vec<String>) -> String {
        sections.join(" ")
    }

    flow! {
        start -> outline -> (facts, quotes, risks) -> draft -> split;
        split -> each polish [concurrency 2] -> assemble -> end;
    }
}

/// An agent whose model answers `replies` in order, each after `delay`, with token counts.
fn agent(name: &str, delay_ms: u64, replies: Vec<Result<&str, ProviderError>>) -> Agent {
    let mut model = Scripted::new().delay(Duration::from_millis(delay_ms));
    for (n, reply) in (1_u64..).zip(replies) {
        model = match reply {
            Ok(text) => model.reply(
                ChatResponse::new(text)
                    .with_usage(Usage::new(
                        400 + 50 * n,
                        10 * text.split(' ').count() as u64,
                    ))
                    .with_model("scripted-1"),
            ),
            Err(error) => model.reply(error),
        };
    }
    Agent::builder(Arc::new(model)).name(name).build()
}

fn report() -> Report {
    let overloaded = ProviderError::new("scripted", ProviderErrorKind::Server, "overloaded");
    let draft = "Rust keeps memory safe without a collector. It compiles to fast code. \
                 Its learning curve is real. Teams report fewer crashes. Tooling is excellent";
    Report {
        planner: agent("planner", 300, vec![Ok("safety, speed, adoption")]),
        facts: agent("facts", 700, vec![Ok("no GC; zero-cost abstractions")]),
        quotes: agent("quotes", 500, vec![Ok("\"fearless concurrency\"")]),
        critic: agent("critic", 250, vec![Err(overloaded), Ok("learning curve")]),
        writer: agent("writer", 200, vec![Ok(draft)]),
        editor: agent("editor", 350, vec![Ok("Polished."); 5]),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    println!("{}", Report::MERMAID);
    let path = std::env::temp_dir().join("progress.mmd");
    match std::fs::write(&path, Report::MERMAID) {
        Ok(()) => println!("(also written to {})\n", path.display()),
        Err(error) => eprintln!("could not write {}: {error}", path.display()),
    }

    // $3 per million input tokens, $15 per million output tokens.
    let executor = Executor::new().pricing(Pricing::new().default_price(Price::new(3.0, 15.0)));
    let report = report();
    let mut run = executor.start(&report, "Rust in production".into());
    let events = run.events();
    let (result, ()) = tokio::join!(run, show(events));
    println!("\n{}", result?);
    Ok(())
}

/// Shows the run's events as they come: live bars in a terminal, lines otherwise.
async fn show(mut events: Events) {
    let mut view = std::io::stderr()
        .is_terminal()
        .then(|| View::new(MultiProgress::new()));
    while let Some(event) = events.recv().await {
        match &mut view {
            Some(view) => view.update(&event),
            None => println!("{}", line(&event)),
        }
    }
}

/// One line per event, for a log.
fn line(event: &Event) -> String {
    let kind = &event.kind;
    let at = kind.step().unwrap_or("-");
    match kind {
        EventKind::StepStarted { attempt, .. } => format!("{at}: started, attempt {attempt}"),
        EventKind::StepFinished { elapsed, usage, .. } => {
            let tokens = usage.map_or(0, |usage| usage.usage.total_tokens());
            format!("{at}: done in {elapsed:.1?}, {tokens} tokens")
        }
        EventKind::Retrying { error, delay, .. } => {
            format!("{at}: retrying in {delay:.1?} after: {error}")
        }
        EventKind::BranchStarted { index, .. } => format!("{at}[{index}]: started"),
        EventKind::BranchFinished { index, elapsed, .. } => {
            format!("{at}[{index}]: done in {elapsed:.1?}")
        }
        EventKind::CallFinished {
            usage, cost_usd, ..
        } => {
            let tokens = usage.map_or(0, |usage| usage.total_tokens());
            format!("{at}: a model call, {tokens} tokens, ${cost_usd:.5}")
        }
        EventKind::TextDelta { text, .. } => format!("{at}: wrote {text:?}"),
        EventKind::Completed { usage, .. } | EventKind::Failed { usage, .. } => {
            let (tokens, cost) = usage.map_or((0, 0.0), |u| (u.usage.total_tokens(), u.cost_usd));
            format!("{}: {tokens} tokens, ${cost:.5}", kind.name())
        }
        _ => kind.name().to_owned(),
    }
}

/// The live view: a line of totals, and one line per step.
struct View {
    bars: MultiProgress,
    totals: ProgressBar,
    steps: HashMap<&'static str, Step>,
    tokens: (u64, u64),
    cost: f64,
}

/// A step's line, and its branches when it runs in a fan-out or a map.
struct Step {
    bar: ProgressBar,
    running: usize,
    done: usize,
    tokens: u64,
}

impl View {
    fn new(bars: MultiProgress) -> Self {
        let totals = bars.add(ProgressBar::new_spinner());
        totals.set_style(style("{spinner:.cyan} {msg}"));
        totals.enable_steady_tick(Duration::from_millis(100));
        View {
            bars,
            totals,
            steps: HashMap::new(),
            tokens: (0, 0),
            cost: 0.0,
        }
    }

    fn update(&mut self, event: &Event) {
        match &event.kind {
            EventKind::RunStarted { steps, .. } => {
                self.totals
                    .set_message(format!("{} · run {}", event.workflow, event.run));
                for name in *steps {
                    let bar = self.bars.add(ProgressBar::new_spinner());
                    bar.set_style(style("  {prefix} {msg}"));
                    bar.set_prefix("·");
                    bar.set_message(format!("{name:<9} pending"));
                    self.steps.insert(
                        name,
                        Step {
                            bar,
                            running: 0,
                            done: 0,
                            tokens: 0,
                        },
                    );
                }
            }
            EventKind::StepStarted { step, attempt, .. } => {
                let note = if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                };
                self.running(step, &format!("running{note}"));
            }
            EventKind::Retrying {
                step, error, delay, ..
            } => {
                self.running(step, &format!("retrying in {delay:.0?}: {error}"));
            }
            EventKind::TextDelta {
                step: Some(step),
                text,
                ..
            } => {
                let shown = self
                    .steps
                    .get(step)
                    .map(|s| s.bar.message())
                    .unwrap_or_default();
                let so_far = shown.split_once("writing: ").map_or("", |(_, text)| text);
                let tail: String = format!("{so_far}{text}").chars().rev().take(50).collect();
                let tail: String = tail.chars().rev().collect();
                self.running(step, &format!("writing: {tail}"));
            }
            EventKind::StepFinished {
                step,
                elapsed,
                usage,
                ..
            } => {
                let tokens = usage.map_or(0, |usage| usage.usage.total_tokens());
                self.done(step, &format!("done in {elapsed:.1?} · {tokens} tokens"));
            }
            EventKind::BranchStarted { step, .. } => self.branch(step, 1, None),
            EventKind::BranchFinished {
                step,
                elapsed,
                error,
                usage,
                ..
            } => {
                let tokens = usage.map_or(0, |usage| usage.usage.total_tokens());
                self.branch(step, -1, Some((*elapsed, tokens)));
                if let (Some(error), Some(s)) = (error, self.steps.get(step)) {
                    s.bar
                        .set_message(format!("{step:<9} failed after {elapsed:.1?}: {error}"));
                }
            }
            EventKind::CallFinished {
                usage: Some(usage),
                cost_usd,
                ..
            } => {
                self.tokens.0 += usage.input_tokens;
                self.tokens.1 += usage.output_tokens;
                self.cost += cost_usd;
                let (input, output) = self.tokens;
                let cost = self.cost;
                self.totals.set_message(format!(
                    "{} · {input} tokens in, {output} out · ${cost:.5}",
                    event.workflow
                ));
            }
            EventKind::Completed { elapsed, .. } => {
                self.totals.finish_with_message(format!(
                    "{} · completed in {elapsed:.1?}",
                    self.totals.message()
                ));
            }
            EventKind::Failed { error, .. } => {
                self.totals.finish_with_message(format!("failed: {error}"));
            }
            _ => {}
        }
    }

    fn running(&self, step: &str, message: &str) {
        if let Some(s) = self.steps.get(step) {
            s.bar.set_style(style("  {spinner:.yellow} {msg}"));
            s.bar.enable_steady_tick(Duration::from_millis(100));
            s.bar.set_message(format!("{step:<9} {message}"));
        }
    }

    fn done(&self, step: &str, message: &str) {
        if let Some(s) = self.steps.get(step) {
            s.bar.set_style(style("  {prefix:.green} {msg}"));
            s.bar.set_prefix("✔");
            s.bar.finish_with_message(format!("{step:<9} {message}"));
        }
    }

    /// A branch of `step` started (`running` +1) or finished (-1, with its time and tokens).
    fn branch(&mut self, step: &str, running: isize, finished: Option<(Duration, u64)>) {
        let Some(s) = self.steps.get_mut(step) else {
            return;
        };
        s.running = s.running.saturating_add_signed(running);
        if let Some((_, tokens)) = finished {
            s.done += 1;
            s.tokens += tokens;
        }
        let (now, done, tokens) = (s.running, s.done, s.tokens);
        match (now, done, finished) {
            (0, 1, Some((elapsed, _))) => {
                self.done(step, &format!("done in {elapsed:.1?} · {tokens} tokens"));
            }
            (0, _, _) => self.done(step, &format!("{done} done · {tokens} tokens")),
            _ => self.running(step, &format!("{now} running, {done} done")),
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}
