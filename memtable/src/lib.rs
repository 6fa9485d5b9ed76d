//! memtable: database tables owned by agent plugins.
//!
//! A plugin declares a table as a [`TableSchema`] (or receives one as JSON at run time), then
//! creates, inserts, updates, queries and deletes through one API that behaves the same on
//! SQLite (the embedded default) and PostgreSQL. A Rust struct can be a table too, with
//! `#[derive(Table)]` and column handles the compiler checks ([`typed`]); both APIs share the
//! same tables.
//!
//! | type    | SQLite            | PostgreSQL       | JSON (executors) |
//! |---------|-------------------|------------------|------------------|
//! | text    | TEXT              | TEXT             | string           |
//! | integer | INTEGER           | INTEGER          | number           |
//! | bigint  | INTEGER           | BIGINT           | number           |
//! | real    | REAL              | DOUBLE PRECISION | number           |
//! | blob    | BLOB              | BYTEA            | base64 string    |
//! | json    | TEXT (serialized) | JSONB            | any JSON         |
//! | boolean | INTEGER 0/1       | BOOLEAN          | true/false       |
//!
//! Identifiers are validated ([`validate_identifier`]) and always quoted; values are always
//! bound parameters. The [`sql`] module renders every statement, without I/O. Requests too large
//! or too deep for an agent or a database (names, columns, indexes, record size, json and filter
//! depth) are refused against the store's [`Limits`] before any SQL is rendered.
//!
//! The [`executor`] module offers the same operations as named JSON executors for agents (with
//! JSON Schemas of their parameters, plugin scopes and read-only sets); with the feature `mcp`
//! they are served as MCP tools, and the feature `cli` builds the `memtable` command.

mod backend;
#[cfg(feature = "cli")]
pub mod cli;
pub mod error;
pub mod executor;
mod kinds;
pub mod limits;
#[cfg(feature = "mcp")]
pub mod mcp;
pub mod query;
pub mod schema;
pub mod sql;
mod store;
pub mod typed;
pub mod value;

pub use error::{
    ConstraintKind, DatabaseError, Error, ErrorKind, IdentifierKind, IdentifierProblem, Result,
    SchemaProblem,
};
pub use limits::{LimitKind, Limits};
pub use query::{CompareOp, Direction, Filter, OrderBy, QueryOptions};
pub use schema::{
    CATALOG_TABLE, Column, ColumnType, Constraint, DEFAULT_PROTECTED_TABLES, Index, TableSchema,
    validate_identifier,
};
pub use store::{
    IDEMPOTENCY_RETENTION_MS, IDEMPOTENCY_TABLE, Idempotency, MAX_IDEMPOTENCY_KEY_BYTES, Store,
    StoreBuilder, SyncReport, TableInfo, Transaction,
};
#[doc(hidden)]
pub use typed::private as __private;
pub use typed::{Select, Table, TypedColumn};
pub use value::{Record, Value};
