//! The console's token: with one, a request must carry it, in an `Authorization: Bearer`
//! header, the `workflow_token` cookie, or a `token` query parameter (which sets the cookie,
//! so that a browser opens `/?token=…` once).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

const COOKIE: &str = "workflow_token";

/// The secret requests must carry, if any.
#[derive(Clone)]
pub(crate) struct Token(Option<Arc<str>>);

impl Token {
    pub(crate) fn new(token: Option<String>) -> Self {
        Token(token.map(Arc::from))
    }
}

pub(crate) async fn check(State(token): State<Token>, request: Request, next: Next) -> Response {
    let Some(secret) = token.0 else {
        return next.run(request).await;
    };
    let from_query = query_token(&request);
    let carried = bearer(&request)
        .or_else(|| cookie(&request))
        .or(from_query.as_deref());
    if !carried.is_some_and(|carried| same(carried.as_bytes(), secret.as_bytes())) {
        return (
            StatusCode::UNAUTHORIZED,
            "this console needs its token: open /?token=TOKEN, or send Authorization: Bearer TOKEN\n",
        )
            .into_response();
    }
    let mut response = next.run(request).await;
    if from_query.is_some() {
        let cookie = format!("{COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    response
}

fn bearer(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn cookie(request: &Request) -> Option<&str> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

fn query_token(request: &Request) -> Option<String> {
    let Query(mut query) = Query::<HashMap<String, String>>::try_from_uri(request.uri()).ok()?;
    query.remove("token")
}

/// Whether `a` and `b` are equal, in a time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}
