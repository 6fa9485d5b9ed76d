//! SQLite: its dialect, and its driver on rusqlite (bundled SQLite): URLs, the one SQLite
//! type table (binding and decoding), errors and their classification, introspection, and
//! the connections.
//!
//! Bounded statements run on the calling task, unbounded work on tokio's blocking pool, and a
//! busy database is waited for with an asynchronous back-off (SQLite's own `busy_timeout` is
//! 0), so no runtime thread is ever blocked by SQLite.

#[cfg(feature = "sqlite")]
mod connection;
mod dialect;
#[cfg(feature = "sqlite")]
mod driver;
#[cfg(feature = "sqlite")]
mod error;
#[cfg(feature = "sqlite")]
mod introspect;
#[cfg(feature = "sqlite")]
mod url;
#[cfg(feature = "sqlite")]
mod values;

#[cfg(test)]
mod tests;

pub(crate) use self::dialect::SqliteDialect;
#[cfg(feature = "sqlite")]
pub(crate) use self::driver::connect;

/// The file connecting to `url` would create, when it is missing and the URL may create it.
#[cfg(all(feature = "sqlite", feature = "cli"))]
pub(crate) fn file_to_create(url: &str) -> Option<std::path::PathBuf> {
    let target = url::parse_url(url).ok()?;
    let path = target.path?;
    (target.mode == url::OpenMode::ReadWriteCreate && !path.exists()).then_some(path)
}
