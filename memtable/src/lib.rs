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
//! they are served as MCP tools ([`mcp`]), and the feature `cli` builds the `memtable` command
//! (`cargo install --path memtable --features cli`).
//!
//! # Quick start
//!
//! ```
//! use memtable::{Filter, QueryOptions, Record, Store, TableSchema};
//! use memtable::executor::Executors;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! // A file (`sqlite://agent.db`, created if missing), memory, or `postgres://…`.
//! let store = Store::connect("sqlite::memory:").await?;
//! let schema = TableSchema::from_json_str(r#"{
//!     "name": "reminders",
//!     "columns": [
//!         {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
//!         {"name": "text", "type": "text", "constraints": ["not_null"]},
//!         {"name": "done", "type": "boolean"},
//!         {"name": "meta", "type": "json"}
//!     ]
//! }"#)?;
//! store.create_table(&schema).await?; // idempotent
//! let id = store
//!     .insert_into_table(
//!         "reminders",
//!         Record::new()
//!             .with("text", "water the plants")
//!             .with("done", false)
//!             .with("meta", serde_json::json!({"room": "kitchen"})),
//!     )
//!     .await?;
//! let open = store
//!     .query_table("reminders", &QueryOptions::new().filter(Filter::eq("done", false)))
//!     .await?;
//! assert_eq!(open.len(), 1);
//! store.update_table_record("reminders", &id, Record::new().with("done", true)).await?;
//!
//! // The same operations as JSON executors, for an agent's tool calls.
//! let agent = Executors::new(store);
//! let result = agent
//!     .execute("query_table", serde_json::json!({"tableName": "reminders"}))
//!     .await;
//! assert_eq!(result["success"], true);
//! assert_eq!(result["data"]["results"][0]["meta"]["room"], "kitchen");
//! # Ok::<(), memtable::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---------|---------|--------------|
//! | `sqlite` | yes | SQLite on rusqlite (bundled SQLite) |
//! | `postgres` | yes | PostgreSQL on sqlx, TLS through rustls |
//! | `derive` | yes | `#[derive(Table)]` |
//! | `mcp` | no | [`mcp`]: the executors as MCP tools over stdio |
//! | `cli` | no | the `memtable` binary and [`cli`] (implies `mcp`) |
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub mod cli;
pub mod error;
pub mod executor;
mod kinds;
pub mod limits;
#[cfg(feature = "mcp")]
#[cfg_attr(docsrs, doc(cfg(feature = "mcp")))]
pub mod mcp;
pub mod query;
pub mod schema;
pub mod sql;
mod store;
pub mod transfer;
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
