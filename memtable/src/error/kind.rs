//! The stable names of failures: the `kind` an executor reports for every [`Error`].

use std::fmt;

use super::Error;

/// The kind of a failure: the `data.error.kind` of a failed executor result, and
/// [`Error::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A table, column or index name is not a valid identifier.
    InvalidIdentifier,
    /// A schema breaks a rule (or is not a schema).
    InvalidSchema,
    /// The table is protected: it cannot be created, dropped or written.
    ProtectedTable,
    /// No such table (in a plugin scope: none that the plugin owns).
    TableNotFound,
    /// The table exists with another schema, or under another owner.
    SchemaMismatch,
    /// A record or query names a column the table does not have.
    UnknownColumn,
    /// A value does not fit its column's type.
    TypeMismatch,
    /// No record has the given id.
    RecordNotFound,
    /// The database refused a write that breaks a constraint.
    ConstraintViolation,
    /// The parameters are malformed, or the executor is unknown or not available here.
    InvalidParams,
    /// The request is past one of the store's limits (a record too large, a name too long, a
    /// filter or a json value too deep ...); the error names the limit, its maximum and the
    /// request's figure.
    LimitExceeded,
    /// The database refused the operation for want of a privilege (a read-only role, a
    /// read-only file).
    PermissionDenied,
    /// The database cannot be reached, or refused the connection (authentication, TLS).
    Connection,
    /// A transaction was aborted by a statement that failed inside it: nothing of it is
    /// committed; it must be rolled back and done again.
    TransactionAborted,
    /// The database failed for another reason.
    Database,
}

impl ErrorKind {
    /// Every kind, in the order of the documentation.
    pub const ALL: [ErrorKind; 15] = [
        ErrorKind::InvalidIdentifier,
        ErrorKind::InvalidSchema,
        ErrorKind::ProtectedTable,
        ErrorKind::TableNotFound,
        ErrorKind::SchemaMismatch,
        ErrorKind::UnknownColumn,
        ErrorKind::TypeMismatch,
        ErrorKind::RecordNotFound,
        ErrorKind::ConstraintViolation,
        ErrorKind::InvalidParams,
        ErrorKind::LimitExceeded,
        ErrorKind::PermissionDenied,
        ErrorKind::Connection,
        ErrorKind::TransactionAborted,
        ErrorKind::Database,
    ];

    /// The snake_case name used in results (`table_not_found`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidIdentifier => "invalid_identifier",
            ErrorKind::InvalidSchema => "invalid_schema",
            ErrorKind::ProtectedTable => "protected_table",
            ErrorKind::TableNotFound => "table_not_found",
            ErrorKind::SchemaMismatch => "schema_mismatch",
            ErrorKind::UnknownColumn => "unknown_column",
            ErrorKind::TypeMismatch => "type_mismatch",
            ErrorKind::RecordNotFound => "record_not_found",
            ErrorKind::ConstraintViolation => "constraint_violation",
            ErrorKind::InvalidParams => "invalid_params",
            ErrorKind::LimitExceeded => "limit_exceeded",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::Connection => "connection",
            ErrorKind::TransactionAborted => "transaction_aborted",
            ErrorKind::Database => "database",
        }
    }

    /// The kind `error` maps to. [`Error::InvalidQuery`] and [`Error::InvalidRecord`] are
    /// [`InvalidParams`](ErrorKind::InvalidParams); a variant added later is
    /// [`Database`](ErrorKind::Database) until it is given its own kind.
    pub fn of(error: &Error) -> ErrorKind {
        match error {
            Error::InvalidIdentifier { .. } => ErrorKind::InvalidIdentifier,
            Error::InvalidSchema { .. } => ErrorKind::InvalidSchema,
            Error::ProtectedTable { .. } => ErrorKind::ProtectedTable,
            Error::TableNotFound { .. } => ErrorKind::TableNotFound,
            Error::SchemaMismatch { .. } => ErrorKind::SchemaMismatch,
            Error::UnknownColumn { .. } => ErrorKind::UnknownColumn,
            Error::TypeMismatch { .. } => ErrorKind::TypeMismatch,
            Error::RecordNotFound { .. } => ErrorKind::RecordNotFound,
            Error::InvalidRecord { .. } | Error::InvalidQuery { .. } => ErrorKind::InvalidParams,
            Error::ConstraintViolation { .. } => ErrorKind::ConstraintViolation,
            Error::LimitExceeded { .. } => ErrorKind::LimitExceeded,
            Error::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            Error::Connection(_) => ErrorKind::Connection,
            Error::TransactionAborted { .. } => ErrorKind::TransactionAborted,
            _ => ErrorKind::Database,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
