//! The driver trait: what the store asks of a database, written once for every backend.
//!
//! A [`Driver`] hands out [`Connection`]s, one per operation; a connection runs rendered
//! statements, decodes rows by the declared column types, holds a write transaction, writes
//! bulk rows and reads the schema of a table memtable did not create. Its errors are already
//! memtable errors ([`Error::Database`], [`Error::Connection`], [`Error::PermissionDenied`]);
//! [`Driver::classify`] then says which database errors mean a constraint violation or a
//! missing table.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::{DatabaseError, Error, Result};
use crate::schema::{ColumnType, TableSchema};
use crate::sql::{Backend, Statement};
use crate::value::{ColumnNames, Record, Value};

/// A boxed future, so that the traits stay object-safe.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How many rows a read can return: whether it is bounded work (a point read, a page), which
/// a driver may run on the calling task, or unbounded work (a full scan), which must not
/// hold a runtime thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    /// At most a few hundred rows.
    Bounded,
    /// No bound known.
    Unbounded,
}

impl Rows {
    /// The bound of a read with `limit`.
    pub(crate) fn of_limit(limit: Option<u64>) -> Rows {
        match limit {
            Some(limit) if limit <= BOUNDED_ROWS => Rows::Bounded,
            _ => Rows::Unbounded,
        }
    }
}

/// The most rows a read may return and still count as bounded work: past this, decoding a
/// result (or turning it into records) goes to the blocking pool too.
pub(crate) const BOUNDED_ROWS: u64 = 500;

/// Runs `work` on tokio's blocking pool: CPU work on a result too large to run on a runtime
/// thread without keeping other tasks waiting.
pub(crate) async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|error| {
        Error::Database(DatabaseError::new(
            format!("work on the blocking pool failed: {error}"),
            None,
            false,
        ))
    })
}

/// Whether a result of `rows` rows is too large to handle on a runtime thread.
pub(crate) fn is_large(rows: usize) -> bool {
    u64::try_from(rows).map_or(true, |rows| rows > BOUNDED_ROWS)
}

/// One `INSERT` (a single row, an upsert, or one statement of a batch) with its values,
/// already coerced to `types`, to bind in order.
#[cfg_attr(
    not(all(feature = "sqlite", feature = "postgres")),
    allow(dead_code, reason = "each driver reads the fields it needs")
)]
pub(crate) struct Write<'a> {
    /// The SQL text.
    pub(crate) sql: Arc<str>,
    /// The column type of each value, cycling (row-major values of `types.len()` columns).
    pub(crate) types: &'a [ColumnType],
    /// The values, row by row. Lent rather than given: the caller drops them, on its own
    /// thread and when it suits it (a batch, while the database runs the next statement),
    /// rather than the database's thread after the statement.
    pub(crate) values: &'a mut Vec<Value>,
    /// Bound as one array per column (`INSERT … SELECT UNNEST(…)`) rather than row by row.
    pub(crate) arrays: bool,
    /// The type of the key the statement returns, when it has `RETURNING`.
    pub(crate) returning: Option<ColumnType>,
    /// Part of a bulk write (unbounded work), not a single row.
    #[allow(
        dead_code,
        reason = "only a driver that runs bounded work inline reads it"
    )]
    pub(crate) bulk: bool,
}

/// Why a bulk write did not go through.
pub(crate) enum WriteFailure {
    /// A record cannot be written (past a limit, a value that does not fit, a missing key,
    /// …); `database` is what the database said when the write was abandoned, if it failed.
    Record {
        /// What is wrong with the record.
        error: Error,
        /// The database's error, if the abandoned write failed too.
        database: Option<Box<Error>>,
    },
    /// The database failed.
    Database(Error),
}

impl From<Error> for WriteFailure {
    fn from(error: Error) -> Self {
        WriteFailure::Record {
            error,
            database: None,
        }
    }
}

/// Hands the rows of a bulk copy to the driver: appends the next rows' values (coerced to the
/// copy's types, row by row) to the vector it is given and says whether more rows remain.
pub(crate) type CopySource<'a> = &'a mut (dyn FnMut(&mut Vec<Value>) -> Result<bool> + Send);

/// A database, as the store sees it.
pub(crate) trait Driver: Send + Sync + 'static {
    /// The backend, for rendering statements in its dialect.
    fn backend(&self) -> Backend;

    /// A connection for one operation; waits while every connection is in use.
    fn acquire(&self) -> BoxFuture<'_, Result<Box<dyn Connection + '_>>>;

    /// A connection at once, when one is idle and ready to use and no operation waits for
    /// one: the usual case, which then costs no future. `None` says to [`acquire`](Self::acquire).
    fn try_acquire(&self) -> Option<Box<dyn Connection + '_>>;

    /// Closes every idle connection and refuses new ones.
    fn close(&self) -> BoxFuture<'_, ()>;

    /// The memtable error `error` stands for on `table` (whose schema, when known, names
    /// the columns of a constraint): a constraint violation or a missing table; else `None`.
    fn classify(
        &self,
        error: &DatabaseError,
        table: &str,
        schema: Option<&TableSchema>,
    ) -> Option<Error>;
}

/// One connection, held for one operation. Dropped inside a write transaction, it rolls the
/// transaction back before another operation uses it.
pub(crate) trait Connection: Send {
    /// Runs a query and decodes every row's columns as `types`.
    fn fetch<'a>(
        &'a mut self,
        statement: Statement,
        types: &'a [ColumnType],
        rows: Rows,
    ) -> BoxFuture<'a, Result<Vec<Vec<Value>>>>;

    /// Runs a query that returns at most one row, and decodes it. Never for writes.
    fn fetch_first<'a>(
        &'a mut self,
        statement: Statement,
        types: &'a [ColumnType],
    ) -> BoxFuture<'a, Result<Option<Vec<Value>>>>;

    /// As [`fetch_first`](Self::fetch_first), the row read straight into a record of `names`
    /// (the columns' names, in order): one vector, not a row and then a record.
    fn fetch_first_record<'a>(
        &'a mut self,
        statement: Statement,
        types: &'a [ColumnType],
        names: &'a Arc<ColumnNames>,
    ) -> BoxFuture<'a, Result<Option<Record>>>;

    /// Runs a statement; returns the rows it affected.
    fn execute(&mut self, statement: Statement) -> BoxFuture<'_, Result<u64>>;

    /// Runs one insert with its values bound; returns the rows of its `RETURNING`.
    fn write<'a>(&'a mut self, write: Write<'a>) -> BoxFuture<'a, Result<Vec<Vec<Value>>>>;

    /// Writes rows by the driver's bulk copy (`sql` the copy statement, `types` the columns'
    /// types); returns the rows written. Only where the dialect's capabilities say so.
    fn copy_in<'a>(
        &'a mut self,
        sql: &'a str,
        types: &'a [ColumnType],
        source: CopySource<'a>,
    ) -> BoxFuture<'a, Result<u64, WriteFailure>>;

    /// Begins a write transaction (on SQLite `BEGIN IMMEDIATE`: concurrent writers queue).
    ///
    /// Inside a write transaction it opens a savepoint instead, which the next
    /// [`commit`](Self::commit) releases and the next [`rollback`](Self::rollback) rolls back
    /// to: an operation that writes all or nothing (a batch) keeps its all-or-nothing inside a
    /// caller's transaction, without ending it.
    fn begin_write(&mut self) -> BoxFuture<'_, Result<()>>;

    /// Commits the write transaction (inside a savepoint: releases the savepoint). A savepoint
    /// that cannot be released stays open for [`rollback`](Self::rollback).
    fn commit(&mut self) -> BoxFuture<'_, Result<()>>;

    /// Rolls the write transaction back (inside a savepoint: back to the savepoint, the
    /// transaction staying open); a failure leaves nothing to undo.
    fn rollback(&mut self) -> BoxFuture<'_, ()>;

    /// Whether a write transaction is open.
    fn in_transaction(&self) -> bool;

    /// Whether the write transaction this connection began can no longer commit anything: a
    /// statement failed in it and the database aborted it (PostgreSQL), or the database rolled
    /// it back on its own (SQLite, after a few kinds of error). Until it ends, only
    /// [`rollback`](Self::rollback) makes sense.
    fn transaction_aborted(&self) -> bool;

    /// The schema of `table` as the database declares it, or `None` when there is no such
    /// table.
    fn introspect<'a>(&'a mut self, table: &'a str) -> BoxFuture<'a, Result<Option<TableSchema>>>;
}
