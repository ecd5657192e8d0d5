//! `workflow serve`: the web console. A JSON API over the store, pages that read it, and live
//! updates over server-sent events; everything it serves is inside the binary.

mod api;
mod assets;
mod auth;
mod live;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use workflow_runtime::store::CheckpointStore;

use crate::args::ServeArgs;
use crate::fail::Fail;

/// What every request reads.
#[derive(Clone)]
pub(crate) struct Console {
    store: Arc<dyn CheckpointStore>,
    /// Whether requests that change runs are refused.
    read_only: bool,
}

/// The console's routes over `store`; every request must carry `token` if there is one.
pub(crate) fn router(
    store: Arc<dyn CheckpointStore>,
    token: Option<String>,
    read_only: bool,
) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/runs/{id}", get(assets::run_page))
        .route("/assets/{name}", get(assets::asset))
        .route("/api/runs", get(api::runs))
        .route("/api/runs/{id}", get(api::run))
        .route("/api/runs/{id}/history", get(api::history))
        .route("/api/runs/{id}/events", get(api::events))
        .route("/api/runs/{id}/live", get(live::live))
        .route("/api/runs/{id}/cancel", post(api::cancel))
        .route("/api/runs/{id}/fork", post(api::fork))
        .route("/api/runs/{id}/answer", post(api::answer))
        .route("/api/console", get(api::console))
        .with_state(Console { store, read_only })
        .layer(axum::middleware::from_fn_with_state(
            auth::Token::new(token),
            auth::check,
        ))
}

/// Serves the console on `args.addr` until Ctrl-C.
pub(crate) async fn serve(store: Arc<dyn CheckpointStore>, args: ServeArgs) -> Result<(), Fail> {
    if !args.addr.ip().is_loopback() && args.token.is_none() {
        return Err(Fail::usage(format!(
            "{} is reachable from other machines: pass --token SECRET (or set WORKFLOW_CONSOLE_TOKEN), or listen on 127.0.0.1",
            args.addr
        )));
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|error| Fail::usage(format!("cannot listen on {}: {error}", args.addr)))?;
    let shown = listener.local_addr().unwrap_or(args.addr);
    eprintln!("workflow: the console is on http://{shown}/ (Ctrl-C stops it)");
    axum::serve(listener, router(store, args.token, args.read_only))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|error| Fail::failed(format!("the console stopped: {error}")))
}
