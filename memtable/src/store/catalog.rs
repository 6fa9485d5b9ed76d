//! The catalog: one row per table memtable created, holding its logical schema, so that a new
//! process decodes json, boolean, blob and bigint columns exactly as the one that created them.

use std::time::{SystemTime, UNIX_EPOCH};

use super::cache::Table;
use crate::error::{Error, Result, SchemaProblem};
use crate::query::{Filter, QueryOptions};
use crate::schema::{CATALOG_TABLE, Column, ColumnType, Constraint, TableSchema};
use crate::value::{Record, Value};

pub(crate) const TABLE_NAME: &str = "table_name";
pub(crate) const SCHEMA: &str = "schema";
pub(crate) const OWNER: &str = "owner";
pub(crate) const CREATED_AT: &str = "created_at";

/// The catalog's own schema.
pub(crate) fn schema() -> TableSchema {
    TableSchema::new(
        CATALOG_TABLE,
        vec![
            Column::new(TABLE_NAME, ColumnType::Text).with(Constraint::PrimaryKey),
            Column::new(SCHEMA, ColumnType::Text).with(Constraint::NotNull),
            Column::new(OWNER, ColumnType::Text),
            Column::new(CREATED_AT, ColumnType::Bigint).with(Constraint::NotNull),
        ],
    )
}

/// The catalog row for a newly created table.
pub(crate) fn entry(table: &TableSchema, owner: Option<&str>) -> Record {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Record::new()
        .with(TABLE_NAME, table.name.as_str())
        .with(SCHEMA, table.to_json().to_string())
        .with(OWNER, owner.map(str::to_owned))
        .with(CREATED_AT, now)
}

/// The query for one table's entry.
pub(crate) fn lookup(table: &str) -> QueryOptions {
    QueryOptions::new().filter(Filter::eq(TABLE_NAME, table))
}

/// Reads the table held in a catalog row.
pub(crate) fn parse(record: &Record) -> Result<Table> {
    let name = record
        .get(TABLE_NAME)
        .and_then(Value::as_str)
        .unwrap_or_default();
    let text = record.get(SCHEMA).and_then(Value::as_str).ok_or_else(|| {
        Error::invalid_schema(
            name,
            SchemaProblem::Malformed("catalog entry has no schema".into()),
        )
    })?;
    let schema = TableSchema::from_json_str(text)?;
    let owner = record.get(OWNER).and_then(Value::as_str).map(str::to_owned);
    Ok(Table {
        schema,
        owner,
        created: true,
    })
}
