//! The typed helpers of [`Store`], built on its dynamic operations: a `#[derive(Table)]` struct
//! is converted to a [`Record`] (and back) and goes through the same code path as a dynamic
//! record, so both APIs share one table.

use super::Table;
use super::select::Select;
use crate::error::{Error, Result};
use crate::query::{Filter, QueryOptions};
use crate::schema::{Column, Constraint};
use crate::store::{RowSource, Store, Transaction};
use crate::value::{Record, Value};

impl Store {
    /// Creates the table of `T` ([`Table::schema`]); idempotent, like
    /// [`create_table`](Self::create_table).
    pub async fn create_table_for<T: Table>(&self) -> Result<()> {
        self.create_table(&T::schema()).await
    }

    /// Creates the table of `T`, or brings the existing one up to [`Table::schema`] by adding
    /// the columns and indexes it lacks; see [`sync_table`](Self::sync_table). The table's
    /// rows written by an older version of `T` read back as `T`: a new `Option` field as
    /// `None`, a new field with `#[memtable(default = …)]` as its default.
    ///
    /// ```
    /// use memtable::{Store, Table};
    ///
    /// mod v1 {
    ///     #[derive(memtable::Table)]
    ///     #[memtable(table = "notes")]
    ///     pub struct Note {
    ///         #[memtable(primary_key)]
    ///         pub id: String,
    ///         pub body: String,
    ///     }
    /// }
    /// mod v2 {
    ///     #[derive(memtable::Table)]
    ///     #[memtable(table = "notes")]
    ///     pub struct Note {
    ///         #[memtable(primary_key)]
    ///         pub id: String,
    ///         pub body: String,
    ///         #[memtable(default = 3)]
    ///         pub priority: i64,
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let store = Store::connect("sqlite::memory:").await?;
    /// store.sync_table_for::<v1::Note>().await?;
    /// let id = store.insert(&v1::Note { id: String::new(), body: "hi".into() }).await?;
    /// let report = store.sync_table_for::<v2::Note>().await?;
    /// assert_eq!(report.added_columns, ["priority"]);
    /// let note: v2::Note = store.find(&id).await?.unwrap();
    /// assert_eq!(note.priority, 3);
    /// # Ok::<(), memtable::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn sync_table_for<T: Table>(&self) -> Result<crate::SyncReport> {
        self.sync_table(&T::schema()).await
    }

    /// Inserts `row` and returns its id. An empty `String` in a text key, or any value in an
    /// `auto_increment` key, means "generate": a UUID v7, or the database's next integer.
    ///
    /// ```
    /// use memtable::{Store, Table};
    ///
    /// #[derive(Table, Debug, PartialEq)]
    /// struct Note {
    ///     #[memtable(primary_key)]
    ///     id: String,
    ///     title: String,
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let store = Store::connect("sqlite::memory:").await?;
    /// store.create_table_for::<Note>().await?;
    /// let id = store.insert(&Note { id: String::new(), title: "hello".into() }).await?;
    /// let note: Option<Note> = store.find(&id).await?;
    /// assert_eq!(note, Some(Note { id, title: "hello".into() }));
    /// # Ok::<(), memtable::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn insert<T: Table>(&self, row: &T) -> Result<String> {
        insert(self, row).await
    }

    /// Inserts every row in one transaction — all or none — and returns their ids in order
    /// (keys are generated as by [`insert`](Self::insert)).
    ///
    /// This is [`insert_many_into_table`](Self::insert_many_into_table) for typed rows.
    pub async fn insert_many<T: Table>(&self, rows: &[T]) -> Result<Vec<String>> {
        insert_many(self, rows).await
    }

    /// The row of `T`'s table whose id is `id`, if any. An id that cannot be a value of the key
    /// (`"abc"` for an integer key) is [`Error::TypeMismatch`].
    pub async fn find<T: Table>(&self, id: &str) -> Result<Option<T>> {
        find(self, id).await
    }

    /// A typed query on `T`'s table; see [`Select`].
    pub fn select<T: Table>(&self) -> Select<'_, T> {
        Select::new(self)
    }

    /// Writes every column of `row` to the row with the same primary key. No such row is
    /// [`Error::RecordNotFound`].
    pub async fn update<T: Table>(&self, row: &T) -> Result<()> {
        update(self, row).await
    }

    /// Deletes the row of `T`'s table whose id is `id`; no such row is
    /// [`Error::RecordNotFound`].
    pub async fn delete<T: Table>(&self, id: &str) -> Result<()> {
        self.delete_from_table(T::TABLE_NAME, id).await
    }

    /// Inserts `row`, or updates the row it collides with, in one atomic statement; returns the
    /// row's id.
    ///
    /// The conflict is on the primary key when `row` holds one (a generated key — empty text or
    /// `auto_increment` — does not count), else on the first unique index (or unique column)
    /// whose columns `row` holds: a per-space key/value, or an OAuth token by
    /// `(user_id, provider)`. This is [`upsert_into_table`](Self::upsert_into_table) for typed
    /// rows.
    ///
    /// ```
    /// use memtable::{Store, Table};
    ///
    /// #[derive(Table)]
    /// #[memtable(table = "settings", index(name = "idx_settings_key", columns(space_id, key), unique))]
    /// struct Setting {
    ///     #[memtable(primary_key, auto_increment)]
    ///     id: i64,
    ///     space_id: String,
    ///     key: String,
    ///     #[memtable(json)]
    ///     value: serde_json::Value,
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let store = Store::connect("sqlite::memory:").await?;
    /// store.create_table_for::<Setting>().await?;
    /// let theme = |value: &str| Setting {
    ///     id: 0,
    ///     space_id: "s1".into(),
    ///     key: "theme".into(),
    ///     value: serde_json::json!(value),
    /// };
    /// let first = store.upsert(&theme("light")).await?;
    /// let second = store.upsert(&theme("dark")).await?;
    /// assert_eq!(first, second);
    /// let setting: Setting = store.find(&first).await?.unwrap();
    /// assert_eq!(setting.value, "dark");
    /// # Ok::<(), memtable::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn upsert<T: Table>(&self, row: &T) -> Result<String> {
        upsert(self, row).await
    }

    /// Upserts every row, in order, in one transaction — all or none — and returns their ids
    /// (conflicts chosen as by [`upsert`](Self::upsert)). This is
    /// [`upsert_many_into_table`](Self::upsert_many_into_table) for typed rows.
    pub async fn upsert_many<T: Table>(&self, rows: &[T]) -> Result<Vec<String>> {
        upsert_many(self, rows).await
    }
}

/// The typed operations themselves, on a store or a transaction: [`Store`]'s and
/// [`Transaction`]'s methods of the same names call these.
impl Transaction<'_> {
    /// [`Store::insert`], in this transaction.
    pub async fn insert<T: Table>(&self, row: &T) -> Result<String> {
        insert(self, row).await
    }

    /// [`Store::insert_many`], in this transaction (all or none, in a savepoint).
    pub async fn insert_many<T: Table>(&self, rows: &[T]) -> Result<Vec<String>> {
        insert_many(self, rows).await
    }

    /// [`Store::find`], in this transaction: its own writes included.
    pub async fn find<T: Table>(&self, id: &str) -> Result<Option<T>> {
        find(self, id).await
    }

    /// [`Store::select`], in this transaction: a typed query, or a write by filter, on its
    /// connection.
    pub fn select<T: Table>(&self) -> Select<'_, T> {
        Select::new(self)
    }

    /// [`Store::update`], in this transaction.
    pub async fn update<T: Table>(&self, row: &T) -> Result<()> {
        update(self, row).await
    }

    /// [`Store::delete`], in this transaction.
    pub async fn delete<T: Table>(&self, id: &str) -> Result<()> {
        RowSource::delete_from_table(self, T::TABLE_NAME, id).await
    }

    /// [`Store::upsert`], in this transaction.
    pub async fn upsert<T: Table>(&self, row: &T) -> Result<String> {
        upsert(self, row).await
    }

    /// [`Store::upsert_many`], in this transaction (all or none, in a savepoint).
    pub async fn upsert_many<T: Table>(&self, rows: &[T]) -> Result<Vec<String>> {
        upsert_many(self, rows).await
    }
}

async fn insert<T: Table>(rows: &dyn RowSource, row: &T) -> Result<String> {
    let record = insertable(row)?;
    match rows.as_store() {
        Some(store) => store.insert_into_table(T::TABLE_NAME, record).await,
        None => rows.insert_into_table(T::TABLE_NAME, record).await,
    }
}

async fn insert_many<T: Table>(rows: &dyn RowSource, all: &[T]) -> Result<Vec<String>> {
    let records = all.iter().map(insertable).collect::<Result<Vec<_>>>()?;
    rows.insert_many_into_table(T::TABLE_NAME, records).await
}

async fn find<T: Table>(rows: &dyn RowSource, id: &str) -> Result<Option<T>> {
    let key = Column::new(T::PRIMARY_KEY, T::PRIMARY_KEY_TYPE).with(Constraint::PrimaryKey);
    let value = Value::from_id(T::TABLE_NAME, &key, id)?;
    let options = QueryOptions::new()
        .filter(Filter::eq(T::PRIMARY_KEY, value))
        .limit(1);
    let found = match rows.as_store() {
        Some(store) => store.query_table(T::TABLE_NAME, &options).await?,
        None => rows.query_table(T::TABLE_NAME, &options).await?,
    };
    found.into_iter().next().map(T::from_record).transpose()
}

async fn update<T: Table>(rows: &dyn RowSource, row: &T) -> Result<()> {
    let mut record = row.to_record()?;
    let key = record
        .remove(T::PRIMARY_KEY)
        .ok_or_else(|| missing_key::<T>())?;
    let id = key.to_id();
    match rows.as_store() {
        Some(store) => store.update_table_record(T::TABLE_NAME, &id, record).await,
        None => rows.update_table_record(T::TABLE_NAME, &id, record).await,
    }
}

async fn upsert<T: Table>(rows: &dyn RowSource, row: &T) -> Result<String> {
    let record = insertable(row)?;
    match rows.as_store() {
        Some(store) => store.upsert_into_table(T::TABLE_NAME, record).await,
        None => rows.upsert_into_table(T::TABLE_NAME, record).await,
    }
}

async fn upsert_many<T: Table>(rows: &dyn RowSource, all: &[T]) -> Result<Vec<String>> {
    let records = all.iter().map(insertable).collect::<Result<Vec<_>>>()?;
    rows.upsert_many_into_table(T::TABLE_NAME, records).await
}

/// The record to insert for `row`: without its key when the key is to be generated (an
/// `auto_increment` key, or an empty or NULL text key).
fn insertable<T: Table>(row: &T) -> Result<Record> {
    let mut record = row.to_record()?;
    let generate = T::AUTO_INCREMENT
        || record
            .get(T::PRIMARY_KEY)
            .is_none_or(|key| key.is_null() || key.as_str() == Some(""));
    if generate {
        record.remove(T::PRIMARY_KEY);
    }
    Ok(record)
}

fn missing_key<T: Table>() -> Error {
    Error::invalid_record(
        T::TABLE_NAME,
        format!(
            "the row has no value for the primary key {:?}",
            T::PRIMARY_KEY
        ),
    )
}
