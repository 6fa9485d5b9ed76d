//! Schema evolution: bringing a table up to a newer schema of it, additively, in one
//! transaction with its catalog entry.

use super::cache::Table;
use super::tables::same_owner;
use super::{Store, catalog, namespace};
use crate::backend::driver::Connection;
use crate::error::{Error, Result};
use crate::schema::TableSchema;
use crate::value::Value;

/// What [`Store::sync_table`] did to the table.
///
/// ```
/// use memtable::{Store, SyncReport, TableSchema};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = Store::connect("sqlite::memory:").await?;
/// let v1 = TableSchema::from_json_str(r#"{"name": "notes", "columns": [
///     {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
///     {"name": "body", "type": "text"}]}"#)?;
/// let report: SyncReport = store.sync_table(&v1).await?;
/// assert!(report.created);
/// let v2 = TableSchema::from_json_str(r#"{"name": "notes", "columns": [
///     {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
///     {"name": "body", "type": "text"},
///     {"name": "pinned", "type": "boolean", "constraints": ["not_null"], "default": false}],
///     "indexes": [{"name": "idx_notes_pinned", "columns": ["pinned"]}]}"#)?;
/// let report = store.sync_table(&v2).await?;
/// assert!(!report.created);
/// assert_eq!(report.added_columns, ["pinned"]);
/// assert_eq!(report.added_indexes, ["idx_notes_pinned"]);
/// assert!(store.sync_table(&v2).await?.is_unchanged());
/// # Ok::<(), memtable::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncReport {
    /// The table did not exist: it was created with the schema.
    pub created: bool,
    /// The columns added to the existing table, in the schema's order.
    pub added_columns: Vec<String>,
    /// The indexes added to the existing table, in the schema's order.
    pub added_indexes: Vec<String>,
}

impl SyncReport {
    /// Whether the sync changed nothing (the table already had the schema).
    pub fn is_unchanged(&self) -> bool {
        !self.created && self.added_columns.is_empty() && self.added_indexes.is_empty()
    }
}

/// What one attempt at a sync came to.
enum Attempt {
    Done(SyncReport),
    /// The table is not in the catalog: create it.
    Missing,
}

impl Store {
    /// Creates the table of `schema`, or brings the existing table up to it by adding what it
    /// lacks, in one transaction with the table's catalog entry.
    ///
    /// What can be added: new columns that are nullable, or `not_null` with a default (the
    /// rows already there get the default), anywhere in the column list; new indexes (a new
    /// unique index that the rows already there violate is [`Error::ConstraintViolation`],
    /// and nothing changes). Anything else — a dropped or renamed column, a changed type, a
    /// constraint added to or removed from an existing column, a changed default, a changed
    /// or dropped index, another primary key, the existing columns in another order — is
    /// [`Error::SchemaMismatch`] listing every difference in `differences`, and nothing
    /// changes. A table owned by a plugin ([`create_owned_table`](Self::create_owned_table))
    /// is refused the same way.
    ///
    /// A schema the store already knows costs nothing: no statement, no round trip. Several
    /// processes syncing the same schema at once all succeed, and the change is made once:
    /// the sync holds the table's schema lock (on SQLite the write transaction, on PostgreSQL
    /// an advisory lock) while it reads the catalog and changes the table. Another store
    /// whose cache still holds the older schema picks the new one up the first time an
    /// operation names a column it lacks.
    pub async fn sync_table(&self, schema: &TableSchema) -> Result<SyncReport> {
        self.sync_table_as(schema, None).await
    }

    /// As [`sync_table`](Self::sync_table) for a table owned by `owner` under its own name
    /// (created with [`create_owned_table`](Self::create_owned_table), or by this call): a
    /// table without an owner, or another one, is refused with [`Error::SchemaMismatch`]. On a
    /// [`scoped`](Self::scoped) store, `owner` must be its plugin (it is then
    /// [`sync_table`](Self::sync_table)), else [`Error::PermissionDenied`].
    pub async fn sync_owned_table(&self, schema: &TableSchema, owner: &str) -> Result<SyncReport> {
        namespace::validate_plugin(owner)?;
        match self.plugin() {
            None => self.sync_table_as(schema, Some(owner)).await,
            Some(plugin) if plugin == owner => self.sync_table(schema).await,
            Some(_) => Err(Error::PermissionDenied {
                table: Some(schema.name.clone()),
                operation: "sync_owned_table".into(),
                message: "a plugin's store syncs tables in its own namespace only".into(),
                code: None,
            }),
        }
    }

    async fn sync_table_as(&self, schema: &TableSchema, owner: Option<&str>) -> Result<SyncReport> {
        let work = || async {
            schema.validate_with(&self.inner.limits)?;
            self.check_writable(&schema.name)?;
            // The common case, at every start of a plugin: nothing to do, nothing to ask.
            if let Some(known) = self.cached(&schema.name)
                && known.created
                && known.owner.as_deref() == self.plugin().or(owner)
                && known.logical().differences(schema).is_empty()
            {
                return Ok(SyncReport::default());
            }
            self.create_catalog().await?;
            // A second attempt only when another process created the table between this
            // one's read of the catalog and its own create.
            let mut attempts = 0;
            loop {
                attempts += 1;
                if let Attempt::Done(report) = self.sync_attempt(schema, owner).await? {
                    return Ok(report);
                }
                match self.create_table_reporting(schema, owner).await {
                    Ok(created) => {
                        return Ok(SyncReport {
                            created,
                            ..SyncReport::default()
                        });
                    }
                    Err(Error::SchemaMismatch { .. }) if attempts < 2 => {}
                    Err(error) => return Err(error),
                }
            }
        };
        self.traced("sync_table", &schema.name, work, |report| {
            (report.added_columns.len() + report.added_indexes.len()) as u64
        })
        .await
    }

    /// Reads the table's catalog entry under the schema lock and adds what it lacks, in one
    /// transaction; [`Attempt::Missing`] when the catalog has no such table.
    async fn sync_attempt(&self, schema: &TableSchema, owner: Option<&str>) -> Result<Attempt> {
        let name = &schema.name;
        let mut conn = self.acquire().await?;
        conn.begin_write().await?;
        let result = self.sync_locked(&mut *conn, schema, owner).await;
        match result {
            Ok(Some((table, report))) => {
                if let Err(error) = conn.commit().await {
                    conn.rollback().await;
                    return Err(self.classify(error, name, Some(schema)));
                }
                self.inner.tables.insert(table);
                Ok(Attempt::Done(report))
            }
            Ok(None) => {
                conn.rollback().await;
                Ok(Attempt::Missing)
            }
            Err(error) => {
                conn.rollback().await;
                Err(self.classify(error, name, Some(schema)))
            }
        }
    }

    /// Inside the write transaction: the lock, the catalog entry read anew, and the changes.
    /// `None` when the table is not in the catalog.
    async fn sync_locked(
        &self,
        conn: &mut dyn Connection,
        schema: &TableSchema,
        owner: Option<&str>,
    ) -> Result<Option<(Table, SyncReport)>> {
        let backend = self.inner.backend;
        let planned = self.planned(schema, owner);
        if let Some(lock) = backend.schema_lock(&planned.schema.name) {
            conn.execute(lock).await?;
        }
        let Some(existing) = self.existing_entry(conn, &planned).await? else {
            return Ok(None);
        };
        same_owner(&existing, planned.owner.as_deref())?;
        // What the owner declared is compared; what is rendered carries the table's physical
        // names (a table in a namespace, or one owned under its own name).
        let (target, synced) = match (&existing.owner, existing.is_unscoped()) {
            (Some(plugin), false) => {
                let mut physical = namespace::physical_schema(plugin, schema);
                physical.name.clone_from(&existing.schema.name);
                let table = Table::namespaced(physical.clone(), schema.clone(), plugin.clone());
                (physical, table)
            }
            (owner, _) => (schema.clone(), Table::new(schema.clone(), owner.clone())),
        };
        existing
            .logical()
            .additions(schema)
            .map_err(|differences| Error::schema_mismatch(&schema.name, differences))?;
        let additions = existing
            .schema
            .additions(&target)
            .map_err(|differences| Error::schema_mismatch(&schema.name, differences))?;
        if additions.is_empty() {
            // Another process made these changes first, or this store's cache was stale.
            return Ok(Some((existing, SyncReport::default())));
        }
        for statement in backend.add_to_table(&target, &additions) {
            conn.execute(statement).await?;
        }
        let key = Value::Text(existing.schema.name.clone());
        let update = backend.update(&self.inner.catalog, &key, &catalog::schema_update(schema))?;
        conn.execute(update).await?;
        let logical_index = |physical: &str| {
            target
                .indexes
                .iter()
                .zip(&schema.indexes)
                .find(|(p, _)| p.name == physical)
                .map_or_else(|| physical.to_owned(), |(_, l)| l.name.clone())
        };
        let report = SyncReport {
            created: false,
            added_columns: additions.columns.iter().map(|c| c.name.clone()).collect(),
            added_indexes: additions
                .indexes
                .iter()
                .map(|i| logical_index(&i.name))
                .collect(),
        };
        Ok(Some((synced, report)))
    }

    /// The table `name` with a schema that has every column `known` asks for: from the cache
    /// when it does; else, for a table memtable created, its catalog entry read once more (a
    /// store whose cache is older than another process's sync), so that the operation is
    /// refused with [`Error::UnknownColumn`] only when the catalog lacks the column too.
    pub(super) async fn table_knowing(
        &self,
        db: &mut dyn Connection,
        name: &str,
        known: impl Fn(&TableSchema) -> bool,
    ) -> Result<std::sync::Arc<Table>> {
        let table = self.table(db, name).await?;
        if known(&table.schema) || !table.created {
            return Ok(table);
        }
        self.refreshed(db, table).await
    }

    /// `table` as the catalog now holds it, cached, if its schema changed there.
    pub(super) async fn refreshed(
        &self,
        db: &mut dyn Connection,
        table: std::sync::Arc<Table>,
    ) -> Result<std::sync::Arc<Table>> {
        let scope = table
            .owner
            .as_deref()
            .filter(|_| !table.is_unscoped())
            .or(self.plugin());
        match self.catalog_entry(db, scope, &table.logical().name).await? {
            Some(fresh) if fresh.schema != table.schema => Ok(self.inner.tables.insert(fresh)),
            _ => Ok(table),
        }
    }

    /// As [`known_table`](Self::known_table), re-reading the catalog entry of a table
    /// memtable created when its cached schema lacks a column `known` asks for.
    pub(crate) async fn known_table_knowing(
        &self,
        name: &str,
        known: impl Fn(&TableSchema) -> bool,
    ) -> Result<std::sync::Arc<Table>> {
        if let Some(table) = self.cached(name)
            && (known(&table.schema) || !table.created)
        {
            return Ok(table);
        }
        let found = async {
            let mut conn = self.acquire().await?;
            self.table_knowing(&mut *conn, name, known).await
        }
        .await;
        found.map_err(|error| self.in_scope(error, name))
    }
}
