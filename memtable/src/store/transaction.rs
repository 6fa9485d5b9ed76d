//! [`Transaction`]: the row operations of a [`Store`] on one connection, inside one write
//! transaction, committed or rolled back as a whole.
//!
//! Each operation is the store's own (see `Via`), run on the transaction's connection; tables
//! are resolved by the store the transaction came from, as for the store's own operations.

use tokio::sync::Mutex;

use super::cache::Table;
use super::{Store, Via};
use crate::backend::driver::{BoxFuture, Connection};
use crate::error::{Error, Result};
use crate::query::{Filter, QueryOptions};
use crate::value::Record;

/// A write transaction on one connection of a [`Store`]: every row operation of the store,
/// typed and dynamic, with the same signatures, seeing its own writes; nothing of it is seen
/// by other connections until [`commit`](Self::commit), and nothing of it stays unless it
/// commits. Dropped without `commit`, it rolls back.
///
/// Built by [`Store::begin`]. On SQLite it begins `IMMEDIATE`: it holds the database's write
/// lock from the start, so that two transactions never deadlock on upgrading a read to a
/// write; another writer waits (asynchronously) until it ends.
///
/// A statement that fails inside a transaction (a constraint violation, say) fails that
/// operation alone. On SQLite the transaction goes on: its other writes stay, and commit if
/// it commits. PostgreSQL aborts a transaction at its first failed statement: every later
/// operation, and `commit`, is then [`Error::TransactionAborted`], and nothing of the
/// transaction is committed. An operation that is all or nothing by itself
/// ([`insert_many_into_table`](Self::insert_many_into_table),
/// [`upsert_many_into_table`](Self::upsert_many_into_table)) runs inside a savepoint: when it
/// fails, none of its rows stay, and the transaction goes on, on both backends.
///
/// On a database in memory (`sqlite::memory:`, one connection), the store's other operations
/// wait while a transaction is open: run them through the transaction.
///
/// ```
/// use memtable::{Filter, Record, Store, TableSchema};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = Store::connect("sqlite::memory:").await?;
/// for name in ["pending_tokens", "oauth_tokens"] {
///     store.create_table(&TableSchema::from_json_str(&format!(r#"{{"name": "{name}", "columns": [
///         {{"name": "id", "type": "text", "constraints": ["primary_key"]}},
///         {{"name": "token", "type": "text"}}]}}"#))?).await?;
/// }
/// let token = Record::new().with("id", "t1").with("token", "secret");
/// store.insert_into_table("pending_tokens", token.clone()).await?;
///
/// // Moves the token: both writes, or neither.
/// let tx = store.begin().await?;
/// tx.delete_from_table("pending_tokens", "t1").await?;
/// tx.insert_into_table("oauth_tokens", token).await?;
/// assert_eq!(tx.count("oauth_tokens", None).await?, 1, "a transaction reads its own writes");
/// tx.commit().await?;
///
/// assert_eq!(store.count("pending_tokens", None).await?, 0);
/// assert_eq!(store.count("oauth_tokens", None).await?, 1);
///
/// // Dropped without commit: rolled back.
/// let tx = store.begin().await?;
/// tx.delete_where("oauth_tokens", &Filter::eq("id", "t1")).await?;
/// drop(tx);
/// assert_eq!(store.count("oauth_tokens", None).await?, 1);
/// # Ok::<(), memtable::Error>(())
/// # }).unwrap();
/// ```
#[must_use = "a transaction rolls back unless it is committed"]
pub struct Transaction<'s> {
    store: &'s Store,
    state: Mutex<State<'s>>,
    /// The id of the idempotency key this transaction claimed, whose result its commit records.
    claim: Option<String>,
}

struct State<'s> {
    conn: Box<dyn Connection + 's>,
    /// The transaction can no longer commit (see [`Error::TransactionAborted`]); the table of
    /// the operation whose failure aborted it, when it had one.
    aborted: Option<Option<String>>,
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("store", self.store)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Begins a write transaction on one connection; see [`Transaction`].
    pub async fn begin(&self) -> Result<Transaction<'_>> {
        let work = || async {
            let mut conn = self.acquire().await?;
            conn.begin_write().await?;
            Ok(Transaction {
                store: self,
                state: Mutex::new(State {
                    conn,
                    aborted: None,
                }),
                claim: None,
            })
        };
        self.traced("begin", "", work, |_| 0).await
    }
}

impl<'s> Transaction<'s> {
    /// The store this transaction came from.
    pub fn store(&self) -> &'s Store {
        self.store
    }

    /// Commits every write of the transaction.
    ///
    /// A transaction that a failed statement aborted (PostgreSQL) is rolled back instead, and
    /// this is [`Error::TransactionAborted`]: nothing of it is committed.
    pub async fn commit(self) -> Result<()> {
        let store = self.store;
        let mut state = self.state.into_inner();
        let work = move || async move {
            if state.aborted.is_none() && state.conn.transaction_aborted() {
                state.aborted = Some(None);
            }
            if let Some(table) = state.aborted.take() {
                state.conn.rollback().await;
                return Err(Error::TransactionAborted { table });
            }
            state.conn.commit().await
        };
        store.traced("commit", "", work, |()| 0).await
    }

    /// Rolls back every write of the transaction. (Dropping it does too; this waits for the
    /// rollback, and keeps the connection for the store's next operation.)
    pub async fn rollback(self) {
        let mut state = self.state.into_inner();
        let work = move || async move {
            state.conn.rollback().await;
            Ok(())
        };
        // Nothing to report: a rollback that fails leaves nothing behind (the connection goes).
        let _ = self.store.traced("rollback", "", work, |()| 0).await;
    }

    /// The transaction's connection, for one operation of the store; refused once the
    /// transaction is aborted.
    async fn hold(&self) -> Result<Held<'_, 's>> {
        let state = self.state.lock().await;
        if let Some(failed) = &state.aborted {
            return Err(Error::TransactionAborted {
                table: failed.clone(),
            });
        }
        Ok(Held { state })
    }

    /// [`Store::insert_into_table`], in this transaction.
    pub async fn insert_into_table(&self, table: &str, record: Record) -> Result<String> {
        let mut held = self.hold().await?;
        let result = self
            .store
            .insert_into_table_via(held.via(), table, record)
            .await;
        held.noting(table, result)
    }

    /// [`Store::insert_many_into_table`], in this transaction (all or none of the records, in
    /// a savepoint).
    pub async fn insert_many_into_table(
        &self,
        table: &str,
        records: Vec<Record>,
    ) -> Result<Vec<String>> {
        let mut held = self.hold().await?;
        let result = self
            .store
            .insert_many_into_table_via(held.via(), table, records)
            .await;
        held.noting(table, result)
    }

    /// [`Store::upsert_into_table`], in this transaction.
    pub async fn upsert_into_table(&self, table: &str, record: Record) -> Result<String> {
        self.upsert_into_table_on(table, record, &[]).await
    }

    /// [`Store::upsert_into_table_on`], in this transaction.
    pub async fn upsert_into_table_on(
        &self,
        table: &str,
        record: Record,
        conflict: &[&str],
    ) -> Result<String> {
        let mut held = self.hold().await?;
        let result = self
            .store
            .upsert_into_table_on_via(held.via(), table, record, conflict)
            .await;
        held.noting(table, result)
    }

    /// [`Store::upsert_many_into_table`], in this transaction (all or none of the records, in
    /// a savepoint).
    pub async fn upsert_many_into_table(
        &self,
        table: &str,
        records: Vec<Record>,
    ) -> Result<Vec<String>> {
        let mut held = self.hold().await?;
        let result = self
            .store
            .upsert_many_into_table_via(held.via(), table, records)
            .await;
        held.noting(table, result)
    }

    /// [`Store::update_table_record`], in this transaction.
    pub async fn update_table_record(&self, table: &str, id: &str, record: Record) -> Result<()> {
        let mut held = self.hold().await?;
        let result = self
            .store
            .update_table_record_via(held.via(), table, id, record)
            .await;
        held.noting(table, result)
    }

    /// [`Store::query_table`], in this transaction: its own writes included.
    pub async fn query_table(&self, table: &str, options: &QueryOptions) -> Result<Vec<Record>> {
        let mut held = self.hold().await?;
        let result = self.store.query_table_via(held.via(), table, options).await;
        held.noting(table, result)
    }

    /// [`Store::count`], in this transaction: its own writes included.
    pub async fn count(&self, table: &str, filter: Option<&Filter>) -> Result<u64> {
        let mut held = self.hold().await?;
        let result = self.store.count_via(held.via(), table, filter).await;
        held.noting(table, result)
    }

    /// [`Store::delete_from_table`], in this transaction.
    pub async fn delete_from_table(&self, table: &str, id: &str) -> Result<()> {
        let mut held = self.hold().await?;
        let result = self
            .store
            .delete_from_table_via(held.via(), table, id)
            .await;
        held.noting(table, result)
    }

    /// [`Store::update_where`], in this transaction.
    pub async fn update_where(&self, table: &str, filter: &Filter, record: Record) -> Result<u64> {
        let mut held = self.hold().await?;
        let result = self
            .store
            .update_where_via(held.via(), table, filter, record)
            .await;
        held.noting(table, result)
    }

    /// [`Store::delete_where`], in this transaction.
    pub async fn delete_where(&self, table: &str, filter: &Filter) -> Result<u64> {
        let mut held = self.hold().await?;
        let result = self.store.delete_where_via(held.via(), table, filter).await;
        held.noting(table, result)
    }

    /// The same transaction, holding the claim of the idempotency key `id`.
    pub(super) fn claiming(mut self, id: String) -> Self {
        self.claim = Some(id);
        self
    }

    /// The id of the idempotency key this transaction claimed, if any.
    pub(super) fn claim(&self) -> Option<&str> {
        self.claim.as_deref()
    }

    /// Runs a statement of memtable's own on `table` (a protected one) in this transaction.
    pub(super) async fn execute_internal(
        &self,
        table: &str,
        statement: crate::sql::Statement,
    ) -> Result<u64> {
        let mut held = self.hold().await?;
        let result = held.state.conn.execute(statement).await;
        let result = result.map_err(|e| self.store.classify(e, table, None));
        held.noting(table, result)
    }

    /// Runs a query of memtable's own on `table` (a protected one) in this transaction.
    pub(super) async fn fetch_internal(
        &self,
        table: &str,
        statement: crate::sql::Statement,
        types: &[crate::schema::ColumnType],
    ) -> Result<Vec<Vec<crate::value::Value>>> {
        let mut held = self.hold().await?;
        let result = held
            .state
            .conn
            .fetch(statement, types, crate::backend::driver::Rows::Bounded)
            .await;
        let result = result.map_err(|e| self.store.classify(e, table, None));
        held.noting(table, result)
    }

    /// The table `name` as the store resolves it, looked up (when not cached) on this
    /// transaction's connection.
    pub(crate) async fn known_table(&self, name: &str) -> Result<std::sync::Arc<Table>> {
        let mut held = self.hold().await?;
        let result = self.store.known_table_via(held.via(), name).await;
        held.noting(name, result)
    }

    /// [`Store::query_first_row`], in this transaction.
    pub(crate) async fn query_first_row(
        &self,
        table: &str,
        options: &QueryOptions,
    ) -> Result<Option<FirstRow>> {
        let mut held = self.hold().await?;
        let result = self
            .store
            .query_first_row_via(held.via(), table, options)
            .await;
        held.noting(table, result)
    }
}

/// A row not yet decoded (its values in the columns' order), and the table it was read as.
pub(crate) type FirstRow = (std::sync::Arc<Table>, Vec<crate::value::Value>);

/// A transaction's connection, held for one operation.
struct Held<'t, 's> {
    state: tokio::sync::MutexGuard<'t, State<'s>>,
}

impl Held<'_, '_> {
    /// Where the operation gets its connection.
    fn via(&mut self) -> Via<'_> {
        Via::Held(&mut *self.state.conn)
    }

    /// The outcome of the operation on `table`, noting whether its failure aborted the
    /// transaction.
    fn noting<T>(mut self, table: &str, result: Result<T>) -> Result<T> {
        if result.is_err() && self.state.conn.transaction_aborted() {
            self.state.aborted = Some(Some(crate::error::truncate(table)));
        }
        result
    }
}

/// Where the row operations run: a [`Store`] (each on a connection of its own) or a
/// [`Transaction`]. The typed API and the executors are written once against it.
pub(crate) trait RowSource: Send + Sync {
    fn insert_into_table<'a>(
        &'a self,
        table: &'a str,
        record: Record,
    ) -> BoxFuture<'a, Result<String>>;

    fn insert_many_into_table<'a>(
        &'a self,
        table: &'a str,
        records: Vec<Record>,
    ) -> BoxFuture<'a, Result<Vec<String>>>;

    fn upsert_into_table<'a>(
        &'a self,
        table: &'a str,
        record: Record,
    ) -> BoxFuture<'a, Result<String>>;

    fn upsert_many_into_table<'a>(
        &'a self,
        table: &'a str,
        records: Vec<Record>,
    ) -> BoxFuture<'a, Result<Vec<String>>>;

    fn update_table_record<'a>(
        &'a self,
        table: &'a str,
        id: &'a str,
        record: Record,
    ) -> BoxFuture<'a, Result<()>>;

    fn query_table<'a>(
        &'a self,
        table: &'a str,
        options: &'a QueryOptions,
    ) -> BoxFuture<'a, Result<Vec<Record>>>;

    fn count<'a>(
        &'a self,
        table: &'a str,
        filter: Option<&'a Filter>,
    ) -> BoxFuture<'a, Result<u64>>;

    fn delete_from_table<'a>(&'a self, table: &'a str, id: &'a str) -> BoxFuture<'a, Result<()>>;

    fn update_where<'a>(
        &'a self,
        table: &'a str,
        filter: &'a Filter,
        record: Record,
    ) -> BoxFuture<'a, Result<u64>>;

    fn delete_where<'a>(&'a self, table: &'a str, filter: &'a Filter)
    -> BoxFuture<'a, Result<u64>>;

    /// The table `name` as the store resolves it.
    fn known_table<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<std::sync::Arc<Table>>>;

    /// The first row a query selects, not yet decoded.
    fn query_first_row<'a>(
        &'a self,
        table: &'a str,
        options: &'a QueryOptions,
    ) -> BoxFuture<'a, Result<Option<FirstRow>>>;

    /// The store itself, when the rows are not a transaction's: its inherent methods are
    /// awaited in place, without a boxed future.
    fn as_store(&self) -> Option<&Store>;
}

/// The same forwarding for both: each method is the inherent one of the same name.
macro_rules! row_source {
    ($type:ty, $as_store:expr) => {
        impl RowSource for $type {
            fn insert_into_table<'a>(
                &'a self,
                table: &'a str,
                record: Record,
            ) -> BoxFuture<'a, Result<String>> {
                Box::pin(<$type>::insert_into_table(self, table, record))
            }

            fn insert_many_into_table<'a>(
                &'a self,
                table: &'a str,
                records: Vec<Record>,
            ) -> BoxFuture<'a, Result<Vec<String>>> {
                Box::pin(<$type>::insert_many_into_table(self, table, records))
            }

            fn upsert_into_table<'a>(
                &'a self,
                table: &'a str,
                record: Record,
            ) -> BoxFuture<'a, Result<String>> {
                Box::pin(<$type>::upsert_into_table(self, table, record))
            }

            fn upsert_many_into_table<'a>(
                &'a self,
                table: &'a str,
                records: Vec<Record>,
            ) -> BoxFuture<'a, Result<Vec<String>>> {
                Box::pin(<$type>::upsert_many_into_table(self, table, records))
            }

            fn update_table_record<'a>(
                &'a self,
                table: &'a str,
                id: &'a str,
                record: Record,
            ) -> BoxFuture<'a, Result<()>> {
                Box::pin(<$type>::update_table_record(self, table, id, record))
            }

            fn query_table<'a>(
                &'a self,
                table: &'a str,
                options: &'a QueryOptions,
            ) -> BoxFuture<'a, Result<Vec<Record>>> {
                Box::pin(<$type>::query_table(self, table, options))
            }

            fn count<'a>(
                &'a self,
                table: &'a str,
                filter: Option<&'a Filter>,
            ) -> BoxFuture<'a, Result<u64>> {
                Box::pin(<$type>::count(self, table, filter))
            }

            fn delete_from_table<'a>(
                &'a self,
                table: &'a str,
                id: &'a str,
            ) -> BoxFuture<'a, Result<()>> {
                Box::pin(<$type>::delete_from_table(self, table, id))
            }

            fn update_where<'a>(
                &'a self,
                table: &'a str,
                filter: &'a Filter,
                record: Record,
            ) -> BoxFuture<'a, Result<u64>> {
                Box::pin(<$type>::update_where(self, table, filter, record))
            }

            fn delete_where<'a>(
                &'a self,
                table: &'a str,
                filter: &'a Filter,
            ) -> BoxFuture<'a, Result<u64>> {
                Box::pin(<$type>::delete_where(self, table, filter))
            }

            fn known_table<'a>(
                &'a self,
                name: &'a str,
            ) -> BoxFuture<'a, Result<std::sync::Arc<Table>>> {
                Box::pin(<$type>::known_table(self, name))
            }

            fn query_first_row<'a>(
                &'a self,
                table: &'a str,
                options: &'a QueryOptions,
            ) -> BoxFuture<'a, Result<Option<FirstRow>>> {
                Box::pin(<$type>::query_first_row(self, table, options))
            }

            fn as_store(&self) -> Option<&Store> {
                $as_store(self)
            }
        }
    };
}

row_source!(Store, Some);
row_source!(Transaction<'_>, |_| None);
