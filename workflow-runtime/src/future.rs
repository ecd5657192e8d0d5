//! [`BoxFuture`]: the boxed future the runtime's dyn-compatible traits return.

use std::future::Future;
use std::pin::Pin;

/// A boxed, `Send` future: what the methods of the runtime's dyn-compatible traits
/// ([`CheckpointStore`](crate::store::CheckpointStore),
/// [`ChatModel`](crate::provider::ChatModel)) return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
