//! The SQLite driver: the store's [`Driver`] on the rusqlite connections of `connection.rs`,
//! without a thread hop for bounded statements (see there).

use std::sync::atomic::{AtomicU64, Ordering};

use super::connection::{Connections, Lease};
use super::{error, introspect};
use crate::backend::ConnectOptions;
use crate::backend::driver::{
    BoxFuture, Connection, CopySource, Driver, Rows, Write, WriteFailure,
};
use crate::error::{DatabaseError, Error, Result};
use crate::schema::{ColumnType, TableSchema};
use crate::sql::{Backend, Statement};
use crate::value::Value;

/// Opens the connections of `url` (a file, created with its directories if missing, or
/// memory); read-only when `options` say so or the URL says `mode=ro`.
pub(crate) async fn connect(url: &str, options: &ConnectOptions) -> Result<Box<dyn Driver>> {
    let connections = Connections::open_with(
        url,
        options.max_connections,
        options.busy_timeout,
        options.read_only,
    )
    .await?;
    Ok(Box::new(SqliteDriver {
        connections,
        writes: AtomicU64::new(0),
    }))
}

/// Write statements (and commits) between two checkpoints: about SQLite's own 1,000 WAL pages
/// for rows of a few pages each.
const CHECKPOINT_EVERY: u64 = 256;

struct SqliteDriver {
    connections: Connections,
    /// Writes committed since the store opened, to checkpoint every [`CHECKPOINT_EVERY`].
    writes: AtomicU64,
}

impl Driver for SqliteDriver {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn acquire(&self) -> BoxFuture<'_, Result<Box<dyn Connection + '_>>> {
        Box::pin(async move {
            let lease = self.connections.acquire().await?;
            Ok(Box::new(SqliteConnection {
                lease,
                writes: &self.writes,
                bulk_written: false,
                began: false,
                savepoints: 0,
            }) as Box<dyn Connection + '_>)
        })
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
        error::classify(error, table, schema)
    }
}

/// One leased connection. Dropped inside a transaction, the lease rolls it back.
struct SqliteConnection<'a> {
    lease: Lease<'a>,
    writes: &'a AtomicU64,
    /// A bulk write is in the open transaction: checkpoint once it commits.
    bulk_written: bool,
    /// A write transaction was begun here and not yet ended by `commit` or `rollback`: if the
    /// connection is in autocommit nonetheless, SQLite rolled it back on its own.
    began: bool,
    /// Savepoints open inside the write transaction (see [`Connection::begin_write`]).
    savepoints: u32,
}

impl SqliteConnection<'_> {
    /// Counts a committed write; every [`CHECKPOINT_EVERY`] writes, and after a bulk write,
    /// moves the WAL into the database file on the blocking pool (`PASSIVE`: it waits for no
    /// reader or writer, and does what it can).
    async fn written(&mut self, bulk: bool) {
        let count = self.writes.fetch_add(1, Ordering::Relaxed) + 1;
        if bulk || count.is_multiple_of(CHECKPOINT_EVERY) {
            // A checkpoint that cannot run now (a read-only file, a busy database) runs at a
            // later one; nothing is lost by skipping it.
            let _ = self
                .lease
                .blocking(|conn| {
                    conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)")
                        .map_err(super::error::to_error)
                })
                .await;
        }
    }
}

impl Connection for SqliteConnection<'_> {
    fn fetch<'a>(
        &'a mut self,
        statement: Statement,
        types: &'a [ColumnType],
        rows: Rows,
    ) -> BoxFuture<'a, Result<Vec<Vec<Value>>>> {
        Box::pin(async move {
            let (sql, values) = statement.into_parts();
            match rows {
                Rows::Bounded => self.lease.fetch(&sql, &values.0, types).await,
                Rows::Unbounded => {
                    self.lease
                        .fetch_unbounded(sql, values.0, types.to_vec())
                        .await
                }
            }
        })
    }

    fn fetch_first<'a>(
        &'a mut self,
        statement: Statement,
        types: &'a [ColumnType],
    ) -> BoxFuture<'a, Result<Option<Vec<Value>>>> {
        Box::pin(async move {
            let (sql, values) = statement.into_parts();
            self.lease.fetch_first(&sql, &values.0, types).await
        })
    }

    fn execute(&mut self, statement: Statement) -> BoxFuture<'_, Result<u64>> {
        Box::pin(async move {
            let (sql, values) = statement.into_parts();
            let affected = self.lease.execute(&sql, &values.0).await?;
            if !self.lease.in_transaction() {
                self.written(false).await;
            }
            Ok(affected)
        })
    }

    fn write<'a>(&'a mut self, write: Write<'a>) -> BoxFuture<'a, Result<Vec<Vec<Value>>>> {
        Box::pin(async move {
            let rows = if write.bulk {
                self.bulk_written = true;
                self.lease
                    .execute_values_unbounded(write.sql, write.values, write.returning)
                    .await?
            } else {
                self.lease
                    .execute_values(&write.sql, &write.values, write.returning)
                    .await?
            };
            if !self.lease.in_transaction() {
                self.written(false).await;
            }
            Ok(rows)
        })
    }

    fn copy_in<'a>(
        &'a mut self,
        _sql: &'a str,
        _types: &'a [ColumnType],
        _source: CopySource<'a>,
    ) -> BoxFuture<'a, Result<u64, WriteFailure>> {
        // The dialect's capabilities offer no bulk copy: never asked for.
        Box::pin(async {
            Err(WriteFailure::Database(Error::Database(DatabaseError::new(
                "SQLite has no bulk copy",
                None,
                false,
            ))))
        })
    }

    fn begin_write(&mut self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            if self.lease.in_transaction() {
                self.lease
                    .transaction_statement("SAVEPOINT memtable_nested")
                    .await?;
                self.savepoints += 1;
                return Ok(());
            }
            self.lease.begin_immediate().await?;
            self.began = true;
            self.savepoints = 0;
            Ok(())
        })
    }

    fn commit(&mut self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            if self.savepoints > 0 && self.lease.in_transaction() {
                self.lease
                    .transaction_statement("RELEASE memtable_nested")
                    .await?;
                self.savepoints -= 1;
                return Ok(());
            }
            self.savepoints = 0;
            self.lease.commit().await?;
            self.began = false;
            let bulk = std::mem::take(&mut self.bulk_written);
            self.written(bulk).await;
            Ok(())
        })
    }

    fn rollback(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.savepoints > 0 && self.lease.in_transaction() {
                self.savepoints -= 1;
                // Back to the savepoint, which `ROLLBACK TO` leaves open: release it too.
                if self
                    .lease
                    .transaction_statement("ROLLBACK TO memtable_nested")
                    .await
                    .is_ok()
                {
                    let _ = self
                        .lease
                        .transaction_statement("RELEASE memtable_nested")
                        .await;
                }
                return;
            }
            self.savepoints = 0;
            self.began = false;
            self.bulk_written = false;
            self.lease.rollback().await;
        })
    }

    fn in_transaction(&self) -> bool {
        self.lease.in_transaction()
    }

    fn transaction_aborted(&self) -> bool {
        self.began && !self.lease.in_transaction()
    }

    fn introspect<'a>(&'a mut self, table: &'a str) -> BoxFuture<'a, Result<Option<TableSchema>>> {
        Box::pin(async move {
            let (sql, values) = introspect::exists_query(table)?.into_parts();
            let names = self
                .lease
                .fetch(&sql, &values.0, &introspect::EXISTS_TYPES)
                .await?;
            if !introspect::exists(table, &names) {
                return Ok(None);
            }
            let (sql, values) = introspect::info_query(table).into_parts();
            let rows = self
                .lease
                .fetch(&sql, &values.0, &introspect::INFO_TYPES)
                .await?;
            Ok(introspect::schema(table, rows))
        })
    }
}
