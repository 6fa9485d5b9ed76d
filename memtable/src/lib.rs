//! memtable: database tables owned by agent plugins.
//!
//! A plugin declares a table as a [`TableSchema`] (or receives one as JSON at run time), then
//! creates, inserts, updates, queries and deletes through one API that behaves the same on
//! SQLite (the embedded default) and PostgreSQL.
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
//! bound parameters. The [`sql`] module renders every statement, without I/O.

pub mod error;
pub mod query;
pub mod schema;
pub mod sql;
mod store;
pub mod value;

pub use error::{ConstraintKind, Error, IdentifierKind, IdentifierProblem, Result, SchemaProblem};
pub use query::{CompareOp, Direction, Filter, OrderBy, QueryOptions};
pub use schema::{
    CATALOG_TABLE, Column, ColumnType, Constraint, DEFAULT_PROTECTED_TABLES, Index, TableSchema,
    validate_identifier,
};
pub use store::{Store, StoreBuilder};
pub use value::{Record, Value};
