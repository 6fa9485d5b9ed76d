//! The schema of a table memtable did not create, from `sqlite_master` and
//! `pragma_table_info`: two queries any SQLite driver runs, read here.

use super::SqliteDialect;
use crate::error::Result;
use crate::schema::{Column, ColumnType, Constraint, TableSchema};
use crate::sql::{Backend, Statement};
use crate::value::Value;

/// The query whose rows say whether `table` exists (compare the names: SQLite matches them
/// without regard to case), decoded as [`EXISTS_TYPES`].
pub(crate) fn exists_query(table: &str) -> Result<Statement> {
    Backend::Sqlite.table_exists(table)
}

/// The column types of [`exists_query`]'s rows.
pub(crate) const EXISTS_TYPES: [ColumnType; 1] = [ColumnType::Text];

/// `name, type, notnull, pk` of every column of `table`, decoded as [`INFO_TYPES`].
pub(crate) fn info_query(table: &str) -> Statement {
    SqliteDialect::table_info(table)
}

/// The column types of [`info_query`]'s rows.
pub(crate) const INFO_TYPES: [ColumnType; 4] = [
    ColumnType::Text,
    ColumnType::Text,
    ColumnType::Bigint,
    ColumnType::Bigint,
];

/// Whether the rows of [`exists_query`] name exactly `table`: memtable's names are
/// case-sensitive, SQLite's are not.
pub(crate) fn exists(table: &str, names: &[Vec<Value>]) -> bool {
    names
        .iter()
        .any(|row| row.first().and_then(Value::as_str) == Some(table))
}

/// The schema the rows of [`info_query`] describe, or `None` when there are none.
pub(crate) fn schema(table: &str, rows: Vec<Vec<Value>>) -> Option<TableSchema> {
    if rows.is_empty() {
        return None;
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
    Some(TableSchema::new(table, columns))
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
