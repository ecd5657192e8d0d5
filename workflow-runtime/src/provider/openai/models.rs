//! The `GET /models` response: the ids of the models a server serves.

use serde::Deserialize;

use crate::provider::http::Caller;
use crate::provider::{ProviderError, ProviderErrorKind};

#[derive(Deserialize)]
struct List {
    data: Option<Vec<Entry>>,
}

#[derive(Deserialize)]
struct Entry {
    id: Option<String>,
}

/// The model ids in `bytes`, a `{"object": "list", "data": [{"id": …}, …]}` body, in order.
///
/// # Errors
///
/// A [`ProviderErrorKind::MalformedResponse`] error if it is not that shape.
pub(super) fn parse(bytes: &[u8], caller: &Caller) -> Result<Vec<String>, ProviderError> {
    let malformed = |what: &str| {
        let message = format!("the model list {what}");
        caller.error(ProviderErrorKind::MalformedResponse, &message)
    };
    let list: List =
        serde_json::from_slice(bytes).map_err(|_| malformed("is not a JSON list of models"))?;
    let entries = list.data.ok_or_else(|| malformed("has no `data`"))?;
    entries
        .into_iter()
        .map(|entry| {
            entry
                .id
                .ok_or_else(|| malformed("has an entry without `id`"))
        })
        .collect()
}
