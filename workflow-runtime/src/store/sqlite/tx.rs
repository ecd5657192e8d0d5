//! Transactions with cached statements.

use rusqlite::Connection;

use super::rows::store;
use crate::Error;

/// A write transaction (`BEGIN IMMEDIATE`, so that it takes the file's write lock at once
/// rather than fail to upgrade later), rolled back when dropped uncommitted. Its statements
/// are cached, like every statement here: a checkpoint parses no SQL.
pub(super) struct Tx<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> Tx<'c> {
    fn begin(conn: &'c Connection, sql: &str) -> Result<Self, Error> {
        execute(conn, sql)?;
        Ok(Tx { conn, open: true })
    }

    pub(super) fn commit(mut self) -> Result<(), Error> {
        execute(self.conn, "COMMIT")?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = execute(self.conn, "ROLLBACK");
        }
    }
}

fn execute(conn: &Connection, sql: &str) -> Result<(), Error> {
    conn.prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute([]))
        .map(|_| ())
        .map_err(store)
}

pub(super) fn write(conn: &mut Connection) -> Result<Tx<'_>, Error> {
    Tx::begin(conn, "BEGIN IMMEDIATE")
}

/// A read transaction: the statements in it see the file as it was at its first read (WAL
/// mode), whatever other connections commit meanwhile.
pub(super) fn read(conn: &Connection) -> Result<Tx<'_>, Error> {
    Tx::begin(conn, "BEGIN")
}
