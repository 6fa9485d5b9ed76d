//! Idempotency keys: a write made safe to repeat. A key's record (the request's fingerprint
//! and the first call's result) is written in the same transaction as the write, so that a
//! crash never leaves one without the other.
//!
//! The records live in the protected table [`IDEMPOTENCY_TABLE`], created with the first keyed
//! write (never on connect, so that a read-only role connects and reads), one row per
//! `(scope, key)`: `id` is `"{plugin}:{key}"` (`":{key}"` for the host; a plugin's name holds
//! no `:`, so the two never collide), `fingerprint` the canonical JSON (object keys sorted) of
//! the request, `result` the first call's result as JSON text, `created_at` in milliseconds
//! since the epoch. Rows older than [`IDEMPOTENCY_RETENTION_MS`] are deleted by a keyed write,
//! at most once an hour per store: no background thread.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::cache::ReadColumns;
use super::{Store, Transaction};
use crate::backend::driver::{Connection, Rows};
use crate::error::{Error, Result};
use crate::query::{Filter, QueryOptions};
use crate::schema::{Column, ColumnType, Constraint, TableSchema};
use crate::sql::canonical_json;
use crate::value::{Record, Value};

/// The protected table holding idempotency keys.
pub const IDEMPOTENCY_TABLE: &str = "_memtable_idempotency";

/// The longest idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 128;

/// How long a key is kept at least: 24 hours, in milliseconds.
pub const IDEMPOTENCY_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// How often a store deletes expired keys at most: once an hour, in milliseconds.
const PRUNE_INTERVAL_MS: i64 = 60 * 60 * 1000;

const ID: &str = "id";
const SCOPE: &str = "scope";
const KEY: &str = "idempotency_key";
const FINGERPRINT: &str = "fingerprint";
const RESULT: &str = "result";
const CREATED_AT: &str = "created_at";

/// The key table's schema.
pub(crate) fn schema() -> TableSchema {
    TableSchema::new(
        IDEMPOTENCY_TABLE,
        vec![
            Column::new(ID, ColumnType::Text).with(Constraint::PrimaryKey),
            Column::new(SCOPE, ColumnType::Text).with(Constraint::NotNull),
            Column::new(KEY, ColumnType::Text).with(Constraint::NotNull),
            Column::new(FINGERPRINT, ColumnType::Text).with(Constraint::NotNull),
            Column::new(RESULT, ColumnType::Text),
            Column::new(CREATED_AT, ColumnType::Bigint).with(Constraint::NotNull),
        ],
    )
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// What [`Store::begin_idempotent`] found for a key.
#[derive(Debug)]
#[must_use = "a fresh key's transaction rolls back unless it is committed"]
pub enum Idempotency<'s> {
    /// The key is new: do the write in this transaction, which holds the key's claim, and
    /// commit it with [`Transaction::commit_idempotent`] and the result to replay.
    Fresh(Transaction<'s>),
    /// The key was used before with the same request: the first call's result. Nothing was
    /// written.
    Replay(serde_json::Value),
    /// The key was used before with another request: nothing was written.
    Conflict,
}

impl Store {
    /// Begins a write transaction claiming the idempotency key `key` (in this store's scope:
    /// the same key in two plugins is two keys) for `request`, a description of the write
    /// (compared as canonical JSON: the same request is the same document, whatever the order
    /// of its object keys).
    ///
    /// A key seen before (for at least 24 hours) is [`Idempotency::Replay`] of the first
    /// result when `request` is the same, [`Idempotency::Conflict`] when it is not. A new key
    /// is [`Idempotency::Fresh`]: the transaction holds the key's record, which commits with
    /// the write ([`Transaction::commit_idempotent`]) or not at all; a concurrent call with the
    /// same key waits for it, and then replays its result. A transaction that fails or is
    /// dropped leaves no key: a retry runs again.
    ///
    /// `key` must be 1 to 128 bytes, else [`Error::InvalidQuery`] naming the key table.
    ///
    /// ```
    /// use memtable::{Idempotency, Record, Store, TableSchema};
    /// use serde_json::json;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let store = Store::connect("sqlite::memory:").await?;
    /// store.create_table(&TableSchema::from_json_str(r#"{"name": "notes", "columns": [
    ///     {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
    ///     {"name": "body", "type": "text"}]}"#)?).await?;
    /// let request = json!({"insert": "notes", "body": "hi"});
    /// for _ in 0..2 {
    ///     let id = match store.begin_idempotent("note-1", &request).await? {
    ///         Idempotency::Fresh(tx) => {
    ///             let id = tx.insert_into_table("notes", Record::new().with("body", "hi")).await?;
    ///             tx.commit_idempotent(&json!(id)).await?;
    ///             json!(id)
    ///         }
    ///         Idempotency::Replay(first) => first,
    ///         Idempotency::Conflict => unreachable!("the same request"),
    ///     };
    ///     assert_eq!(id, json!("1"));
    /// }
    /// assert_eq!(store.count("notes", None).await?, 1);
    /// let other = json!({"insert": "notes", "body": "bye"});
    /// assert!(matches!(store.begin_idempotent("note-1", &other).await?, Idempotency::Conflict));
    /// # Ok::<(), memtable::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn begin_idempotent(
        &self,
        key: &str,
        request: &serde_json::Value,
    ) -> Result<Idempotency<'_>> {
        if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_BYTES {
            return Err(Error::InvalidQuery {
                table: IDEMPOTENCY_TABLE.to_owned(),
                reason: format!(
                    "idempotencyKey: {} bytes; a key is 1 to {MAX_IDEMPOTENCY_KEY_BYTES} bytes",
                    key.len()
                ),
            });
        }
        self.create_idempotency_table().await?;
        let fingerprint = canonical_json(request);
        let id = format!("{}:{key}", self.plugin().unwrap_or_default());
        let tx = self.begin().await?;
        let now = now_ms();
        let last = self.inner.idempotency_pruned.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= PRUNE_INTERVAL_MS
            && self
                .inner
                .idempotency_pruned
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let expired = Filter::lt(CREATED_AT, now.saturating_sub(IDEMPOTENCY_RETENTION_MS));
            let statement = self.inner.backend.delete_where(&schema(), &expired)?;
            tx.execute_internal(IDEMPOTENCY_TABLE, statement).await?;
        }
        if let Some(found) = self.stored_key(Some(&tx), &id).await? {
            tx.rollback().await;
            return Ok(found.against(&fingerprint));
        }
        let record = Record::new()
            .with(ID, id.as_str())
            .with(SCOPE, self.plugin().unwrap_or_default())
            .with(KEY, key)
            .with(FINGERPRINT, fingerprint.as_str())
            .with(RESULT, Value::Null)
            .with(CREATED_AT, now);
        let statement = self.inner.backend.render_insert(&schema(), record, false)?;
        match tx.execute_internal(IDEMPOTENCY_TABLE, statement).await {
            Ok(_) => Ok(Idempotency::Fresh(tx.claiming(id))),
            // Another call claimed the key first: the database made this insert wait for it
            // to commit. Its result is read once this transaction is gone (on PostgreSQL the
            // failed insert aborted it; on SQLite it holds the database's one write lock).
            Err(Error::ConstraintViolation { .. }) => {
                tx.rollback().await;
                match self.stored_key(None, &id).await? {
                    Some(found) => Ok(found.against(&fingerprint)),
                    None => Err(Error::InvalidQuery {
                        table: IDEMPOTENCY_TABLE.to_owned(),
                        reason: "idempotencyKey: claimed by a concurrent call that did not \
                                 commit; try again"
                            .into(),
                    }),
                }
            }
            Err(error) => {
                tx.rollback().await;
                Err(error)
            }
        }
    }

    /// The record of the key `id`, read in `tx` or on a connection of its own.
    async fn stored_key(&self, tx: Option<&Transaction<'_>>, id: &str) -> Result<Option<Stored>> {
        let schema = schema();
        let statement = self
            .inner
            .backend
            .render_select(&schema, QueryOptions::new().filter(Filter::eq(ID, id)))?;
        let columns = ReadColumns::of(&schema);
        let types = &columns.types;
        let rows = match tx {
            Some(tx) => {
                tx.fetch_internal(IDEMPOTENCY_TABLE, statement, types)
                    .await?
            }
            None => {
                let mut conn = self.acquire().await?;
                conn.fetch(statement, types, Rows::Bounded)
                    .await
                    .map_err(|e| self.classify(e, IDEMPOTENCY_TABLE, Some(&schema)))?
            }
        };
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let record = columns.record(row);
        let text = |column: &str| {
            record
                .get(column)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let result = match text(RESULT) {
            Some(result) => serde_json::from_str(&result).map_err(|e| Error::InvalidQuery {
                table: IDEMPOTENCY_TABLE.to_owned(),
                reason: format!("the stored result of an idempotency key is not JSON: {e}"),
            })?,
            None => serde_json::Value::Null,
        };
        Ok(Some(Stored {
            fingerprint: text(FINGERPRINT).unwrap_or_default(),
            result,
        }))
    }

    /// Creates the key table if it is missing (as the catalog is: with the first use).
    async fn create_idempotency_table(&self) -> Result<()> {
        if self.inner.idempotency_exists.load(Ordering::Relaxed) {
            return Ok(());
        }
        let statements = self.inner.backend.create_table_if_not_exists(&schema())?;
        let mut attempt = 0;
        loop {
            let created = async {
                let mut conn = self.acquire().await?;
                create_in(&mut *conn, statements.clone()).await
            }
            .await;
            match created {
                Ok(()) => break,
                // Two processes creating it at once on PostgreSQL: one loses a race on the
                // system catalogs even with IF NOT EXISTS. Once it exists, all is well.
                Err(_) if attempt < 3 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
                }
                Err(error) => {
                    return Err(self
                        .classify(error, IDEMPOTENCY_TABLE, None)
                        .for_operation("create_idempotency_table", IDEMPOTENCY_TABLE));
                }
            }
        }
        self.inner.idempotency_exists.store(true, Ordering::Relaxed);
        Ok(())
    }
}

async fn create_in(
    conn: &mut dyn Connection,
    statements: Vec<crate::sql::Statement>,
) -> Result<()> {
    conn.begin_write().await?;
    for statement in statements {
        if let Err(error) = conn.execute(statement).await {
            conn.rollback().await;
            return Err(error);
        }
    }
    conn.commit().await
}

/// A key's record, as read back.
struct Stored {
    fingerprint: String,
    result: serde_json::Value,
}

impl Stored {
    fn against<'s>(self, fingerprint: &str) -> Idempotency<'s> {
        if self.fingerprint == fingerprint {
            Idempotency::Replay(self.result)
        } else {
            Idempotency::Conflict
        }
    }
}

impl Transaction<'_> {
    /// Commits the transaction, recording `result` as the result its idempotency key
    /// ([`Store::begin_idempotent`]) replays; for a transaction without a key, the same as
    /// [`commit`](Self::commit). (A keyed transaction committed with `commit` replays `null`.)
    pub async fn commit_idempotent(self, result: &serde_json::Value) -> Result<()> {
        if let Some(id) = self.claim() {
            let record = Record::new().with(RESULT, result.to_string());
            let statement = self.store().inner.backend.update(
                &schema(),
                &Value::from(id.to_owned()),
                &record,
            )?;
            self.execute_internal(IDEMPOTENCY_TABLE, statement).await?;
        }
        self.commit().await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    /// Whether the key `id` has a record.
    async fn has(store: &Store, id: &str) -> bool {
        store.stored_key(None, id).await.unwrap().is_some()
    }

    #[tokio::test]
    async fn an_idempotent_write_prunes_expired_keys_at_most_once_an_hour() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let request = serde_json::json!({"n": 1});
        let Idempotency::Fresh(tx) = store.begin_idempotent("fresh", &request).await.unwrap()
        else {
            panic!("a new key is fresh");
        };
        // A record older than the retention, as a write a day ago would have left it.
        let old = Record::new()
            .with(ID, ":old")
            .with(SCOPE, "")
            .with(KEY, "old")
            .with(FINGERPRINT, "{}")
            .with(RESULT, "null")
            .with(CREATED_AT, now_ms() - IDEMPOTENCY_RETENTION_MS - 1);
        let statement = store
            .inner
            .backend
            .render_insert(&schema(), old, false)
            .unwrap();
        tx.execute_internal(IDEMPOTENCY_TABLE, statement)
            .await
            .unwrap();
        tx.commit_idempotent(&request).await.unwrap();
        // Pruned within the hour: not again yet.
        let Idempotency::Fresh(tx) = store.begin_idempotent("second", &request).await.unwrap()
        else {
            panic!("a new key is fresh");
        };
        tx.commit_idempotent(&request).await.unwrap();
        assert!(has(&store, ":old").await, "pruned at most once an hour");
        // An hour later, the next keyed write deletes it, and only it.
        store
            .inner
            .idempotency_pruned
            .store(now_ms() - PRUNE_INTERVAL_MS, Ordering::Relaxed);
        let Idempotency::Fresh(tx) = store.begin_idempotent("third", &request).await.unwrap()
        else {
            panic!("a new key is fresh");
        };
        tx.commit_idempotent(&request).await.unwrap();
        assert!(!has(&store, ":old").await, "expired keys are deleted");
        assert!(has(&store, ":fresh").await && has(&store, ":second").await);
    }
}
