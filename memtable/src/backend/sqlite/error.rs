//! rusqlite's errors as memtable's: SQLite's own message and extended result code (in
//! decimal, as the store classifies constraint violations by it), busy and locked as transient,
//! read-only and authorization as refused privileges.

use rusqlite::ffi;

use crate::error::{ConstraintKind, DatabaseError, Error};
use crate::schema::TableSchema;

/// SQLITE_IOERR.
const IOERR: i32 = 10;
/// SQLITE_CORRUPT.
const CORRUPT: i32 = 11;
/// SQLITE_CANTOPEN.
const CANTOPEN: i32 = 14;
/// SQLITE_NOTADB.
const NOTADB: i32 = 26;

/// SQLite's extended result code and message, for an error SQLite reported.
fn sqlite_failure(error: &rusqlite::Error) -> Option<(i32, String)> {
    match error {
        rusqlite::Error::SqliteFailure(e, message) => Some((
            e.extended_code,
            message
                .clone()
                .unwrap_or_else(|| ffi::code_to_str(e.extended_code).to_owned()),
        )),
        rusqlite::Error::SqlInputError { error, msg, .. } => {
            Some((error.extended_code, msg.clone()))
        }
        _ => None,
    }
}

/// The primary result code (the extended code's low byte) of an error SQLite reported.
pub(crate) fn primary_code(error: &rusqlite::Error) -> Option<i32> {
    match error {
        rusqlite::Error::SqliteFailure(e, _) => Some(e.extended_code & 0xff),
        rusqlite::Error::SqlInputError { error, .. } => Some(error.extended_code & 0xff),
        _ => None,
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED, with any extended code: worth waiting for.
pub(crate) fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        primary_code(error),
        Some(ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED)
    )
}

/// An error after which the connection is not trusted again: I/O, corruption, not a database.
pub(crate) fn is_fatal(error: &rusqlite::Error) -> bool {
    matches!(primary_code(error), Some(IOERR | CORRUPT | NOTADB))
}

/// Whether a memtable error made from a SQLite error means the connection is not to be
/// trusted again (see [`is_fatal`]).
pub(crate) fn is_fatal_code(error: &Error) -> bool {
    let primary = error
        .code()
        .and_then(|code| code.parse::<i32>().ok())
        .map(|code| code & 0xff);
    matches!(primary, Some(IOERR | CORRUPT | NOTADB))
}

/// The memtable error a rusqlite error stands for: [`Error::PermissionDenied`] for
/// SQLITE_READONLY and SQLITE_AUTH (operation still to be named, see
/// [`Error::for_operation`]), else [`Error::Database`] with SQLite's message and extended code,
/// transient for SQLITE_BUSY and SQLITE_LOCKED.
pub(crate) fn to_error(error: rusqlite::Error) -> Error {
    let Some((extended, message)) = sqlite_failure(&error) else {
        return Error::Database(
            DatabaseError::new(error.to_string(), None, false).with_source(error),
        );
    };
    let code = extended.to_string();
    match extended & 0xff {
        ffi::SQLITE_READONLY | ffi::SQLITE_AUTH => Error::PermissionDenied {
            table: None,
            operation: String::new(),
            message,
            code: Some(code),
        },
        primary => {
            let transient = matches!(primary, ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED);
            Error::Database(DatabaseError::new(message, Some(code), transient).with_source(error))
        }
    }
}

/// As [`to_error`], for an error opening a connection: a file SQLite cannot open
/// (SQLITE_CANTOPEN) or that is not a database (SQLITE_NOTADB), and a path rusqlite cannot
/// pass to SQLite, are [`Error::Connection`].
pub(crate) fn to_open_error(error: rusqlite::Error) -> Error {
    if let Some((extended, message)) = sqlite_failure(&error)
        && matches!(extended & 0xff, CANTOPEN | NOTADB)
    {
        return Error::Connection(
            DatabaseError::new(message, Some(extended.to_string()), false).with_source(error),
        );
    }
    match error {
        error @ (rusqlite::Error::InvalidPath(_) | rusqlite::Error::NulError(_)) => {
            Error::Connection(DatabaseError::new(error.to_string(), None, false).with_source(error))
        }
        error => to_error(error),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(extended: i32, message: Option<&str>) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(extended), message.map(str::to_owned))
    }

    #[test]
    fn codes_become_kinds() {
        let busy = to_error(failure(5, Some("database is locked")));
        assert!(busy.is_transient());
        assert_eq!(busy.code(), Some("5"));
        assert_eq!(busy.to_string(), "database error: database is locked");
        assert!(
            to_error(failure(262, None)).is_transient(),
            "SQLITE_LOCKED_SHAREDCACHE"
        );
        assert!(
            to_error(failure(517, None)).is_transient(),
            "SQLITE_BUSY_SNAPSHOT"
        );

        let unique = to_error(failure(2067, Some("UNIQUE constraint failed: t.a, t.b")));
        match &unique {
            Error::Database(e) => {
                assert_eq!(e.message(), "UNIQUE constraint failed: t.a, t.b");
                assert_eq!(e.code(), Some("2067"));
                assert!(!e.is_transient());
                assert!(e.driver_error().is_some());
            }
            other => panic!("{other:?}"),
        }

        for code in [8, 1032, 23] {
            let error = to_error(failure(code, Some("attempt to write a readonly database")));
            assert!(
                matches!(&error, Error::PermissionDenied { table: None, operation, message, code: Some(c) }
                    if operation.is_empty() && message == "attempt to write a readonly database" && *c == code.to_string()),
                "{error:?}"
            );
        }

        // No message: the code's description.
        let error = to_error(failure(1, None));
        assert!(matches!(&error, Error::Database(e) if e.message() == "SQL logic error"));

        // Opening: cannot open and not a database are connection errors; busy stays transient.
        let error = to_open_error(failure(14, Some("unable to open database file")));
        assert!(
            matches!(&error, Error::Connection(e) if !e.is_transient() && e.code() == Some("14")),
            "{error:?}"
        );
        assert!(matches!(
            to_open_error(failure(26, None)),
            Error::Connection(_)
        ));
        assert!(matches!(to_error(failure(26, None)), Error::Database(_)));
        assert!(to_open_error(failure(5, None)).is_transient());

        // Not SQLite's errors: a database error, not transient.
        let error = to_error(rusqlite::Error::InvalidParameterCount(1, 2));
        assert!(
            matches!(&error, Error::Database(e) if !e.is_transient() && e.code().is_none()),
            "{error:?}"
        );

        assert!(is_busy(&failure(5, None)));
        assert!(is_busy(&failure(6, None)));
        assert!(!is_busy(&failure(1555, None)));
        assert!(is_fatal(&failure(11, None)));
        assert!(is_fatal(&failure(266, None)), "SQLITE_IOERR_READ");
        assert!(!is_fatal(&failure(19, None)));
        assert!(is_fatal_code(&to_error(failure(26, None))));
    }
}
