//! The command line: what each command takes.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use workflow_runtime::store::RunStatus;
use workflow_runtime::RunId;

/// See and manage the durable runs of `workflow` in an SQLite file or a PostgreSQL database.
///
/// Exit codes: 0 done; 1 the store failed or a stored record does not read back; 2 bad
/// arguments (a bad id, store address or option, an answer that is not what the pause takes,
/// a message that is not what the signal takes); 3 no such run or checkpoint; 4 refused: the
/// run does not wait at that pause (it is running or has ended, or the pause was answered
/// already), or a message for a run that has ended or whose workflow receives no such signal.
#[derive(Debug, Parser)]
#[command(name = "workflow", version)]
pub(crate) struct Cli {
    /// Where the runs are kept: `sqlite:PATH` (an existing file) or a PostgreSQL URL
    /// (`postgres://user@host/db`).
    #[arg(long, short, env = "WORKFLOW_STORE", global = true)]
    pub(crate) store: Option<String>,

    /// Print JSON (one document) instead of tables: for scripts.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List runs, oldest first, a page at a time.
    Runs(RunsArgs),
    /// Show one run: status, current step, a pause it waits at, usage and cost.
    Show(ShowArgs),
    /// List a run's checkpoints: the step each one is before, and what was spent by then.
    History(HistoryArgs),
    /// List a run's events: its steps with their time, tokens and cost, retries, model calls,
    /// pauses, errors. `--follow` goes on as the run does, until it has ended.
    Events(EventsArgs),
    /// Delete a run's old checkpoints, or old ended runs.
    Prune(PruneArgs),
    /// Cancel a run: at once if no worker holds it, else at its next step boundary.
    Cancel(CancelArgs),
    /// Answer the pause a run waits at with a JSON value, for a worker to give it.
    Answer(AnswerArgs),
    /// Send a run a message (JSON) under a signal, for a step of it that receives the signal.
    Send(SendArgs),
    /// Start a new run from a checkpoint of a run (time travel), for a worker to drive.
    Fork(ForkArgs),
    /// Serve the web console: the run list, each run's page, live while runs move.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RunsArgs {
    /// Only runs with this status: running, suspended, finished, failed or cancelled.
    #[arg(long, value_parser = status)]
    pub(crate) status: Option<RunStatus>,
    /// Only runs of this workflow (its name, as `Workflow::NAME`).
    #[arg(long)]
    pub(crate) workflow: Option<String>,
    /// At most this many runs.
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: u32,
    /// Start after this run id: the `next` of the previous page.
    #[arg(long)]
    pub(crate) after: Option<RunId>,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The run's id.
    pub(crate) run: RunId,
    /// Also print the latest checkpoint's state (the user's data, as JSON).
    #[arg(long)]
    pub(crate) state: bool,
}

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// The run's id.
    pub(crate) run: RunId,
    /// Start at this checkpoint number.
    #[arg(long, default_value_t = 0)]
    pub(crate) from: u64,
    /// At most this many checkpoints.
    #[arg(long, default_value_t = 100)]
    pub(crate) limit: u32,
    /// Also print each checkpoint's state (the user's data, as JSON).
    #[arg(long)]
    pub(crate) state: bool,
}

#[derive(Debug, Args)]
pub(crate) struct EventsArgs {
    /// The run's id.
    pub(crate) run: RunId,
    /// Start at this event number.
    #[arg(long, default_value_t = 0, conflicts_with = "last")]
    pub(crate) from: u64,
    /// At most this many events (with `--follow`: per read).
    #[arg(long, default_value_t = 100)]
    pub(crate) limit: u32,
    /// Start with the run's last N events, rather than at `--from` (with `--follow`: then
    /// go on as the run emits more).
    #[arg(long, value_name = "N")]
    pub(crate) last: Option<u32>,
    /// Keep printing the run's events as it emits them, until it has finished, failed or was cancelled
    /// (with `--json`: one JSON document per line).
    #[arg(long)]
    pub(crate) follow: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["keep", "older_than"]))]
pub(crate) struct PruneArgs {
    /// The run whose checkpoints to prune (with `--keep`).
    #[arg(requires = "keep")]
    pub(crate) run: Option<RunId>,
    /// Keep the run's last N checkpoints (at least 1: the latest is always kept).
    #[arg(long, requires = "run")]
    pub(crate) keep: Option<u64>,
    /// Delete finished runs not written for this long, e.g. `30days`, `12h`.
    #[arg(long, value_parser = humantime::parse_duration, conflicts_with = "run")]
    pub(crate) older_than: Option<Duration>,
    /// With `--older-than`: failed runs too.
    #[arg(long, requires = "older_than")]
    pub(crate) failed: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CancelArgs {
    /// The run's id.
    pub(crate) run: RunId,
}

#[derive(Debug, Args)]
pub(crate) struct AnswerArgs {
    /// The run's id.
    pub(crate) run: RunId,
    /// The answer, as JSON: `true`, `'"yes"'`, `'{"approved": true}'`.
    #[arg(conflicts_with = "file", required_unless_present = "file")]
    pub(crate) value: Option<String>,
    /// Read the answer from this file (`-`: standard input).
    #[arg(long)]
    pub(crate) file: Option<String>,
    /// Answer the pause of this checkpoint only (default: the one the run waits at now).
    #[arg(long)]
    pub(crate) at: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The run's id.
    pub(crate) run: RunId,
    /// The signal: the message type as its `receive` step names it (`workflow show RUN` tells
    /// the one a run waits for).
    pub(crate) signal: String,
    /// The message, as JSON: `'{"text": "hi"}'`.
    #[arg(conflicts_with = "file", required_unless_present = "file")]
    pub(crate) value: Option<String>,
    /// Read the message from this file (`-`: standard input).
    #[arg(long)]
    pub(crate) file: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ForkArgs {
    /// The run to fork.
    pub(crate) run: RunId,
    /// The checkpoint the new run starts from (see `workflow history RUN`).
    pub(crate) checkpoint: u64,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on. Another address than loopback needs --token.
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub(crate) addr: SocketAddr,
    /// A secret every request must carry (`Authorization: Bearer TOKEN`, or open
    /// `/?token=TOKEN` once in the browser).
    #[arg(long, env = "WORKFLOW_CONSOLE_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
    /// Show runs, change nothing: no cancel, no fork.
    #[arg(long)]
    pub(crate) read_only: bool,
}

/// `text` as a run's status, or why it is none.
pub(crate) fn status(text: &str) -> Result<RunStatus, String> {
    RunStatus::parse(text).ok_or_else(|| {
        format!("`{text}` is not a status: use running, suspended, finished, failed or cancelled")
    })
}
