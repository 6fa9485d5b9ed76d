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
mod idempotency;
mod namespace;
mod rows;
mod sync;
mod tables;
mod trace;
mod transaction;

pub(crate) use self::transaction::RowSource;
pub use self::transaction::Transaction;

pub use self::sync::SyncReport;

pub use self::idempotency::{
    IDEMPOTENCY_RETENTION_MS, IDEMPOTENCY_TABLE, Idempotency, MAX_IDEMPOTENCY_KEY_BYTES,
};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64};

use self::cache::SchemaCache;
pub(crate) use self::cache::Table;
pub use self::tables::TableInfo;
use crate::backend::driver::{Connection, Driver};
use crate::error::{Error, IdentifierKind, Result, SchemaProblem};
use crate::limits::Limits;
use crate::schema::{CATALOG_TABLE, TableSchema, validate_identifier};
use crate::sql::Backend;
use crate::value::Record;

/// A handle on one database: SQLite (a file or memory) or PostgreSQL.
///
/// Cheap to clone (clones share the connections and the schema cache) and `Send + Sync`.
/// [`Store::scoped`] gives the same store seen from inside one plugin's namespace.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
    /// The plugin whose namespace every table name is resolved in; `None` for the host.
    scope: Option<Arc<str>>,
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
    /// The idempotency key table is known to exist (created by this store).
    idempotency_exists: AtomicBool,
    /// When this store last deleted expired idempotency keys, in ms since the epoch.
    idempotency_pruned: AtomicI64,
    limits: Limits,
    /// Connected with [`StoreBuilder::read_only`].
    read_only: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
impl Store {
    /// The store's driver, for tests that send statements past every check of the library.
    pub(crate) fn driver(&self) -> &dyn Driver {
        &*self.inner.driver
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

    /// Closes every connection (of every scope of this store); operations after this fail.
    pub async fn close(&self) {
        self.inner.driver.close().await;
    }

    /// The same store (the same connections and schema cache), with every table name resolved
    /// inside the namespace of plugin `plugin`.
    ///
    /// Its operations see the plugin's tables only: a table created through it belongs to the
    /// plugin, and two plugins may each have a table `settings`, with different schemas,
    /// neither able to see, query, change or drop the other's. Any other table (another
    /// plugin's, or the host's) looks exactly like a missing one, in results and in errors:
    /// [`Error::TableNotFound`], [`table_exists`](Self::table_exists) false, absent from
    /// [`list_tables`](Self::list_tables). Protected names are refused as on the host's store.
    ///
    /// `plugin` must be an identifier as a table name is (`^[a-zA-Z_][a-zA-Z0-9_]*$`, at most
    /// 63 bytes, not starting with `sqlite_` or `pg_`), else [`Error::InvalidIdentifier`] of
    /// kind [`IdentifierKind::Plugin`]; names are case-sensitive (`Notes` is not `notes`). A
    /// scoped store gives itself for its own plugin and refuses another's
    /// ([`Error::PermissionDenied`]): what a plugin receives keeps it in its namespace.
    ///
    /// In the database, a plugin's table lives under a name made of the plugin's and the
    /// table's (`_mtns_5_notes_settings` for plugin `notes`, table `settings`; see the README),
    /// which no caller can give: names starting with `_mtns_` are refused in every scope. A
    /// table created with an owner before namespaces existed (or by
    /// [`create_owned_table`](Self::create_owned_table)) keeps its own name, and both its
    /// owner's scope and the host address it by that name.
    ///
    /// ```
    /// use memtable::{Record, Store, TableSchema};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let host = Store::connect("sqlite::memory:").await?;
    /// let (crm, mail) = (host.scoped("crm")?, host.scoped("mail")?);
    /// crm.create_table(&TableSchema::from_json_str(r#"{"name": "settings", "columns": [
    ///     {"name": "key", "type": "text", "constraints": ["primary_key"]},
    ///     {"name": "value", "type": "json"}]}"#)?).await?;
    /// mail.create_table(&TableSchema::from_json_str(r#"{"name": "settings", "columns": [
    ///     {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
    ///     {"name": "signature", "type": "text"}]}"#)?).await?;
    /// crm.insert_into_table("settings", Record::new().with("key", "theme").with("value", "dark")).await?;
    /// assert_eq!(mail.count("settings", None).await?, 0);
    /// assert!(!host.table_exists("settings").await?);
    /// let listed = host.list_tables().await?;
    /// assert_eq!(listed.len(), 2);
    /// assert_eq!(listed[0].owner.as_deref(), Some("crm"));
    /// # Ok::<(), memtable::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn scoped(&self, plugin: &str) -> Result<Store> {
        namespace::validate_plugin(plugin)?;
        match self.scope.as_deref() {
            None => Ok(Store {
                inner: self.inner.clone(),
                scope: Some(Arc::from(plugin)),
            }),
            Some(scope) if scope == plugin => Ok(self.clone()),
            Some(_) => Err(Error::PermissionDenied {
                table: None,
                operation: "scoped".into(),
                message: "a plugin's store cannot open another plugin's namespace".into(),
                code: None,
            }),
        }
    }

    /// The plugin whose namespace this store resolves names in ([`scoped`](Self::scoped)), or
    /// `None` for the host's store.
    pub fn plugin(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    // ---- internals shared by the operations ----

    /// The table `name` of this store's scope, if the cache has it.
    fn cached(&self, name: &str) -> Option<Arc<Table>> {
        self.inner.tables.get(self.plugin(), name)
    }

    /// Forgets what the cache knows of `name` (the name the scope addresses, or a physical
    /// name), so that it is looked up again.
    fn forget(&self, name: &str) {
        match self.cached(name) {
            Some(table) => self.inner.tables.remove(&table.schema.name),
            None if self.scope.is_none() || namespace::is_reserved(name) => {
                self.inner.tables.remove(name);
            }
            None => {}
        }
    }

    fn check_writable(&self, table: &str) -> Result<()> {
        namespace::validate_name(IdentifierKind::Table, table)?;
        if self.is_protected(table) {
            return Err(Error::ProtectedTable {
                table: table.to_owned(),
            });
        }
        Ok(())
    }

    /// A connection for one operation.
    async fn acquire(&self) -> Result<Box<dyn Connection + '_>> {
        if let Some(conn) = self.inner.driver.try_acquire() {
            return Ok(conn);
        }
        self.inner.driver.acquire().await
    }

    /// The connection an operation runs on, as `via` says: one of the pool's for it alone,
    /// or the one its transaction holds.
    async fn lease<'a>(&'a self, via: Via<'a>) -> Result<Lease<'a>> {
        match via {
            Via::Pool => Ok(Lease::Own(self.acquire().await?)),
            Via::Held(conn) => Ok(Lease::Held(conn)),
        }
    }

    /// The table `name` in this store's scope: from the cache, else the catalog, else (for the
    /// host) the database's own catalog, for tables memtable did not create. A missing table
    /// is [`Error::TableNotFound`]; in a plugin's scope, so is every table not the plugin's.
    async fn table(&self, db: &mut dyn Connection, name: &str) -> Result<Arc<Table>> {
        if let Some(table) = self.cached(name) {
            return Ok(table);
        }
        namespace::validate_name(IdentifierKind::Table, name)?;
        if let Some(table) = self.catalog_entry(db, self.plugin(), name).await? {
            return Ok(self.inner.tables.insert(table));
        }
        if self.scope.is_some() {
            return Err(Error::TableNotFound {
                table: name.to_owned(),
            });
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
                        self.forget(table);
                    }
                    classified
                }
                None => Error::Database(db),
            },
            error @ Error::PermissionDenied { .. } => error.for_operation("", table),
            other => other,
        }
    }

    /// `error` as the scope's plugin may see it: the physical names of the plugin's table
    /// `table` (and of its indexes), wherever the database or memtable wrote them, replaced by
    /// the names the plugin gave.
    fn in_scope(&self, error: Error, table: &str) -> Error {
        let Some(plugin) = self.plugin() else {
            return error;
        };
        let mut names: Vec<(String, String)> = self
            .cached(table)
            .map(|t| {
                t.renamed()
                    .into_iter()
                    .map(|(physical, logical)| (physical.to_owned(), logical.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        if validate_identifier(IdentifierKind::Table, table).is_ok() {
            names.push((namespace::physical_table(plugin, table), table.to_owned()));
        }
        // An index's physical name starts with its table's: the longer first.
        names.sort_by_key(|(physical, _)| std::cmp::Reverse(physical.len()));
        error.renamed(&names)
    }
}

/// Where an operation gets its connection. Each operation is written once, taking this: the
/// [`Store`]'s methods pass [`Via::Pool`], a [`Transaction`]'s the connection it holds.
pub(crate) enum Via<'c> {
    /// A connection from the pool, for this operation alone.
    Pool,
    /// The connection of a transaction, inside its write transaction.
    Held(&'c mut (dyn Connection + 'c)),
}

/// The connection an operation runs on (see [`Via`]).
enum Lease<'c> {
    Own(Box<dyn Connection + 'c>),
    Held(&'c mut (dyn Connection + 'c)),
}

impl<'c> std::ops::Deref for Lease<'c> {
    type Target = dyn Connection + 'c;

    fn deref(&self) -> &Self::Target {
        match self {
            Lease::Own(conn) => &**conn,
            Lease::Held(conn) => &**conn,
        }
    }
}

impl std::ops::DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Lease::Own(conn) => &mut **conn,
            Lease::Held(conn) => &mut **conn,
        }
    }
}

/// Whether every column `record` names is a column of `schema`.
fn names_only_columns_of(schema: &TableSchema, record: &Record) -> bool {
    (record.keys().enumerate())
        .all(|(field, column)| schema.column_index_at(field, column).is_some())
}
