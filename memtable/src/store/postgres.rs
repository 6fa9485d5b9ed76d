//! PostgreSQL: the pool, decoding by declared type, error classification from SQLSTATE and the
//! error's table / column / constraint fields, and introspection through information_schema.

use sqlx::error::{BoxDynError, DatabaseError, ErrorKind};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgDatabaseError, PgRow};
use sqlx::{Arguments as _, Row as _};

use super::batch::Failure;
use super::copy;
use super::driver::{self, Driver};
use super::driver_error::from_sqlx;
use super::pool::{Connections, Lease};
use crate::error::{ConstraintKind, Error, Result, SchemaProblem};
use crate::schema::{Column, ColumnType, Constraint, TableSchema};
use crate::sql::postgres::PostgresDialect;
use crate::value::Value;

/// undefined_table
const UNDEFINED_TABLE: &str = "42P01";

/// Prepared statements kept per connection: a few shapes per operation per table.
const STATEMENT_CACHE: usize = 512;

/// The URL parameter that says the server is behind a transaction-mode pooler (Prisma's
/// convention); taken out before sqlx reads the URL, which would refuse it.
const POOLER_PARAMETER: &str = "pgbouncer";

/// Connects to `url`. Behind a transaction-mode pooler (`transaction_pooled`, or
/// `pgbouncer=true` in the URL) statements are unnamed and each runs in a transaction of its
/// own: see [`autocommit`].
pub(super) async fn connect(
    url: &str,
    max_connections: Option<u32>,
    transaction_pooled: bool,
) -> Result<Connections<PgConnection>> {
    let (url, pooled_by_url) = take_pooler_parameter(url)?;
    let options: PgConnectOptions = url.parse().map_err(from_sqlx)?;
    let pooled = transaction_pooled || pooled_by_url;
    // Behind a pooler a named statement would outlive the server connection it was prepared
    // on; no cache.
    let options = options.statement_cache_capacity(if pooled { 0 } else { STATEMENT_CACHE });
    Connections::open(options, max_connections.unwrap_or(10), pooled).await
}

/// `url` without its `pgbouncer` parameter, and whether that parameter was `true`.
fn take_pooler_parameter(url: &str) -> Result<(String, bool)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), false));
    };
    let mut pooled = false;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != POOLER_PARAMETER {
            kept.push(pair);
            continue;
        }
        pooled = match value {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                return Err(Error::Connection(crate::error::DatabaseError::new(
                    "the URL parameter pgbouncer must be true or false",
                    None,
                    false,
                )));
            }
        };
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, pooled))
}

/// Runs `work` on a held connection outside a transaction (told whether it may prepare named
/// statements), and notes its outcome on the lease.
///
/// Behind a transaction-mode pooler every transaction may get another server connection, and
/// sqlx parses a statement and executes it in two exchanges: `work` then runs in a transaction
/// of its own, with unnamed statements, so that both exchanges reach the same server
/// connection and nothing outlives it.
pub(super) async fn autocommit<T>(
    lease: &mut Lease<'_, PgConnection>,
    work: impl AsyncFnOnce(&mut PgConnection, bool) -> Result<T, sqlx::Error>,
) -> Result<T, sqlx::Error> {
    let result = if lease.transaction_pooled() {
        in_transaction(lease, work).await
    } else {
        work(lease, true).await
    };
    lease.note(&result);
    result
}

async fn in_transaction<T>(
    conn: &mut PgConnection,
    work: impl AsyncFnOnce(&mut PgConnection, bool) -> Result<T, sqlx::Error>,
) -> Result<T, sqlx::Error> {
    let mut tx = sqlx::Connection::begin(conn).await?;
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

/// The arguments of one multi-row `INSERT … VALUES` of a batch: `values`, row by row, coerced
/// to `types`, bound straight into sqlx's arguments, each taken out of `values`.
pub(super) fn arguments(
    types: &[ColumnType],
    values: &mut [Value],
) -> Result<PgArguments, sqlx::Error> {
    let mut args = PgArguments::default();
    args.reserve(values.len(), 0);
    for (value, column_type) in values.iter_mut().zip(types.iter().cycle()) {
        bind(&mut args, *column_type, std::mem::take(value)).map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}

/// Binds a coerced value as [`PostgresDialect`] binds it through sea-query: typed by its column,
/// so that NULLs and 32-bit integers have the column's type.
fn bind(args: &mut PgArguments, column_type: ColumnType, value: Value) -> Result<(), BoxDynError> {
    match (column_type, value) {
        (ColumnType::Integer, Value::Integer(i)) => match i32::try_from(i) {
            Ok(i) => args.add(i),
            // Unreachable after coercion; binding as BIGINT lets PostgreSQL report the range.
            Err(_) => args.add(i),
        },
        (_, Value::Bool(b)) => args.add(b),
        (_, Value::Integer(i)) => args.add(i),
        (_, Value::Real(f)) => args.add(f),
        (_, Value::Text(s)) => args.add(s),
        (_, Value::Blob(b)) => args.add(b),
        (_, Value::Json(j)) => args.add(j),
        (ColumnType::Text, Value::Null) => args.add(None::<String>),
        (ColumnType::Integer, Value::Null) => args.add(None::<i32>),
        (ColumnType::Bigint, Value::Null) => args.add(None::<i64>),
        (ColumnType::Real, Value::Null) => args.add(None::<f64>),
        (ColumnType::Blob, Value::Null) => args.add(None::<Vec<u8>>),
        (ColumnType::Json, Value::Null) => args.add(None::<serde_json::Value>),
        (ColumnType::Boolean, Value::Null) => args.add(None::<bool>),
    }
}

/// The arguments of one `INSERT … SELECT UNNEST(…), …` of a batch: each column's values
/// (`values` holds them row by row, coerced to `types`) as one typed array, NULL elements where
/// a record has no value.
pub(super) fn array_arguments(
    types: &[ColumnType],
    values: &mut [Value],
) -> Result<PgArguments, sqlx::Error> {
    let width = types.len().max(1);
    let mut args = PgArguments::default();
    args.reserve(types.len(), values.len().saturating_mul(8));
    for (column, column_type) in types.iter().enumerate() {
        let values = values
            .iter_mut()
            .skip(column)
            .step_by(width)
            .map(std::mem::take);
        let added = match column_type {
            ColumnType::Text => args.add(array(values, |v| match v {
                Value::Text(s) => Some(s),
                _ => None,
            })),
            ColumnType::Integer => args.add(array(values, |v| match v {
                Value::Integer(i) => i32::try_from(i).ok(),
                _ => None,
            })),
            ColumnType::Bigint => args.add(array(values, |v| match v {
                Value::Integer(i) => Some(i),
                _ => None,
            })),
            ColumnType::Real => args.add(array(values, |v| match v {
                Value::Real(f) => Some(f),
                _ => None,
            })),
            ColumnType::Blob => args.add(array(values, |v| match v {
                Value::Blob(b) => Some(b),
                _ => None,
            })),
            ColumnType::Json => args.add(array(values, |v| match v {
                Value::Json(j) => Some(j),
                _ => None,
            })),
            ColumnType::Boolean => args.add(array(values, |v| match v {
                Value::Bool(b) => Some(b),
                _ => None,
            })),
        };
        added.map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}

/// One column's values as the elements of a PostgreSQL array (values were coerced to the
/// column's type, so anything else is a NULL).
fn array<T>(
    values: impl Iterator<Item = Value>,
    element: impl Fn(Value) -> Option<T>,
) -> Vec<Option<T>> {
    values.map(element).collect()
}

/// Writes rows with `sql`, a `COPY … FROM STDIN (FORMAT binary)`: `fill` appends the data of
/// the next rows to the buffer it is given and says whether rows remain. The data goes to the
/// server as it is made, so that the server stores some rows while `fill` makes the next. A
/// failure of `fill` ends the COPY with the rows sent before, for the caller to roll back.
/// Returns the rows written.
pub(super) async fn copy_in(
    conn: &mut PgConnection,
    sql: &str,
    mut fill: impl FnMut(&mut Vec<u8>) -> Result<bool, Error>,
) -> Result<u64, Failure> {
    let mut copy = conn.copy_in_raw(sql).await.map_err(Failure::Database)?;
    let mut buffer = Vec::with_capacity(COPY_BUFFER);
    copy::header(&mut buffer);
    loop {
        let more = match fill(&mut buffer) {
            Ok(more) => more,
            Err(error) => {
                // Ended with what was sent (whole rows), which the transaction's rollback
                // throws away. Not `abort`: after the server has failed the COPY on its own (a
                // duplicate key, say), sqlx's `abort` leaves its ReadyForQuery unread, and the
                // connection's next statement would read it as its own.
                let ended = copy.finish().await;
                return Err(Failure::Record {
                    error,
                    database: ended.err().map(Box::new),
                });
            }
        };
        if !more {
            copy::trailer(&mut buffer);
        }
        copy.send(buffer.as_slice())
            .await
            .map_err(Failure::Database)?;
        buffer.clear();
        if !more {
            return copy.finish().await.map_err(Failure::Database);
        }
    }
}

/// The room the COPY buffer starts with: about what one call of `fill` makes.
const COPY_BUFFER: usize = 256 * 1024;

impl Driver for sqlx::postgres::Postgres {
    fn decode(row: &PgRow, types: &[ColumnType]) -> Result<Vec<Value>, sqlx::Error> {
        decode(row, types)
    }

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

fn decode(row: &PgRow, types: &[ColumnType]) -> Result<Vec<Value>, sqlx::Error> {
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| {
            Ok(match ty {
                ColumnType::Text => row.try_get::<Option<String>, _>(i)?.map(Value::Text),
                ColumnType::Integer => row
                    .try_get::<Option<i32>, _>(i)?
                    .map(|v| Value::Integer(v.into())),
                ColumnType::Bigint => row.try_get::<Option<i64>, _>(i)?.map(Value::Integer),
                ColumnType::Real => row.try_get::<Option<f64>, _>(i)?.map(Value::Real),
                ColumnType::Blob => row.try_get::<Option<Vec<u8>>, _>(i)?.map(Value::Blob),
                ColumnType::Boolean => row.try_get::<Option<bool>, _>(i)?.map(Value::Bool),
                ColumnType::Json => row
                    .try_get::<Option<serde_json::Value>, _>(i)?
                    .map(Value::Json),
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
    if error.code().as_deref() == Some(UNDEFINED_TABLE) {
        return Some(Error::TableNotFound {
            table: table.to_owned(),
        });
    }
    let pg = error.try_downcast_ref::<PgDatabaseError>();
    let constraint = pg.and_then(PgDatabaseError::constraint).map(str::to_owned);
    let mut kind = match error.kind() {
        ErrorKind::UniqueViolation => ConstraintKind::Unique,
        ErrorKind::NotNullViolation => ConstraintKind::NotNull,
        ErrorKind::CheckViolation => ConstraintKind::Check,
        ErrorKind::ForeignKeyViolation => ConstraintKind::ForeignKey,
        _ => return None,
    };
    let failed_table = pg
        .and_then(PgDatabaseError::table)
        .unwrap_or(table)
        .to_owned();
    let mut column = pg.and_then(PgDatabaseError::column).map(str::to_owned);
    if kind == ConstraintKind::Unique
        && let (Some(schema), Some(name)) = (schema, constraint.as_deref())
    {
        // PostgreSQL names the constraint, not the column: `t_pkey` for the key, the index's
        // own name for a unique index, `t_c_key` for a unique column.
        if name == default_constraint_name(&schema.name, None, "pkey") {
            kind = ConstraintKind::PrimaryKey;
            column = schema.primary_key().map(|c| c.name.clone());
        } else if let Some(index) = schema.indexes.iter().find(|i| i.name == name) {
            column = Some(index.columns.join(", "));
        } else if let Some(c) = schema
            .columns
            .iter()
            .find(|c| name == default_constraint_name(&schema.name, Some(&c.name), "key"))
        {
            column = Some(c.name.clone());
        }
    }
    Some(Error::ConstraintViolation {
        kind,
        table: Some(failed_table),
        column,
        constraint,
        // The message names the constraint; the detail (which quotes the values) is left out.
        message: error.message().to_owned(),
    })
}

/// The name PostgreSQL gives a constraint it names itself (`makeObjectName`): `a_b_label`,
/// with the longer of `a` and `b` shortened a byte at a time until the name fits in 63 bytes.
/// memtable's identifiers are ASCII, so bytes are characters.
fn default_constraint_name(table: &str, column: Option<&str>, label: &str) -> String {
    const MAX_NAME: usize = 63;
    let mut table_len = table.len();
    let mut column_len = column.map_or(0, str::len);
    let overhead = label.len() + 1 + usize::from(column.is_some());
    while table_len + column_len + overhead > MAX_NAME {
        if table_len > column_len {
            table_len -= 1;
        } else {
            column_len -= 1;
        }
    }
    let mut name = table.get(..table_len).unwrap_or(table).to_owned();
    if let Some(column) = column {
        name.push('_');
        name.push_str(column.get(..column_len).unwrap_or(column));
    }
    name.push('_');
    name.push_str(label);
    name
}

/// [`introspect`] on a held connection outside a transaction (in one of its own behind a
/// pooler, as [`autocommit`] says).
pub(super) async fn introspect_outside_transaction(
    lease: &mut Lease<'_, PgConnection>,
    table: &str,
) -> Result<Option<TableSchema>> {
    if !lease.transaction_pooled() {
        return introspect(lease, table, true).await;
    }
    let mut tx = sqlx::Connection::begin(&mut **lease)
        .await
        .map_err(from_sqlx)?;
    let found = introspect(&mut tx, table, false).await?;
    tx.commit().await.map_err(from_sqlx)?;
    Ok(found)
}

/// The schema of `table` as PostgreSQL declares it, or `None` when there is no such table.
pub(super) async fn introspect(
    conn: &mut PgConnection,
    table: &str,
    persistent: bool,
) -> Result<Option<TableSchema>> {
    let rows = driver::fetch::<sqlx::postgres::Postgres>(
        conn,
        PostgresDialect::columns(table),
        &[ColumnType::Text; 3],
        persistent,
    )
    .await
    .map_err(from_sqlx)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let key_rows = driver::fetch::<sqlx::postgres::Postgres>(
        conn,
        PostgresDialect::primary_key(table),
        &[ColumnType::Text],
        persistent,
    )
    .await
    .map_err(from_sqlx)?;
    let keys: Vec<&str> = key_rows
        .iter()
        .filter_map(|row| row.first().and_then(Value::as_str))
        .collect();
    let mut columns = Vec::with_capacity(rows.len());
    for row in &rows {
        let text = |i: usize| row.get(i).and_then(Value::as_str).unwrap_or_default();
        let (name, data_type, nullable) = (text(0), text(1), text(2));
        let column_type = match data_type {
            "text" | "character varying" | "character" => ColumnType::Text,
            "integer" => ColumnType::Integer,
            "bigint" => ColumnType::Bigint,
            "double precision" => ColumnType::Real,
            "bytea" => ColumnType::Blob,
            "jsonb" | "json" => ColumnType::Json,
            "boolean" => ColumnType::Boolean,
            other => {
                return Err(Error::invalid_schema(
                    table,
                    SchemaProblem::UnsupportedColumnType {
                        column: name.to_owned(),
                        declared: other.to_owned(),
                    },
                ));
            }
        };
        let mut column = Column::new(name, column_type);
        // A composite key is not a key rows can be addressed by: its columns are NOT NULL.
        if keys == [name] {
            column = column.with(Constraint::PrimaryKey);
        } else if nullable == "NO" {
            column = column.with(Constraint::NotNull);
        }
        columns.push(column);
    }
    Ok(Some(TableSchema::new(table, columns)))
}

#[cfg(test)]
mod tests {
    use super::{default_constraint_name, take_pooler_parameter};

    #[test]
    fn the_pooler_parameter_is_taken_out_of_the_url() {
        let take = |url: &str| take_pooler_parameter(url).ok();
        assert_eq!(
            take("postgres://u@h/db?pgbouncer=true"),
            Some(("postgres://u@h/db".to_owned(), true))
        );
        assert_eq!(
            take("postgres://u@h/db?sslmode=require&pgbouncer=true&application_name=a"),
            Some((
                "postgres://u@h/db?sslmode=require&application_name=a".to_owned(),
                true
            ))
        );
        assert_eq!(
            take("postgres://u@h/db?pgbouncer=false"),
            Some(("postgres://u@h/db".to_owned(), false))
        );
        assert_eq!(
            take("postgres://u@h/db"),
            Some(("postgres://u@h/db".to_owned(), false))
        );
        assert!(take("postgres://u@h/db?pgbouncer=maybe").is_none());
    }

    #[test]
    fn constraint_names_are_cut_as_postgresql_cuts_them() {
        assert_eq!(default_constraint_name("t", None, "pkey"), "t_pkey");
        assert_eq!(
            default_constraint_name("t", Some("email"), "key"),
            "t_email_key"
        );
        let long = "a".repeat(63);
        assert_eq!(
            default_constraint_name(&long, None, "pkey"),
            format!("{}_pkey", "a".repeat(58))
        );
        // The longer part gives way first, then both in turn.
        assert_eq!(
            default_constraint_name(&long, Some("email"), "key"),
            format!("{}_email_key", "a".repeat(53))
        );
        let column = "c".repeat(40);
        let name = default_constraint_name(&long, Some(&column), "key");
        assert_eq!(name.len(), 63);
        assert_eq!(name, format!("{}_{}_key", "a".repeat(29), "c".repeat(29)));
    }
}
