//! The console's JSON API: the documents `--json` prints, over HTTP.
//!
//! - `GET /api/runs?status=&workflow=&limit=&after=`: a page of runs (`workflow runs`)
//! - `GET /api/runs/{id}`: one run, its state included (`workflow show --state`)
//! - `GET /api/runs/{id}/history?from=&limit=`: a page of its checkpoints
//! - `GET /api/runs/{id}/events?from=&limit=`: a page of its event log (`workflow events`);
//!   `?last=N` its last N entries instead (`workflow events --last N`)
//! - `POST /api/runs/{id}/cancel`: cancel it (`workflow cancel`); `403` in read-only mode
//! - `POST /api/runs/{id}/fork?checkpoint=N`: a new run from its checkpoint N, for a worker
//!   (`workflow fork`); `403` in read-only mode
//! - `POST /api/runs/{id}/answer?checkpoint=N` with the answer as the JSON body: records it
//!   for the pause of checkpoint N, for a worker to give it (`workflow answer`); `400` if it
//!   is not what the pause takes, `409` if the run does not wait at that pause, `403` in
//!   read-only mode
//! - `GET /api/console`: what the console allows (`{"read_only": …}`)
//!
//! A request that changes a run must carry the header `X-Workflow-Console: 1`, which a page
//! of another site cannot send without the browser asking first: no cross-site request
//! forgery, token or not.
//!
//! A bad parameter is `400`, an unknown run `404`, a store that fails `500`; each with
//! `{"error": "…"}`.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use workflow_runtime::RunId;

use super::Console;
use crate::args::{CancelArgs, EventsArgs, ForkArgs, HistoryArgs, RunsArgs, ShowArgs};
use crate::command::{events, history, runs, show};
use crate::fail::Fail;

#[derive(Deserialize)]
pub(crate) struct RunsQuery {
    status: Option<String>,
    workflow: Option<String>,
    limit: Option<u32>,
    after: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct HistoryQuery {
    from: Option<u64>,
    limit: Option<u32>,
    /// The events only: the log's last entries, rather than a page from `from`.
    last: Option<u32>,
}

/// The most rows one request reads.
const MAX_LIMIT: u32 = 1000;

pub(crate) async fn runs(
    State(console): State<Console>,
    Query(query): Query<RunsQuery>,
) -> Response {
    let args = match runs_args(query) {
        Ok(args) => args,
        Err(fail) => return error(&fail),
    };
    json(runs::runs(console.store.as_ref(), args, true).await)
}

fn runs_args(query: RunsQuery) -> Result<RunsArgs, Fail> {
    let status = match query.status.as_deref().filter(|status| !status.is_empty()) {
        Some(text) => Some(crate::args::status(text).map_err(Fail::usage)?),
        None => None,
    };
    let after = match query.after.as_deref().filter(|after| !after.is_empty()) {
        Some(after) => Some(run_id(after)?),
        None => None,
    };
    Ok(RunsArgs {
        status,
        workflow: query.workflow.filter(|name| !name.is_empty()),
        limit: query.limit.unwrap_or(50).clamp(1, MAX_LIMIT),
        after,
    })
}

pub(crate) async fn run(State(console): State<Console>, Path(id): Path<String>) -> Response {
    let run = match run_id(&id) {
        Ok(run) => run,
        Err(fail) => return error(&fail),
    };
    let args = ShowArgs { run, state: true };
    json(show::show(console.store.as_ref(), args, true).await)
}

pub(crate) async fn history(
    State(console): State<Console>,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Response {
    let (run, from, limit) = match page(&id, &query) {
        Ok(page) => page,
        Err(fail) => return error(&fail),
    };
    let args = HistoryArgs {
        run,
        from,
        limit,
        state: false,
    };
    json(history::history(console.store.as_ref(), args, true).await)
}

pub(crate) async fn cancel(
    State(console): State<Console>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let run = match may_change(&console, &headers).and_then(|()| Ok(run_id(&id)?)) {
        Ok(run) => run,
        Err(refused) => return refused.into_response(),
    };
    json(crate::command::cancel::cancel(console.store.as_ref(), CancelArgs { run }, true).await)
}

#[derive(Deserialize)]
pub(crate) struct ForkQuery {
    checkpoint: Option<u64>,
}

pub(crate) async fn fork(
    State(console): State<Console>,
    Path(id): Path<String>,
    Query(query): Query<ForkQuery>,
    headers: HeaderMap,
) -> Response {
    let args = may_change(&console, &headers).and_then(|()| {
        let checkpoint = query
            .checkpoint
            .ok_or_else(|| Refused::Bad(Fail::usage("say which checkpoint: ?checkpoint=N")))?;
        Ok(ForkArgs {
            run: run_id(&id)?,
            checkpoint,
        })
    });
    match args {
        Ok(args) => json(crate::command::fork::fork(console.store.as_ref(), args, true).await),
        Err(refused) => refused.into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct AnswerQuery {
    checkpoint: Option<u64>,
}

pub(crate) async fn answer(
    State(console): State<Console>,
    Path(id): Path<String>,
    Query(query): Query<AnswerQuery>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let asked = may_change(&console, &headers).and_then(|()| {
        let value: serde_json::Value = serde_json::from_str(&body)
            .map_err(|error| Fail::usage(format!("the answer is not JSON ({error})")))?;
        Ok((run_id(&id)?, value))
    });
    let (run, value) = match asked {
        Ok(asked) => asked,
        Err(refused) => return refused.into_response(),
    };
    let store = console.store.as_ref();
    match crate::command::answer::record(store, run, query.checkpoint, &value).await {
        Ok(recorded) => axum::Json(serde_json::json!({
            "run": run.to_string(),
            "checkpoint": recorded.seq,
            "step": recorded.step,
            "answer": "recorded",
        }))
        .into_response(),
        Err(fail) => error(&fail),
    }
}

/// Why a request that would change a run is not carried out.
pub(super) enum Refused {
    /// The console is read-only, or the request lacks its header.
    Forbidden(Fail),
    /// A bad id or parameter.
    Bad(Fail),
}

impl From<Fail> for Refused {
    fn from(fail: Fail) -> Self {
        Refused::Bad(fail)
    }
}

impl Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Forbidden(fail) => (StatusCode::FORBIDDEN, error_body(&fail)).into_response(),
            Refused::Bad(fail) => error(&fail),
        }
    }
}

/// Whether this console may change a run on this request: not read-only, and the request
/// carries the header a page of another site cannot send.
fn may_change(console: &Console, headers: &HeaderMap) -> Result<(), Refused> {
    if console.read_only {
        let refused = Fail::usage("this console is read-only: it changes no run");
        return Err(Refused::Forbidden(refused));
    }
    if headers.get(CHANGE_HEADER).is_none_or(|value| value != "1") {
        let refused = Fail::usage(format!(
            "a request that changes a run needs the header `{CHANGE_HEADER}: 1`"
        ));
        return Err(Refused::Forbidden(refused));
    }
    Ok(())
}

pub(crate) async fn console(State(console): State<Console>) -> Response {
    axum::Json(serde_json::json!({ "read_only": console.read_only })).into_response()
}

/// The header a request that changes a run carries.
const CHANGE_HEADER: &str = "x-workflow-console";

/// A page of run `id`'s event log: `{"events": [...], "next": N}`, as `workflow events --json`
/// prints it (the same `from` and `limit` as the history), or with `last` its last entries (at
/// most as many as a page).
pub(crate) async fn events(
    State(console): State<Console>,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Response {
    let (run, from, limit) = match page(&id, &query) {
        Ok(page) => page,
        Err(fail) => return error(&fail),
    };
    let args = EventsArgs {
        run,
        from,
        limit,
        follow: false,
        last: query.last.map(|last| last.min(MAX_LIMIT)),
    };
    json(events::events(console.store.as_ref(), args, true).await)
}

/// The run, first number and size of a page of its history or its events.
fn page(id: &str, query: &HistoryQuery) -> Result<(RunId, u64, u32), Fail> {
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
    Ok((run_id(id)?, query.from.unwrap_or(0), limit))
}

pub(super) fn run_id(text: &str) -> Result<RunId, Fail> {
    text.parse()
        .map_err(|_| Fail::usage(format!("`{text}` is not a run id")))
}

/// A document, or the error.
fn json(document: Result<String, Fail>) -> Response {
    match document {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(fail) => error(&fail),
    }
}

/// `{"error": "…"}` with the status the failure calls for.
pub(super) fn error(fail: &Fail) -> Response {
    let status = match fail.code() {
        Fail::NOT_FOUND => StatusCode::NOT_FOUND,
        Fail::USAGE => StatusCode::BAD_REQUEST,
        Fail::REFUSED => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, error_body(fail)).into_response()
}

fn error_body(fail: &Fail) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "error": fail.to_string() }))
}
