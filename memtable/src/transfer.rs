//! Moving data: a table out as JSON Lines ([`export_table`]), back in ([`import_table`]), and
//! every table of one database into another ([`copy_database`]), SQLite ↔ PostgreSQL.
//!
//! Written against the [`Store`]'s own operations, so it behaves the same on every backend.
//! A line is one record in the executors' JSON form ([`Record::to_json`]: json as JSON, blob as
//! base64, bigint as an exact integer, null as null). Reading a table never holds it in memory:
//! pages of [`PAGE_ROWS`] rows are read by primary key (`where key > last order by key limit
//! N`), so a scan costs the same on page 1,000 as on page 1 and the memory stays flat.
//!
//! ```
//! use memtable::{Record, Store, TableSchema, transfer};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let from = Store::connect("sqlite::memory:").await?;
//! let schema = TableSchema::from_json_str(r#"{"name": "notes", "columns": [
//!     {"name": "id", "type": "text", "constraints": ["primary_key"]},
//!     {"name": "raw", "type": "blob"}]}"#)?;
//! from.create_table(&schema).await?;
//! from.insert_into_table("notes", Record::new().with("id", "a").with("raw", vec![0u8, 1])).await?;
//!
//! let mut lines = Vec::new();
//! transfer::export_table(&from, "notes", &mut lines, &mut |_| {}).await?;
//! assert_eq!(String::from_utf8_lossy(&lines), "{\"id\":\"a\",\"raw\":\"AAE=\"}\n");
//!
//! let to = Store::connect("sqlite::memory:").await?;
//! to.create_table(&schema).await?;
//! let imported = transfer::import_table(&to, "notes", &lines[..], &mut |_| {}).await?;
//! assert_eq!(imported, 1);
//! # Ok::<(), transfer::TransferError>(())
//! # }).unwrap();
//! ```

use std::io::{BufRead, Write};

use crate::error::{Error, IdentifierKind};
use crate::query::{Filter, OrderBy, QueryOptions};
use crate::schema::{Column, TableSchema, validate_identifier};
use crate::store::{Store, Transaction};
use crate::value::{Record, Value};

/// Rows read (and written) at a time.
pub const PAGE_ROWS: u64 = 1_000;

/// Why a transfer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] Error),
    /// A line of an import is not one record of the table; nothing was imported.
    #[error("line {line}: {reason}")]
    Line {
        /// The line's number, from 1.
        line: u64,
        /// What is wrong with it (not JSON, an unknown column, a value of another type …).
        reason: String,
        /// The store's error, when the line is JSON that does not fit the table.
        #[source]
        error: Option<Error>,
    },
    /// A destination table already holds rows: a copy never adds to (or overwrites) data;
    /// nothing was copied.
    #[error(
        "table {table:?} of the destination already holds {rows} row(s); copy refuses to add to it"
    )]
    NotEmpty {
        /// The table.
        table: String,
        /// The rows it holds.
        rows: u64,
    },
    /// A destination table exists with another schema or owner; nothing was copied.
    #[error("table {table:?} of the destination differs from the source's: {difference}")]
    Differs {
        /// The table.
        table: String,
        /// How.
        difference: String,
    },
    /// The keys the destination generated for an `auto_increment` table are not the source's
    /// (the source has gaps, or the destination's sequence has moved on); the rows written are
    /// taken out again.
    #[error(
        "table {table:?}: the destination generated other ids than the source's for its \
         auto_increment key {column:?} (the source's ids have gaps, or the destination's \
         sequence has moved on); the rows were taken out again"
    )]
    GeneratedIds {
        /// The table.
        table: String,
        /// The key column.
        column: String,
    },
    /// Reading the input or writing the output failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The key rows are paged by: a table without one cannot be read in a stable order.
fn key_of(schema: &TableSchema) -> Result<&Column, Error> {
    schema.primary_key().ok_or_else(|| {
        Error::invalid_record(
            &schema.name,
            "the table has no single-column primary key to read it in order by",
        )
    })
}

/// Reads `table` page by page in key order, handing each page to `page`.
async fn for_each_page<F>(store: &Store, table: &str, mut page: F) -> Result<u64, TransferError>
where
    F: AsyncFnMut(Vec<Record>) -> Result<(), TransferError>,
{
    let schema = store.table_schema(table).await?;
    let key = key_of(&schema)?.name.clone();
    let mut last: Option<Value> = None;
    let mut rows = 0u64;
    loop {
        let mut options = QueryOptions::new()
            .order_by(OrderBy::asc(key.clone()))
            .limit(PAGE_ROWS);
        if let Some(last) = last.take() {
            options = options.filter(Filter::gt(key.clone(), last));
        }
        let records = store.query_table(table, &options).await?;
        let count = records.len() as u64;
        last = records.last().and_then(|r| r.get(&key)).cloned();
        rows += count;
        if count > 0 {
            page(records).await?;
        }
        if count < PAGE_ROWS || last.is_none() {
            return Ok(rows);
        }
    }
}

/// Writes every row of `table` to `out` as JSON Lines, in key order; calls `progress` with
/// the rows written so far after each page. Returns the rows written.
pub async fn export_table(
    store: &Store,
    table: &str,
    out: &mut (dyn Write + Send),
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<u64, TransferError> {
    let mut done = 0u64;
    let mut line = Vec::new();
    let rows = for_each_page(store, table, async |records| {
        for record in &records {
            line.clear();
            serde_json::to_writer(&mut line, &record.to_json())
                .map_err(|e| TransferError::Io(e.into()))?;
            line.push(b'\n');
            out.write_all(&line)?;
        }
        done += records.len() as u64;
        progress(done);
        Ok(())
    })
    .await?;
    out.flush()?;
    Ok(rows)
}

/// Reads JSON Lines (one record a line, as [`export_table`] writes them; blank lines are
/// skipped) into `table`, all or nothing: the records are written in batches of
/// [`PAGE_ROWS`] inside one transaction ([`Store::begin`]), so that memory stays flat however
/// long the input is, and a line that is not JSON or does not fit the table fails naming its
/// number, with nothing imported (the transaction is rolled back). `progress` hears the lines
/// read so far. Returns the records imported.
///
/// An `auto_increment` key is not written (the database generates it): the records are then
/// held until every line is read and written in the order of their ids, and the import fails,
/// with nothing imported, when the generated ids are not the file's.
pub async fn import_table(
    store: &Store,
    table: &str,
    input: impl BufRead,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<u64, TransferError> {
    validate_identifier(IdentifierKind::Table, table)?;
    let schema = store.table_schema(table).await?;
    let key = key_of(&schema)?;
    let mut records = Vec::new();
    let mut lines = 0u64;
    let mut written = 0u64;
    // Written as the lines come, a page at a time; an `auto_increment` key's records are held
    // to the end, to be written in the order of their ids.
    let streamed = !key.is_auto_increment();
    let tx = store.begin().await?;
    for (index, line) in input.lines().enumerate() {
        let number = index as u64 + 1;
        lines = number;
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let json: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| TransferError::Line {
                line: number,
                reason: format!("not JSON: {e}"),
                error: None,
            })?;
        let record = Record::from_json(&schema, &json).map_err(|e| TransferError::Line {
            line: number,
            reason: e.to_string(),
            error: Some(e),
        })?;
        records.push(record);
        if streamed && records.len() >= PAGE_ROWS as usize {
            written += records.len() as u64;
            tx.insert_many_into_table(table, std::mem::take(&mut records))
                .await?;
        }
        if number.is_multiple_of(PAGE_ROWS) {
            progress(number);
        }
    }
    written += records.len() as u64;
    if !records.is_empty() {
        write_rows(&tx, &schema, key, records).await?;
    }
    tx.commit().await?;
    progress(lines.max(written));
    Ok(written)
}

/// Inserts `records` in `tx`. Those of an `auto_increment` key are written in the order of
/// their ids, which the database generates; when it generates others, that is
/// [`TransferError::GeneratedIds`], and the caller's transaction rolls back.
async fn write_rows(
    tx: &Transaction<'_>,
    schema: &TableSchema,
    key: &Column,
    mut records: Vec<Record>,
) -> Result<(), TransferError> {
    if !key.is_auto_increment() {
        tx.insert_many_into_table(&schema.name, records).await?;
        return Ok(());
    }
    records.sort_by_key(|r| r.get(&key.name).and_then(Value::as_i64));
    let wanted: Vec<Option<String>> = records
        .iter_mut()
        .map(|r| {
            r.remove(&key.name)
                .filter(|v| !v.is_null())
                .map(|v| v.to_id())
        })
        .collect();
    let ids = tx.insert_many_into_table(&schema.name, records).await?;
    let same = ids
        .iter()
        .zip(&wanted)
        .all(|(id, wanted)| wanted.as_ref().is_none_or(|w| w == id));
    if !same {
        return Err(TransferError::GeneratedIds {
            table: schema.name.clone(),
            column: key.name.clone(),
        });
    }
    Ok(())
}

/// What [`copy_database`] copied: each table with its rows, in the order copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyReport {
    /// `(table, rows)`.
    pub tables: Vec<(String, u64)>,
}

/// One table to copy, as found in the source.
struct Planned {
    schema: TableSchema,
    owner: Option<String>,
    /// In its owner's namespace (else under its own name, owned or not).
    namespaced: bool,
    exists: bool,
}

/// The store that addresses `table` by its name: the plugin's scope for a table in a
/// namespace, else `store` itself.
pub(crate) fn addressing(
    store: &Store,
    namespaced: bool,
    owner: Option<&str>,
) -> crate::Result<Store> {
    match (namespaced, owner) {
        (true, Some(owner)) => store.scoped(owner),
        _ => Ok(store.clone()),
    }
}

/// The tables of `from` (every table its catalog lists, with its owner) and their rows,
/// copied into `to`, the rows read page by page and each table's written in one transaction.
///
/// Everything is checked before anything is written: a destination table that holds rows
/// ([`TransferError::NotEmpty`]), or exists with another schema or owner
/// ([`TransferError::Differs`]), refuses the copy and nothing changes. A table missing in `to`
/// is created (with its owner, [`Store::create_owned_table`]); an empty one is filled. Should
/// a write fail midway, the table being written gets none of its rows (its transaction rolls
/// back) and the tables this copy created are dropped again; an existing table filled before
/// the failure keeps its rows. `progress` hears the rows copied so far, over all tables.
pub async fn copy_database(
    from: &Store,
    to: &Store,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<CopyReport, TransferError> {
    let mut plan = Vec::new();
    for info in from.list_tables().await? {
        let owner = info.owner.clone();
        let src = addressing(from, info.namespaced, owner.as_deref())?;
        let dst = addressing(to, info.namespaced, owner.as_deref())?;
        let table = info.name;
        let schema = src.table_schema(&table).await?;
        let exists = dst.table_exists(&table).await?;
        if exists {
            let theirs = dst.table_schema(&table).await?;
            if theirs != schema {
                return Err(TransferError::Differs {
                    table,
                    difference: "another schema".to_owned(),
                });
            }
            let their_owner = dst.table_owner(&table).await?;
            if their_owner != owner {
                return Err(TransferError::Differs {
                    table,
                    difference: format!("owner {their_owner:?}, not {owner:?}"),
                });
            }
            let rows = dst.count(&table, None).await?;
            if rows > 0 {
                return Err(TransferError::NotEmpty { table, rows });
            }
        }
        plan.push(Planned {
            schema,
            owner,
            namespaced: info.namespaced,
            exists,
        });
    }
    let mut created = Vec::new();
    let outcome = copy_planned(from, to, &plan, &mut created, progress).await;
    if outcome.is_err() {
        for (dst, table) in created.iter().rev() {
            // Best effort: the copy's own error is the one to report.
            let _ = dst.drop_table(table).await;
        }
    }
    outcome
}

async fn copy_planned(
    from: &Store,
    to: &Store,
    plan: &[Planned],
    created: &mut Vec<(Store, String)>,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<CopyReport, TransferError> {
    let mut report = CopyReport::default();
    let mut done = 0u64;
    for planned in plan {
        let schema = &planned.schema;
        let owner = planned.owner.as_deref();
        let src = addressing(from, planned.namespaced, owner)?;
        let dst = addressing(to, planned.namespaced, owner)?;
        if !planned.exists {
            match owner {
                Some(owner) if !planned.namespaced => dst.create_owned_table(schema, owner).await?,
                _ => dst.create_table(schema).await?,
            }
            created.push((dst.clone(), schema.name.clone()));
        }
        let key = key_of(schema)?;
        let tx = dst.begin().await?;
        let rows = for_each_page(&src, &schema.name, async |records| {
            let count = records.len() as u64;
            write_rows(&tx, schema, key, records).await?;
            done += count;
            progress(done);
            Ok(())
        })
        .await?;
        tx.commit().await?;
        report.tables.push((schema.name.clone(), rows));
    }
    Ok(report)
}
