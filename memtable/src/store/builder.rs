//! [`StoreBuilder`]: the settings of a store, and connecting.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64};
use std::time::Duration;

use super::cache::{SchemaCache, Table};
use super::{Inner, Store, catalog};
use crate::backend::ConnectOptions;
use crate::error::Result;
use crate::limits::Limits;
use crate::schema::{CATALOG_TABLE, DEFAULT_PROTECTED_TABLES};

/// Configures a [`Store`] before connecting.
///
/// ```
/// use memtable::Store;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = Store::builder("sqlite::memory:")
///     .protected_tables(["memories", "sandbox", "billing"])
///     .connect()
///     .await?;
/// # Ok::<(), memtable::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct StoreBuilder {
    url: String,
    protected: Vec<String>,
    max_connections: Option<u32>,
    busy_timeout: Duration,
    limits: Limits,
    transaction_pooled: bool,
    read_only: bool,
}

impl StoreBuilder {
    /// The tables that cannot be created, dropped or written through the table API (reads are
    /// allowed), in any ASCII case. Replaces the default (`memories`, `sandbox`); the catalog and
    /// the idempotency key table ([`IDEMPOTENCY_TABLE`](crate::IDEMPOTENCY_TABLE)) are always
    /// protected.
    pub fn protected_tables<I, S>(mut self, tables: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protected = tables.into_iter().map(Into::into).collect();
        self
    }

    /// The most connections the store opens (default: 4 for a SQLite file, 1 for SQLite in
    /// memory, 10 for PostgreSQL).
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = Some(max.max(1));
        self
    }

    /// How long a SQLite writer waits for another to finish before failing (default 5 s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The limits the store enforces (default: [`Limits::default`]); see [`Limits`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether the PostgreSQL server is reached through a transaction-mode pooler such as
    /// PgBouncer with `pool_mode = transaction` (default: `false`, or what the URL parameter
    /// `pgbouncer=true` says).
    ///
    /// Such a pooler hands every transaction another server connection, so a statement
    /// prepared by name on one is missing (or already there) on the next. In this mode the
    /// store prepares no named statements and runs every statement outside a transaction in
    /// a transaction of its own; BENCHMARKS.md says what that costs. The pooler must ignore
    /// the startup parameter sqlx sets: `ignore_startup_parameters = extra_float_digits` in
    /// `pgbouncer.ini`. No effect on SQLite.
    ///
    /// ```
    /// # async fn run() -> memtable::Result<()> {
    /// let store = memtable::Store::builder("postgres://app@pooler.internal:6432/app")
    ///     .transaction_pooled(true) // the same as ?pgbouncer=true in the URL
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn transaction_pooled(mut self, pooled: bool) -> Self {
        self.transaction_pooled = pooled;
        self
    }

    /// Whether the store only reads (default: `false`). A read-only store connects so that
    /// the database itself refuses every write, not memtable alone: SQLite opens the file
    /// read-only (`SQLITE_OPEN_READONLY`, and `PRAGMA query_only` on every connection);
    /// PostgreSQL sessions start with `default_transaction_read_only=on` and, behind a
    /// transaction-mode pooler (which does not carry session settings), every transaction
    /// begins `READ ONLY`. A write through the store fails as [`Error::PermissionDenied`]
    /// (the database's own refusal). A read-only store never creates anything: not a SQLite
    /// file (a missing one is an [`Error::Connection`] naming it), a directory, or the catalog.
    ///
    /// [`Error::PermissionDenied`]: crate::Error::PermissionDenied
    /// [`Error::Connection`]: crate::Error::Connection
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let dir = tempfile::tempdir().unwrap();
    /// let url = format!("sqlite://{}", dir.path().join("agent.db").display());
    /// // Nothing there yet: a read-only store does not create the file.
    /// let error = memtable::Store::builder(url.as_str()).read_only(true).connect().await.unwrap_err();
    /// assert_eq!(error.kind(), memtable::ErrorKind::Connection);
    /// assert!(!dir.path().join("agent.db").exists());
    ///
    /// let schema = memtable::TableSchema::from_json_str(
    ///     r#"{"name": "notes", "columns": [{"name": "id", "type": "text", "constraints": ["primary_key"]}]}"#,
    /// )?;
    /// memtable::Store::connect(&url).await?.create_table(&schema).await?;
    /// let reader = memtable::Store::builder(url.as_str()).read_only(true).connect().await?;
    /// assert!(reader.table_exists("notes").await?);
    /// let error = reader.insert_into_table("notes", memtable::Record::new()).await.unwrap_err();
    /// assert_eq!(error.kind(), memtable::ErrorKind::PermissionDenied);
    /// # Ok::<(), memtable::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Connects and loads the schemas the catalog holds. The catalog itself is created with
    /// the first table (or by [`Store::create_catalog`]), never here: a role that may only
    /// read connects and reads.
    pub async fn connect(self) -> Result<Store> {
        let options = ConnectOptions {
            max_connections: self.max_connections,
            busy_timeout: self.busy_timeout,
            transaction_pooled: self.transaction_pooled,
            read_only: self.read_only,
        };
        let driver = crate::backend::connect(self.url.trim(), &options).await?;
        let backend = driver.backend();
        let mut protected = self.protected;
        protected.push(CATALOG_TABLE.to_owned());
        protected.push(super::IDEMPOTENCY_TABLE.to_owned());
        let catalog = catalog::schema();
        let tables = SchemaCache::default();
        tables.insert(Table::new(catalog.clone(), None));
        let store = Store {
            inner: Arc::new(Inner {
                backend,
                driver,
                protected,
                tables,
                catalog,
                catalog_exists: AtomicBool::new(false),
                idempotency_exists: AtomicBool::new(false),
                idempotency_pruned: AtomicI64::new(0),
                limits: self.limits,
                read_only: self.read_only,
            }),
            scope: None,
        };
        store.load_catalog_into_cache().await?;
        Ok(store)
    }
}

impl Store {
    /// Connects to `url` with the default settings: `sqlite://path/to/file.db` (the file and its
    /// directories are created if missing), `sqlite::memory:`, or `postgres://…`.
    ///
    /// SQLite runs in WAL mode with `synchronous=NORMAL`, foreign keys on and a 5 s busy
    /// timeout; its write transactions begin with `BEGIN IMMEDIATE`.
    pub async fn connect(url: &str) -> Result<Store> {
        Store::builder(url).connect().await
    }

    /// Whether the store was connected with [`StoreBuilder::read_only`]: its database refuses
    /// every write.
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// A builder for a store with non-default settings.
    pub fn builder(url: impl Into<String>) -> StoreBuilder {
        StoreBuilder {
            url: url.into(),
            protected: DEFAULT_PROTECTED_TABLES
                .iter()
                .filter(|t| **t != CATALOG_TABLE)
                .map(|t| (*t).to_owned())
                .collect(),
            max_connections: None,
            busy_timeout: Duration::from_secs(5),
            limits: Limits::default(),
            transaction_pooled: false,
            read_only: false,
        }
    }
}
