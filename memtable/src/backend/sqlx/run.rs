//! Running a statement on a sqlx database: the same four calls for each, the backend
//! supplying only how its rows decode and how many rows a statement affected.
//!
//! `persistent: false` runs a statement unnamed, never cached: what a transaction-mode pooler
//! can carry (see `SqlxConnection`).

use std::sync::Arc;

use sea_query_sqlx::SqlxValues;
use sqlx::{AssertSqlSafe, Executor, IntoArguments};

use futures_core::Stream as _;

use super::SqlxBackend as Driver;
use crate::schema::ColumnType;
use crate::sql::Statement;
use crate::value::Value;

/// Rows decoded between two yields to the runtime (a few milliseconds of work in a debug
/// build, well under one in a release build).
const YIELD_EVERY: usize = 64;

/// Runs a statement and decodes every row it returns, as they arrive.
pub(crate) async fn fetch<DB: Driver>(
    conn: &mut DB::Connection,
    statement: Statement,
    types: &[ColumnType],
    persistent: bool,
) -> Result<Vec<Vec<Value>>, sqlx::Error>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    SqlxValues: IntoArguments<DB>,
{
    let (sql, values) = statement.into_shared_parts();
    let stream = sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values))
        .persistent(persistent)
        .fetch(&mut *conn);
    let mut stream = std::pin::pin!(stream);
    let mut decoded = Vec::new();
    while let Some(row) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
        decoded.push(DB::decode(&row?, types)?);
        // Rows already buffered come without a wait: a large result read in one go would
        // keep the runtime's thread from every other task. Let them run now and then.
        if decoded.len().is_multiple_of(YIELD_EVERY) {
            tokio::task::yield_now().await;
        }
    }
    Ok(decoded)
}

/// Runs a statement and decodes its first row only: one message from the database instead of
/// a stream . For reads:
/// a write must run to completion (see [`fetch`]).
pub(crate) async fn fetch_first<DB: Driver, T>(
    conn: &mut DB::Connection,
    statement: Statement,
    persistent: bool,
    decode: impl FnOnce(&DB::Row) -> Result<T, sqlx::Error>,
) -> Result<Option<T>, sqlx::Error>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    SqlxValues: IntoArguments<DB>,
{
    let (sql, values) = statement.into_shared_parts();
    let row = sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values))
        .persistent(persistent)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// Runs a statement that returns no rows; returns the rows it affected.
pub(crate) async fn execute<DB: Driver>(
    conn: &mut DB::Connection,
    statement: Statement,
    persistent: bool,
) -> Result<u64, sqlx::Error>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    SqlxValues: IntoArguments<DB>,
{
    let (sql, values) = statement.into_shared_parts();
    let result = sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values))
        .persistent(persistent)
        .execute(&mut *conn)
        .await?;
    Ok(DB::rows_affected(&result))
}

/// Runs one insert (a statement of a batch, or a single row or upsert) with its arguments
/// already bound; returns the keys, decoded as `key_type`, when it has `RETURNING`.
pub(crate) async fn insert<DB: Driver>(
    conn: &mut DB::Connection,
    sql: Arc<str>,
    args: DB::Arguments,
    key_type: Option<ColumnType>,
    persistent: bool,
) -> Result<Vec<Vec<Value>>, sqlx::Error>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
    let query = sqlx::query_with(AssertSqlSafe(sql), args).persistent(persistent);
    match key_type {
        Some(key_type) => {
            let rows = query.fetch_all(&mut *conn).await?;
            rows.iter()
                .map(|row| DB::decode(row, &[key_type]))
                .collect()
        }
        None => query.execute(&mut *conn).await.map(|_| Vec::new()),
    }
}
