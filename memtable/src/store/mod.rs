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

mod catalog;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tracing::Instrument as _;

use crate::error::{Error, IdentifierKind, Result};
use crate::query::QueryOptions;
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
    protected: HashSet<String>,
    /// The schema of every table seen, kept true on create and drop, so that an operation does
    /// not ask the database whether its table exists.
    schemas: RwLock<HashMap<String, Arc<TableSchema>>>,
    catalog: Arc<TableSchema>,
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
}

impl StoreBuilder {
    /// The tables that cannot be created, dropped or written through the table API (reads are
    /// allowed). Replaces the default (`memories`, `sandbox`); the catalog is always protected.
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

    /// Connects, creates the catalog if it is missing, and loads the schemas it holds.
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
                let pool = postgres::connect(url, self.max_connections).await?;
                (Backend::Postgres, Pool::Postgres(pool))
            }
            #[cfg(not(feature = "postgres"))]
            return Err(unsupported_url("postgres"));
        } else {
            return Err(Error::Database(sqlx::Error::Configuration(
                "the database URL must start with sqlite: or postgres://".into(),
            )));
        };
        let mut protected: HashSet<String> = self.protected.into_iter().collect();
        protected.insert(CATALOG_TABLE.to_owned());
        let catalog = Arc::new(catalog::schema());
        let store = Store {
            inner: Arc::new(Inner {
                backend,
                pool,
                protected,
                schemas: RwLock::new(HashMap::new()),
                catalog: catalog.clone(),
            }),
        };
        store.cache(catalog);
        store.bootstrap_catalog().await?;
        Ok(store)
    }
}

#[allow(dead_code)]
fn unsupported_url(feature: &str) -> Error {
    Error::Database(sqlx::Error::Configuration(
        format!("memtable was built without the {feature:?} feature").into(),
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
        }
    }

    /// The backend this store talks to.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Whether the table API refuses to create, drop or write `table`.
    pub fn is_protected(&self, table: &str) -> bool {
        self.inner.protected.contains(table)
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

    /// Creates a table, its indexes and its catalog entry, atomically.
    ///
    /// If the table exists with the same schema this is a no-op; with another schema it is
    /// [`Error::SchemaMismatch`] naming the difference.
    pub async fn create_table(&self, schema: &TableSchema) -> Result<()> {
        self.traced("create_table", &schema.name, async {
            schema.validate()?;
            self.check_writable(&schema.name)?;
            if let Some(existing) = self.cached(&schema.name) {
                return same_schema(&existing, schema).map(|()| 0);
            }
            let statements = self.inner.backend.create_table(schema)?;
            let entry = catalog::entry(schema, None);
            let insert_entry = self.inner.backend.insert(&self.inner.catalog, &entry)?;
            let lookup = self.catalog_lookup(&schema.name)?;
            let mut tx = self.begin_write().await?;
            let existing = self.fetch_catalog_entry(&mut tx.db(), lookup).await?;
            if let Some(existing) = existing {
                tx.rollback().await;
                same_schema(&existing, schema)?;
                self.cache(Arc::new(existing));
                return Ok(0);
            }
            let created = async {
                for statement in statements {
                    tx.db().execute(statement).await?;
                }
                tx.db().execute(insert_entry).await?;
                tx.commit().await
            }
            .await;
            match created {
                Ok(()) => {
                    self.cache(Arc::new(schema.clone()));
                    Ok(1)
                }
                Err(error) => {
                    // Another process may have created it meanwhile: compare with what it made.
                    let lookup = self.catalog_lookup(&schema.name)?;
                    let mut conn = self.acquire().await?;
                    match self.fetch_catalog_entry(&mut conn.db(), lookup).await {
                        Ok(Some(existing)) => {
                            same_schema(&existing, schema)?;
                            self.cache(Arc::new(existing));
                            Ok(0)
                        }
                        _ => Err(self.classify(error, &schema.name, Some(schema))),
                    }
                }
            }
        })
        .await
        .map(drop)
    }

    /// Whether `table` exists (whether or not memtable created it). An invalid name is
    /// [`Error::InvalidIdentifier`], not `false`.
    pub async fn table_exists(&self, table: &str) -> Result<bool> {
        self.traced("table_exists", table, async {
            validate_identifier(IdentifierKind::Table, table)?;
            let statement = self.inner.backend.table_exists(table)?;
            let mut conn = self.acquire().await?;
            let rows = conn
                .db()
                .fetch(statement, &[])
                .await
                .map_err(|e| self.classify(e, table, None))?;
            Ok(u64::from(!rows.is_empty()))
        })
        .await
        .map(|found| found > 0)
    }

    /// Drops a table and its catalog entry, atomically. A protected table is
    /// [`Error::ProtectedTable`]; a missing one [`Error::TableNotFound`].
    pub async fn drop_table(&self, table: &str) -> Result<()> {
        self.traced("drop_table", table, async {
            validate_identifier(IdentifierKind::Table, table)?;
            self.check_writable(table)?;
            let drop = self.inner.backend.drop_table(table)?;
            let remove_entry = self.catalog_remove(table)?;
            let mut tx = self.begin_write().await?;
            let dropped = async {
                tx.db().execute(drop).await?;
                tx.db().execute(remove_entry).await?;
                tx.commit().await
            }
            .await;
            self.forget(table);
            dropped.map_err(|e| self.classify(e, table, None))?;
            Ok(1)
        })
        .await
        .map(drop)
    }

    /// Inserts a record and returns its id: the primary key's value as a string — the one
    /// given, else the database's for an `auto_increment` key, else a new UUID v7 for a text
    /// key.
    pub async fn insert_into_table(&self, table: &str, record: Record) -> Result<String> {
        let mut id = String::new();
        self.traced("insert_into_table", table, async {
            self.check_writable_name(table)?;
            let mut conn = self.acquire().await?;
            let schema = self.schema_for(&mut conn, table).await?;
            let key = schema.require_primary_key()?;
            let mut record = record;
            if key.column_type == ColumnType::Text
                && record.get(&key.name).is_none_or(Value::is_null)
            {
                record.insert(key.name.clone(), uuid::Uuid::now_v7().to_string());
            }
            let statement = self.inner.backend.insert(&schema, &record)?;
            let rows = conn
                .db()
                .fetch(statement, &[key.column_type])
                .await
                .map_err(|e| self.classify(e, table, Some(&schema)))?;
            id = returned_id(&rows, table)?;
            Ok(1)
        })
        .await?;
        Ok(id)
    }

    /// Sets the record's columns on the row whose id is `id`. An unknown id is
    /// [`Error::RecordNotFound`]; an empty record or a value for an `auto_increment` key is
    /// [`Error::InvalidRecord`].
    pub async fn update_table_record(&self, table: &str, id: &str, record: Record) -> Result<()> {
        self.traced("update_table_record", table, async {
            self.check_writable_name(table)?;
            let mut conn = self.acquire().await?;
            let schema = self.schema_for(&mut conn, table).await?;
            let key = schema.require_primary_key()?;
            let id_value = Value::from_id(table, key, id)?;
            let statement = self.inner.backend.update(&schema, &id_value, &record)?;
            let affected = conn
                .db()
                .execute(statement)
                .await
                .map_err(|e| self.classify(e, table, Some(&schema)))?;
            if affected == 0 {
                return Err(record_not_found(table, id));
            }
            Ok(affected)
        })
        .await
        .map(drop)
    }

    /// The rows matching `options`, every column decoded as its declared type.
    pub async fn query_table(&self, table: &str, options: &QueryOptions) -> Result<Vec<Record>> {
        let mut records = Vec::new();
        self.traced("query_table", table, async {
            validate_identifier(IdentifierKind::Table, table)?;
            let mut conn = self.acquire().await?;
            let schema = self.schema_for(&mut conn, table).await?;
            let statement = self.inner.backend.select(&schema, options)?;
            let types: Vec<ColumnType> = schema.columns.iter().map(|c| c.column_type).collect();
            let rows = conn
                .db()
                .fetch(statement, &types)
                .await
                .map_err(|e| self.classify(e, table, Some(&schema)))?;
            records = rows
                .into_iter()
                .map(|row| to_record(&schema, row))
                .collect();
            Ok(records.len() as u64)
        })
        .await?;
        Ok(records)
    }

    /// Deletes the row whose id is `id`; an unknown id is [`Error::RecordNotFound`].
    pub async fn delete_from_table(&self, table: &str, id: &str) -> Result<()> {
        self.traced("delete_from_table", table, async {
            self.check_writable_name(table)?;
            let mut conn = self.acquire().await?;
            let schema = self.schema_for(&mut conn, table).await?;
            let key = schema.require_primary_key()?;
            let id_value = Value::from_id(table, key, id)?;
            let statement = self.inner.backend.delete(&schema, &id_value)?;
            let affected = conn
                .db()
                .execute(statement)
                .await
                .map_err(|e| self.classify(e, table, Some(&schema)))?;
            if affected == 0 {
                return Err(record_not_found(table, id));
            }
            Ok(affected)
        })
        .await
        .map(drop)
    }

    /// The schema of `table`: from the catalog for tables memtable created, else read from the
    /// database's own catalog. A missing table is [`Error::TableNotFound`].
    pub async fn table_schema(&self, table: &str) -> Result<TableSchema> {
        validate_identifier(IdentifierKind::Table, table)?;
        let mut conn = self.acquire().await?;
        Ok(self.schema_for(&mut conn, table).await?.as_ref().clone())
    }

    /// The names of the tables memtable created, in name order (the catalog's content).
    pub async fn list_tables(&self) -> Result<Vec<String>> {
        let entries = self.load_catalog().await?;
        let mut names: Vec<String> = entries.into_iter().map(|schema| schema.name).collect();
        names.sort();
        Ok(names)
    }

    // ---- internals ----

    async fn traced<F>(&self, operation: &'static str, table: &str, work: F) -> Result<u64>
    where
        F: std::future::Future<Output = Result<u64>>,
    {
        let span = tracing::debug_span!(
            "memtable",
            operation,
            table = crate::error::truncate(table),
            rows = tracing::field::Empty,
            duration_us = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = work.instrument(span.clone()).await;
        span.record("duration_us", started.elapsed().as_micros() as u64);
        match &result {
            Ok(rows) => {
                span.record("rows", rows);
                tracing::debug!(parent: &span, "ok");
            }
            Err(error) => tracing::debug!(parent: &span, error = %error, "failed"),
        }
        result
    }

    fn check_writable(&self, table: &str) -> Result<()> {
        if self.is_protected(table) {
            return Err(Error::ProtectedTable {
                table: table.to_owned(),
            });
        }
        Ok(())
    }

    fn check_writable_name(&self, table: &str) -> Result<()> {
        validate_identifier(IdentifierKind::Table, table)?;
        self.check_writable(table)
    }

    fn cached(&self, table: &str) -> Option<Arc<TableSchema>> {
        self.inner
            .schemas
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(table)
            .cloned()
    }

    fn cache(&self, schema: Arc<TableSchema>) {
        self.inner
            .schemas
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(schema.name.clone(), schema);
    }

    fn forget(&self, table: &str) {
        self.inner
            .schemas
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(table);
    }

    async fn acquire(&self) -> Result<Conn> {
        match &self.inner.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => pool.acquire().await.map(Conn::Sqlite),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => pool.acquire().await.map(Conn::Postgres),
        }
        .map_err(Error::Database)
    }

    /// A write transaction: `BEGIN IMMEDIATE` on SQLite, so that concurrent writers queue on
    /// the busy timeout instead of failing when they upgrade a read lock.
    async fn begin_write(&self) -> Result<Tx> {
        match &self.inner.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => pool.begin_with("BEGIN IMMEDIATE").await.map(Tx::Sqlite),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => pool.begin().await.map(Tx::Postgres),
        }
        .map_err(Error::Database)
    }

    /// The schema of `table`, from the cache, else the catalog, else the database's own
    /// catalog (for tables memtable did not create).
    async fn schema_for(&self, conn: &mut Conn, table: &str) -> Result<Arc<TableSchema>> {
        if let Some(schema) = self.cached(table) {
            return Ok(schema);
        }
        validate_identifier(IdentifierKind::Table, table)?;
        let lookup = self.catalog_lookup(table)?;
        if let Some(schema) = self.fetch_catalog_entry(&mut conn.db(), lookup).await? {
            let schema = Arc::new(schema);
            self.cache(schema.clone());
            return Ok(schema);
        }
        match conn.db().introspect(table).await? {
            Some(schema) => {
                schema.validate()?;
                let schema = Arc::new(schema);
                self.cache(schema.clone());
                Ok(schema)
            }
            None => Err(Error::TableNotFound {
                table: table.to_owned(),
            }),
        }
    }

    fn catalog_lookup(&self, table: &str) -> Result<Statement> {
        self.inner
            .backend
            .select(&self.inner.catalog, &catalog::lookup(table))
    }

    fn catalog_remove(&self, table: &str) -> Result<Statement> {
        self.inner
            .backend
            .delete(&self.inner.catalog, &Value::Text(table.to_owned()))
    }

    async fn fetch_catalog_entry(
        &self,
        db: &mut Db<'_>,
        lookup: Statement,
    ) -> Result<Option<TableSchema>> {
        let types = catalog_types(&self.inner.catalog);
        let rows = db
            .fetch(lookup, &types)
            .await
            .map_err(|e| self.classify(e, CATALOG_TABLE, None))?;
        match rows.into_iter().next() {
            Some(row) => Ok(Some(catalog::parse(&to_record(&self.inner.catalog, row))?)),
            None => Ok(None),
        }
    }

    async fn load_catalog(&self) -> Result<Vec<TableSchema>> {
        let statement = self
            .inner
            .backend
            .select(&self.inner.catalog, &QueryOptions::new())?;
        let types = catalog_types(&self.inner.catalog);
        let mut conn = self.acquire().await?;
        let rows = conn
            .db()
            .fetch(statement, &types)
            .await
            .map_err(|e| self.classify(e, CATALOG_TABLE, None))?;
        rows.into_iter()
            .map(|row| catalog::parse(&to_record(&self.inner.catalog, row)))
            .collect()
    }

    /// Creates the catalog if it is missing and fills the schema cache from it.
    async fn bootstrap_catalog(&self) -> Result<()> {
        let statements = self
            .inner
            .backend
            .create_table_if_not_exists(&self.inner.catalog)?;
        let mut attempt = 0;
        loop {
            let created = async {
                let mut tx = self.begin_write().await?;
                for statement in statements.clone() {
                    tx.db().execute(statement).await.map_err(Error::Database)?;
                }
                tx.commit().await.map_err(Error::Database)
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
                Err(error) => return Err(error),
            }
        }
        for schema in self.load_catalog().await? {
            self.cache(Arc::new(schema));
        }
        Ok(())
    }

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
                if matches!(classified, Error::TableNotFound { .. }) {
                    self.forget(table);
                }
                return classified;
            }
        }
        Error::Database(error)
    }
}

fn same_schema(existing: &TableSchema, wanted: &TableSchema) -> Result<()> {
    match existing.difference(wanted) {
        None => Ok(()),
        Some(difference) => Err(Error::SchemaMismatch {
            table: wanted.name.clone(),
            difference,
        }),
    }
}

fn record_not_found(table: &str, id: &str) -> Error {
    Error::RecordNotFound {
        table: table.to_owned(),
        id: crate::error::truncate(id),
    }
}

fn returned_id(rows: &[Vec<Value>], table: &str) -> Result<String> {
    rows.first()
        .and_then(|row| row.first())
        .filter(|value| !value.is_null())
        .map(Value::to_id)
        .ok_or_else(|| Error::invalid_record(table, "the database returned no key for the new row"))
}

fn catalog_types(catalog: &TableSchema) -> Vec<ColumnType> {
    catalog.columns.iter().map(|c| c.column_type).collect()
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
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

/// A connection held for one operation.
enum Conn {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

/// A write transaction; dropped without commit, it rolls back.
enum Tx {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// The connection statements run on, whichever backend and whether or not in a transaction.
enum Db<'a> {
    #[cfg(feature = "sqlite")]
    Sqlite(&'a mut sqlx::SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(&'a mut sqlx::PgConnection),
}

impl Conn {
    fn db(&mut self) -> Db<'_> {
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(conn) => Db::Sqlite(conn),
            #[cfg(feature = "postgres")]
            Conn::Postgres(conn) => Db::Postgres(conn),
        }
    }
}

impl Tx {
    fn db(&mut self) -> Db<'_> {
        match self {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => Db::Sqlite(tx),
            #[cfg(feature = "postgres")]
            Tx::Postgres(tx) => Db::Postgres(tx),
        }
    }

    async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => tx.commit().await,
            #[cfg(feature = "postgres")]
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    async fn rollback(self) {
        // A failed rollback leaves nothing to undo: the connection is discarded by the pool.
        let _ = match self {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => tx.rollback().await,
            #[cfg(feature = "postgres")]
            Tx::Postgres(tx) => tx.rollback().await,
        };
    }
}

impl Db<'_> {
    /// Runs a statement and decodes every row's columns as `types`.
    async fn fetch(
        &mut self,
        statement: Statement,
        types: &[ColumnType],
    ) -> Result<Vec<Vec<Value>>, sqlx::Error> {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(conn) => sqlite::fetch(conn, statement, types).await,
            #[cfg(feature = "postgres")]
            Db::Postgres(conn) => postgres::fetch(conn, statement, types).await,
        }
    }

    /// Runs a statement and returns the number of rows it affected.
    async fn execute(&mut self, statement: Statement) -> Result<u64, sqlx::Error> {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(conn) => sqlite::execute(conn, statement).await,
            #[cfg(feature = "postgres")]
            Db::Postgres(conn) => postgres::execute(conn, statement).await,
        }
    }

    /// The schema of a table memtable did not create, from the database's own catalog.
    async fn introspect(&mut self, table: &str) -> Result<Option<TableSchema>> {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(conn) => sqlite::introspect(conn, table).await,
            #[cfg(feature = "postgres")]
            Db::Postgres(conn) => postgres::introspect(conn, table).await,
        }
    }
}
