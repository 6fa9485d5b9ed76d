//! The memtable error a driver's error stands for, when no backend classified it as a
//! constraint violation or a missing table: a connection failure, a refused privilege, or the
//! database's own error with its message, detail, hint and code.

use crate::error::{DatabaseError, Error};

/// SQLSTATE insufficient_privilege.
const INSUFFICIENT_PRIVILEGE: &str = "42501";
/// SQLSTATE read_only_sql_transaction: a write in a read-only transaction (a read-only
/// store's, or a hot standby's).
const READ_ONLY_SQL_TRANSACTION: &str = "25006";

/// Turns a sqlx error into [`Error::Connection`], [`Error::PermissionDenied`] (operation still
/// to be named, see [`Error::for_operation`]) or [`Error::Database`].
pub(crate) fn from_sqlx(error: sqlx::Error) -> Error {
    match error {
        sqlx::Error::Database(db) => from_database(db),
        // rustls reports a certificate it cannot verify as invalid data on the stream.
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            Error::Connection(DatabaseError::new(format!("TLS: {io}"), None, false))
        }
        // Refused, unreachable, reset: the next attempt may find the server back.
        sqlx::Error::Io(io) => Error::Connection(
            DatabaseError::new(io.to_string(), None, true).with_source(sqlx::Error::Io(io)),
        ),
        sqlx::Error::Tls(tls) => {
            Error::Connection(DatabaseError::new(format!("TLS: {tls}"), None, false))
        }
        error @ sqlx::Error::Configuration(_) => {
            Error::Connection(DatabaseError::new(error.to_string(), None, false))
        }
        error @ (sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_)) => {
            Error::Database(DatabaseError::new(error.to_string(), None, true).with_source(error))
        }
        error => {
            Error::Database(DatabaseError::new(error.to_string(), None, false).with_source(error))
        }
    }
}

fn from_database(db: Box<dyn sqlx::error::DatabaseError>) -> Error {
    let code = db.code().map(|c| c.into_owned());
    let message = full_message(db.as_ref());
    let code_str = code.clone().unwrap_or_default();
    let code_str = code_str.as_str();
    if code_str == INSUFFICIENT_PRIVILEGE
        || code_str == READ_ONLY_SQL_TRANSACTION
        || is_sqlite_permission(code_str)
    {
        return Error::PermissionDenied {
            table: None,
            operation: String::new(),
            message,
            code,
        };
    }
    let transient = is_transient_code(code_str);
    // Kept: the backends classify constraint violations from the driver's own error.
    let error = DatabaseError::new(message, code, transient).with_source(sqlx::Error::Database(db));
    // Authentication (class 28), a missing database (3D000), a connection exception (08), a
    // server that cannot accept connections yet (57P03).
    if code_str.starts_with("28")
        || code_str == "3D000"
        || code_str.starts_with("08")
        || code_str == "57P03"
    {
        Error::Connection(error)
    } else {
        Error::Database(error)
    }
}

/// The server's message, then its detail and hint when it gives them; never the position in
/// the server's own source (`at line N`), which sqlx's `Display` appends.
fn full_message(db: &dyn sqlx::error::DatabaseError) -> String {
    let mut message = db.message().to_owned();
    #[cfg(feature = "postgres")]
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        if let Some(detail) = pg.detail() {
            message.push_str(" (detail: ");
            message.push_str(detail);
            message.push(')');
        }
        if let Some(hint) = pg.hint() {
            message.push_str(" (hint: ");
            message.push_str(hint);
            message.push(')');
        }
    }
    message
}

/// The primary result code of a SQLite code (at most four digits; a SQLSTATE has five
/// characters, some of them all digits).
fn sqlite_primary(code: &str) -> Option<u32> {
    if code.len() >= 5 {
        return None;
    }
    code.parse::<u32>().ok().map(|code| code & 0xff)
}

/// SQLITE_READONLY (8, with any extended code) and SQLITE_AUTH (23).
fn is_sqlite_permission(code: &str) -> bool {
    matches!(sqlite_primary(code), Some(8 | 23))
}

/// SQLITE_BUSY / SQLITE_LOCKED with any extended code, and PostgreSQL's class 08
/// (connection), 40001 (serialization), 40P01 (deadlock), 53 (resources), 57P0x (shutdown).
fn is_transient_code(code: &str) -> bool {
    if let Some(primary) = sqlite_primary(code) {
        return matches!(primary, 5 | 6);
    }
    matches!(code, "40001" | "40P01")
        || code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P0")
}

/// The driver's own database error behind `error`, when it came from sqlx.
pub(crate) fn sqlx_database_error(
    error: &DatabaseError,
) -> Option<&dyn sqlx::error::DatabaseError> {
    match error.driver_error()?.downcast_ref::<sqlx::Error>()? {
        sqlx::Error::Database(db) => Some(db.as_ref()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sorted_into_kinds() {
        assert!(is_sqlite_permission("8"));
        assert!(is_sqlite_permission("1032"));
        assert!(is_sqlite_permission("23"));
        assert!(!is_sqlite_permission("5"));
        assert!(!is_sqlite_permission("42501"));
        assert!(!is_sqlite_permission("23508"));
        assert!(is_transient_code("5"));
        assert!(is_transient_code("517"));
        assert!(is_transient_code("40P01"));
        assert!(is_transient_code("08006"));
        assert!(is_transient_code("53300"));
        assert!(!is_transient_code("23505"));
        assert!(!is_transient_code("42P01"));
        assert!(!is_transient_code("19"));
    }

    #[test]
    fn io_and_tls_failures_are_connection_errors() {
        let refused = from_sqlx(sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert!(matches!(refused, Error::Connection(_)), "{refused:?}");
        assert!(refused.is_transient());
        let tls = from_sqlx(sqlx::Error::Tls(
            "invalid peer certificate: UnknownIssuer".into(),
        ));
        assert!(matches!(tls, Error::Connection(_)), "{tls:?}");
        assert!(!tls.is_transient());
        assert!(tls.to_string().contains("TLS"), "{tls}");
    }
}
