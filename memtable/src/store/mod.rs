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
mod cache;
mod catalog;
mod rows;
mod tables;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tracing::Instrument as _;

use self::cache::SchemaCache;
pub(crate) use self::cache::Table;
use crate::backend::ConnectOptions;
use crate::backend::driver::{Connection, Driver, Rows};
use crate::error::{Error, IdentifierKind, Result, SchemaProblem};
use crate::limits::Limits;
use crate::schema::{
    CATALOG_TABLE, ColumnType, DEFAULT_PROTECTED_TABLES, TableSchema, validate_identifier,
};
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
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .finish_non_exhaustive()
    }
}

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
}

impl StoreBuilder {
    /// The tables that cannot be created, dropped or written through the table API (reads are
    /// allowed), in any ASCII case. Replaces the default (`memories`, `sandbox`); the catalog is
    /// always protected.
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

    /// Connects and loads the schemas the catalog holds. The catalog itself is created with
    /// the first table (or by [`Store::create_catalog`]), never here: a role that may only
    /// read connects and reads.
    pub async fn connect(self) -> Result<Store> {
        let options = ConnectOptions {
            max_connections: self.max_connections,
            busy_timeout: self.busy_timeout,
            transaction_pooled: self.transaction_pooled,
        };
        let driver = crate::backend::connect(self.url.trim(), &options).await?;
        let backend = driver.backend();
        let mut protected = self.protected;
        protected.push(CATALOG_TABLE.to_owned());
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
                limits: self.limits,
            }),
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
        }
    }

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

    /// Runs one operation inside a `tracing` span recording the operation, the table, the rows
    /// it touched and its duration (never values).
    async fn traced<T, F>(
        &self,
        operation: &'static str,
        table: &str,
        work: F,
        rows: fn(&T) -> u64,
    ) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>>,
    {
        let span = tracing::debug_span!(
            "memtable",
            operation,
            table = crate::error::truncate(table),
            rows = tracing::field::Empty,
            duration_us = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = work
            .instrument(span.clone())
            .await
            .map_err(|error| error.for_operation(operation, table));
        span.record("duration_us", started.elapsed().as_micros() as u64);
        match &result {
            Ok(value) => {
                span.record("rows", rows(value));
                tracing::debug!(parent: &span, "ok");
            }
            // The kind only: a message may quote an id or, from the database, a value.
            Err(error) => tracing::debug!(
                parent: &span,
                error = error.kind().as_str(),
                transient = error.is_transient(),
                "failed"
            ),
        }
        result
    }

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

    /// The catalog's entry for `name`, if memtable created that table.
    async fn catalog_entry(&self, db: &mut dyn Connection, name: &str) -> Result<Option<Table>> {
        let catalog = &self.inner.catalog;
        let lookup = self
            .inner
            .backend
            .render_select(catalog, catalog::lookup(name))?;
        // Without a catalog (none created yet, or one this role may not read), every table is
        // read as the database declares it.
        if !self.inner.catalog_exists.load(Ordering::Relaxed) && !db.in_transaction() {
            return Ok(None);
        }
        let row = match db.fetch_first(lookup, &column_types(catalog)).await {
            Ok(row) => row,
            Err(error) => {
                return match self.classify(error, CATALOG_TABLE, None) {
                    Error::TableNotFound { .. } | Error::PermissionDenied { .. } => Ok(None),
                    other => Err(other),
                };
            }
        };
        row.map(|row| catalog::parse(&to_record(catalog, row)))
            .transpose()
    }

    /// Every table the catalog lists: none when there is no catalog, or when this role may not
    /// read it.
    async fn load_catalog(&self) -> Result<Vec<Table>> {
        let catalog = &self.inner.catalog;
        let statement = self
            .inner
            .backend
            .select(catalog, &crate::query::QueryOptions::new())?;
        let mut conn = self.acquire().await?;
        let types = column_types(catalog);
        let rows = match conn.fetch(statement, &types, Rows::Unbounded).await {
            Ok(rows) => rows,
            Err(error) => {
                return match self.classify(error, CATALOG_TABLE, None) {
                    Error::TableNotFound { .. } | Error::PermissionDenied { .. } => Ok(Vec::new()),
                    other => Err(other),
                };
            }
        };
        self.inner.catalog_exists.store(true, Ordering::Relaxed);
        rows.into_iter()
            .map(|row| catalog::parse(&to_record(catalog, row)))
            .collect()
    }

    /// Fills the cache from the catalog, if there is one this role may read.
    async fn load_catalog_into_cache(&self) -> Result<()> {
        for table in self.load_catalog().await? {
            self.inner.tables.insert(table);
        }
        Ok(())
    }

    /// Creates memtable's catalog table if it is missing. [`create_table`](Self::create_table)
    /// does this with the first table; a host that creates tables under a role of its own and
    /// lets plugins read under another can call it up front.
    pub async fn create_catalog(&self) -> Result<()> {
        if self.inner.catalog_exists.load(Ordering::Relaxed) {
            return Ok(());
        }
        let statements = self
            .inner
            .backend
            .create_table_if_not_exists(&self.inner.catalog)?;
        let mut attempt = 0;
        loop {
            let created = async {
                let mut conn = self.acquire().await?;
                conn.begin_write().await?;
                for statement in statements.clone() {
                    if let Err(error) = conn.execute(statement).await {
                        conn.rollback().await;
                        return Err(error);
                    }
                }
                conn.commit().await
            }
            .await;
            match created {
                Ok(()) => break,
                // Two processes creating the catalog at once on PostgreSQL: one loses a race on
                // the system catalogs even with IF NOT EXISTS. Once it exists, all is well.
                Err(_) if attempt < 3 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
                }
                Err(error) => return Err(error.for_operation("create_catalog", CATALOG_TABLE)),
            }
        }
        self.inner.catalog_exists.store(true, Ordering::Relaxed);
        Ok(())
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
