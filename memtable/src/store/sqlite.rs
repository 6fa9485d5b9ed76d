//! SQLite: connection settings, decoding by declared type, error classification from the
//! extended result code and message, and introspection through `pragma_table_info`.

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use sqlx::error::{BoxDynError, DatabaseError, ErrorKind};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Arguments as _, Row as _};

use super::driver::{self, Driver};
use super::driver_error::from_sqlx;
use super::pool::Connections;
use crate::error::{ConstraintKind, Error, Result};
use crate::schema::{Column, ColumnType, Constraint, TableSchema};
use crate::sql::canonical_json;
use crate::sql::sqlite::SqliteDialect;
use crate::value::Value;

/// SQLITE_CONSTRAINT_PRIMARYKEY: a key conflict, which SQLite reports with a UNIQUE message.
const PRIMARY_KEY_CODE: &str = "1555";

/// Prepared statements kept per connection: a few shapes per operation per table.
const STATEMENT_CACHE: usize = 512;

pub(super) async fn connect(
    url: &str,
    max_connections: Option<u32>,
    busy_timeout: Duration,
) -> Result<Connections<SqliteConnection>> {
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
    Connections::open(options, max, false).await
}

/// The arguments of one multi-row `INSERT … VALUES` of a batch: `values`, row by row, coerced
/// to their columns' types, bound straight into sqlx's arguments (without sea-query's values in
/// between), each taken out of `values`.
pub(super) fn arguments(values: &mut [Value]) -> Result<SqliteArguments, sqlx::Error> {
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

impl Driver for sqlx::sqlite::Sqlite {
    fn decode(row: &SqliteRow, types: &[ColumnType]) -> Result<Vec<Value>, sqlx::Error> {
        decode(row, types)
    }

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
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

/// Turns a database error into the memtable error it stands for, if it is one.
pub(super) fn classify(
    error: &dyn DatabaseError,
    table: &str,
    schema: Option<&TableSchema>,
) -> Option<Error> {
    let message = error.message();
    if message.starts_with("no such table") {
        return Some(Error::TableNotFound {
            table: table.to_owned(),
        });
    }
    let kind = match error.kind() {
        ErrorKind::UniqueViolation if error.code().as_deref() == Some(PRIMARY_KEY_CODE) => {
            ConstraintKind::PrimaryKey
        }
        ErrorKind::UniqueViolation => ConstraintKind::Unique,
        ErrorKind::NotNullViolation => ConstraintKind::NotNull,
        ErrorKind::CheckViolation => ConstraintKind::Check,
        ErrorKind::ForeignKeyViolation => ConstraintKind::ForeignKey,
        _ => return None,
    };
    // "UNIQUE constraint failed: t.a, t.b", "NOT NULL constraint failed: t.c",
    // "CHECK constraint failed: name", "FOREIGN KEY constraint failed".
    let detail = message.split_once(": ").map(|(_, rest)| rest);
    let (mut failed_table, mut column, mut constraint) = (None, None, None);
    match (kind, detail) {
        (ConstraintKind::Check, Some(name)) => constraint = Some(name.to_owned()),
        (_, Some(columns)) => {
            let names: Vec<&str> = columns
                .split(", ")
                .map(|qualified| {
                    let (t, c) = qualified.split_once('.').unwrap_or(("", qualified));
                    if !t.is_empty() {
                        failed_table = Some(t.to_owned());
                    }
                    c
                })
                .collect();
            column = Some(names.join(", "));
            constraint = schema.and_then(|s| index_named_by_columns(s, &names));
        }
        _ => {}
    }
    Some(Error::ConstraintViolation {
        kind,
        table: failed_table.or_else(|| Some(table.to_owned())),
        column,
        constraint,
        message: message.to_owned(),
    })
}

fn index_named_by_columns(schema: &TableSchema, columns: &[&str]) -> Option<String> {
    schema
        .indexes
        .iter()
        .find(|i| {
            i.unique
                && i.columns
                    .iter()
                    .map(String::as_str)
                    .eq(columns.iter().copied())
        })
        .map(|i| i.name.clone())
}

/// The schema of `table` as SQLite declares it, or `None` when there is no such table.
pub(super) async fn introspect(
    conn: &mut SqliteConnection,
    table: &str,
) -> Result<Option<TableSchema>> {
    // SQLite matches table names without regard to case; memtable, like PostgreSQL, does not:
    // only a table of exactly this name counts.
    let exists = crate::sql::Backend::Sqlite.table_exists(table)?;
    let names = driver::fetch::<sqlx::sqlite::Sqlite>(conn, exists, &[ColumnType::Text], true)
        .await
        .map_err(from_sqlx)?;
    if !names
        .iter()
        .any(|row| row.first().and_then(Value::as_str) == Some(table))
    {
        return Ok(None);
    }
    let types = [
        ColumnType::Text,
        ColumnType::Text,
        ColumnType::Bigint,
        ColumnType::Bigint,
    ];
    let rows =
        driver::fetch::<sqlx::sqlite::Sqlite>(conn, SqliteDialect::table_info(table), &types, true)
            .await
            .map_err(from_sqlx)?;
    if rows.is_empty() {
        return Ok(None);
    }
    // A composite key is not a key rows can be addressed by: its columns count as NOT NULL.
    let key_columns = rows
        .iter()
        .filter(|row| row.get(3).and_then(Value::as_i64).unwrap_or_default() > 0)
        .count();
    let columns = rows
        .into_iter()
        .map(|row| {
            let text = |i: usize| {
                row.get(i)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let number = |i: usize| row.get(i).and_then(Value::as_i64).unwrap_or_default();
            let mut column = Column::new(text(0), affinity(&text(1)));
            if number(3) > 0 && key_columns == 1 {
                column = column.with(Constraint::PrimaryKey);
            } else if number(3) > 0 || number(2) != 0 {
                column = column.with(Constraint::NotNull);
            }
            column
        })
        .collect();
    Ok(Some(TableSchema::new(table, columns)))
}

/// The logical type of a declared SQLite type, by SQLite's own affinity rules (with `BOOL` and
/// `JSON` recognised first).
fn affinity(declared: &str) -> ColumnType {
    let upper = declared.to_ascii_uppercase();
    if upper.contains("BOOL") {
        ColumnType::Boolean
    } else if upper.contains("JSON") {
        ColumnType::Json
    } else if upper.contains("INT") {
        ColumnType::Bigint
    } else if upper.contains("CHAR") || upper.contains("CLOB") || upper.contains("TEXT") {
        ColumnType::Text
    } else if upper.is_empty() || upper.contains("BLOB") {
        ColumnType::Blob
    } else {
        ColumnType::Real
    }
}
