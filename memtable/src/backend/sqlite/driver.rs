//! The SQLite driver: the store's [`Driver`] on the rusqlite connections of `connection.rs`,
//! without a thread hop for bounded statements (see there).

use std::sync::Arc;

use super::connection::{Connections, Lease};
use super::{error, introspect};
use crate::backend::ConnectOptions;
use crate::backend::driver::{
    BoxFuture, Connection, CopySource, Driver, Rows, Write, WriteFailure,
};
use crate::error::{DatabaseError, Error, Result};
use crate::schema::{ColumnType, TableSchema};
use crate::sql::{Backend, Statement};
use crate::value::{ColumnNames, Record, Value};

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
    Ok(Box::new(SqliteDriver { connections }))
}

/// The WAL size, in pages, from which a commit starts a checkpoint in the background:
/// SQLite's own `wal_autocheckpoint` default. Counting pages rather than commits checkpoints
/// as often as SQLite would, whatever a commit writes (a point write adds a few pages, a bulk
/// write thousands).
const CHECKPOINT_PAGES: u32 = 1000;

/// The WAL size from which a commit waits for a checkpoint, if the WAL was already past
/// [`CHECKPOINT_PAGES`] before it. A checkpoint in the background cannot catch up with writes
/// that go on meanwhile, and SQLite starts the WAL again from its beginning only after one
/// that did; waited for, it does (unless other connections write), so under steady writes the
/// WAL stays within about this size. One large commit (a bulk write) does not wait: its
/// checkpoint runs in the background, and a later commit waits if the WAL is still large.
const CHECKPOINT_WAIT_PAGES: u32 = 3 * CHECKPOINT_PAGES;

struct SqliteDriver {
    connections: Connections,
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
                began: false,
                savepoints: 0,
            }) as Box<dyn Connection + '_>)
        })
    }

    fn try_acquire(&self) -> Option<Box<dyn Connection + '_>> {
        let lease = self.connections.try_acquire()?;
        Some(Box::new(SqliteConnection {
            lease,
            began: false,
            savepoints: 0,
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
        error::classify(error, table, schema)
    }
}

/// One leased connection. Dropped inside a transaction, the lease rolls it back.
struct SqliteConnection<'a> {
    lease: Lease<'a>,
    /// A write transaction was begun here and not yet ended by `commit` or `rollback`: if the
    /// connection is in autocommit nonetheless, SQLite rolled it back on its own.
    began: bool,
    /// Savepoints open inside the write transaction (see [`Connection::begin_write`]).
    savepoints: u32,
}

impl SqliteConnection<'_> {
    /// After a commit: once the WAL holds [`CHECKPOINT_PAGES`], moves it into the database
    /// file in the background, and from [`CHECKPOINT_WAIT_PAGES`] waits for that (the fsync
    /// of a checkpoint would otherwise stall the writer that crossed the line: about 18 ms
    /// for a thousand pages here, `BENCHMARKS.md`).
    async fn written(&mut self) {
        let pages = self.lease.take_wal_size();
        if pages == 0 {
            return;
        }
        let before = self.lease.note_wal_size(pages);
        if pages >= CHECKPOINT_PAGES {
            let wait = pages >= CHECKPOINT_WAIT_PAGES && before >= CHECKPOINT_PAGES;
            self.lease.checkpoint(wait).await;
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
            let (sql, values) = statement.into_shared_parts();
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
            let (sql, values) = statement.into_shared_parts();
            self.lease.fetch_first(&sql, &values.0, types).await
        })
    }

    fn fetch_first_record<'a>(
        &'a mut self,
        statement: Statement,
        types: &'a [ColumnType],
        names: &'a Arc<ColumnNames>,
    ) -> BoxFuture<'a, Result<Option<Record>>> {
        Box::pin(async move {
            let (sql, values) = statement.into_shared_parts();
            self.lease
                .fetch_first_record(&sql, &values.0, types, names)
                .await
        })
    }

    fn execute(&mut self, statement: Statement) -> BoxFuture<'_, Result<u64>> {
        Box::pin(async move {
            let (sql, values) = statement.into_shared_parts();
            let affected = self.lease.execute(&sql, &values.0).await?;
            if !self.lease.in_transaction() {
                self.written().await;
            }
            Ok(affected)
        })
    }

    fn write<'a>(&'a mut self, write: Write<'a>) -> BoxFuture<'a, Result<Vec<Vec<Value>>>> {
        Box::pin(async move {
            let rows = if write.bulk {
                self.lease
                    .execute_values_unbounded(write.sql, write.values, write.returning)
                    .await?
            } else {
                self.lease
                    .execute_values(&write.sql, write.values, write.returning)
                    .await?
            };
            if !self.lease.in_transaction() {
                self.written().await;
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
            self.written().await;
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
