//! PostgreSQL's type table: how each logical column type binds (row by row and as arrays),
//! decodes, and is named in the database's own catalog. The declared SQL names are the
//! dialect's ([`super::PostgresDialect`]); the binary COPY forms are in `copy.rs`.

use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Arguments as _, Row as _};

use crate::schema::ColumnType;
use crate::value::{RowValues, Value};

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

/// Binds a coerced value as [`super::PostgresDialect`] binds it through sea-query: typed by its column,
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

/// A row's values, read as the declared `types` of its columns.
pub(super) fn decode_into(
    row: &PgRow,
    types: &[ColumnType],
    values: &mut impl RowValues,
) -> Result<(), sqlx::Error> {
    for (i, ty) in types.iter().enumerate() {
        values.push_value(
            match ty {
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
            .unwrap_or(Value::Null),
        );
    }
    Ok(())
}

/// The logical type of a column PostgreSQL declares as `data_type` (information_schema's
/// name), if memtable can read it.
pub(super) fn from_declared(data_type: &str) -> Option<ColumnType> {
    Some(match data_type {
        "text" | "character varying" | "character" => ColumnType::Text,
        "integer" => ColumnType::Integer,
        "bigint" => ColumnType::Bigint,
        "double precision" => ColumnType::Real,
        "bytea" => ColumnType::Blob,
        "jsonb" | "json" => ColumnType::Json,
        "boolean" => ColumnType::Boolean,
        _ => return None,
    })
}
