//! The [`Store`]: connections, the schema cache and catalog, and the seven table operations.
//!
//! ```
//! use memtable::{QueryOptions, Record, Store, TableSchema};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = Store::connect("sqlite::memory:").await?;
//! let schema = TableSchema::from_json_str(r#"{"name": "notes", "columns": [
//!     {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
//!     {"name": "body", "type": "text"}]}"#)?;
//! store.create_table(&schema).await?;
//! let id = store.insert_into_table("notes", Record::new().with("body", "hello")).await?;
//! assert_eq!(id, "1");
//! let rows = store.query_table("notes", &QueryOptions::new()).await?;
//! assert_eq!(rows[0].get("body").and_then(|v| v.as_str()), Some("hello"));
//! # Ok::<(), memtable::Error>(())
//! # }).unwrap();
//! ```

mod batch;
mod builder;

pub use self::builder::StoreBuilder;
mod cache;
mod catalog;
mod rows;
mod tables;
mod trace;

#[cfg(test)]
mod read_only_tests;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use self::cache::SchemaCache;
pub(crate) use self::cache::Table;
use crate::backend::driver::{Connection, Driver};
use crate::error::{Error, IdentifierKind, Result, SchemaProblem};
use crate::limits::Limits;
use crate::schema::{CATALOG_TABLE, ColumnType, TableSchema, validate_identifier};
use crate::sql::Backend;
use crate::value::{Record, Value};

/// A handle on one database: SQLite (a file or memory) or PostgreSQL.
///
/// Cheap to clone (clones share the connections and the schema cache) and `Send + Sync`.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    driver: Box<dyn Driver>,
    /// Compared regardless of ASCII case: SQLite's table names are, so `Memories` is the
    /// `memories` table there; refusing every spelling keeps the rule the same on PostgreSQL.
    protected: Vec<String>,
    /// Every table seen, kept true on create and drop, so that an operation does not ask the
    /// database whether its table exists.
    tables: SchemaCache,
    catalog: TableSchema,
    /// Known to exist: read on connect, or created by this store.
    catalog_exists: AtomicBool,
    limits: Limits,
    /// Connected with [`StoreBuilder::read_only`].
    read_only: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The backend this store talks to.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The limits this store enforces.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Whether the table API refuses to create, drop or write `table`: a protected name in
    /// any ASCII case.
    pub fn is_protected(&self, table: &str) -> bool {
        self.inner
            .protected
            .iter()
            .any(|name| name.eq_ignore_ascii_case(table))
    }

    /// Closes every connection; operations after this fail.
    pub async fn close(&self) {
        self.inner.driver.close().await;
    }

    // ---- internals shared by the operations ----

    fn check_writable(&self, table: &str) -> Result<()> {
        validate_identifier(IdentifierKind::Table, table)?;
        if self.is_protected(table) {
            return Err(Error::ProtectedTable {
                table: table.to_owned(),
            });
        }
        Ok(())
    }

    /// A connection for one operation.
    async fn acquire(&self) -> Result<Box<dyn Connection + '_>> {
        self.inner.driver.acquire().await
    }

    /// The table `name`: from the cache, else the catalog, else the database's own catalog
    /// (for tables memtable did not create). A missing table is [`Error::TableNotFound`].
    async fn table(&self, db: &mut dyn Connection, name: &str) -> Result<Arc<Table>> {
        if let Some(table) = self.inner.tables.get(name) {
            return Ok(table);
        }
        validate_identifier(IdentifierKind::Table, name)?;
        if let Some(table) = self.catalog_entry(db, name).await? {
            return Ok(self.inner.tables.insert(table));
        }
        match db.introspect(name).await? {
            Some(schema) => {
                match schema.validate() {
                    // A table without a single-column key is read (query, count); operations
                    // by id refuse it with this same error.
                    Ok(())
                    | Err(Error::InvalidSchema {
                        problem: SchemaProblem::NoPrimaryKey,
                        ..
                    }) => {}
                    Err(error) => return Err(error),
                }
                Ok(self.inner.tables.insert(Table::found(schema)))
            }
            None => Err(Error::TableNotFound {
                table: name.to_owned(),
            }),
        }
    }

    /// The memtable error a driver's error stands for: a constraint violation or a missing
    /// table where the backend says so; a refused privilege names the table.
    fn classify(&self, error: Error, table: &str, schema: Option<&TableSchema>) -> Error {
        match error {
            Error::Database(db) => match self.inner.driver.classify(&db, table, schema) {
                Some(classified) => {
                    if matches!(classified, Error::TableNotFound { .. }) && table != CATALOG_TABLE {
                        // Dropped behind this store's back: forget what it knew.
                        self.inner.tables.remove(table);
                    }
                    classified
                }
                None => Error::Database(db),
            },
            error @ Error::PermissionDenied { .. } => error.for_operation("", table),
            other => other,
        }
    }
}

fn column_types(schema: &TableSchema) -> Vec<ColumnType> {
    schema.columns.iter().map(|c| c.column_type).collect()
}

fn to_record(schema: &TableSchema, row: Vec<Value>) -> Record {
    schema
        .columns
        .iter()
        .map(|c| c.name.clone())
        .zip(row)
        .collect()
}
