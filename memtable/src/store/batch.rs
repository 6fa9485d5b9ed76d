//! Writing a batch (`insert_many`) in one transaction, with memtable's work and the database's
//! overlapping: the records are coerced a chunk at a time, the next chunk while the database
//! stores the one before (SQLite on the blocking pool, PostgreSQL in the server).
//!
//! The outcome is the one of checking every record against the limits, then coercing every
//! record, before writing any: a record past a limit is the error, wherever it is in the batch;
//! else a record that cannot be written; else the database's error, even when the database
//! failed on an earlier chunk (the records not yet taken are then checked). Either way the
//! transaction rolls back and nothing of the batch stays written.

use std::sync::Arc;

use super::Store;
use super::cache::Table;
use crate::backend::driver::{Connection, Write, WriteFailure};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::schema::{Column, ColumnType};
use crate::sql::{Batch, BatchForm};
use crate::value::{Record, Value};

/// Rows coerced at a time for a `COPY`: some hundred kilobytes of data, so that a message
/// costs little next to its rows and the server has rows to store while the next are made.
const COPY_ROWS: usize = 1_000;

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
    /// against the store's limits as it comes.
    pub(super) async fn write_batch(
        &self,
        conn: &mut dyn Connection,
        table: &Table,
        batch: &Batch<'_>,
        records: Vec<Record>,
        key_type: Option<ColumnType>,
    ) -> Result<Written> {
        let mut source = Source {
            records: records.into_iter(),
            limits: &self.inner.limits,
            table: &table.schema.name,
            key: table.schema.require_primary_key()?,
            batch,
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
            conn.commit().await.map_err(WriteFailure::Database)
        }
        .await;
        if outcome.is_err() {
            conn.rollback().await;
        }
        let (error, database) = match outcome {
            Ok(()) => return Ok(written),
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
async fn write_statements<I: Iterator<Item = Record> + Send>(
    conn: &mut dyn Connection,
    source: &mut Source<'_, I>,
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
async fn copy<I: Iterator<Item = Record> + Send>(
    conn: &mut dyn Connection,
    source: &mut Source<'_, I>,
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
struct Source<'a, I> {
    records: I,
    limits: &'a Limits,
    table: &'a str,
    key: &'a Column,
    batch: &'a Batch<'a>,
}

impl<I: Iterator<Item = Record>> Source<'_, I> {
    /// Takes the next `rows` records: checks them against the limits, fills in the text keys
    /// they leave out, and appends their values, coerced, to `values`.
    fn next_rows(&mut self, rows: usize, values: &mut Vec<Value>) -> Result<()> {
        let chunk: Vec<Record> = self.records.by_ref().take(rows).collect();
        for record in &chunk {
            self.limits.check_record(self.table, record)?;
        }
        let chunk = chunk
            .into_iter()
            .map(|record| super::rows::with_generated_key(self.key, record));
        self.batch.coerce(chunk, values)
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
            let record = super::rows::with_generated_key(self.key, record);
            self.batch.coerce([record], &mut scratch)?;
        }
        Ok(())
    }
}
