//! The schema of a table memtable did not create, from PostgreSQL's own catalog.

use sqlx::postgres::PgConnection;

use super::PostgresDialect;
use crate::backend::sqlx::error::from_sqlx;
use crate::backend::sqlx::run;
use crate::error::{Error, Result, SchemaProblem};
use crate::schema::{Column, ColumnType, Constraint, TableSchema};
use crate::value::Value;

/// The schema of `table` as PostgreSQL declares it, or `None` when there is no such table.
pub(super) async fn introspect(
    conn: &mut PgConnection,
    table: &str,
    persistent: bool,
) -> Result<Option<TableSchema>> {
    let rows = run::fetch::<sqlx::postgres::Postgres>(
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
    let key_rows = run::fetch::<sqlx::postgres::Postgres>(
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
        let Some(column_type) = super::types::from_declared(data_type) else {
            return Err(Error::invalid_schema(
                table,
                SchemaProblem::UnsupportedColumnType {
                    column: name.to_owned(),
                    declared: data_type.to_owned(),
                },
            ));
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
