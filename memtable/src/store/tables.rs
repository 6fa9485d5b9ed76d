//! Table-level operations: create, exists, drop, and what the store knows of a table.

use std::sync::Arc;

use super::cache::Table;
use super::{Store, Via, catalog, namespace};
use crate::backend::driver::{Connection, Rows};
use crate::error::{DatabaseError, Error, IdentifierKind, Result};
use crate::schema::{ColumnType, TableSchema};
use crate::value::Value;

impl Store {
    /// Creates a table, its indexes and its catalog entry, atomically.
    ///
    /// If the table exists with the same schema this is a no-op; with another schema it is
    /// [`Error::SchemaMismatch`] naming the difference. A protected name is
    /// [`Error::ProtectedTable`]. On a [`scoped`](Self::scoped) store the table is the
    /// plugin's, in its namespace: another plugin's table of the same name (or the host's) is
    /// no obstacle, and is not mentioned.
    pub async fn create_table(&self, schema: &TableSchema) -> Result<()> {
        self.create_table_as(schema, None).await
    }

    /// As [`create_table`](Self::create_table), recording `owner` (a plugin's name, an
    /// identifier as for [`scoped`](Self::scoped)) as the table's owner in the catalog. The
    /// table keeps its own name in the database, so that the host's store addresses it by that
    /// name as well as the owner's scoped store does (the form tables had before namespaces);
    /// a table created through `store.scoped(owner)` lives in the plugin's namespace instead.
    ///
    /// Creating a table that exists under another owner (or none) is
    /// [`Error::SchemaMismatch`]; one the plugin already has with this schema is a no-op. On a
    /// scoped store, `owner` must be its plugin (it is then [`create_table`](Self::create_table)),
    /// else [`Error::PermissionDenied`].
    pub async fn create_owned_table(&self, schema: &TableSchema, owner: &str) -> Result<()> {
        super::namespace::validate_plugin(owner)?;
        match self.plugin() {
            None => self.create_table_as(schema, Some(owner)).await,
            Some(plugin) if plugin == owner => self.create_table(schema).await,
            Some(_) => Err(Error::PermissionDenied {
                table: Some(schema.name.clone()),
                operation: "create_owned_table".into(),
                message: "a plugin's store creates tables in its own namespace only".into(),
                code: None,
            }),
        }
    }

    /// The table `schema` describes as this store would create it: in the scope's namespace,
    /// else under its own name (owned by `owner`, if given).
    pub(super) fn planned(&self, schema: &TableSchema, owner: Option<&str>) -> Table {
        match self.plugin() {
            Some(plugin) => Table::namespaced(
                namespace::physical_schema(plugin, schema),
                schema.clone(),
                plugin.to_owned(),
            ),
            None => Table::new(schema.clone(), owner.map(str::to_owned)),
        }
    }

    /// The entry of an existing table that creating `wanted` would collide with: the scope's
    /// table of that name, or for a table owned from the host, also the owner's.
    pub(super) async fn existing_entry(
        &self,
        db: &mut dyn Connection,
        wanted: &Table,
    ) -> Result<Option<Table>> {
        let name = &wanted.logical().name;
        if let Some(found) = self.catalog_entry(db, self.plugin(), name).await? {
            return Ok(Some(found));
        }
        match (self.plugin(), wanted.owner.as_deref()) {
            (None, Some(owner)) => self.catalog_entry(db, Some(owner), name).await,
            _ => Ok(None),
        }
    }

    async fn create_table_as(&self, schema: &TableSchema, owner: Option<&str>) -> Result<()> {
        self.create_table_reporting(schema, owner).await.map(drop)
    }

    /// As [`create_table_as`](Self::create_table_as); `Ok(true)` when this call created the
    /// table, `Ok(false)` when it was already there with this schema.
    pub(super) async fn create_table_reporting(
        &self,
        schema: &TableSchema,
        owner: Option<&str>,
    ) -> Result<bool> {
        let work = || async {
            schema.validate_with(&self.inner.limits)?;
            self.check_writable(&schema.name)?;
            for index in &schema.indexes {
                namespace::validate_name(IdentifierKind::Index, &index.name)?;
            }
            let wanted = self.planned(schema, owner);
            if let Some(existing) = self.cached(&schema.name) {
                return same_table(&existing, &wanted).map(|()| false);
            }
            self.create_catalog().await?;
            let backend = self.inner.backend;
            let statements = backend.create_table(&wanted.schema)?;
            let insert_entry = backend.insert(&self.inner.catalog, &catalog::entry(&wanted))?;
            let mut conn = self.acquire().await?;
            conn.begin_write().await?;
            // Read inside the write transaction: another process may have just created it.
            let found = self.existing_entry(&mut *conn, &wanted).await;
            if !matches!(found, Ok(None)) {
                conn.rollback().await;
            }
            if let Some(existing) = found? {
                same_table(&existing, &wanted)?;
                self.inner.tables.insert(existing);
                return Ok(false);
            }
            let created = async {
                for statement in statements {
                    conn.execute(statement).await?;
                }
                conn.execute(insert_entry).await?;
                conn.commit().await
            }
            .await;
            if created.is_err() {
                conn.rollback().await;
            }
            drop(conn);
            match created {
                Ok(()) => {
                    self.inner.tables.insert(wanted);
                    Ok(true)
                }
                Err(error) => {
                    // Another process may have created it meanwhile: compare with what it made.
                    let mut conn = self.acquire().await?;
                    match self.existing_entry(&mut *conn, &wanted).await {
                        Ok(Some(existing)) => {
                            same_table(&existing, &wanted)?;
                            self.inner.tables.insert(existing);
                            Ok(false)
                        }
                        _ => Err(
                            match self.classify(error, &wanted.schema.name, Some(&wanted.schema)) {
                                // Table and index names share one namespace per database (or
                                // PostgreSQL schema).
                                Error::Database(error) if is_already_there(&error) => {
                                    Error::schema_mismatch(
                                        &schema.name,
                                        vec![format!(
                                            "the database already has a table or index of a \
                                             name this schema uses ({})",
                                            error.message()
                                        )],
                                    )
                                }
                                other => other,
                            },
                        ),
                    }
                }
            }
        };
        self.traced("create_table", &schema.name, work, |created| {
            u64::from(*created)
        })
        .await
    }

    /// Whether `table` exists (whether or not memtable created it). An invalid name is
    /// [`Error::InvalidIdentifier`], not `false`. On a [`scoped`](Self::scoped) store: whether
    /// the plugin has a table of that name.
    pub async fn table_exists(&self, table: &str) -> Result<bool> {
        let work = || async {
            namespace::validate_name(IdentifierKind::Table, table)?;
            let physical = match self.plugin() {
                None => table.to_owned(),
                Some(_) => match self.known_table(table).await {
                    Ok(info) => info.schema.name.clone(),
                    Err(Error::TableNotFound { .. }) => return Ok(false),
                    Err(error) => return Err(error),
                },
            };
            let statement = self.inner.backend.table_exists(&physical)?;
            let mut conn = self.acquire().await?;
            let rows = conn
                .fetch(statement, &[ColumnType::Text], Rows::Bounded)
                .await
                .map_err(|e| self.classify(e, table, None))?;
            // Exactly this name: memtable's names are case-sensitive on every backend.
            Ok(rows
                .iter()
                .any(|row| row.first().and_then(Value::as_str) == Some(physical.as_str())))
        };
        self.traced("table_exists", table, work, |found| u64::from(*found))
            .await
    }

    /// Drops a table and its catalog entry, atomically. A protected table is
    /// [`Error::ProtectedTable`]; a missing one [`Error::TableNotFound`]. On a
    /// [`scoped`](Self::scoped) store, only the plugin's own tables can be dropped.
    pub async fn drop_table(&self, table: &str) -> Result<()> {
        let work = || async {
            self.check_writable(table)?;
            let physical = match self.plugin() {
                None => table.to_owned(),
                Some(_) => self.known_table(table).await?.schema.name.clone(),
            };
            let drop = self.inner.backend.drop_table(&physical)?;
            let remove_entry = self
                .inner
                .backend
                .delete(&self.inner.catalog, &Value::Text(physical.clone()))?;
            let exists = self.inner.backend.table_exists(&physical)?;
            // Its entry, if any, goes with it.
            self.create_catalog().await?;
            let mut conn = self.acquire().await?;
            let dropped = async {
                conn.begin_write().await?;
                // SQLite matches table names regardless of case: `DROP TABLE "Notes"` would
                // drop `notes` and leave its catalog entry behind. Drop exactly this name.
                let found = conn
                    .fetch(exists, &[ColumnType::Text], Rows::Bounded)
                    .await?;
                if !found
                    .iter()
                    .any(|row| row.first().and_then(Value::as_str) == Some(physical.as_str()))
                {
                    conn.rollback().await;
                    return Ok(false);
                }
                conn.execute(drop).await?;
                conn.execute(remove_entry).await?;
                conn.commit().await.map(|()| true)
            }
            .await;
            if dropped.is_err() {
                conn.rollback().await;
            }
            self.inner.tables.remove(&physical);
            match dropped {
                Ok(true) => Ok(()),
                Ok(false) => Err(Error::TableNotFound {
                    table: table.to_owned(),
                }),
                Err(error) => Err(self.classify(error, table, None)),
            }
        };
        self.traced("drop_table", table, work, |()| 1).await
    }

    /// The schema of `table`: from the catalog for tables memtable created, else read from the
    /// database's own catalog. A missing table is [`Error::TableNotFound`]. On a
    /// [`scoped`](Self::scoped) store, the plugin's table, with the names the plugin gave.
    ///
    /// A table memtable did not create whose primary key is not one column (it has none, or a
    /// composite one) has no primary key here: it can be queried and counted, and the
    /// operations that address rows by id (insert, update, delete, upsert) refuse it with
    /// [`Error::InvalidSchema`] ([`SchemaProblem::NoPrimaryKey`](crate::SchemaProblem)).
    pub async fn table_schema(&self, table: &str) -> Result<TableSchema> {
        Ok(self.known_table(table).await?.logical().clone())
    }

    /// The owner recorded for `table` ([`create_owned_table`](Self::create_owned_table), or
    /// the plugin of the [`scoped`](Self::scoped) store that created it), or `None` for a table
    /// created without one or not created by memtable.
    pub async fn table_owner(&self, table: &str) -> Result<Option<String>> {
        Ok(self.known_table(table).await?.owner.clone())
    }

    /// The table `name` as the store knows it: from the cache without a connection, else
    /// looked up as [`table_schema`](Self::table_schema) says.
    pub(crate) async fn known_table(&self, name: &str) -> Result<Arc<Table>> {
        self.known_table_via(Via::Pool, name).await
    }

    /// As [`known_table`](Self::known_table), a lookup running on the connection `via` says.
    pub(crate) async fn known_table_via<'a>(
        &'a self,
        via: Via<'a>,
        name: &str,
    ) -> Result<Arc<Table>> {
        if let Some(table) = self.cached(name) {
            return Ok(table);
        }
        let found = async {
            let mut conn = self.lease(via).await?;
            self.table(&mut *conn, name).await
        }
        .await;
        found.map_err(|error| self.in_scope(error, name))
    }

    /// The tables memtable created (the catalog's content) that this store can see, in name
    /// order (then owner, the host's first): on the host's store every table, each with its
    /// owner; on a [`scoped`](Self::scoped) store the plugin's own, by the names it gave.
    ///
    /// A [`TableInfo`] compares equal to its name, so that a list can be checked against names.
    pub async fn list_tables(&self) -> Result<Vec<TableInfo>> {
        let mut tables: Vec<TableInfo> = self
            .load_catalog()
            .await?
            .into_iter()
            .filter(|table| self.plugin().is_none() || table.owner.as_deref() == self.plugin())
            .map(|table| TableInfo::of(&table))
            .collect();
        tables.sort_by(|a, b| (&a.name, &a.owner).cmp(&(&b.name, &b.owner)));
        Ok(tables)
    }

    /// The names of the tables `owner`'s [`scoped`](Self::scoped) store sees, in name order.
    /// On a scoped store, only its own plugin's (another's list is empty).
    pub async fn list_owned_tables(&self, owner: &str) -> Result<Vec<String>> {
        super::namespace::validate_plugin(owner)?;
        if self.plugin().is_some_and(|plugin| plugin != owner) {
            return Ok(Vec::new());
        }
        let mut names: Vec<String> = self
            .load_catalog()
            .await?
            .into_iter()
            .filter(|table| table.owner.as_deref() == Some(owner))
            .map(|table| table.logical().name.clone())
            .collect();
        names.sort();
        Ok(names)
    }
}

/// A table as [`Store::list_tables`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableInfo {
    /// The name its owner addresses it by (on a scoped store, the name the plugin gave).
    pub name: String,
    /// The plugin that owns it, or `None` for the host's.
    pub owner: Option<String>,
    /// How many columns it has.
    pub columns: usize,
    /// Whether it lives in its owner's namespace ([`Store::scoped`]): the host's store lists it
    /// but does not address it by name; `store.scoped(owner)` does.
    pub namespaced: bool,
}

impl TableInfo {
    fn of(table: &Table) -> TableInfo {
        let schema = table.logical();
        TableInfo {
            name: schema.name.clone(),
            owner: table.owner.clone(),
            columns: schema.columns.len(),
            namespaced: !table.is_unscoped(),
        }
    }
}

impl PartialEq<str> for TableInfo {
    fn eq(&self, name: &str) -> bool {
        self.name == name
    }
}

impl PartialEq<&str> for TableInfo {
    fn eq(&self, name: &&str) -> bool {
        self.name == *name
    }
}

impl PartialEq<String> for TableInfo {
    fn eq(&self, name: &String) -> bool {
        self.name == *name
    }
}

fn same_table(existing: &Table, wanted: &Table) -> Result<()> {
    let differences = existing.logical().differences(wanted.logical());
    if !differences.is_empty() {
        return Err(Error::schema_mismatch(&wanted.logical().name, differences));
    }
    same_owner(existing, wanted.owner.as_deref())
}

/// A table another owner (or none) holds is not this owner's to change.
pub(super) fn same_owner(existing: &Table, owner: Option<&str>) -> Result<()> {
    if existing.owner.as_deref() != owner {
        return Err(Error::schema_mismatch(
            &existing.logical().name,
            vec!["the table exists under another owner".into()],
        ));
    }
    Ok(())
}

/// "table … already exists" (SQLite's message, PostgreSQL's 42P07).
fn is_already_there(error: &DatabaseError) -> bool {
    error.code() == Some("42P07") || error.message().contains("already exists")
}
