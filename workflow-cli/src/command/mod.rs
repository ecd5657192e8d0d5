//! The commands: each reads (or prunes) the store and returns what to print.

pub(crate) mod answer;
pub(crate) mod cancel;
pub(crate) mod definition;
pub(crate) mod events;
pub(crate) mod fork;
pub(crate) mod history;
mod input;
mod prune;
pub(crate) mod runs;
mod schema;
pub(crate) mod send;
pub(crate) mod show;

use crate::args::Command;
use crate::fail::Fail;
use workflow_runtime::store::CheckpointStore;

/// Runs `command` on `store` and returns its output, JSON if `json`.
pub(crate) async fn run(
    store: &dyn CheckpointStore,
    command: Command,
    json: bool,
) -> Result<String, Fail> {
    match command {
        Command::Runs(args) => runs::runs(store, args, json).await,
        Command::Show(args) => show::show(store, args, json).await,
        Command::History(args) => history::history(store, args, json).await,
        Command::Events(args) => events::events(store, args, json).await,
        Command::Prune(args) => prune::prune(store, args, json).await,
        Command::Cancel(args) => cancel::cancel(store, args, json).await,
        Command::Answer(args) => answer::answer(store, args, json).await,
        Command::Send(args) => send::send(store, args, json).await,
        Command::Fork(args) => fork::fork(store, args, json).await,
        Command::Serve(_) => Err(Fail::usage("`serve` prints nothing: it serves")),
    }
}
