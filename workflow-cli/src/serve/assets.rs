//! The console's pages, script and styles, compiled into the binary: no CDN, no files next to
//! it.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

const INDEX: &str = include_str!("../../assets/index.html");
const RUN: &str = include_str!("../../assets/run.html");
const SCRIPT: &str = include_str!("../../assets/console.js");
const STYLE: &str = include_str!("../../assets/console.css");
/// Mermaid 11 (`npm pack mermaid@11`, `dist/mermaid.min.js`, MIT: `assets/vendor/mermaid.LICENSE`),
/// which draws a run's graph: 3.4 MB, served from the binary.
const MERMAID: &str = include_str!("../../assets/vendor/mermaid.min.js");

pub(crate) async fn index() -> Html<&'static str> {
    Html(INDEX)
}

/// A run's page; the script reads the id from the address.
pub(crate) async fn run_page() -> Html<&'static str> {
    Html(RUN)
}

pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "console.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "console.css" => (STYLE, "text/css; charset=utf-8"),
        "mermaid.min.js" => (MERMAID, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such file\n").into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}
