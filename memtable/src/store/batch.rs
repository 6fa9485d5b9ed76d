//! Writing a batch (`insert_many`) in one transaction, with memtable's work and the database's
//! overlapping: the records are coerced and encoded a chunk at a time, the next chunk while the
//! database stores the one before (SQLite on sqlx's worker thread, PostgreSQL in the server).
//!
//! The outcome is the one of checking every record against the limits, then coercing every
//! record, before writing any: a record past a limit is the error, wherever it is in the batch;
//! else a record that cannot be written; else the database's error, even when the database
//! failed on an earlier chunk (the records not yet taken are then checked). Either way the
//! transaction rolls back and nothing of the batch stays written.

use std::sync::Arc;

use super::cache::Table;
use super::driver_error::from_sqlx;
use super::{Conn, Store, Tx};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::schema::{Column, ColumnType};
use crate::sql::{Backend, Batch, BatchForm};
use crate::value::{Record, Value};

/// Rows coerced and encoded at a time for a `COPY`: some hundred kilobytes of data, so that a
/// message costs little next to its rows and the server has rows to store while the next are
/// made.
#[cfg(feature = "postgres")]
const COPY_ROWS: usize = 1_000;

/// Why a batch was not written.
pub(super) enum Failure {
    /// A record cannot be written (past a limit, a value that does not fit, a missing key, …);
    /// `database` is what the database said when the write was abandoned, if it failed.
    Record {
        error: Error,
        database: Option<Box<sqlx::Error>>,
    },
    /// The database failed.
    Database(sqlx::Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Record {
            error,
            database: None,
        }
    }
}

/// The arguments bound for one insert of a batch, for the store's backend.
pub(super) enum Arguments {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteArguments),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgArguments),
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
    /// against the store's limits as it comes.
    pub(super) async fn write_batch(
        &self,
        conn: &mut Conn<'_>,
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
            let mut tx = conn.begin_write().await.map_err(Failure::Database)?;
            match &batch.form {
                BatchForm::Values(statements) => {
                    let bind = |values: &mut [Value]| self.arguments(&batch.types, values);
                    let (tx, ids) = (&mut tx, &mut written.ids);
                    written.returned =
                        write_statements(tx, &mut source, statements, ids, key_type, bind).await?;
                }
                #[cfg(feature = "postgres")]
                BatchForm::Arrays(statements) => {
                    let bind = |values: &mut [Value]| {
                        super::postgres::array_arguments(&batch.types, values)
                            .map(Arguments::Postgres)
                    };
                    let (tx, ids) = (&mut tx, &mut written.ids);
                    written.returned =
                        write_statements(tx, &mut source, statements, ids, key_type, bind).await?;
                }
                #[cfg(feature = "postgres")]
                BatchForm::Copy(sql) => {
                    copy(&mut tx, &mut source, sql, &mut written.ids).await?;
                }
                #[cfg(not(feature = "postgres"))]
                BatchForm::Arrays(_) | BatchForm::Copy(_) => {
                    return Err(Failure::Database(sqlx::Error::Configuration(
                        "memtable was built without PostgreSQL".into(),
                    )));
                }
            }
            tx.commit().await.map_err(Failure::Database)
        }
        .await;
        let (error, database) = match outcome {
            Ok(()) => return Ok(written),
            Err(Failure::Record { error, database }) => (Some(error), database.map(|e| *e)),
            Err(Failure::Database(database)) => (None, Some(database)),
        };
        let database = database.map(Err::<(), _>);
        if let Some(database) = &database {
            conn.note(database);
        }
        // As if every record had been checked, then coerced, before the database was asked.
        if let Some(error) = error {
            source.check_rest_limits()?;
            return Err(error);
        }
        source.check_rest()?;
        match database {
            Some(Err(error)) => Err(self.classify(error, &table.schema.name, Some(&table.schema))),
            _ => Err(Error::invalid_record(
                &table.schema.name,
                "the batch failed without an error",
            )),
        }
    }

    /// The arguments of one multi-row `INSERT … VALUES` of `values`, row by row, of `types`.
    pub(super) fn arguments(
        &self,
        types: &[ColumnType],
        values: &mut [Value],
    ) -> Result<Arguments, sqlx::Error> {
        // SQLite's storage classes do not depend on the column's declared type.
        #[cfg(not(feature = "postgres"))]
        let _ = types;
        match self.inner.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => super::sqlite::arguments(values).map(Arguments::Sqlite),
            #[cfg(feature = "postgres")]
            Backend::Postgres => super::postgres::arguments(types, values).map(Arguments::Postgres),
            #[allow(unreachable_patterns)]
            _ => Err(sqlx::Error::Configuration(
                "memtable was built without this backend".into(),
            )),
        }
    }
}

/// Runs `statements` (how many rows each writes, and its SQL) over the records, each with the
/// arguments `bind` makes of its rows' values, binding the next statement's while the database
/// runs one. Returns the rows each statement returned.
async fn write_statements<I: Iterator<Item = Record>>(
    tx: &mut Tx<'_>,
    source: &mut Source<'_, I>,
    statements: &[(usize, Arc<str>)],
    ids: &mut Vec<String>,
    key_type: Option<ColumnType>,
    mut bind: impl FnMut(&mut [Value]) -> Result<Arguments, sqlx::Error>,
) -> Result<Vec<Vec<Vec<Value>>>, Failure> {
    let mut values = Vec::new();
    let (key, width) = (source.batch.key, source.batch.types.len());
    let mut prepare = |rows: usize| -> Result<Arguments, Failure> {
        values.clear();
        source.next_rows(rows, &mut values)?;
        if let Some(key) = key {
            ids.extend(values.iter().skip(key).step_by(width).map(Value::to_id));
        }
        bind(&mut values).map_err(Failure::Database)
    };
    let mut returned = Vec::with_capacity(statements.len());
    let mut statements = statements.iter();
    let mut next = statements
        .next()
        .map(|(rows, sql)| prepare(*rows).map(|args| (sql.clone(), args)))
        .transpose()?;
    while let Some((sql, args)) = next.take() {
        let following = statements.next();
        let mut db = tx.db();
        let (ran, prepared) = tokio::join!(db.insert_batch(sql, args, key_type), async {
            following
                .map(|(rows, sql)| prepare(*rows).map(|args| (sql.clone(), args)))
                .transpose()
        });
        // A record that cannot be written wins over the database's error.
        next = prepared?;
        returned.push(ran.map_err(Failure::Database)?);
    }
    Ok(returned)
}

/// Writes the records by one binary `COPY`, coercing and encoding them a chunk at a time while
/// the server stores the chunks sent before; collects their keys, which the batch holds.
#[cfg(feature = "postgres")]
async fn copy<I: Iterator<Item = Record>>(
    tx: &mut Tx<'_>,
    source: &mut Source<'_, I>,
    sql: &str,
    ids: &mut Vec<String>,
) -> Result<(), Failure> {
    let (key, types) = (source.batch.key, &source.batch.types);
    let width = types.len().max(1);
    let mut values = Vec::with_capacity(COPY_ROWS * width);
    let mut remaining = source.batch.rows;
    let fill = |buffer: &mut Vec<u8>| -> Result<bool> {
        let rows = remaining.min(COPY_ROWS);
        remaining -= rows;
        source.next_rows(rows, &mut values)?;
        for row in values.chunks_mut(width) {
            super::copy::row(buffer, types, row).map_err(|e| from_sqlx(sqlx::Error::Encode(e)))?;
            if let Some(key) = key
                && let Some(value) = row.get_mut(key)
            {
                // Taken, not copied: the row is done with.
                ids.push(match std::mem::take(value) {
                    Value::Text(id) => id,
                    other => other.to_id(),
                });
            }
        }
        // Freed here, while the server stores the rows sent before.
        values.clear();
        Ok(remaining > 0)
    };
    tx.db().copy_in(sql, fill).await.map(drop)
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
