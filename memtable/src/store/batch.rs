//! Writing a batch (`insert_many`) in one transaction, with memtable's work and the database's
//! overlapping: the records are coerced a chunk at a time, the next chunk while the database
//! stores the one before (SQLite on the blocking pool, PostgreSQL in the server).
//!
//! The outcome is the one of checking every record against the limits, then coercing every
//! record, before writing any: a record past a limit is the error, wherever it is in the batch;
//! else a record that cannot be written; else the database's error, even when the database
//! failed on an earlier chunk (the records not yet taken are then checked). Either way the
//! transaction rolls back and nothing of the batch stays written.
//!
//! Whether every record names only columns the cached schema has (else the catalog is read
//! once more, for a column another process added) takes a pass over all the records. A batch
//! makes that pass a part at a time while the database stores its first rows, which are
//! written from copies of the records so that, if a name is unknown, the batch can start again
//! whole ([`BatchOutcome::NamesUnknown`]).

use std::sync::Arc;

use super::cache::Table;
use super::{Store, names_only_columns_of};
use crate::backend::driver::{Connection, Write, WriteFailure};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::schema::{Column, ColumnType, TableSchema};
use crate::sql::{Batch, BatchForm};
use crate::value::{Record, Value};

/// Rows coerced at a time for a `COPY`: some ten kilobytes of data, so that a chunk's records,
/// values and bytes stay in the processor's caches (a chunk of 1,000 rows took memtable 5 µs
/// a row, one of 100 rows 3 µs; BENCHMARKS.md), while a message still costs little next to its
/// rows and the server has rows to store while the next are made.
const COPY_ROWS: usize = 100;

/// While the names are checked as a batch goes, the records whose names are checked for each
/// record written from a copy: enough that the copies stay few, few enough that PostgreSQL's
/// server, which stores a row in about the time eight names are checked, is not kept waiting.
const NAMES_CHECKED_PER_COPY: usize = 8;

/// Whether the records' names are still to be checked against the table's columns.
pub(super) enum Names {
    /// Checked, or the schema cannot be staler than the catalog.
    Known,
    /// To be checked while the first rows are written (see the module's documentation).
    CheckWhileWriting,
}

/// How a batch ended, when it did not fail.
pub(super) enum BatchOutcome {
    Written(Written),
    /// Nothing was written: a record names a column the schema lacks. The records, whole.
    NamesUnknown(Vec<Record>),
}

/// What a batch wrote.
pub(super) struct Written {
    /// The keys of the rows, in order, when the batch held them.
    pub(super) ids: Vec<String>,
    /// The rows each statement returned (the keys the database assigned), statement by
    /// statement.
    pub(super) returned: Vec<Vec<Vec<Value>>>,
}

impl Store {
    /// Writes `records` as `batch` says, in one transaction on `conn`, checking each record
    /// against the store's limits as it comes (and its names, as `names` says).
    pub(super) async fn write_batch(
        &self,
        conn: &mut dyn Connection,
        table: &Table,
        batch: &Batch<'_>,
        records: Vec<Record>,
        key_type: Option<ColumnType>,
        names: Names,
    ) -> Result<BatchOutcome> {
        let pending = match names {
            Names::Known => None,
            Names::CheckWhileWriting => Some(NamesPending {
                schema: &table.schema,
                checked: 0,
                copied: 0,
            }),
        };
        let (key_place, key) = table.schema.require_primary_key_at()?;
        let mut source = Source {
            records: records.into_iter(),
            limits: &self.inner.limits,
            table: &table.schema.name,
            key,
            key_place,
            batch,
            names: pending,
        };
        let mut written = Written {
            ids: Vec::with_capacity(if batch.key.is_some() { batch.rows } else { 0 }),
            returned: Vec::new(),
        };
        let outcome = async {
            conn.begin_write().await.map_err(WriteFailure::Database)?;
            match &batch.form {
                BatchForm::Values(statements) => {
                    written.returned = write_statements(
                        conn,
                        &mut source,
                        statements,
                        &mut written.ids,
                        key_type,
                        false,
                    )
                    .await?;
                }
                BatchForm::Arrays(statements) => {
                    written.returned = write_statements(
                        conn,
                        &mut source,
                        statements,
                        &mut written.ids,
                        key_type,
                        true,
                    )
                    .await?;
                }
                BatchForm::Copy(sql) => {
                    copy(conn, &mut source, sql, &mut written.ids).await?;
                }
            }
            source.check_names().map_err(|error| WriteFailure::Record {
                error,
                database: None,
            })?;
            conn.commit().await.map_err(WriteFailure::Database)
        }
        .await;
        if outcome.is_err() {
            conn.rollback().await;
            if source.names_unknown() {
                return Ok(BatchOutcome::NamesUnknown(source.records.collect()));
            }
        }
        let (error, database) = match outcome {
            Ok(()) => return Ok(BatchOutcome::Written(written)),
            Err(WriteFailure::Record { error, database }) => (Some(error), database.map(|e| *e)),
            Err(WriteFailure::Database(database)) => (None, Some(database)),
        };
        // As if every record had been checked, then coerced, before the database was asked.
        if let Some(error) = error {
            source.check_rest_limits()?;
            return Err(error);
        }
        source.check_rest()?;
        match database {
            Some(error) => Err(self.classify(error, &table.schema.name, Some(&table.schema))),
            None => Err(Error::invalid_record(
                &table.schema.name,
                "the batch failed without an error",
            )),
        }
    }
}

/// Runs `statements` (how many rows each writes, and its SQL) over the records, coercing the
/// next statement's values while the database runs one. Returns the rows each statement
/// returned.
///
/// Two buffers of values take turns: the database gives one back after its statement, and
/// it is emptied (its values dropped, on this thread, where they were made) and filled again
/// while the database runs the next.
async fn write_statements(
    conn: &mut dyn Connection,
    source: &mut Source<'_>,
    statements: &[(usize, Arc<str>)],
    ids: &mut Vec<String>,
    key_type: Option<ColumnType>,
    arrays: bool,
) -> Result<Vec<Vec<Vec<Value>>>, WriteFailure> {
    let (key, width) = (source.batch.key, source.batch.types.len());
    let types = &source.batch.types;
    let mut prepare = |rows: usize, values: &mut Vec<Value>| -> Result<(), WriteFailure> {
        values.clear();
        values.reserve(rows.saturating_mul(width));
        source.next_rows(rows, values)?;
        if let Some(key) = key {
            ids.extend(values.iter().skip(key).step_by(width).map(Value::to_id));
        }
        Ok(())
    };
    let (mut current, mut spare) = (Vec::new(), Vec::new());
    let mut returned = Vec::with_capacity(statements.len());
    let mut statements = statements.iter();
    let mut next = statements
        .next()
        .map(|(rows, sql)| prepare(*rows, &mut current).map(|()| sql.clone()))
        .transpose()?;
    while let Some(sql) = next.take() {
        let following = statements.next();
        let write = Write {
            sql,
            types,
            values: &mut current,
            arrays,
            returning: key_type,
            bulk: true,
        };
        let (ran, prepared) = tokio::join!(conn.write(write), async {
            following
                .map(|(rows, sql)| prepare(*rows, &mut spare).map(|()| sql.clone()))
                .transpose()
        });
        // A record that cannot be written wins over the database's error.
        next = prepared?;
        returned.push(ran.map_err(WriteFailure::Database)?);
        std::mem::swap(&mut current, &mut spare);
    }
    Ok(returned)
}

/// Writes the records by one bulk copy, coercing them a chunk at a time while the server
/// stores the chunks sent before; collects their keys, which the batch holds.
async fn copy(
    conn: &mut dyn Connection,
    source: &mut Source<'_>,
    sql: &str,
    ids: &mut Vec<String>,
) -> Result<(), WriteFailure> {
    let (key, width) = (source.batch.key, source.batch.types.len().max(1));
    let types = source.batch.types.clone();
    let mut remaining = source.batch.rows;
    let mut fill = |values: &mut Vec<Value>| -> Result<bool> {
        let rows = remaining.min(COPY_ROWS);
        remaining -= rows;
        source.next_rows(rows, values)?;
        if let Some(key) = key {
            ids.extend(values.iter().skip(key).step_by(width).map(Value::to_id));
        }
        Ok(remaining > 0)
    };
    conn.copy_in(sql, &types, &mut fill).await.map(drop)
}

/// The records of a batch not yet written, taken a chunk at a time.
struct Source<'a> {
    records: std::vec::IntoIter<Record>,
    limits: &'a Limits,
    table: &'a str,
    key: &'a Column,
    /// The key's position among the schema's columns.
    key_place: usize,
    batch: &'a Batch<'a>,
    /// While the records' names are not checked yet.
    names: Option<NamesPending<'a>>,
}

/// The names of a batch's records, checked against `schema` a part at a time; until all are,
/// rows are written from copies of the records, so that the records stay whole.
struct NamesPending<'a> {
    schema: &'a TableSchema,
    /// Records (from the first) whose names are checked.
    checked: usize,
    /// Records (from the first) written from copies (they are still in [`Source::records`]).
    copied: usize,
}

impl Source<'_> {
    /// Takes the next `rows` records: checks them against the limits, fills in the text keys
    /// they leave out, and appends their values, coerced, to `values`.
    fn next_rows(&mut self, rows: usize, values: &mut Vec<Value>) -> Result<()> {
        if let Some(pending) = &mut self.names {
            let records = self.records.as_slice();
            let end =
                (pending.checked + rows.saturating_mul(NAMES_CHECKED_PER_COPY)).min(records.len());
            if end < records.len() {
                if let Some(name) =
                    first_unknown_name(pending.schema, &records[pending.checked..end])
                {
                    return Err(Error::unknown_column(self.table, name));
                }
                pending.checked = end;
                let chunk: Vec<Record> = records[pending.copied..]
                    .iter()
                    .take(rows)
                    .cloned()
                    .collect();
                pending.copied += chunk.len();
                return self.write(chunk, values);
            }
            self.check_names()?;
        }
        let chunk: Vec<Record> = self.records.by_ref().take(rows).collect();
        self.write(chunk, values)
    }

    fn write(&self, chunk: Vec<Record>, values: &mut Vec<Value>) -> Result<()> {
        for record in &chunk {
            self.limits.check_record(self.table, record)?;
        }
        let chunk = chunk
            .into_iter()
            .map(|record| super::rows::with_generated_key(self.key, self.key_place, record));
        self.batch.coerce(chunk, values)
    }

    /// Checks the names not checked yet, if they are pending, and drops the records written
    /// from copies. A name the schema lacks is an error (and the names stay pending, for
    /// [`names_unknown`](Self::names_unknown)).
    fn check_names(&mut self) -> Result<()> {
        let Some(pending) = &self.names else {
            return Ok(());
        };
        if let Some(name) = self.unknown_name_unchecked() {
            return Err(Error::unknown_column(self.table, name));
        }
        let copied = pending.copied;
        self.names = None;
        self.records.by_ref().take(copied).for_each(drop);
        Ok(())
    }

    /// Whether a record not written yet names a column the schema lacks, while the names
    /// are pending: then the records are all still whole.
    fn names_unknown(&self) -> bool {
        self.unknown_name_unchecked().is_some()
    }

    /// The first name, among the records whose names are pending and not checked yet, that
    /// is not a column of the schema.
    fn unknown_name_unchecked(&self) -> Option<&str> {
        let pending = self.names.as_ref()?;
        let unchecked = self.records.as_slice().get(pending.checked..)?;
        first_unknown_name(pending.schema, unchecked)
    }

    /// The first of the records not taken yet that exceeds a limit, as an error.
    fn check_rest_limits(&mut self) -> Result<()> {
        self.records
            .by_ref()
            .try_for_each(|record| self.limits.check_record(self.table, &record))
    }

    /// The first fault of the records not taken yet: one that exceeds a limit, else one that
    /// cannot be written.
    fn check_rest(mut self) -> Result<()> {
        let rest: Vec<Record> = self.records.by_ref().collect();
        for record in &rest {
            self.limits.check_record(self.table, record)?;
        }
        let mut scratch = Vec::new();
        for record in rest {
            scratch.clear();
            let record = super::rows::with_generated_key(self.key, self.key_place, record);
            self.batch.coerce([record], &mut scratch)?;
        }
        Ok(())
    }
}

/// The first name one of `records` gives that is not a column of `schema`.
fn first_unknown_name<'r>(schema: &TableSchema, records: &'r [Record]) -> Option<&'r str> {
    let record = records
        .iter()
        .find(|record| !names_only_columns_of(schema, record))?;
    record.keys().find(|name| schema.column(name).is_none())
}
