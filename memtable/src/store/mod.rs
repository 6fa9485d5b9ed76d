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
#[cfg(feature = "postgres")]
mod copy;
mod driver;
mod driver_error;
mod pool;
#[cfg(feature = "postgres")]
mod postgres;
mod rows;
#[cfg(feature = "sqlite")]
mod sqlite;
mod tables;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tracing::Instrument as _;

use self::cache::{SchemaCache, Table};
use self::driver_error::from_sqlx;
use crate::error::{DatabaseError, Error, IdentifierKind, Result, SchemaProblem};
use crate::limits::Limits;
use crate::schema::{
    CATALOG_TABLE, ColumnType, DEFAULT_PROTECTED_TABLES, TableSchema, validate_identifier,
};
use crate::sql::{Backend, Statement};
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
    pool: Pool,
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
        let url = self.url.trim();
        let (backend, pool) = if url.starts_with("sqlite:") {
            #[cfg(feature = "sqlite")]
            {
                let pool = sqlite::connect(url, self.max_connections, self.busy_timeout).await?;
                (Backend::Sqlite, Pool::Sqlite(pool))
            }
            #[cfg(not(feature = "sqlite"))]
            return Err(unsupported_url("sqlite"));
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            {
                let pool =
                    postgres::connect(url, self.max_connections, self.transaction_pooled).await?;
                (Backend::Postgres, Pool::Postgres(pool))
            }
            #[cfg(not(feature = "postgres"))]
            return Err(unsupported_url("postgres"));
        } else {
            return Err(Error::Connection(DatabaseError::new(
                "the database URL must start with sqlite: or postgres://",
                None,
                false,
            )));
        };
        let mut protected = self.protected;
        protected.push(CATALOG_TABLE.to_owned());
        let catalog = catalog::schema();
        let tables = SchemaCache::default();
        tables.insert(Table::new(catalog.clone(), None));
        let store = Store {
            inner: Arc::new(Inner {
                backend,
                pool,
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

#[allow(dead_code)]
fn unsupported_url(feature: &str) -> Error {
    Error::Connection(DatabaseError::new(
        format!("memtable was built without the {feature:?} feature"),
        None,
        false,
    ))
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
        match &self.inner.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => pool.close().await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => pool.close().await,
        }
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
    async fn acquire(&self) -> Result<Conn<'_>> {
        Ok(match &self.inner.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => Conn::Sqlite(pool.acquire().await?),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => Conn::Postgres(pool.acquire().await?),
        })
    }

    /// The table `name`: from the cache, else the catalog, else the database's own catalog
    /// (for tables memtable did not create). A missing table is [`Error::TableNotFound`].
    async fn table(&self, db: &mut Db<'_, '_>, name: &str) -> Result<Arc<Table>> {
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
    async fn catalog_entry(&self, db: &mut Db<'_, '_>, name: &str) -> Result<Option<Table>> {
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
        let rows = match conn.db().fetch(statement, &column_types(catalog)).await {
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
                let mut tx = conn.begin_write().await.map_err(from_sqlx)?;
                for statement in statements.clone() {
                    tx.db().execute(statement).await.map_err(from_sqlx)?;
                }
                tx.commit().await.map_err(from_sqlx)
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

    /// The memtable error a database error stands for (constraint violations, missing tables),
    /// else what [`from_sqlx`] makes of it.
    fn classify(&self, error: sqlx::Error, table: &str, schema: Option<&TableSchema>) -> Error {
        if let sqlx::Error::Database(db) = &error {
            let classified = match self.inner.backend {
                #[cfg(feature = "sqlite")]
                Backend::Sqlite => sqlite::classify(db.as_ref(), table, schema),
                #[cfg(feature = "postgres")]
                Backend::Postgres => postgres::classify(db.as_ref(), table, schema),
                #[allow(unreachable_patterns)]
                _ => None,
            };
            if let Some(classified) = classified {
                if matches!(classified, Error::TableNotFound { .. }) && table != CATALOG_TABLE {
                    // Dropped behind this store's back: forget what it knew.
                    self.inner.tables.remove(table);
                }
                return classified;
            }
        }
        match from_sqlx(error) {
            Error::PermissionDenied {
                operation,
                message,
                code,
                ..
            } => Error::PermissionDenied {
                table: Some(table.to_owned()),
                operation,
                message,
                code,
            },
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

enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(pool::Connections<sqlx::SqliteConnection>),
    #[cfg(feature = "postgres")]
    Postgres(pool::Connections<sqlx::PgConnection>),
}

/// A connection held for one operation.
enum Conn<'p> {
    #[cfg(feature = "sqlite")]
    Sqlite(pool::Lease<'p, sqlx::SqliteConnection>),
    #[cfg(feature = "postgres")]
    Postgres(pool::Lease<'p, sqlx::PgConnection>),
}

/// A write transaction on a held connection; dropped without commit, it rolls back.
enum Tx<'c> {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::Transaction<'c, sqlx::Sqlite>),
    /// With whether its statements may be prepared by name (not behind a transaction-mode
    /// pooler).
    #[cfg(feature = "postgres")]
    Postgres(sqlx::Transaction<'c, sqlx::Postgres>, bool),
}

/// Where a statement runs: a held connection (which notes failures that make it unusable) or a
/// transaction on one.
enum Db<'a, 'p> {
    #[cfg(feature = "sqlite")]
    Sqlite(&'a mut pool::Lease<'p, sqlx::SqliteConnection>),
    #[cfg(feature = "sqlite")]
    SqliteTx(&'a mut sqlx::SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(&'a mut pool::Lease<'p, sqlx::PgConnection>),
    #[cfg(feature = "postgres")]
    PostgresTx(&'a mut sqlx::PgConnection, bool),
}

impl<'p> Conn<'p> {
    fn db(&mut self) -> Db<'_, 'p> {
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(lease) => Db::Sqlite(lease),
            #[cfg(feature = "postgres")]
            Conn::Postgres(lease) => Db::Postgres(lease),
        }
    }

    /// A write transaction: `BEGIN IMMEDIATE` on SQLite, so that concurrent writers queue on
    /// the busy timeout instead of failing when they upgrade a read lock.
    async fn begin_write(&mut self) -> Result<Tx<'_>, sqlx::Error> {
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(lease) => sqlx::Connection::begin_with(&mut **lease, "BEGIN IMMEDIATE")
                .await
                .map(Tx::Sqlite),
            #[cfg(feature = "postgres")]
            Conn::Postgres(lease) => {
                let persistent = !lease.transaction_pooled();
                sqlx::Connection::begin(&mut **lease)
                    .await
                    .map(|tx| Tx::Postgres(tx, persistent))
            }
        }
    }

    /// Notes the outcome of work done in a transaction on this connection (see
    /// [`pool::Lease::note`]).
    fn note<T>(&mut self, result: &Result<T, sqlx::Error>) {
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(lease) => lease.note(result),
            #[cfg(feature = "postgres")]
            Conn::Postgres(lease) => lease.note(result),
        }
    }
}

impl Tx<'_> {
    fn db(&mut self) -> Db<'_, '_> {
        match self {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => Db::SqliteTx(tx),
            #[cfg(feature = "postgres")]
            Tx::Postgres(tx, persistent) => Db::PostgresTx(tx, *persistent),
        }
    }

    async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => tx.commit().await,
            #[cfg(feature = "postgres")]
            Tx::Postgres(tx, _) => tx.commit().await,
        }
    }

    async fn rollback(self) {
        // A failed rollback leaves nothing to undo: the transaction ends with the connection.
        let _ = match self {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => tx.rollback().await,
            #[cfg(feature = "postgres")]
            Tx::Postgres(tx, _) => tx.rollback().await,
        };
    }
}

impl Db<'_, '_> {
    /// Whether statements here run inside a write transaction.
    fn in_transaction(&self) -> bool {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(_) => false,
            #[cfg(feature = "sqlite")]
            Db::SqliteTx(_) => true,
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => false,
            #[cfg(feature = "postgres")]
            Db::PostgresTx(..) => true,
        }
    }

    /// Runs a statement and decodes every row's columns as `types`.
    async fn fetch(
        &mut self,
        statement: Statement,
        types: &[ColumnType],
    ) -> Result<Vec<Vec<Value>>, sqlx::Error> {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(lease) => {
                let result = driver::fetch::<sqlx::Sqlite>(lease, statement, types, true).await;
                lease.note(&result);
                result
            }
            #[cfg(feature = "sqlite")]
            Db::SqliteTx(conn) => driver::fetch::<sqlx::Sqlite>(conn, statement, types, true).await,
            #[cfg(feature = "postgres")]
            Db::Postgres(lease) => {
                postgres::autocommit(lease, async |conn, persistent| {
                    driver::fetch::<sqlx::Postgres>(conn, statement, types, persistent).await
                })
                .await
            }
            #[cfg(feature = "postgres")]
            Db::PostgresTx(conn, persistent) => {
                driver::fetch::<sqlx::Postgres>(conn, statement, types, *persistent).await
            }
        }
    }

    /// Runs a query and decodes its first row, if any (for queries that return at most one:
    /// cheaper than [`fetch`](Self::fetch)). Never for writes: the statement is reset after its
    /// first row, so a failed commit would go unreported.
    async fn fetch_first(
        &mut self,
        statement: Statement,
        types: &[ColumnType],
    ) -> Result<Option<Vec<Value>>, sqlx::Error> {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(lease) => {
                let result =
                    driver::fetch_first::<sqlx::Sqlite>(lease, statement, types, true).await;
                lease.note(&result);
                result
            }
            #[cfg(feature = "sqlite")]
            Db::SqliteTx(conn) => {
                driver::fetch_first::<sqlx::Sqlite>(conn, statement, types, true).await
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(lease) => {
                postgres::autocommit(lease, async |conn, persistent| {
                    driver::fetch_first::<sqlx::Postgres>(conn, statement, types, persistent).await
                })
                .await
            }
            #[cfg(feature = "postgres")]
            Db::PostgresTx(conn, persistent) => {
                driver::fetch_first::<sqlx::Postgres>(conn, statement, types, *persistent).await
            }
        }
    }

    /// Runs one insert (a statement of a batch, or a single row or upsert) with its arguments;
    /// returns the keys, decoded as `key_type`, when it has `RETURNING`.
    async fn insert_batch(
        &mut self,
        sql: Arc<str>,
        args: batch::Arguments,
        key_type: Option<ColumnType>,
    ) -> Result<Vec<Vec<Value>>, sqlx::Error> {
        match (self, args) {
            #[cfg(feature = "sqlite")]
            (Db::Sqlite(lease), batch::Arguments::Sqlite(args)) => {
                let result = driver::insert::<sqlx::Sqlite>(lease, sql, args, key_type, true).await;
                lease.note(&result);
                result
            }
            #[cfg(feature = "sqlite")]
            (Db::SqliteTx(conn), batch::Arguments::Sqlite(args)) => {
                driver::insert::<sqlx::Sqlite>(conn, sql, args, key_type, true).await
            }
            #[cfg(feature = "postgres")]
            (Db::Postgres(lease), batch::Arguments::Postgres(args)) => {
                postgres::autocommit(lease, async |conn, persistent| {
                    driver::insert::<sqlx::Postgres>(conn, sql, args, key_type, persistent).await
                })
                .await
            }
            #[cfg(feature = "postgres")]
            (Db::PostgresTx(conn, persistent), batch::Arguments::Postgres(args)) => {
                driver::insert::<sqlx::Postgres>(conn, sql, args, key_type, *persistent).await
            }
            #[allow(unreachable_patterns)]
            _ => Err(sqlx::Error::Configuration(
                "arguments bound for another backend".into(),
            )),
        }
    }

    /// Writes rows by binary COPY on PostgreSQL (see [`postgres::copy_in`]).
    #[cfg(feature = "postgres")]
    async fn copy_in(
        &mut self,
        sql: &str,
        fill: impl FnMut(&mut Vec<u8>) -> Result<bool, Error>,
    ) -> Result<u64, batch::Failure> {
        match self {
            Db::Postgres(lease) => postgres::copy_in(lease, sql, fill).await,
            Db::PostgresTx(conn, _) => postgres::copy_in(conn, sql, fill).await,
            #[allow(unreachable_patterns)]
            _ => Err(batch::Failure::Database(sqlx::Error::Configuration(
                "COPY is PostgreSQL's only".into(),
            ))),
        }
    }

    /// Runs a statement and returns the number of rows it affected.
    async fn execute(&mut self, statement: Statement) -> Result<u64, sqlx::Error> {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(lease) => {
                let result = driver::execute::<sqlx::Sqlite>(lease, statement, true).await;
                lease.note(&result);
                result
            }
            #[cfg(feature = "sqlite")]
            Db::SqliteTx(conn) => driver::execute::<sqlx::Sqlite>(conn, statement, true).await,
            #[cfg(feature = "postgres")]
            Db::Postgres(lease) => {
                postgres::autocommit(lease, async |conn, persistent| {
                    driver::execute::<sqlx::Postgres>(conn, statement, persistent).await
                })
                .await
            }
            #[cfg(feature = "postgres")]
            Db::PostgresTx(conn, persistent) => {
                driver::execute::<sqlx::Postgres>(conn, statement, *persistent).await
            }
        }
    }

    /// The schema of a table memtable did not create, from the database's own catalog.
    async fn introspect(&mut self, table: &str) -> Result<Option<TableSchema>> {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(lease) => sqlite::introspect(lease, table).await,
            #[cfg(feature = "sqlite")]
            Db::SqliteTx(conn) => sqlite::introspect(conn, table).await,
            #[cfg(feature = "postgres")]
            Db::Postgres(lease) => postgres::introspect_outside_transaction(lease, table).await,
            #[cfg(feature = "postgres")]
            Db::PostgresTx(conn, persistent) => {
                postgres::introspect(conn, table, *persistent).await
            }
        }
    }
}
