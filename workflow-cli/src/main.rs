//! `workflow`: see and manage the durable runs of the `workflow` crate, kept in an SQLite file
//! or a PostgreSQL database, without the code of the workflows.
//!
//! ```text
//! workflow --store sqlite:runs.db runs --status suspended
//! workflow --store sqlite:runs.db show 0193c5a4-…
//! workflow --store postgres://postgres@localhost/app history 0193c5a4-… --json
//! workflow --store sqlite:runs.db events 0193c5a4-… --follow
//! ```

mod args;
mod command;
mod fail;
mod open;
mod output;
mod serve;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

use crate::args::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("workflow: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let done = runtime.block_on(async {
        let store = open::open(cli.store.as_deref()).await?;
        match cli.command {
            args::Command::Serve(args) => serve::serve(store, args).await.map(|()| String::new()),
            command => command::run(store.as_ref(), command, cli.json).await,
        }
    });
    match done {
        Ok(out) => {
            // A closed pipe (`workflow runs | head`) is not an error of ours.
            let _ = std::io::stdout().write_all(out.as_bytes());
            ExitCode::SUCCESS
        }
        Err(fail) => {
            eprintln!("workflow: {fail}");
            fail.exit_code()
        }
    }
}
