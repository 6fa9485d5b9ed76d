//! The database drivers beneath the store: SQLite on rusqlite (bundled SQLite), without a
//! worker thread between a statement and its caller (DESIGN.md, "Backends and the SQLite
//! driver").

#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;
