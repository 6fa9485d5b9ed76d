//! The one error type of memtable, and the kinds of constraint a database can report.

use std::fmt;

use crate::kinds::{ColumnType, LimitKind};

pub use self::kind::ErrorKind;

mod kind;

/// What a database reported (or what went wrong reaching it), with the database's own message
/// and code: the payload of [`Error::Database`] and [`Error::Connection`].
///
/// The message is the server's message, followed by its detail and hint when it gives them;
/// never the driver's source position.
#[derive(Debug)]
pub struct DatabaseError {
    message: String,
    code: Option<String>,
    transient: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl DatabaseError {
    /// An error with `message` and the database's `code`; `transient` says whether the same
    /// operation can succeed later.
    pub fn new(message: impl Into<String>, code: Option<String>, transient: bool) -> Self {
        DatabaseError {
            message: message.into(),
            code,
            transient,
            source: None,
        }
    }

    /// The same error, keeping `source` (the driver's error) for [`std::error::Error::source`].
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The database's message, with its detail and hint.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// SQLSTATE on PostgreSQL, the extended result code on SQLite, when there is one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Whether retrying later can succeed (a lost connection, a busy database, a deadlock).
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// The driver's error this one was made from, when kept.
    pub fn driver_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DatabaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The result type of every fallible memtable operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in memtable.
///
/// Every variant names the table, column, index or id involved, so that a caller (or an agent
/// reading the message) can tell what to fix without parsing text. Caller-supplied *values* are
/// never copied into an error: they may be secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A table, column or index name is not a valid memtable identifier.
    #[error("invalid {kind} name {name:?}: {reason}")]
    InvalidIdentifier {
        /// What the name was meant to name.
        kind: IdentifierKind,
        /// The name as given (truncated to 200 bytes).
        name: String,
        /// Why it was refused.
        reason: IdentifierProblem,
    },

    /// A schema breaks one of the rules every table must follow.
    #[error("invalid schema for table {table:?}: {problem}")]
    InvalidSchema {
        /// The table the schema describes.
        table: String,
        /// The rule it breaks, naming the offending column or index.
        problem: SchemaProblem,
    },

    /// The table is protected: it cannot be created, dropped or written through the table API.
    #[error("table {table:?} is protected")]
    ProtectedTable {
        /// The protected table.
        table: String,
    },

    /// No such table.
    #[error("table {table:?} does not exist")]
    TableNotFound {
        /// The missing table.
        table: String,
    },

    /// The table exists with a schema other than the one given (for
    /// [`Store::sync_table`](crate::Store::sync_table): other than one it can be brought to by
    /// adding columns and indexes).
    #[error("table {table:?} exists with a different schema: {difference}")]
    SchemaMismatch {
        /// The table.
        table: String,
        /// What differs, in words: every difference, joined by `"; "`.
        difference: String,
        /// Every difference, one each, naming the column or index.
        differences: Vec<String>,
    },

    /// A record or query names a column the table does not have.
    #[error("table {table:?} has no column {column:?}")]
    UnknownColumn {
        /// The table.
        table: String,
        /// The unknown column (truncated to 200 bytes).
        column: String,
    },

    /// A value does not fit the type of its column.
    #[error("column {column:?} of table {table:?} is {expected}, got {found}")]
    TypeMismatch {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The column's declared type.
        expected: ColumnType,
        /// What was given instead (a description of the value's kind, never the value).
        found: String,
    },

    /// No row has the given id.
    #[error("table {table:?} has no record with id {id:?}")]
    RecordNotFound {
        /// The table.
        table: String,
        /// The id looked for.
        id: String,
    },

    /// A record cannot be written as given (an update with no columns, a value for a generated
    /// key, ...).
    #[error("invalid record for table {table:?}: {reason}")]
    InvalidRecord {
        /// The table.
        table: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A query cannot be run as given (an unknown operator, a bad sort direction, ...).
    #[error("invalid query on table {table:?}: {reason}")]
    InvalidQuery {
        /// The table.
        table: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The database refused a write because it breaks a constraint.
    #[error("{kind} constraint violated{}: {message}", describe_location(table.as_deref(), column.as_deref(), constraint.as_deref()))]
    ConstraintViolation {
        /// Which kind of constraint.
        kind: ConstraintKind,
        /// The table, where the database says.
        table: Option<String>,
        /// The column, where the database says.
        column: Option<String>,
        /// The constraint's name, where the database says.
        constraint: Option<String>,
        /// The database's own message.
        message: String,
    },

    /// The database failed a statement for a reason that is not one of the kinds above; the
    /// message is the database's own (with its detail and hint), its code the SQLSTATE or
    /// SQLite's extended result code.
    #[error("database error: {0}")]
    Database(#[source] DatabaseError),

    /// The database could not be reached or refused the connection: unreachable, refused,
    /// authentication failed, TLS required or not verifiable, a bad URL. [`Error::is_transient`]
    /// says whether trying again later can help.
    #[error("cannot connect to the database: {0}")]
    Connection(#[source] DatabaseError),

    /// The database refused the operation for want of a privilege: PostgreSQL's SQLSTATE 42501,
    /// SQLite's read-only and authorization codes.
    #[error("permission denied{} for {operation}: {message}", describe_location(table.as_deref(), None, None))]
    PermissionDenied {
        /// The table the operation was on, where known.
        table: Option<String>,
        /// The operation (`insert_into_table`, `create_table`, ...).
        operation: String,
        /// The database's own message.
        message: String,
        /// The database's code (`42501`, SQLite's `8`, ...).
        code: Option<String>,
    },

    /// A request is past one of the store's [`Limits`](crate::Limits): a name too long, too
    /// many columns or indexes, a record too large, a json value or a filter too deep.
    #[error("{limit} limit exceeded on table {table:?}: {actual} is more than the maximum {max}")]
    LimitExceeded {
        /// Which limit.
        limit: LimitKind,
        /// The table the request is for (truncated to 200 bytes).
        table: String,
        /// The limit's value.
        max: usize,
        /// The request's figure (for a filter far past its limit: a figure past it, not
        /// necessarily the exact one).
        actual: usize,
    },

    /// A [`Transaction`](crate::Transaction) can no longer commit: a statement failed inside
    /// it, and the database aborted it (PostgreSQL refuses every later statement of a
    /// transaction once one failed, and answers `COMMIT` by rolling back). Nothing of the
    /// transaction was committed: begin a new one and do the work again.
    #[error("the transaction was aborted by a failed statement{}: nothing of it is committed; roll it back and begin a new one", describe_location(table.as_deref(), None, None))]
    TransactionAborted {
        /// The table of the operation whose failure aborted the transaction, where known.
        table: Option<String>,
    },
}

impl Error {
    /// Whether retrying the same operation later can succeed: the connection was lost or timed
    /// out, the pool was exhausted, or the database was busy. Errors about the request itself
    /// (bad names, bad values, constraint violations) are never transient.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Database(error) | Error::Connection(error) => error.is_transient(),
            _ => false,
        }
    }

    /// The database's code for this error (SQLSTATE on PostgreSQL, the extended result code on
    /// SQLite), where the database gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Database(error) | Error::Connection(error) => error.code(),
            Error::PermissionDenied { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The stable name of this error's kind, as executors report it.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::of(self)
    }

    /// Names the operation (and, where the database did not say, the table) a refused
    /// privilege was for.
    pub(crate) fn for_operation(self, operation: &str, table: &str) -> Self {
        match self {
            Error::PermissionDenied {
                table: found,
                operation: named,
                message,
                code,
            } => Error::PermissionDenied {
                table: found.or_else(|| Some(truncate(table))),
                operation: if named.is_empty() {
                    operation.to_owned()
                } else {
                    named
                },
                message,
                code,
            },
            other => other,
        }
    }

    /// The same error with every name of `names` (`(from, to)`, applied in order) replaced
    /// wherever it names a table, an index or a constraint, or appears in a message: how a
    /// plugin's store shows the names it gave instead of the physical ones. Ids and columns
    /// are left as they are.
    pub(crate) fn renamed(mut self, names: &[(String, String)]) -> Self {
        if names.is_empty() {
            return self;
        }
        let rename = |text: &mut String| {
            for (from, to) in names {
                if text.contains(from.as_str()) {
                    *text = text.replace(from.as_str(), to);
                }
            }
        };
        match &mut self {
            Error::InvalidIdentifier { name, .. } => rename(name),
            Error::InvalidSchema { table, problem } => {
                rename(table);
                if let SchemaProblem::Malformed(text) = problem {
                    rename(text);
                }
            }
            Error::ProtectedTable { table }
            | Error::TableNotFound { table }
            | Error::UnknownColumn { table, .. }
            | Error::TypeMismatch { table, .. }
            | Error::RecordNotFound { table, .. }
            | Error::LimitExceeded { table, .. } => rename(table),
            Error::SchemaMismatch {
                table,
                difference,
                differences,
            } => {
                rename(table);
                rename(difference);
                differences.iter_mut().for_each(rename);
            }
            Error::InvalidRecord { table, reason } | Error::InvalidQuery { table, reason } => {
                rename(table);
                rename(reason);
            }
            Error::ConstraintViolation {
                table,
                constraint,
                message,
                ..
            } => {
                table
                    .iter_mut()
                    .chain(constraint.iter_mut())
                    .for_each(rename);
                rename(message);
            }
            Error::Database(error) | Error::Connection(error) => {
                let source = error.source.as_ref().map(ToString::to_string);
                let named = |text: &str| names.iter().any(|(from, _)| text.contains(from.as_str()));
                if named(&error.message) || source.as_deref().is_some_and(named) {
                    rename(&mut error.message);
                    // The driver's error would still carry the physical names.
                    error.source = None;
                }
            }
            Error::PermissionDenied { table, message, .. } => {
                table.iter_mut().for_each(rename);
                rename(message);
            }
            Error::TransactionAborted { table } => table.iter_mut().for_each(rename),
        }
        self
    }

    pub(crate) fn invalid_query(table: &str, reason: impl Into<String>) -> Self {
        Error::InvalidQuery {
            table: table.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_record(table: &str, reason: impl Into<String>) -> Self {
        Error::InvalidRecord {
            table: table.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unknown_column(table: &str, column: &str) -> Self {
        Error::UnknownColumn {
            table: table.to_owned(),
            column: truncate(column),
        }
    }

    /// A schema mismatch listing `differences` (at least one).
    pub(crate) fn schema_mismatch(table: &str, differences: Vec<String>) -> Self {
        Error::SchemaMismatch {
            table: table.to_owned(),
            difference: differences.join("; "),
            differences,
        }
    }

    pub(crate) fn invalid_schema(table: &str, problem: SchemaProblem) -> Self {
        Error::InvalidSchema {
            table: truncate(table),
            problem,
        }
    }
}

fn describe_location(
    table: Option<&str>,
    column: Option<&str>,
    constraint: Option<&str>,
) -> String {
    let mut out = String::new();
    match (table, column) {
        (Some(t), Some(c)) => out.push_str(&format!(" on {t}.{c}")),
        (Some(t), None) => out.push_str(&format!(" on {t}")),
        (None, Some(c)) => out.push_str(&format!(" on column {c}")),
        (None, None) => {}
    }
    if let Some(name) = constraint {
        out.push_str(&format!(" ({name})"));
    }
    out
}

/// Keeps names quoted in errors bounded: a 10 KB hostile name should not become a 10 KB message.
pub(crate) fn truncate(name: &str) -> String {
    Shortened(name).to_string()
}

/// A name as [`truncate`] writes it, formatted only when displayed: a trace field that costs
/// nothing while no subscriber listens.
pub(crate) struct Shortened<'a>(pub(crate) &'a str);

impl fmt::Display for Shortened<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 200;
        let name = self.0;
        if name.len() <= MAX {
            return f.write_str(name);
        }
        let mut end = MAX;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        write!(f, "{}…", &name[..end])
    }
}

/// What an identifier was meant to name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdentifierKind {
    /// A table name.
    Table,
    /// A column name.
    Column,
    /// An index name.
    Index,
    /// A plugin's name (the scope of [`Store::scoped`](crate::Store::scoped)).
    Plugin,
}

impl fmt::Display for IdentifierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdentifierKind::Table => "table",
            IdentifierKind::Column => "column",
            IdentifierKind::Index => "index",
            IdentifierKind::Plugin => "plugin",
        })
    }
}

/// Why an identifier was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum IdentifierProblem {
    /// The name is empty.
    #[error("it is empty")]
    Empty,
    /// The name is longer than 63 bytes (PostgreSQL would silently truncate it).
    #[error("it is longer than 63 bytes")]
    TooLong,
    /// The name does not match `^[a-zA-Z_][a-zA-Z0-9_]*$`.
    #[error("it must match ^[a-zA-Z_][a-zA-Z0-9_]*$")]
    InvalidCharacters,
    /// The name starts with `sqlite_` or `pg_` (compared case-insensitively): SQLite reserves
    /// the first for itself, and PostgreSQL looks a `pg_` table up in its own catalog first (a
    /// table `pg_class` would be created, then never found again).
    #[error("names starting with sqlite_ or pg_ are reserved")]
    Reserved,
    /// The name is one of PostgreSQL's system columns (`tableoid`, `xmin`, `cmin`, `xmax`,
    /// `cmax`, `ctid`; compared case-insensitively), which no table can have a column of.
    #[error("it is the name of a PostgreSQL system column")]
    SystemColumn,
    /// The name starts with `_mtns_` (compared case-insensitively): that is the form of the
    /// names plugins' tables and indexes have in the database (see
    /// [`Store::scoped`](crate::Store::scoped)), which no caller may give.
    #[error("names starting with _mtns_ are reserved for plugins' namespaces")]
    Namespaced,
}

/// The schema rule a [`TableSchema`](crate::TableSchema) breaks, naming the offender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaProblem {
    /// The table has no columns.
    #[error("a table needs at least one column")]
    NoColumns,
    /// No column is `primary_key`.
    #[error("exactly one column must be primary_key, none is")]
    NoPrimaryKey,
    /// More than one column is `primary_key`.
    #[error("exactly one column must be primary_key, found {columns:?}")]
    MultiplePrimaryKeys {
        /// The columns marked `primary_key`.
        columns: Vec<String>,
    },
    /// `auto_increment` on a column that is not an integer or bigint primary key.
    #[error("column {column:?}: auto_increment needs an integer or bigint primary key")]
    InvalidAutoIncrement {
        /// The column.
        column: String,
    },
    /// Two columns share a name (compared case-insensitively).
    #[error("column {column:?} is declared more than once")]
    DuplicateColumn {
        /// The repeated name.
        column: String,
    },
    /// Two indexes share a name (compared case-insensitively).
    #[error("index {index:?} is declared more than once")]
    DuplicateIndex {
        /// The repeated name.
        index: String,
    },
    /// An index lists no columns.
    #[error("index {index:?} lists no columns")]
    EmptyIndex {
        /// The index.
        index: String,
    },
    /// An index names a column the table does not have.
    #[error("index {index:?} names unknown column {column:?}")]
    UnknownIndexColumn {
        /// The index.
        index: String,
        /// The missing column.
        column: String,
    },
    /// An index lists the same column twice.
    #[error("index {index:?} lists column {column:?} more than once")]
    DuplicateIndexColumn {
        /// The index.
        index: String,
        /// The repeated column.
        column: String,
    },
    /// A column's default is not a value of its type, or the column cannot have one (a
    /// primary key).
    #[error("column {column:?}: {reason}")]
    InvalidDefault {
        /// The column.
        column: String,
        /// What is wrong with the default (never the value itself).
        reason: String,
    },
    /// A table memtable did not create has a column of a type memtable cannot read.
    #[error("column {column:?} has type {declared:?}, which memtable does not support")]
    UnsupportedColumnType {
        /// The column.
        column: String,
        /// The type the database declares.
        declared: String,
    },
    /// The JSON form could not be read.
    #[error("{0}")]
    Malformed(String),
}

/// The kind of constraint a database reported as violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConstraintKind {
    /// A primary key value is already taken.
    PrimaryKey,
    /// A unique column or unique index value is already taken.
    Unique,
    /// NULL written to a NOT NULL column.
    NotNull,
    /// A CHECK constraint failed.
    Check,
    /// A foreign key has no matching row, or a referenced row is still referenced.
    ForeignKey,
}

impl ConstraintKind {
    /// The snake_case name used in executor results (`primary_key`, `unique`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ConstraintKind::PrimaryKey => "primary_key",
            ConstraintKind::Unique => "unique",
            ConstraintKind::NotNull => "not_null",
            ConstraintKind::Check => "check",
            ConstraintKind::ForeignKey => "foreign_key",
        }
    }
}

impl fmt::Display for ConstraintKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_truncated_on_a_char_boundary() {
        let name = "é".repeat(300);
        let short = truncate(&name);
        assert!(short.len() <= 204);
        assert!(short.ends_with('…'));
    }

    #[test]
    fn request_errors_are_not_transient() {
        let error = Error::TableNotFound { table: "t".into() };
        assert!(!error.is_transient());
        let busy = DatabaseError::new("database is locked", Some("5".into()), true);
        assert!(Error::Database(busy).is_transient());
        let refused = DatabaseError::new("authentication failed", Some("28P01".into()), false);
        let error = Error::Connection(refused);
        assert!(!error.is_transient());
        assert_eq!(error.code(), Some("28P01"));
        assert_eq!(error.kind(), ErrorKind::Connection);
    }

    #[test]
    fn constraint_message_names_table_and_column() {
        let error = Error::ConstraintViolation {
            kind: ConstraintKind::Unique,
            table: Some("t".into()),
            column: Some("c".into()),
            constraint: None,
            message: "UNIQUE constraint failed: t.c".into(),
        };
        assert_eq!(
            error.to_string(),
            "unique constraint violated on t.c: UNIQUE constraint failed: t.c"
        );
    }
}
