//! SQLite's errors: constraint violations from the extended result code and the message
//! (SQLite names no constraint), and the missing table.

use crate::error::{ConstraintKind, DatabaseError, Error};
use crate::schema::TableSchema;

/// The kind of constraint an extended result code reports (SQLITE_CONSTRAINT_*).
fn constraint_kind(code: Option<&str>) -> Option<ConstraintKind> {
    Some(match code?.parse::<u32>().ok()? {
        // SQLITE_CONSTRAINT_PRIMARYKEY: a key conflict, reported with a UNIQUE message.
        1555 => ConstraintKind::PrimaryKey,
        2067 => ConstraintKind::Unique,
        1299 => ConstraintKind::NotNull,
        275 => ConstraintKind::Check,
        787 => ConstraintKind::ForeignKey,
        _ => return None,
    })
}

/// Turns a database error into the memtable error it stands for, if it is one.
pub(crate) fn classify(
    error: &DatabaseError,
    table: &str,
    schema: Option<&TableSchema>,
) -> Option<Error> {
    let message = error.message();
    if message.starts_with("no such table") {
        return Some(Error::TableNotFound {
            table: table.to_owned(),
        });
    }
    let kind = constraint_kind(error.code())?;
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
