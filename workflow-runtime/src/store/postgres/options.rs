//! [`PostgresOptions`]: how a [`PostgresStore`](super::PostgresStore) connects.

use tokio_postgres::NoTls;

/// How a [`PostgresStore`](super::PostgresStore) connects: the schema its tables live in, and TLS.
///
/// ```
/// use workflow_runtime::store::PostgresOptions;
///
/// let options = PostgresOptions::new().schema("workflows");
/// // With TLS, a connector from e.g. `tokio-postgres-rustls`: `.tls(connector)`.
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct PostgresOptions<T = NoTls> {
    pub(super) schema: Option<String>,
    pub(super) tls: T,
}

impl PostgresOptions<NoTls> {
    /// The connection's default schema, no TLS.
    pub fn new() -> Self {
        PostgresOptions {
            schema: None,
            tls: NoTls,
        }
    }
}

impl Default for PostgresOptions<NoTls> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> PostgresOptions<T> {
    /// Keeps the tables in schema `name` (created if missing): letters, digits and `_`,
    /// starting with a letter or `_`, at most 63 bytes.
    pub fn schema(mut self, name: impl Into<String>) -> Self {
        self.schema = Some(name.into());
        self
    }

    /// Connects with TLS through `tls`, a
    /// [`MakeTlsConnect`](tokio_postgres::tls::MakeTlsConnect) such as
    /// `tokio_postgres_rustls::MakeRustlsConnect` or `postgres_native_tls::MakeTlsConnector`.
    pub fn tls<U>(self, tls: U) -> PostgresOptions<U> {
        PostgresOptions {
            schema: self.schema,
            tls,
        }
    }
}
