//! SQLite: connection settings, decoding by declared type, error classification from the
//! extended result code and message, and introspection through `pragma_table_info`.

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use sqlx::error::BoxDynError;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Arguments as _, Row as _};

use super::introspect;
use crate::backend::driver::{BoxFuture, CopySource, Driver, WriteFailure};
use crate::backend::sqlx::error::from_sqlx;
use crate::backend::sqlx::pool::Connections;
use crate::backend::sqlx::{SqlxBackend, SqlxDriver, run};
use crate::error::{DatabaseError, Error, Result};
use crate::schema::{ColumnType, TableSchema};
use crate::sql::{Backend, canonical_json};
use crate::value::Value;

/// Prepared statements kept per connection: a few shapes per operation per table.
const STATEMENT_CACHE: usize = 512;

pub(crate) async fn connect(
    url: &str,
    max_connections: Option<u32>,
    busy_timeout: Duration,
) -> Result<Box<dyn Driver>> {
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let options = SqliteConnectOptions::from_str(url)
        .map_err(from_sqlx)?
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(busy_timeout)
        .statement_cache_capacity(STATEMENT_CACHE)
        .pragma("cache_size", "-16000")
        // LIKE as on PostgreSQL: case-sensitive.
        .pragma("case_sensitive_like", "ON");
    let options = if in_memory {
        options
    } else {
        if let Some(parent) = options.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::Connection(crate::error::DatabaseError::new(
                    format!("cannot create the directory {}: {e}", parent.display()),
                    None,
                    false,
                ))
            })?;
        }
        options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
    };
    // A memory database lives and dies with its one connection.
    let max = if in_memory {
        1
    } else {
        max_connections.unwrap_or(4)
    };
    let connections = Connections::open(options, max, false).await?;
    Ok(Box::new(SqlxDriver::<sqlx::sqlite::Sqlite>::new(
        connections,
    )))
}

/// The arguments of one multi-row `INSERT … VALUES` of a batch: `values`, row by row, coerced
/// to their columns' types, bound straight into sqlx's arguments (without sea-query's values in
/// between), each taken out of `values`.
fn arguments(values: &mut [Value]) -> Result<SqliteArguments, sqlx::Error> {
    let mut args = SqliteArguments::default();
    args.reserve(values.len(), 0);
    for value in values.iter_mut() {
        bind(&mut args, std::mem::take(value)).map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}

/// Binds a coerced value as SQLite stores it (as [`SqliteDialect`] binds it through sea-query):
/// json as its canonical text, booleans as 0/1 (sqlx's encoding of `bool`).
fn bind(args: &mut SqliteArguments, value: Value) -> Result<(), BoxDynError> {
    match value {
        Value::Null => args.add(None::<i64>),
        Value::Bool(b) => args.add(b),
        Value::Integer(i) => args.add(i),
        Value::Real(f) => args.add(f),
        // One allocation (`Arc<str>`) instead of two (`Arc<String>`): sqlx's worker thread,
        // which runs the statement, frees the arguments, and is the busier thread of a batch.
        Value::Text(s) => args.add(Arc::<str>::from(s)),
        Value::Blob(b) => args.add(b),
        Value::Json(j) => args.add(Arc::<str>::from(canonical_json(&j))),
    }
}

impl SqlxBackend for sqlx::sqlite::Sqlite {
    const BACKEND: Backend = Backend::Sqlite;
    const BEGIN: &'static str = "BEGIN IMMEDIATE";

    fn decode(row: &SqliteRow, types: &[ColumnType]) -> Result<Vec<Value>, sqlx::Error> {
        decode(row, types)
    }

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    fn bind(
        _types: &[ColumnType],
        values: &mut [Value],
        _arrays: bool,
    ) -> Result<SqliteArguments, sqlx::Error> {
        arguments(values)
    }

    fn classify(error: &DatabaseError, table: &str, schema: Option<&TableSchema>) -> Option<Error> {
        super::errors::classify(error, table, schema)
    }

    fn introspect<'a>(
        conn: &'a mut SqliteConnection,
        table: &'a str,
        _persistent: bool,
    ) -> BoxFuture<'a, Result<Option<TableSchema>>> {
        Box::pin(async move {
            let exists = introspect::exists_query(table)?;
            let names =
                run::fetch::<sqlx::sqlite::Sqlite>(conn, exists, &introspect::EXISTS_TYPES, true)
                    .await
                    .map_err(from_sqlx)?;
            if !introspect::exists(table, &names) {
                return Ok(None);
            }
            let rows = run::fetch::<sqlx::sqlite::Sqlite>(
                conn,
                introspect::info_query(table),
                &introspect::INFO_TYPES,
                true,
            )
            .await
            .map_err(from_sqlx)?;
            Ok(introspect::schema(table, rows))
        })
    }

    fn copy_in<'a>(
        _conn: &'a mut SqliteConnection,
        _sql: &'a str,
        _types: &'a [ColumnType],
        _source: CopySource<'a>,
    ) -> BoxFuture<'a, Result<u64, WriteFailure>> {
        Box::pin(async {
            Err(WriteFailure::Database(Error::Database(DatabaseError::new(
                "SQLite has no bulk copy",
                None,
                false,
            ))))
        })
    }
}

fn decode(row: &SqliteRow, types: &[ColumnType]) -> Result<Vec<Value>, sqlx::Error> {
    // Unchecked reads: SQLite converts between storage classes itself, and a table memtable did
    // not create may hold, say, integers in a TEXT column.
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| {
            Ok(match ty {
                ColumnType::Text => row
                    .try_get_unchecked::<Option<String>, _>(i)?
                    .map(Value::Text),
                ColumnType::Integer | ColumnType::Bigint => row
                    .try_get_unchecked::<Option<i64>, _>(i)?
                    .map(Value::Integer),
                ColumnType::Real => row.try_get_unchecked::<Option<f64>, _>(i)?.map(Value::Real),
                ColumnType::Blob => row
                    .try_get_unchecked::<Option<Vec<u8>>, _>(i)?
                    .map(Value::Blob),
                ColumnType::Boolean => row
                    .try_get_unchecked::<Option<i64>, _>(i)?
                    .map(|b| Value::Bool(b != 0)),
                ColumnType::Json => row.try_get_unchecked::<Option<String>, _>(i)?.map(|text| {
                    // Text that is not JSON (written by something else) is read as a JSON string.
                    Value::Json(
                        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
                    )
                }),
            }
            .unwrap_or(Value::Null))
        })
        .collect()
}
