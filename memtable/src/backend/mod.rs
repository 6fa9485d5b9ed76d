//! One folder per database: what that database's SQL dialect, types and driver do
//! differently. Everything else (rendering in `sql/`, the operations in `store/`) is written
//! once against [`Dialect`](crate::sql::Dialect) and the driver trait, and asks a backend
//! what it can do ([`Capabilities`]), never which one it is.
//!
//! Adding a backend is one folder here (its `dialect.rs`, its driver) and one line in each
//! of the two functions of the registration point below.

mod capability;
pub(crate) mod driver;
pub(crate) mod postgres;
#[cfg(test)]
mod read_only_tests;
pub(crate) mod sqlite;
#[cfg(feature = "postgres")]
pub(crate) mod sqlx;

use std::time::Duration;

pub(crate) use self::capability::{BulkForms, Capabilities};
use self::driver::Driver;
use crate::error::{DatabaseError, Error, Result};
use crate::sql::{Backend, Dialect};

/// How the store wants its connections.
#[derive(Debug, Clone)]
#[cfg_attr(
    not(any(feature = "sqlite", feature = "postgres")),
    allow(dead_code, reason = "no backend built")
)]
pub(crate) struct ConnectOptions {
    /// The most connections to open (`None`: the backend's default).
    pub(crate) max_connections: Option<u32>,
    /// How long a SQLite writer waits for another.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) busy_timeout: Duration,
    /// PostgreSQL behind a transaction-mode pooler.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) transaction_pooled: bool,
    /// Connections the database refuses writes on, and nothing created.
    pub(crate) read_only: bool,
}

// ---- the registration point ------------------------------------------------------------

/// Opens the driver `url` names.
#[cfg_attr(
    not(any(feature = "sqlite", feature = "postgres")),
    allow(unused_variables, reason = "no backend built")
)]
pub(crate) async fn connect(url: &str, options: &ConnectOptions) -> Result<Box<dyn Driver>> {
    if url.starts_with("sqlite:") {
        #[cfg(feature = "sqlite")]
        return sqlite::connect(url, options).await;
        #[cfg(not(feature = "sqlite"))]
        return Err(not_built("sqlite"));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return postgres::connect(url, options).await;
        #[cfg(not(feature = "postgres"))]
        return Err(not_built("postgres"));
    }
    Err(Error::Connection(DatabaseError::new(
        "the database URL must start with sqlite: or postgres://",
        None,
        false,
    )))
}

/// The database file connecting to `url` would create: a SQLite file that is not there yet,
/// on a URL that creates one (for the command line to say so). `None` for anything else.
#[cfg(feature = "cli")]
pub(crate) fn file_to_create(url: &str) -> Option<std::path::PathBuf> {
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        return sqlite::file_to_create(url);
    }
    let _ = url;
    None
}

#[allow(dead_code, reason = "used when a backend's feature is off")]
fn not_built(feature: &str) -> Error {
    Error::Connection(DatabaseError::new(
        format!("memtable was built without the {feature:?} feature"),
        None,
        false,
    ))
}

impl Backend {
    /// The dialect statements are rendered in for this backend.
    pub(crate) fn dialect(self) -> &'static dyn Dialect {
        match self {
            Backend::Sqlite => &sqlite::SqliteDialect,
            Backend::Postgres => &postgres::PostgresDialect,
        }
    }
}
