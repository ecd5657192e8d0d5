//! `GET /api/runs/{id}/live`: server-sent events while a run moves. The store is read twice a
//! second; each time the run has changed (another checkpoint, another status, another owner),
//! a `run` event carries its row (as in `/api/runs`). The stream ends once the run has
//! finished, failed or was cancelled, or when the run is deleted.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use workflow_runtime::store::{RunInfo, RunStatus};

use super::api::{error, run_id};
use super::Console;
use crate::output::run_json;

const EVERY: Duration = Duration::from_millis(500);

pub(crate) async fn live(State(console): State<Console>, Path(id): Path<String>) -> Response {
    let run = match run_id(&id) {
        Ok(run) => run,
        Err(fail) => return error(&fail),
    };
    // What the client saw last; `None` until the first event.
    let seen: Option<RunInfo> = None;
    let updates = stream::unfold(
        (console, seen, false),
        move |(console, seen, done)| async move {
            if done {
                return None;
            }
            loop {
                if seen.is_some() {
                    tokio::time::sleep(EVERY).await;
                }
                let now = match console.store.run(run).await {
                    Ok(now) => now,
                    Err(error) => {
                        let event = Event::default()
                            .event("gone")
                            .data(crate::fail::one_line(&error));
                        return Some((Ok::<_, Infallible>(event), (console, seen, true)));
                    }
                };
                if seen.as_ref() != Some(&now) {
                    let ended = matches!(
                        now.status,
                        RunStatus::Finished | RunStatus::Failed | RunStatus::Cancelled
                    );
                    let event = Event::default()
                        .event("run")
                        .data(run_json(&now).to_string());
                    return Some((Ok(event), (console, Some(now), ended)));
                }
            }
        },
    );
    Sse::new(updates)
        .keep_alive(KeepAlive::default())
        .into_response()
}
