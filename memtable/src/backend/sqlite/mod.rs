//! memtable's SQLite driver on rusqlite: URLs ([`parse_url`]), the one SQLite type table
//! ([`Param`], [`Bound`], [`decode_row`]), errors ([`to_error`]) and the connections
//! ([`Connections`], [`Lease`]).
//!
//! Bounded statements run on the calling task, unbounded work on tokio's blocking pool, and a
//! busy database is waited for with an asynchronous back-off (SQLite's own `busy_timeout` is
//! 0), so no runtime thread is ever blocked by SQLite.
#![allow(dead_code, reason = "wired into the store by the integration")]

mod connection;
mod error;
mod url;
mod values;

#[cfg(test)]
mod tests;

// What the store uses once the integration wires it in.
#[allow(unused_imports, reason = "used by the store once integrated")]
pub(crate) use connection::{Connections, Lease};
#[allow(unused_imports, reason = "used by the store once integrated")]
pub(crate) use error::{is_busy, primary_code, to_error, to_open_error};
#[allow(unused_imports, reason = "used by the store once integrated")]
pub(crate) use url::{OpenMode, SqliteTarget, parse_url};
#[allow(unused_imports, reason = "used by the store once integrated")]
pub(crate) use values::{Bound, Param, decode_row, decode_value};
