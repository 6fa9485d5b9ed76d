//! Table-level operations: create, exists, drop, and what the store knows of a table.

use std::sync::Arc;

use super::cache::Table;
use super::{Store, catalog};
use crate::backend::driver::Rows;
use crate::error::{DatabaseError, Error, IdentifierKind, Result};
use crate::schema::{ColumnType, TableSchema, validate_identifier};
use crate::value::Value;

impl Store {
    /// Creates a table, its indexes and its catalog entry, atomically.
    ///
    /// If the table exists with the same schema this is a no-op; with another schema it is
    /// [`Error::SchemaMismatch`] naming the difference. A protected name is
    /// [`Error::ProtectedTable`].
    pub async fn create_table(&self, schema: &TableSchema) -> Result<()> {
        self.create_table_as(schema, None).await
    }

    /// As [`create_table`](Self::create_table), recording `owner` (a plugin's name) as the
    /// table's owner in the catalog. Creating a table that exists under another owner (or none)
    /// is [`Error::SchemaMismatch`].
    pub async fn create_owned_table(&self, schema: &TableSchema, owner: &str) -> Result<()> {
        self.create_table_as(schema, Some(owner)).await
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
        let wanted = Table::new(schema.clone(), owner.map(str::to_owned));
        let work = async {
            schema.validate_with(&self.inner.limits)?;
            self.check_writable(&schema.name)?;
            if let Some(existing) = self.inner.tables.get(&schema.name) {
                return same_table(&existing, &wanted).map(|()| false);
            }
            self.create_catalog().await?;
            let backend = self.inner.backend;
            let statements = backend.create_table(schema)?;
            let insert_entry =
                backend.insert(&self.inner.catalog, &catalog::entry(schema, owner))?;
            let mut conn = self.acquire().await?;
            conn.begin_write().await?;
            // Read inside the write transaction: another process may have just created it.
            let found = self.catalog_entry(&mut *conn, &schema.name).await;
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
                    self.inner
                        .tables
                        .insert(Table::new(schema.clone(), wanted.owner.clone()));
                    Ok(true)
                }
                Err(error) => {
                    // Another process may have created it meanwhile: compare with what it made.
                    let mut conn = self.acquire().await?;
                    match self.catalog_entry(&mut *conn, &schema.name).await {
                        Ok(Some(existing)) => {
                            same_table(&existing, &wanted)?;
                            self.inner.tables.insert(existing);
                            Ok(false)
                        }
                        _ => Err(match self.classify(error, &schema.name, Some(schema)) {
                            // Table and index names share one namespace per database (or
                            // PostgreSQL schema).
                            Error::Database(error) if is_already_there(&error) => {
                                Error::schema_mismatch(
                                    &schema.name,
                                    vec![format!(
                                        "the database already has a table or index of a name \
                                         this schema uses ({})",
                                        error.message()
                                    )],
                                )
                            }
                            other => other,
                        }),
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
    /// [`Error::InvalidIdentifier`], not `false`.
    pub async fn table_exists(&self, table: &str) -> Result<bool> {
        let work = async {
            validate_identifier(IdentifierKind::Table, table)?;
            let statement = self.inner.backend.table_exists(table)?;
            let mut conn = self.acquire().await?;
            let rows = conn
                .fetch(statement, &[ColumnType::Text], Rows::Bounded)
                .await
                .map_err(|e| self.classify(e, table, None))?;
            // Exactly this name: memtable's names are case-sensitive on every backend.
            Ok(rows
                .iter()
                .any(|row| row.first().and_then(Value::as_str) == Some(table)))
        };
        self.traced("table_exists", table, work, |found| u64::from(*found))
            .await
    }

    /// Drops a table and its catalog entry, atomically. A protected table is
    /// [`Error::ProtectedTable`]; a missing one [`Error::TableNotFound`].
    pub async fn drop_table(&self, table: &str) -> Result<()> {
        let work = async {
            self.check_writable(table)?;
            let drop = self.inner.backend.drop_table(table)?;
            let remove_entry = self
                .inner
                .backend
                .delete(&self.inner.catalog, &Value::Text(table.to_owned()))?;
            let exists = self.inner.backend.table_exists(table)?;
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
                    .any(|row| row.first().and_then(Value::as_str) == Some(table))
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
            self.inner.tables.remove(table);
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
    /// database's own catalog. A missing table is [`Error::TableNotFound`].
    ///
    /// A table memtable did not create whose primary key is not one column (it has none, or a
    /// composite one) has no primary key here: it can be queried and counted, and the
    /// operations that address rows by id (insert, update, delete, upsert) refuse it with
    /// [`Error::InvalidSchema`] ([`SchemaProblem::NoPrimaryKey`](crate::SchemaProblem)).
    pub async fn table_schema(&self, table: &str) -> Result<TableSchema> {
        Ok(self.known_table(table).await?.schema.clone())
    }

    /// The owner recorded for `table` ([`create_owned_table`](Self::create_owned_table)), or
    /// `None` for a table created without one or not created by memtable.
    pub async fn table_owner(&self, table: &str) -> Result<Option<String>> {
        Ok(self.known_table(table).await?.owner.clone())
    }

    /// The table `name` as the store knows it: from the cache without a connection, else
    /// looked up as [`table_schema`](Self::table_schema) says.
    pub(crate) async fn known_table(&self, name: &str) -> Result<Arc<Table>> {
        if let Some(table) = self.inner.tables.get(name) {
            return Ok(table);
        }
        let mut conn = self.acquire().await?;
        self.table(&mut *conn, name).await
    }

    /// The names of the tables memtable created (the catalog's content), in name order.
    pub async fn list_tables(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .load_catalog()
            .await?
            .into_iter()
            .map(|table| table.schema.name)
            .collect();
        names.sort();
        Ok(names)
    }

    /// The names of the tables created by `owner`, in name order.
    pub async fn list_owned_tables(&self, owner: &str) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .load_catalog()
            .await?
            .into_iter()
            .filter(|table| table.owner.as_deref() == Some(owner))
            .map(|table| table.schema.name)
            .collect();
        names.sort();
        Ok(names)
    }
}

fn same_table(existing: &Table, wanted: &Table) -> Result<()> {
    let differences = existing.schema.differences(&wanted.schema);
    if !differences.is_empty() {
        return Err(Error::schema_mismatch(&wanted.schema.name, differences));
    }
    same_owner(existing, wanted.owner.as_deref())
}

/// A table another owner (or none) holds is not this owner's to change.
pub(super) fn same_owner(existing: &Table, owner: Option<&str>) -> Result<()> {
    if existing.owner.as_deref() != owner {
        return Err(Error::schema_mismatch(
            &existing.schema.name,
            vec!["the table exists under another owner".into()],
        ));
    }
    Ok(())
}

/// "table … already exists" (SQLite's message, PostgreSQL's 42P07).
fn is_already_there(error: &DatabaseError) -> bool {
    error.code() == Some("42P07") || error.message().contains("already exists")
}
