//! The driver for databases reached through sqlx: its pool of dedicated connections, running
//! statements, write transactions, and statements a transaction-mode pooler can carry. Each
//! such backend supplies only what differs ([`SqlxBackend`]: decoding, binding, classifying
//! its errors, introspection, bulk copy).

pub(crate) mod error;
pub(crate) mod pool;
pub(crate) mod run;

use std::marker::PhantomData;
use std::sync::Arc;

use sqlx::AssertSqlSafe;

use self::error::from_sqlx;
use self::pool::{Connections, Lease};
use super::driver::{BoxFuture, Connection, CopySource, Driver, Rows, Write, WriteFailure};
use crate::error::{DatabaseError, Error, Result};
use crate::schema::{ColumnType, TableSchema};
use crate::sql::{Backend, Statement};
use crate::value::{ColumnNames, ReadRecord, Record, RowValues, Value};

/// What one sqlx database does differently.
pub(crate) trait SqlxBackend:
    sqlx::Database + sqlx::database::HasStatementCache + Sized + 'static
{
    /// Which backend this is, for rendering.
    const BACKEND: Backend;

    /// The statement that begins a write transaction.
    const BEGIN: &'static str;

    /// Whether a statement that fails inside a transaction aborts it (PostgreSQL: every later
    /// statement is refused, and `COMMIT` answers by rolling back, without an error).
    const FAILURE_ABORTS_TRANSACTION: bool;
    /// The statement that begins a transaction of a read-only store: the database refuses
    /// every write in it.
    const BEGIN_READ_ONLY: &'static str;

    /// A row's values, read as the declared `types` of its columns, appended to `out`.
    fn decode_into(
        row: &Self::Row,
        types: &[ColumnType],
        out: &mut impl RowValues,
    ) -> Result<(), sqlx::Error>;

    /// A row's values, read as the declared `types` of its columns.
    fn decode(row: &Self::Row, types: &[ColumnType]) -> Result<Vec<Value>, sqlx::Error> {
        let mut values = Vec::with_capacity(types.len());
        Self::decode_into(row, types, &mut values)?;
        Ok(values)
    }

    /// The rows a statement inserted, updated or deleted.
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// The arguments of one insert: `values` (row by row, coerced to `types`, cycling), taken
    /// out of the vector; as one array per column when `arrays`.
    fn bind(
        types: &[ColumnType],
        values: &mut [Value],
        arrays: bool,
    ) -> Result<Self::Arguments, sqlx::Error>;

    /// See [`Driver::classify`].
    fn classify(error: &DatabaseError, table: &str, schema: Option<&TableSchema>) -> Option<Error>;

    /// See [`Connection::introspect`]; `persistent` says whether statements may be prepared by
    /// name.
    fn introspect<'a>(
        conn: &'a mut Self::Connection,
        table: &'a str,
        persistent: bool,
    ) -> BoxFuture<'a, Result<Option<TableSchema>>>;

    /// See [`Connection::copy_in`].
    fn copy_in<'a>(
        conn: &'a mut Self::Connection,
        sql: &'a str,
        types: &'a [ColumnType],
        source: CopySource<'a>,
    ) -> BoxFuture<'a, Result<u64, WriteFailure>>;
}

/// A database reached through sqlx: its connections.
pub(crate) struct SqlxDriver<B: SqlxBackend>
where
    for<'c> &'c mut B::Connection: sqlx::Executor<'c, Database = B>,
    sea_query_sqlx::SqlxValues: sqlx::IntoArguments<B>,
    B::Arguments: sqlx::IntoArguments<B>,
{
    connections: Connections<B::Connection>,
    _backend: PhantomData<fn() -> B>,
}

impl<B: SqlxBackend> SqlxDriver<B>
where
    for<'c> &'c mut B::Connection: sqlx::Executor<'c, Database = B>,
    sea_query_sqlx::SqlxValues: sqlx::IntoArguments<B>,
    B::Arguments: sqlx::IntoArguments<B>,
{
    pub(crate) fn new(connections: Connections<B::Connection>) -> Self {
        SqlxDriver {
            connections,
            _backend: PhantomData,
        }
    }
}

impl<B: SqlxBackend> Driver for SqlxDriver<B>
where
    for<'c> &'c mut B::Connection: sqlx::Executor<'c, Database = B>,
    sea_query_sqlx::SqlxValues: sqlx::IntoArguments<B>,
    B::Arguments: sqlx::IntoArguments<B>,
    B::Connection: Send,
{
    fn backend(&self) -> Backend {
        B::BACKEND
    }

    fn acquire(&self) -> BoxFuture<'_, Result<Box<dyn Connection + '_>>> {
        Box::pin(async move {
            let lease = self.connections.acquire().await?;
            Ok(Box::new(SqlxConnection::<B> {
                lease,
                in_transaction: false,
                savepoints: 0,
                aborted: false,
            }) as Box<dyn Connection + '_>)
        })
    }

    fn try_acquire(&self) -> Option<Box<dyn Connection + '_>> {
        let lease = self.connections.try_acquire()?;
        Some(Box::new(SqlxConnection::<B> {
            lease,
            in_transaction: false,
            savepoints: 0,
            aborted: false,
        }))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.connections.close())
    }

    fn classify(
        &self,
        error: &DatabaseError,
        table: &str,
        schema: Option<&TableSchema>,
    ) -> Option<Error> {
        B::classify(error, table, schema)
    }
}

/// One leased sqlx connection.
///
/// Behind a transaction-mode pooler every transaction may get another server connection, and
/// sqlx parses a statement and executes it in two exchanges: a statement outside a write
/// transaction then runs in a transaction of its own, unnamed, so that both exchanges reach
/// the same server connection and nothing outlives it.
struct SqlxConnection<'p, B: SqlxBackend>
where
    for<'c> &'c mut B::Connection: sqlx::Executor<'c, Database = B>,
    sea_query_sqlx::SqlxValues: sqlx::IntoArguments<B>,
    B::Arguments: sqlx::IntoArguments<B>,
{
    lease: Lease<'p, B::Connection>,
    in_transaction: bool,
    /// Savepoints open inside the write transaction (see [`Connection::begin_write`]).
    savepoints: u32,
    /// A statement failed inside the write transaction and the database aborted it.
    aborted: bool,
}

impl<B: SqlxBackend> SqlxConnection<'_, B>
where
    for<'c> &'c mut B::Connection: sqlx::Executor<'c, Database = B>,
    sea_query_sqlx::SqlxValues: sqlx::IntoArguments<B>,
    B::Arguments: sqlx::IntoArguments<B>,
{
    /// Runs `work` (told whether it may prepare named statements) where this connection is:
    /// in its write transaction, on its own, or, behind a pooler, in a transaction of its own.
    /// Notes the outcome on the lease.
    async fn run<T>(
        &mut self,
        work: impl AsyncFnOnce(&mut B::Connection, bool) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let pooled = self.lease.transaction_pooled();
        let result = if !pooled {
            work(&mut self.lease, true).await
        } else if self.in_transaction {
            work(&mut self.lease, false).await
        } else {
            let begin = self.begin_statement();
            in_own_transaction::<B, T>(&mut self.lease, begin, work).await
        };
        self.lease.note(&result);
        self.note_failure(result.is_err());
        result
    }

    /// How this connection begins a transaction.
    fn begin_statement(&self) -> &'static str {
        if self.lease.read_only() {
            B::BEGIN_READ_ONLY
        } else {
            B::BEGIN
        }
    }

    async fn simple(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        let result = sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut *self.lease)
            .await
            .map(drop);
        self.lease.note(&result);
        self.note_failure(result.is_err());
        result
    }

    /// Notes that a statement failed inside the write transaction, where that aborts it.
    fn note_failure(&mut self, failed: bool) {
        if failed && self.in_transaction && B::FAILURE_ABORTS_TRANSACTION {
            self.aborted = true;
        }
    }
}

async fn in_own_transaction<B: SqlxBackend, T>(
    conn: &mut B::Connection,
    begin: &'static str,
    work: impl AsyncFnOnce(&mut B::Connection, bool) -> Result<T, sqlx::Error>,
) -> Result<T, sqlx::Error>
where
    for<'c> &'c mut B::Connection: sqlx::Executor<'c, Database = B>,
    sea_query_sqlx::SqlxValues: sqlx::IntoArguments<B>,
    B::Arguments: sqlx::IntoArguments<B>,
{
    let mut tx = sqlx::Connection::begin_with(conn, begin).await?;
    match work(&mut tx, false).await {
        Ok(value) => tx.commit().await.map(|()| value),
        Err(error) => {
            // Ended here rather than on the connection's next use: until then a pooler would
            // keep a server connection tied to this client.
            let _ = tx.rollback().await;
            Err(error)
        }
    }
}

impl<B: SqlxBackend> Drop for SqlxConnection<'_, B>
where
    for<'c> &'c mut B::Connection: sqlx::Executor<'c, Database = B>,
    sea_query_sqlx::SqlxValues: sqlx::IntoArguments<B>,
    B::Arguments: sqlx::IntoArguments<B>,
{
    fn drop(&mut self) {
        if self.in_transaction {
            // Dropped mid-transaction (a cancelled operation): closing the connection ends the
            // transaction on the server; a pooler's server connection is freed with it.
            self.lease.discard();
        }
    }
}

impl<B: SqlxBackend> Connection for SqlxConnection<'_, B>
where
    for<'c> &'c mut B::Connection: sqlx::Executor<'c, Database = B>,
    sea_query_sqlx::SqlxValues: sqlx::IntoArguments<B>,
    B::Arguments: sqlx::IntoArguments<B>,
    B::Connection: Send,
{
    fn fetch<'a>(
        &'a mut self,
        statement: Statement,
        types: &'a [ColumnType],
        _rows: Rows,
    ) -> BoxFuture<'a, Result<Vec<Vec<Value>>>> {
        Box::pin(async move {
            self.run(async |conn, persistent| {
                run::fetch::<B>(conn, statement, types, persistent).await
            })
            .await
            .map_err(from_sqlx)
        })
    }

    fn fetch_first<'a>(
        &'a mut self,
        statement: Statement,
        types: &'a [ColumnType],
    ) -> BoxFuture<'a, Result<Option<Vec<Value>>>> {
        Box::pin(async move {
            self.run(async |conn, persistent| {
                run::fetch_first::<B, _>(conn, statement, persistent, |row| B::decode(row, types))
                    .await
            })
            .await
            .map_err(from_sqlx)
        })
    }

    fn fetch_first_record<'a>(
        &'a mut self,
        statement: Statement,
        types: &'a [ColumnType],
        names: &'a Arc<ColumnNames>,
    ) -> BoxFuture<'a, Result<Option<Record>>> {
        Box::pin(async move {
            self.run(async |conn, persistent| {
                run::fetch_first::<B, _>(conn, statement, persistent, |row| {
                    let mut record = ReadRecord::new(names);
                    B::decode_into(row, types, &mut record)?;
                    Ok(record.finish())
                })
                .await
            })
            .await
            .map_err(from_sqlx)
        })
    }

    fn execute(&mut self, statement: Statement) -> BoxFuture<'_, Result<u64>> {
        Box::pin(async move {
            self.run(async |conn, persistent| run::execute::<B>(conn, statement, persistent).await)
                .await
                .map_err(from_sqlx)
        })
    }

    fn write<'a>(&'a mut self, write: Write<'a>) -> BoxFuture<'a, Result<Vec<Vec<Value>>>> {
        Box::pin(async move {
            let Write {
                sql,
                types,
                values,
                arrays,
                returning,
                // sqlx runs every statement the same way, bulk or not.
                bulk: _,
            } = write;
            let args = B::bind(types, values, arrays).map_err(from_sqlx)?;
            self.run(async |conn, persistent| {
                run::insert::<B>(conn, sql, args, returning, persistent).await
            })
            .await
            .map_err(from_sqlx)
        })
    }

    fn copy_in<'a>(
        &'a mut self,
        sql: &'a str,
        types: &'a [ColumnType],
        source: CopySource<'a>,
    ) -> BoxFuture<'a, Result<u64, WriteFailure>> {
        Box::pin(async move {
            let result = B::copy_in(&mut self.lease, sql, types, source).await;
            if let Err(WriteFailure::Database(Error::Connection(_))) = &result {
                self.lease.discard();
            }
            // A copy abandoned for a record ends with the server refusing it: failed too.
            self.note_failure(result.is_err());
            result
        })
    }

    fn begin_write(&mut self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            if self.in_transaction {
                self.simple("SAVEPOINT memtable_nested")
                    .await
                    .map_err(from_sqlx)?;
                self.savepoints += 1;
                return Ok(());
            }
            let begin = self.begin_statement();
            self.simple(begin).await.map_err(from_sqlx)?;
            self.in_transaction = true;
            self.aborted = false;
            Ok(())
        })
    }

    fn commit(&mut self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            if self.savepoints > 0 {
                self.simple("RELEASE SAVEPOINT memtable_nested")
                    .await
                    .map_err(from_sqlx)?;
                self.savepoints -= 1;
                return Ok(());
            }
            let result = self.simple("COMMIT").await;
            if result.is_err() {
                // A failed COMMIT may leave the transaction open: end it.
                let _ = self.simple("ROLLBACK").await;
            }
            self.in_transaction = false;
            self.aborted = false;
            result.map_err(from_sqlx)
        })
    }

    fn rollback(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.savepoints > 0 {
                self.savepoints -= 1;
                let undone = self.simple("ROLLBACK TO SAVEPOINT memtable_nested").await;
                let released = match undone {
                    Ok(()) => self.simple("RELEASE SAVEPOINT memtable_nested").await,
                    Err(error) => Err(error),
                };
                match released {
                    // Back where the savepoint began: what failed after it is undone.
                    Ok(()) => self.aborted = false,
                    Err(_) => self.aborted = true,
                }
                return;
            }
            if self.in_transaction && self.simple("ROLLBACK").await.is_err() {
                self.lease.discard();
            }
            self.in_transaction = false;
            self.aborted = false;
        })
    }

    fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    fn transaction_aborted(&self) -> bool {
        self.in_transaction && self.aborted
    }

    fn introspect<'a>(&'a mut self, table: &'a str) -> BoxFuture<'a, Result<Option<TableSchema>>> {
        Box::pin(async move {
            let pooled = self.lease.transaction_pooled();
            if !pooled || self.in_transaction {
                return B::introspect(&mut self.lease, table, !pooled).await;
            }
            let begin = self.begin_statement();
            let mut tx = sqlx::Connection::begin_with(&mut *self.lease, begin)
                .await
                .map_err(from_sqlx)?;
            let found = B::introspect(&mut tx, table, false).await;
            match found {
                Ok(found) => {
                    tx.commit().await.map_err(from_sqlx)?;
                    Ok(found)
                }
                Err(error) => {
                    let _ = tx.rollback().await;
                    Err(error)
                }
            }
        })
    }
}
