//! A rate limit shared by processes: two worker processes (this example again, with `--call`)
//! each call a model eight times, waiting before each call on one `RateLimit::shared` kept in
//! an SQLite file, 4 calls a second between them (what `RateLimited::with_limit(model, limit)`
//! does for every call). Each prints when the store counted each of its calls; this process
//! merges them and shows that no second held more than 4.
//!
//! ```sh
//! cargo run --example shared_rate_limit
//! ```
//!
//! The database is a new file under the system's temporary directory.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use workflow::provider::{ChatModel, ChatRequest, RateLimit, Scripted};
use workflow::SqliteStore;

const CALLS: u32 = 4;
const PERIOD: Duration = Duration::from_secs(1);

/// A worker process: eight calls to a model on the shared limit; prints when each started,
/// in milliseconds since the Unix epoch, one a line.
async fn call(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let store = Arc::new(SqliteStore::open(path)?);
    let key = RateLimit::shared(store, "openai", CALLS, PERIOD);
    let model = Scripted::new().when("", "ok");
    for _ in 0..8 {
        // What `RateLimited` does before each call; `acquire` says when the store counted it.
        let at = key.acquire().await?;
        model.chat(ChatRequest::new().user("hi")).await?;
        println!("{}", at.duration_since(UNIX_EPOCH)?.as_millis());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--call") {
        let path = args.next().ok_or("--call takes the database's path")?;
        return call(Path::new(&path)).await;
    }
    let dir = std::env::temp_dir().join(format!("workflow-rate-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("limits.sqlite3");
    SqliteStore::open(&path)?;

    let spawn = || {
        Command::new(std::env::current_exe()?)
            .arg("--call")
            .arg(&path)
            .stdout(Stdio::piped())
            .spawn()
    };
    let workers = [spawn()?, spawn()?];
    let mut starts: Vec<(u128, usize)> = Vec::new();
    for (worker, child) in workers.into_iter().enumerate() {
        let out = child.wait_with_output()?;
        for line in String::from_utf8(out.stdout)?.lines() {
            starts.push((line.parse()?, worker));
        }
    }
    starts.sort_unstable();
    let first = starts.first().map_or(0, |(at, _)| *at);
    let period = PERIOD.as_millis();
    let mut busiest = 0;
    for (i, (at, worker)) in starts.iter().enumerate() {
        let in_window = starts[i..]
            .iter()
            .take_while(|(t, _)| t - at < period)
            .count();
        busiest = busiest.max(in_window);
        println!("{:>6} ms  worker {worker} counted a call", at - first);
    }
    println!(
        "{} calls, at most {busiest} in any second ({CALLS} allowed)",
        starts.len()
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
