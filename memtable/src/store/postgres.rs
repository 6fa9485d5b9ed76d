//! PostgreSQL: the pool, decoding by declared type, error classification from SQLSTATE and the
//! error's table / column / constraint fields, and introspection through information_schema.

use sqlx::error::{BoxDynError, DatabaseError, ErrorKind};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgDatabaseError, PgRow};
use sqlx::{Arguments as _, Row as _};

use super::batch::Failure;
use super::copy;
use super::driver::{self, Driver};
use super::pool::Connections;
use crate::error::{ConstraintKind, Error, Result, SchemaProblem};
use crate::schema::{Column, ColumnType, Constraint, TableSchema};
use crate::sql::postgres::PostgresDialect;
use crate::value::Value;

/// undefined_table
const UNDEFINED_TABLE: &str = "42P01";

/// Prepared statements kept per connection: a few shapes per operation per table.
const STATEMENT_CACHE: usize = 512;

pub(super) async fn connect(
    url: &str,
    max_connections: Option<u32>,
) -> Result<Connections<PgConnection>> {
    let options: PgConnectOptions = url.parse().map_err(Error::Database)?;
    let options = options.statement_cache_capacity(STATEMENT_CACHE);
    Connections::open(options, max_connections.unwrap_or(10)).await
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

/// The schema of `table` as PostgreSQL declares it, or `None` when there is no such table.
pub(super) async fn introspect(
    conn: &mut PgConnection,
    table: &str,
) -> Result<Option<TableSchema>> {
    let rows = driver::fetch::<sqlx::postgres::Postgres>(
        conn,
        PostgresDialect::columns(table),
        &[ColumnType::Text; 3],
    )
    .await
    .map_err(Error::Database)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let key_rows = driver::fetch::<sqlx::postgres::Postgres>(
        conn,
        PostgresDialect::primary_key(table),
        &[ColumnType::Text],
    )
    .await
    .map_err(Error::Database)?;
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
    use super::default_constraint_name;

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
