//! The typed query builder returned by [`Store::select`].

use std::fmt;
use std::marker::PhantomData;

use super::Table;
use super::column::{IntoCondition, IntoOrder};
use crate::error::{Error, Result};
use crate::query::{Filter, QueryOptions};
use crate::store::RowSource;
#[cfg(doc)]
use crate::store::{Store, Transaction};
use crate::value::Record;

/// A query on the table of `T`: filters, order, paging, then [`all`](Self::all),
/// [`one`](Self::one) or [`count`](Self::count); or filters, then a write of every matching
/// row, [`update`](Self::update) or [`delete`](Self::delete).
///
/// Built by [`Store::select`] (or [`Transaction::select`], to run in a transaction);
/// conditions and sort keys come from `T`'s column handles, so a
/// column of another table does not compile.
///
/// ```
/// use memtable::{Store, Table};
///
/// #[derive(Table, Debug)]
/// struct Note {
///     #[memtable(primary_key, auto_increment)]
///     id: i64,
///     title: String,
///     done: bool,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = Store::connect("sqlite::memory:").await?;
/// store.create_table_for::<Note>().await?;
/// for title in ["write", "test", "ship"] {
///     store.insert(&Note { id: 0, title: title.into(), done: title == "write" }).await?;
/// }
/// let open: Vec<Note> = store
///     .select::<Note>()
///     .filter(Note::DONE.eq(false))
///     .order_by(Note::TITLE.asc())
///     .all()
///     .await?;
/// assert_eq!(open.iter().map(|n| n.title.as_str()).collect::<Vec<_>>(), ["ship", "test"]);
/// assert_eq!(store.select::<Note>().filter(Note::TITLE.like("%t%")).count().await?, 2);
/// # Ok::<(), memtable::Error>(())
/// # }).unwrap();
/// ```
#[must_use = "a query does nothing until all(), one(), count(), update() or delete() runs it"]
pub struct Select<'s, T> {
    store: &'s dyn RowSource,
    options: QueryOptions,
    error: Option<Error>,
    marker: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Select<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("options", &self.options)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<'s, T: Table> Select<'s, T> {
    pub(super) fn new(store: &'s dyn RowSource) -> Self {
        Select {
            store,
            options: QueryOptions::new(),
            error: None,
            marker: PhantomData,
        }
    }

    /// Keeps the rows that meet `condition` (ANDed with earlier filters).
    pub fn filter(mut self, condition: impl IntoCondition<T>) -> Self {
        match condition.into_condition().into_filter() {
            Ok(filter) => self.options = self.options.filter(filter),
            Err(error) => {
                self.error.get_or_insert(error);
            }
        }
        self
    }

    /// Sorts on `order` (after earlier sort keys).
    pub fn order_by(mut self, order: impl IntoOrder<T>) -> Self {
        self.options = self.options.order_by(order.into_order().into_order_by());
        self
    }

    /// Returns at most `limit` rows.
    pub fn limit(mut self, limit: u64) -> Self {
        self.options = self.options.limit(limit);
        self
    }

    /// Skips the first `offset` rows.
    pub fn offset(mut self, offset: u64) -> Self {
        self.options = self.options.offset(offset);
        self
    }

    /// The dynamic [`QueryOptions`] this query stands for (for `Store::query_table`), or the
    /// error met building a condition.
    pub fn into_options(self) -> Result<QueryOptions> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.options),
        }
    }

    /// Every matching row.
    pub async fn all(self) -> Result<Vec<T>> {
        let store = self.store;
        let options = self.into_options()?;
        let rows = match store.as_store() {
            Some(store) => store.query_table(T::TABLE_NAME, &options).await?,
            None => store.query_table(T::TABLE_NAME, &options).await?,
        };
        rows.into_iter().map(T::from_record).collect()
    }

    /// The first matching row, if any (the query with `LIMIT 1`).
    pub async fn one(self) -> Result<Option<T>> {
        let store = self.store;
        let options = self.into_options()?.limit(1);
        let first = match store.as_store() {
            Some(store) => store.query_first_row_owned(T::TABLE_NAME, options).await?,
            None => store.query_first_row(T::TABLE_NAME, &options).await?,
        };
        let Some((table, row)) = first else {
            return Ok(None);
        };
        // A table made from `T`'s own schema has its columns, in its order.
        if table.columns.in_order_of(T::COLUMN_NAMES) {
            return T::from_values(row).map(Some);
        }
        let names = table.schema.columns.iter().map(|c| c.name.as_str());
        T::from_columns(&mut names.zip(row)).map(Some)
    }

    /// How many rows match the filters (order, limit and offset do not count).
    pub async fn count(self) -> Result<u64> {
        let store = self.store;
        let options = self.into_options()?;
        store.count(T::TABLE_NAME, options.filter.as_ref()).await
    }

    /// Sets `record`'s columns on every row matching the filters, in one statement
    /// ([`Store::update_where`]); returns how many rows changed.
    ///
    /// The conditions are `T`'s column handles', so a column of another table or a value of
    /// the wrong type does not compile; the record is dynamic (column name to value) and is
    /// checked against the table as by [`Store::update_where`]. No filter at all, or one that
    /// matches every row by construction, is [`Error::InvalidQuery`], as is a query with a
    /// limit or an offset (a write by filter changes every matching row); the order is
    /// ignored.
    ///
    /// ```
    /// use memtable::{Record, Store, Table};
    ///
    /// #[derive(Table, Debug)]
    /// struct Task {
    ///     #[memtable(primary_key, auto_increment)]
    ///     id: i64,
    ///     title: String,
    ///     done: bool,
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let store = Store::connect("sqlite::memory:").await?;
    /// store.create_table_for::<Task>().await?;
    /// for title in ["write", "test", "ship"] {
    ///     store.insert(&Task { id: 0, title: title.into(), done: false }).await?;
    /// }
    /// let done = Record::new().with("done", true);
    /// let updated = store.select::<Task>().filter(Task::TITLE.like("%t%")).update(done).await?;
    /// assert_eq!(updated, 2);
    /// let deleted = store.select::<Task>().filter(Task::DONE.eq(true)).delete().await?;
    /// assert_eq!(deleted, 2);
    /// assert!(store.select::<Task>().delete().await.is_err(), "no filter: refused");
    /// assert_eq!(store.select::<Task>().count().await?, 1);
    /// # Ok::<(), memtable::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn update(self, record: Record) -> Result<u64> {
        let store = self.store;
        let filter = self.into_write_filter()?;
        store.update_where(T::TABLE_NAME, &filter, record).await
    }

    /// Deletes every row matching the filters, in one statement ([`Store::delete_where`]);
    /// returns how many were deleted. Refused as [`update`](Self::update) is: without a
    /// condition, or with a limit or an offset.
    pub async fn delete(self) -> Result<u64> {
        let store = self.store;
        let filter = self.into_write_filter()?;
        store.delete_where(T::TABLE_NAME, &filter).await
    }

    /// The filter of a write by filter: no filter is the empty one (refused by the store).
    fn into_write_filter(self) -> Result<Filter> {
        let options = self.into_options()?;
        if options.limit.is_some() || options.offset.is_some() {
            return Err(Error::invalid_query(
                T::TABLE_NAME,
                "a write by filter changes every matching row: it takes no limit or offset",
            ));
        }
        Ok(options.filter.unwrap_or_else(|| Filter::And(Vec::new())))
    }
}
