//! Run and lease ids as the store keeps them: hyphenated lowercase UUIDs, bound as `TEXT`
//! from a buffer on the stack rather than a new `String` each time.

use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use uuid::fmt::Hyphenated;
use uuid::Uuid;

use crate::store::RunId;

/// A UUID as stored text.
pub(super) struct Id([u8; Hyphenated::LENGTH]);

impl Id {
    pub(super) fn of(uuid: &Uuid) -> Self {
        let mut text = [0; Hyphenated::LENGTH];
        uuid.hyphenated().encode_lower(&mut text);
        Id(text)
    }

    pub(super) fn run(run: RunId) -> Self {
        Self::of(run.as_uuid())
    }

    /// The text, as SQLite hands it back.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl ToSql for Id {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(&self.0)))
    }
}
