//! Writing many rows: multi-row INSERT chunked under the bind-parameter limit, and the bulk
//! forms a backend's capabilities offer (array parameters, binary COPY).

use std::sync::Arc;

use super::rows::{Layout, Rows};
use super::{Backend, Statement};
use crate::error::Result;
use crate::schema::{ColumnType, TableSchema};
use crate::value::{Record, Value};

/// Rows per multi-row INSERT at most: past a few hundred rows a statement, larger statements
/// stop paying off and only cost memory.
const MAX_ROWS_PER_STATEMENT: usize = 500;

/// Rows per `INSERT … SELECT UNNEST(…), …`: bounded only to keep one message's size
/// reasonable.
const MAX_ROWS_PER_ARRAY_STATEMENT: usize = 10_000;

/// How the records of a batch are written (see [`Backend::render_batch`]): the columns, the
/// statements, and the coercion of the records, done a chunk at a time by the caller.
pub(crate) struct Batch<'a> {
    layout: Layout<'a>,
    /// The types of the columns written, in schema order.
    pub(crate) types: Vec<ColumnType>,
    /// The position of the primary key among the columns written (`None` when the database
    /// assigns it).
    pub(crate) key: Option<usize>,
    /// The number of rows.
    pub(crate) rows: usize,
    /// The statements that write them.
    pub(crate) form: BatchForm,
    /// JSON values are written as their canonical text (the backend's capability).
    json_as_text: bool,
}

/// The statements that write a [`Batch`].
pub(crate) enum BatchForm {
    /// Multi-row `INSERT … VALUES` statements, one after the other: the rows each writes, and
    /// its SQL text (shared by the statements of the same size).
    Values(Vec<(usize, Arc<str>)>),
    /// `INSERT … SELECT UNNEST($1::T1[]), …` statements, each binding one array per column: the
    /// rows each writes, and the SQL text (the same for all).
    Arrays(Vec<(usize, Arc<str>)>),
    /// One `COPY … FROM STDIN (FORMAT binary)` of every row.
    Copy(String),
}

impl Batch<'_> {
    /// Coerces the next records of the batch, in order, to the columns written, appending one
    /// row of values (`types.len()` of them) for each to `values`.
    pub(crate) fn coerce(
        &self,
        records: impl IntoIterator<Item = Record>,
        values: &mut Vec<Value>,
    ) -> Result<()> {
        let start = values.len();
        self.layout.coerce(records, values)?;
        if self.json_as_text {
            for value in &mut values[start..] {
                if let Value::Json(json) = value {
                    *value = Value::Text(super::canonical_json(json));
                }
            }
        }
        Ok(())
    }
}

impl Backend {
    /// Multi-row INSERTs (each `RETURNING` the keys) writing `records` in order, as few
    /// statements as the backend's bind-parameter limit allows. Records may hold different
    /// columns: a column absent from a record is written as its default, or NULL.
    pub fn insert_many(self, schema: &TableSchema, records: &[Record]) -> Result<Vec<Statement>> {
        schema.validate()?;
        self.render_insert_many(schema, records.to_vec(), true)
    }

    /// [`insert_many`](Self::insert_many) for a schema already validated, taking the records;
    /// without `RETURNING` unless `returning` (the keys of a batch are known unless the
    /// database generates them).
    pub(crate) fn render_insert_many(
        self,
        schema: &TableSchema,
        records: Vec<Record>,
        returning: bool,
    ) -> Result<Vec<Statement>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let count = records.len();
        let mut rows = Rows::new(schema, records)?;
        rows.returning = returning;
        let per_statement = if rows.columns.is_empty() {
            // DEFAULT VALUES takes one row a statement.
            1
        } else {
            (self.max_bind_params() / rows.columns.len()).clamp(1, MAX_ROWS_PER_STATEMENT)
        };
        (0..count)
            .step_by(per_statement)
            .map(|start| {
                let range = start..(start + per_statement).min(count);
                rows.render(self, range, None)
            })
            .collect()
    }

    /// How to write a batch in the fastest form the backend has: on SQLite multi-row `INSERT …
    /// VALUES` chunked under the bind-parameter limit (as [`insert_many`](Self::insert_many));
    /// on PostgreSQL, when `copy` allows it and no key has to be returned, one `COPY … FROM
    /// STDIN (FORMAT binary)`, else `INSERT … SELECT UNNEST($1::T1[]), UNNEST($2::T2[]), …`, one
    /// array parameter per column, so that a chunk of thousands of rows is one statement with as
    /// many parameters as the table has columns. `RETURNING` the keys only if `returning`.
    ///
    /// `created` says that memtable created the table: its columns have exactly the types
    /// memtable declares (which binary COPY needs) and no defaults, so that every column can
    /// be written, NULL where a record has no value, without looking at the records first.
    /// Otherwise the columns written are those some record names, as for
    /// [`insert_many`](Self::insert_many). The values are coerced later, a chunk at a time, by
    /// [`Batch::coerce`], which refuses what does not fit.
    pub(crate) fn render_batch<'a>(
        self,
        schema: &'a TableSchema,
        records: &[Record],
        returning: bool,
        created: bool,
    ) -> Result<Batch<'a>> {
        let count = records.len();
        let layout = if created {
            Layout::all(schema)?
        } else {
            Layout::new(schema, records)?
        };
        let rows = Rows {
            schema,
            columns: layout.columns.clone(),
            values: Vec::new(),
            returning,
            rendered: None,
        };
        let width = rows.columns.len();
        let dialect = self.dialect();
        let bulk = &dialect.capabilities().bulk;
        let form = if bulk.arrays && width > 0 {
            if bulk.copy && created && !returning {
                BatchForm::Copy(rows.copy_sql(dialect))
            } else {
                let sql: Arc<str> = rows.unnest_sql(dialect)?.into();
                BatchForm::Arrays(
                    chunk_sizes(count, MAX_ROWS_PER_ARRAY_STATEMENT)
                        .map(|n| (n, sql.clone()))
                        .collect(),
                )
            }
        } else {
            let per_statement = self
                .max_bind_params()
                .checked_div(width)
                // No columns: DEFAULT VALUES, which takes one row a statement.
                .map_or(1, |rows| rows.clamp(1, MAX_ROWS_PER_STATEMENT));
            // Every statement but the last has the same size: two texts at most.
            let mut texts: Vec<(usize, Arc<str>)> = Vec::with_capacity(2);
            let mut statements = Vec::with_capacity(count.div_ceil(per_statement));
            for n in chunk_sizes(count, per_statement) {
                let sql = match texts.iter().find(|(rows, _)| *rows == n) {
                    Some((_, sql)) => sql.clone(),
                    None => {
                        let sql: Arc<str> = rows.sql_text(dialect, n, None)?.into();
                        texts.push((n, sql.clone()));
                        sql
                    }
                };
                statements.push((n, sql));
            }
            BatchForm::Values(statements)
        };
        Ok(Batch {
            types: layout.columns.iter().map(|c| c.column_type).collect(),
            key: layout.columns.iter().position(|c| c.is_primary_key()),
            rows: count,
            form,
            layout,
            json_as_text: dialect.capabilities().json_as_text,
        })
    }
}

/// The sizes of the chunks of at most `per_chunk` rows that `count` rows make, in order.
fn chunk_sizes(count: usize, per_chunk: usize) -> impl Iterator<Item = usize> {
    let per_chunk = per_chunk.max(1);
    (0..count)
        .step_by(per_chunk)
        .map(move |start| per_chunk.min(count - start))
}
