//! The SQLite driver: the store's [`Driver`] on the rusqlite connections of `connection.rs`,
//! without a thread hop for bounded statements (see there).

use std::time::Duration;

use super::connection::{Connections, Lease};
use super::{error, introspect};
use crate::backend::driver::{
    BoxFuture, Connection, CopySource, Driver, Rows, Write, WriteFailure,
};
use crate::error::{DatabaseError, Error, Result};
use crate::schema::{ColumnType, TableSchema};
use crate::sql::{Backend, Statement};
use crate::value::Value;

/// Opens the connections of `url` (a file, created with its directories if missing, or
/// memory).
pub(crate) async fn connect(
    url: &str,
    max_connections: Option<u32>,
    busy_timeout: Duration,
) -> Result<Box<dyn Driver>> {
    let connections = Connections::open(url, max_connections, busy_timeout).await?;
    Ok(Box::new(SqliteDriver { connections }))
}

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
            Ok(Box::new(SqliteConnection { lease }) as Box<dyn Connection + '_>)
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
            self.lease.execute(&sql, &values.0).await
        })
    }

    fn write<'a>(&'a mut self, write: Write<'a>) -> BoxFuture<'a, Result<Vec<Vec<Value>>>> {
        Box::pin(async move {
            if write.bulk {
                self.lease
                    .execute_values_unbounded(write.sql, write.values, write.returning)
                    .await
            } else {
                self.lease
                    .execute_values(&write.sql, &write.values, write.returning)
                    .await
            }
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
        Box::pin(self.lease.begin_immediate())
    }

    fn commit(&mut self) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.lease.commit())
    }

    fn rollback(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(self.lease.rollback())
    }

    fn in_transaction(&self) -> bool {
        self.lease.in_transaction()
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
