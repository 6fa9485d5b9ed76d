//! Row-level operations: insert (one, many, upsert), update, query, count, delete.

use super::cache::Table;
use super::{Store, column_types, to_record};
use crate::error::{Error, Result};
use crate::query::{Filter, QueryOptions};
use crate::schema::{Column, ColumnType};
use crate::value::{Record, Value};

impl Store {
    /// Inserts a record and returns its id: the primary key's value as a string — the one
    /// given, else the database's for an `auto_increment` key, else a new UUID v7 for a text
    /// key.
    pub async fn insert_into_table(&self, table: &str, record: Record) -> Result<String> {
        let work = async {
            self.check_writable(table)?;
            let mut conn = self.acquire().await?;
            let mut db = conn.db();
            let info = self.table(&mut db, table).await?;
            let key = info.schema.require_primary_key()?;
            let record = with_generated_key(key, record);
            let statement = self.inner.backend.insert(&info.schema, &record)?;
            let rows = db
                .fetch(statement, &[key.column_type])
                .await
                .map_err(|e| self.classify(e, table, Some(&info.schema)))?;
            returned_ids(&rows, table)?
                .pop()
                .ok_or_else(|| no_key_returned(table))
        };
        self.traced("insert_into_table", table, work, |_| 1).await
    }

    /// Inserts every record in one transaction — all or none — and returns their ids in order.
    ///
    /// Rows are written in multi-row statements sized under the backend's bind-parameter
    /// limit.
    pub async fn insert_many(&self, table: &str, records: Vec<Record>) -> Result<Vec<String>> {
        let work = async {
            self.check_writable(table)?;
            if records.is_empty() {
                return Ok(Vec::new());
            }
            let mut tx = self.begin_write().await?;
            let info = self.table(&mut tx.db(), table).await?;
            let key = info.schema.require_primary_key()?;
            let records: Vec<Record> = records
                .into_iter()
                .map(|r| with_generated_key(key, r))
                .collect();
            let statements = self.inner.backend.insert_many(&info.schema, &records)?;
            let mut returned = Vec::with_capacity(records.len());
            for statement in statements {
                let mut rows = tx
                    .db()
                    .fetch(statement, &[key.column_type])
                    .await
                    .map_err(|e| self.classify(e, table, Some(&info.schema)))?;
                // RETURNING gives no order; the keys one statement generates ascend in row order.
                rows.sort_by_key(|row| row.first().and_then(Value::as_i64));
                returned.extend(returned_ids(&rows, table)?);
            }
            tx.commit()
                .await
                .map_err(|e| self.classify(e, table, Some(&info.schema)))?;
            if key.is_auto_increment() {
                return Ok(returned);
            }
            records
                .iter()
                .map(|record| {
                    let value = record.get(&key.name).cloned().unwrap_or(Value::Null);
                    Ok(value.coerce(table, key)?.to_id())
                })
                .collect()
        };
        self.traced("insert_many", table, work, |ids| ids.len() as u64)
            .await
    }

    /// Inserts the record, or updates the row it collides with, in one atomic statement;
    /// returns the row's id.
    ///
    /// The conflict is on the primary key when the record holds one, else on the first unique
    /// index (or unique column) whose columns the record holds all of: the refresh of an
    /// OAuth token by `(user_id, provider)`, without a read-then-write race.
    pub async fn upsert(&self, table: &str, record: Record) -> Result<String> {
        self.upsert_on(table, record, &[]).await
    }

    /// As [`upsert`](Self::upsert), with the conflict columns named (they must be the primary
    /// key, a unique column or a unique index). Empty `conflict` means the default choice.
    pub async fn upsert_on(
        &self,
        table: &str,
        record: Record,
        conflict: &[&str],
    ) -> Result<String> {
        let work = async {
            self.check_writable(table)?;
            let mut conn = self.acquire().await?;
            let mut db = conn.db();
            let info = self.table(&mut db, table).await?;
            let key = info.schema.require_primary_key()?;
            let conflict: Vec<&str> = if conflict.is_empty() {
                default_conflict_target(&info, &record)?
            } else {
                conflict.to_vec()
            };
            let record = with_generated_key(key, record);
            let statement = self
                .inner
                .backend
                .upsert(&info.schema, &record, &conflict)?;
            let rows = db
                .fetch(statement, &[key.column_type])
                .await
                .map_err(|e| self.classify(e, table, Some(&info.schema)))?;
            returned_ids(&rows, table)?
                .pop()
                .ok_or_else(|| no_key_returned(table))
        };
        self.traced("upsert", table, work, |_| 1).await
    }

    /// Sets the record's columns on the row whose id is `id`. An unknown id is
    /// [`Error::RecordNotFound`]; an empty record or a value for an `auto_increment` key is
    /// [`Error::InvalidRecord`].
    pub async fn update_table_record(&self, table: &str, id: &str, record: Record) -> Result<()> {
        let work = async {
            self.check_writable(table)?;
            let mut conn = self.acquire().await?;
            let mut db = conn.db();
            let info = self.table(&mut db, table).await?;
            let key = info.schema.require_primary_key()?;
            let id_value = Value::from_id(table, key, id)?;
            let statement = self
                .inner
                .backend
                .update(&info.schema, &id_value, &record)?;
            let affected = db
                .execute(statement)
                .await
                .map_err(|e| self.classify(e, table, Some(&info.schema)))?;
            if affected == 0 {
                return Err(record_not_found(table, id));
            }
            Ok(affected)
        };
        self.traced("update_table_record", table, work, |n| *n)
            .await
            .map(drop)
    }

    /// The rows matching `options`, every column decoded as its declared type.
    pub async fn query_table(&self, table: &str, options: &QueryOptions) -> Result<Vec<Record>> {
        let work = async {
            let mut conn = self.acquire().await?;
            let mut db = conn.db();
            let info = self.table(&mut db, table).await?;
            let statement = self.inner.backend.select(&info.schema, options)?;
            let rows = db
                .fetch(statement, &column_types(&info.schema))
                .await
                .map_err(|e| self.classify(e, table, Some(&info.schema)))?;
            Ok(rows
                .into_iter()
                .map(|row| to_record(&info.schema, row))
                .collect())
        };
        self.traced("query_table", table, work, |rows: &Vec<Record>| {
            rows.len() as u64
        })
        .await
    }

    /// How many rows match `filter` (every row for `None`).
    pub async fn count(&self, table: &str, filter: Option<&Filter>) -> Result<u64> {
        let work = async {
            let mut conn = self.acquire().await?;
            let mut db = conn.db();
            let info = self.table(&mut db, table).await?;
            let statement = self.inner.backend.count(&info.schema, filter)?;
            let rows = db
                .fetch(statement, &[ColumnType::Bigint])
                .await
                .map_err(|e| self.classify(e, table, Some(&info.schema)))?;
            let count = rows
                .first()
                .and_then(|row| row.first())
                .and_then(Value::as_i64)
                .unwrap_or(0);
            Ok(u64::try_from(count).unwrap_or(0))
        };
        self.traced("count", table, work, |n| *n).await
    }

    /// Deletes the row whose id is `id`; an unknown id is [`Error::RecordNotFound`].
    pub async fn delete_from_table(&self, table: &str, id: &str) -> Result<()> {
        let work = async {
            self.check_writable(table)?;
            let mut conn = self.acquire().await?;
            let mut db = conn.db();
            let info = self.table(&mut db, table).await?;
            let key = info.schema.require_primary_key()?;
            let id_value = Value::from_id(table, key, id)?;
            let statement = self.inner.backend.delete(&info.schema, &id_value)?;
            let affected = db
                .execute(statement)
                .await
                .map_err(|e| self.classify(e, table, Some(&info.schema)))?;
            if affected == 0 {
                return Err(record_not_found(table, id));
            }
            Ok(affected)
        };
        self.traced("delete_from_table", table, work, |n| *n)
            .await
            .map(drop)
    }
}

/// Fills in a new UUID v7 for a text key the record leaves out (or sets to NULL).
fn with_generated_key(key: &Column, mut record: Record) -> Record {
    if key.column_type == ColumnType::Text
        && !key.is_auto_increment()
        && record.get(&key.name).is_none_or(Value::is_null)
    {
        record.insert(key.name.clone(), uuid::Uuid::now_v7().to_string());
    }
    record
}

fn default_conflict_target<'a>(table: &'a Table, record: &Record) -> Result<Vec<&'a str>> {
    let schema = &table.schema;
    let holds = |column: &str| record.get(column).is_some_and(|v| !v.is_null());
    if let Some(key) = schema.primary_key()
        && holds(&key.name)
    {
        return Ok(vec![key.name.as_str()]);
    }
    let unique_column = schema
        .columns
        .iter()
        .find(|c| c.is_unique() && holds(&c.name))
        .map(|c| vec![c.name.as_str()]);
    let unique_index = schema
        .indexes
        .iter()
        .find(|i| i.unique && i.columns.iter().all(|c| holds(c)))
        .map(|i| i.columns.iter().map(String::as_str).collect());
    unique_index.or(unique_column).ok_or_else(|| {
        Error::invalid_record(
            &schema.name,
            "an upsert needs the primary key or every column of a unique index",
        )
    })
}

fn returned_ids(rows: &[Vec<Value>], table: &str) -> Result<Vec<String>> {
    rows.iter()
        .map(|row| {
            row.first()
                .filter(|value| !value.is_null())
                .map(Value::to_id)
                .ok_or_else(|| no_key_returned(table))
        })
        .collect()
}

fn no_key_returned(table: &str) -> Error {
    Error::invalid_record(table, "the database returned no key for the row")
}

fn record_not_found(table: &str, id: &str) -> Error {
    Error::RecordNotFound {
        table: table.to_owned(),
        id: crate::error::truncate(id),
    }
}
