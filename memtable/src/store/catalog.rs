//! The catalog: one row per table memtable created, holding its logical schema, so that a new
//! process decodes json, boolean, blob and bigint columns exactly as the one that created them.
//!
//! A row is `(table_name, schema, owner, created_at)`: `table_name` is the table's physical
//! name (the catalog's key, as the database's names are unique), `schema` its schema as its
//! owner declared it, whose `name` is the one it is addressed by. The two are the same for a
//! table living under its own name (every table before namespaces, and the host's); for a table
//! in a plugin's namespace, `table_name` is the physical name [`namespace`](super::namespace)
//! makes of `(owner, name)`. Rows written before namespaces existed are read unchanged: the
//! layout is the same, and a table whose schema's name is its `table_name` is addressed by it.

use std::time::{SystemTime, UNIX_EPOCH};

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::cache::ReadColumns;
use super::cache::Table;
use super::{Store, namespace};
use crate::backend::driver::{Connection, Rows};
use crate::error::{Error, Result, SchemaProblem};
use crate::query::{Filter, QueryOptions};
use crate::schema::{CATALOG_TABLE, Column, ColumnType, Constraint, TableSchema};
use crate::value::{Record, Value};

pub(crate) const TABLE_NAME: &str = "table_name";
pub(crate) const SCHEMA: &str = "schema";
pub(crate) const OWNER: &str = "owner";
pub(crate) const CREATED_AT: &str = "created_at";

/// The catalog's own schema.
pub(crate) fn schema() -> TableSchema {
    TableSchema::new(
        CATALOG_TABLE,
        vec![
            Column::new(TABLE_NAME, ColumnType::Text).with(Constraint::PrimaryKey),
            Column::new(SCHEMA, ColumnType::Text).with(Constraint::NotNull),
            Column::new(OWNER, ColumnType::Text),
            Column::new(CREATED_AT, ColumnType::Bigint).with(Constraint::NotNull),
        ],
    )
}

/// The catalog row for a newly created table: under its physical name, with the schema its
/// owner declared.
pub(crate) fn entry(table: &Table) -> Record {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Record::new()
        .with(TABLE_NAME, table.schema.name.as_str())
        .with(SCHEMA, table.logical().to_json().to_string())
        .with(OWNER, table.owner.clone())
        .with(CREATED_AT, now)
}

/// The change to a table's entry that records its new schema (its owner and creation time
/// stay).
pub(crate) fn schema_update(table: &TableSchema) -> Record {
    Record::new().with(SCHEMA, table.to_json().to_string())
}

/// The query for the entry of the table `name` of `scope`: the host's lives under its own
/// name; a plugin's is one it owns, under its own name (created before namespaces) or under
/// the physical name of its namespace.
pub(crate) fn lookup(scope: Option<&str>, name: &str) -> QueryOptions {
    let filter = match scope {
        None => Filter::eq(TABLE_NAME, name),
        Some(plugin) => Filter::eq(OWNER, plugin).and(Filter::is_in(
            TABLE_NAME,
            [name.to_owned(), namespace::physical_table(plugin, name)],
        )),
    };
    QueryOptions::new().filter(filter)
}

/// Reads the table held in a catalog row.
pub(crate) fn parse(record: &Record) -> Result<Table> {
    let physical = record
        .get(TABLE_NAME)
        .and_then(Value::as_str)
        .unwrap_or_default();
    let text = record.get(SCHEMA).and_then(Value::as_str).ok_or_else(|| {
        Error::invalid_schema(
            physical,
            SchemaProblem::Malformed("catalog entry has no schema".into()),
        )
    })?;
    let logical = TableSchema::from_json_str(text)?;
    let owner = record.get(OWNER).and_then(Value::as_str).map(str::to_owned);
    match owner {
        Some(owner) if logical.name != physical => {
            let mut schema = namespace::physical_schema(&owner, &logical);
            // The row says where the table is, whatever the scheme makes of its names today.
            physical.clone_into(&mut schema.name);
            Ok(Table::namespaced(schema, logical, owner))
        }
        owner => Ok(Table::new(logical, owner)),
    }
}

impl Store {
    /// The catalog's entry for the table `name` of `scope` (`None`: the host's), if memtable
    /// created that table.
    ///
    /// Boxed: reading the catalog is the rare path of a table lookup, and inline its future
    /// would make the future of every operation that looks a table up (copied whole at each
    /// await) kilobytes larger (BENCHMARKS.md, the PostgreSQL point select).
    pub(super) async fn catalog_entry(
        &self,
        db: &mut dyn Connection,
        scope: Option<&str>,
        name: &str,
    ) -> Result<Option<Table>> {
        Box::pin(self.read_catalog_entry(db, scope, name)).await
    }

    async fn read_catalog_entry(
        &self,
        db: &mut dyn Connection,
        scope: Option<&str>,
        name: &str,
    ) -> Result<Option<Table>> {
        let catalog = &self.inner.catalog;
        let lookup = self
            .inner
            .backend
            .render_select(catalog, lookup(scope, name))?;
        // Without a catalog (none created yet, or one this role may not read), every table is
        // read as the database declares it.
        if !self.inner.catalog_exists.load(Ordering::Relaxed) && !db.in_transaction() {
            return Ok(None);
        }
        let columns = ReadColumns::of(catalog);
        let rows = match db.fetch(lookup, &columns.types, Rows::Bounded).await {
            Ok(rows) => rows,
            Err(error) => {
                return match self.classify(error, CATALOG_TABLE, None) {
                    Error::TableNotFound { .. } | Error::PermissionDenied { .. } => Ok(None),
                    other => Err(other),
                };
            }
        };
        let mut found = None;
        for row in rows {
            let table = parse(&columns.record(row))?;
            let addressed = table.logical().name == name
                && (scope.is_none() || table.owner.as_deref() == scope);
            // Were there both, the one under its own name was there first.
            if addressed && (found.is_none() || table.is_unscoped()) {
                found = Some(table);
            }
        }
        Ok(found)
    }

    /// Every table the catalog lists: none when there is no catalog, or when this role may not
    /// read it.
    pub(super) async fn load_catalog(&self) -> Result<Vec<Table>> {
        let catalog = &self.inner.catalog;
        let statement = self
            .inner
            .backend
            .select(catalog, &crate::query::QueryOptions::new())?;
        let mut conn = self.acquire().await?;
        let columns = ReadColumns::of(catalog);
        let rows = match conn.fetch(statement, &columns.types, Rows::Unbounded).await {
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
            .map(|row| parse(&columns.record(row)))
            .collect()
    }

    /// Fills the cache from the catalog, if there is one this role may read.
    pub(super) async fn load_catalog_into_cache(&self) -> Result<()> {
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
}
