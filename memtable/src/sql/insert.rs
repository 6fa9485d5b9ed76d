//! INSERT … RETURNING the key, multi-row INSERT for batches, and upsert (ON CONFLICT … DO
//! UPDATE).

use sea_query::{Expr, OnConflict, Query};

use super::{Backend, Dialect, Statement, ident};
use crate::error::{Error, Result};
use crate::schema::{Column, ColumnType, TableSchema};
use crate::value::{Record, Value};

/// Rows per multi-row INSERT at most: past a few hundred rows a statement, larger statements
/// stop paying off and only cost memory.
const MAX_ROWS_PER_STATEMENT: usize = 500;

/// Rows per `INSERT … SELECT UNNEST(…), …`: bounded only to keep one message's size
/// reasonable.
const MAX_ROWS_PER_ARRAY_STATEMENT: usize = 10_000;

/// The statements that write one batch (see [`Backend::render_batch`]).
pub(crate) enum Batch {
    /// Multi-row `INSERT … VALUES` statements.
    Values(Vec<Statement>),
    /// `INSERT … SELECT UNNEST(…), …` statements, each with one array per column.
    Arrays(Vec<ColumnArrays>),
}

/// One statement of a PostgreSQL batch insert: its SQL text, and the values of each column
/// (coerced to the column's type, `Null` where a record leaves the column out), to be bound as
/// one array per column.
pub(crate) struct ColumnArrays {
    pub(crate) sql: String,
    pub(crate) columns: Vec<(ColumnType, Vec<Value>)>,
}

impl Backend {
    /// `INSERT INTO … VALUES (…) RETURNING` the key, for one record.
    ///
    /// The record must hold the primary key, unless the key is `auto_increment`, in which case
    /// it must not. Columns are written in schema order, so records with the same columns
    /// render the same SQL.
    ///
    /// ```
    /// use memtable::sql::Backend;
    /// use memtable::{Column, ColumnType, Constraint, Record, TableSchema};
    ///
    /// let schema = TableSchema::new("t", vec![
    ///     Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey),
    ///     Column::new("flag", ColumnType::Boolean),
    /// ]);
    /// let record = Record::new().with("flag", true).with("id", "a");
    /// assert_eq!(Backend::Sqlite.insert(&schema, &record)?.sql(), r#"INSERT INTO "t" ("id", "flag") VALUES (?, ?) RETURNING "id""#);
    /// assert_eq!(Backend::Postgres.insert(&schema, &record)?.sql(), r#"INSERT INTO "t" ("id", "flag") VALUES ($1, $2) RETURNING "id""#);
    /// # Ok::<(), memtable::Error>(())
    /// ```
    pub fn insert(self, schema: &TableSchema, record: &Record) -> Result<Statement> {
        schema.validate()?;
        self.render_insert(schema, record.clone(), true)
    }

    /// [`insert`](Self::insert) for a schema already validated, taking the record.
    /// With `returning` false the statement has no `RETURNING` (the caller knows the key).
    pub(crate) fn render_insert(
        self,
        schema: &TableSchema,
        record: Record,
        returning: bool,
    ) -> Result<Statement> {
        let mut rows = Rows::new(schema, vec![record])?;
        rows.returning = returning;
        rows.render(self, 0..1, None)
    }

    /// Multi-row INSERTs (each `RETURNING` the keys) writing `records` in order, as few
    /// statements as the backend's bind-parameter limit allows. Records may hold different
    /// columns: a column absent from a record is written as NULL.
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

    /// The statements that write a batch in the fastest form the backend has: on SQLite
    /// multi-row `INSERT … VALUES` chunked under the bind-parameter limit (as
    /// [`insert_many`](Self::insert_many)); on PostgreSQL `INSERT … SELECT
    /// UNNEST($1::T1[]), UNNEST($2::T2[]), …`, one array parameter per column, so that a chunk of
    /// thousands of rows is one statement with as many parameters as the table has columns.
    /// `RETURNING` the keys only if `returning`.
    pub(crate) fn render_batch(
        self,
        schema: &TableSchema,
        records: Vec<Record>,
        returning: bool,
    ) -> Result<Batch> {
        if records.is_empty() {
            return Ok(Batch::Values(Vec::new()));
        }
        let count = records.len();
        let mut rows = Rows::new(schema, records)?;
        rows.returning = returning;
        if self == Backend::Sqlite || rows.columns.is_empty() {
            let per_statement = if rows.columns.is_empty() {
                // DEFAULT VALUES takes one row a statement.
                1
            } else {
                (self.max_bind_params() / rows.columns.len()).clamp(1, MAX_ROWS_PER_STATEMENT)
            };
            let statements = (0..count)
                .step_by(per_statement)
                .map(|start| rows.render(self, start..(start + per_statement).min(count), None))
                .collect::<Result<Vec<_>>>()?;
            return Ok(Batch::Values(statements));
        }
        let dialect = super::postgres::PostgresDialect;
        let sql = rows.unnest_sql(&dialect)?;
        let mut chunks = Vec::new();
        let mut remaining = std::mem::take(&mut rows.rows);
        while !remaining.is_empty() {
            let rest = remaining.split_off(remaining.len().min(MAX_ROWS_PER_ARRAY_STATEMENT));
            let chunk = std::mem::replace(&mut remaining, rest);
            let mut columns: Vec<(ColumnType, Vec<Value>)> = rows
                .columns
                .iter()
                .map(|c| (c.column_type, Vec::with_capacity(chunk.len())))
                .collect();
            for mut row in chunk {
                for ((_, array), &position) in columns.iter_mut().zip(&rows.positions) {
                    array.push(row[position].take().unwrap_or(Value::Null));
                }
            }
            chunks.push(ColumnArrays {
                sql: sql.clone(),
                columns,
            });
        }
        Ok(Batch::Arrays(chunks))
    }

    /// `INSERT … ON CONFLICT (conflict) DO UPDATE SET` every other written column, `RETURNING`
    /// the key: one atomic statement that inserts the record or updates the row it collides
    /// with.
    ///
    /// `conflict` names the columns of the primary key, of a unique column, or of a unique
    /// index; anything else is refused, since the database needs a unique constraint there.
    ///
    /// ```
    /// use memtable::sql::Backend;
    /// use memtable::{Column, ColumnType, Constraint, Record, TableSchema};
    ///
    /// let schema = TableSchema::new("kv", vec![
    ///     Column::new("key", ColumnType::Text).with(Constraint::PrimaryKey),
    ///     Column::new("value", ColumnType::Json),
    /// ]);
    /// let record = Record::new().with("key", "k").with("value", serde_json::json!({"n": 1}));
    /// assert_eq!(
    ///     Backend::Postgres.upsert(&schema, &record, &["key"])?.sql(),
    ///     r#"INSERT INTO "kv" ("key", "value") VALUES ($1, $2) ON CONFLICT ("key") DO UPDATE SET "value" = "excluded"."value" RETURNING "key""#
    /// );
    /// # Ok::<(), memtable::Error>(())
    /// ```
    pub fn upsert(
        self,
        schema: &TableSchema,
        record: &Record,
        conflict: &[&str],
    ) -> Result<Statement> {
        schema.validate()?;
        self.render_upsert(schema, record.clone(), conflict)
    }

    /// [`upsert`](Self::upsert) for a schema already validated, taking the record.
    pub(crate) fn render_upsert(
        self,
        schema: &TableSchema,
        record: Record,
        conflict: &[&str],
    ) -> Result<Statement> {
        check_conflict_target(schema, conflict)?;
        let mut rows = Rows::new(schema, vec![record])?;
        for column in conflict {
            if !rows.columns.iter().any(|c| c.name == *column) {
                return Err(Error::invalid_record(
                    &schema.name,
                    format!("an upsert on {conflict:?} needs a value for {column:?}"),
                ));
            }
        }
        rows.render(self, 0..1, Some(conflict))
    }
}

fn check_conflict_target(schema: &TableSchema, conflict: &[&str]) -> Result<()> {
    for column in conflict {
        schema.require_column(column)?;
    }
    let single_unique =
        |c: &Column| (c.is_primary_key() || c.is_unique()) && conflict == [c.name.as_str()];
    let is_unique_target = schema.columns.iter().any(single_unique)
        || schema.indexes.iter().any(|i| {
            i.unique
                && i.columns.len() == conflict.len()
                && i.columns.iter().all(|c| conflict.contains(&c.as_str()))
        });
    if is_unique_target {
        Ok(())
    } else {
        Err(Error::invalid_record(
            &schema.name,
            format!(
                "upsert conflict columns {conflict:?} are not the primary key, a unique column or a unique index"
            ),
        ))
    }
}

/// Records checked against a schema, with the columns they write in schema order.
struct Rows<'a> {
    schema: &'a TableSchema,
    /// The columns written (those present in at least one record), in schema order.
    columns: Vec<&'a Column>,
    /// Their positions in the schema.
    positions: Vec<usize>,
    /// One value slot per schema column for each record, coerced to the column's type; `None`
    /// for a column the record leaves out (written as NULL).
    rows: Vec<Vec<Option<Value>>>,
    /// Whether the statements return the key of each row written.
    returning: bool,
    /// The last SQL text rendered, with its number of rows.
    rendered: Option<(usize, String)>,
}

impl<'a> Rows<'a> {
    fn new(schema: &'a TableSchema, records: Vec<Record>) -> Result<Self> {
        let key_position = schema
            .columns
            .iter()
            .position(Column::is_primary_key)
            .ok_or_else(|| {
                Error::invalid_schema(&schema.name, crate::error::SchemaProblem::NoPrimaryKey)
            })?;
        let key = &schema.columns[key_position];
        let width = schema.columns.len();
        let mut present = vec![false; width];
        let mut rows = Vec::with_capacity(records.len());
        for record in records {
            let mut row: Vec<Option<Value>> = (0..width).map(|_| None).collect();
            for (name, value) in record {
                let position = schema
                    .column_index(&name)
                    .ok_or_else(|| Error::unknown_column(&schema.name, &name))?;
                let value = value.coerce(&schema.name, &schema.columns[position])?;
                row[position] = Some(value);
            }
            let key_value = &mut row[key_position];
            if key.is_auto_increment() {
                match key_value.take() {
                    None | Some(Value::Null) => {}
                    Some(_) => {
                        return Err(Error::invalid_record(
                            &schema.name,
                            format!(
                                "{:?} is auto_increment: the database assigns it, leave it out",
                                key.name
                            ),
                        ));
                    }
                }
            } else if key_value.as_ref().is_none_or(Value::is_null) {
                return Err(Error::invalid_record(
                    &schema.name,
                    format!("a value for the primary key {:?} is required", key.name),
                ));
            }
            for (seen, slot) in present.iter_mut().zip(&row) {
                *seen |= slot.is_some();
            }
            rows.push(row);
        }
        let positions: Vec<usize> = (0..width).filter(|&i| present[i]).collect();
        Ok(Rows {
            schema,
            columns: positions.iter().map(|&i| &schema.columns[i]).collect(),
            positions,
            rows,
            returning: true,
            rendered: None,
        })
    }

    /// `INSERT INTO t (a, b) SELECT UNNEST($1::T1[]), UNNEST($2::T2[])`: set-returning
    /// functions in one select list advance in lockstep, so the arrays zip into rows. The casts
    /// name the columns' PostgreSQL types (library constants, never caller text).
    fn unnest_sql(&self, dialect: &super::postgres::PostgresDialect) -> Result<String> {
        let schema = self.schema;
        let mut select = Query::select();
        for column in &self.columns {
            let unnest = format!("UNNEST($1::{}[])", dialect.column_type(column.column_type));
            select.expr(Expr::cust_with_values(
                unnest,
                [dialect.bind(column.column_type, Value::Null)],
            ));
        }
        let mut insert = Query::insert();
        insert
            .into_table(ident(&schema.name))
            .columns(self.columns.iter().map(|c| ident(&c.name)))
            .select_from(select)
            .map_err(|e| Error::invalid_record(&schema.name, e.to_string()))?;
        if self.returning {
            insert.returning_col(ident(&schema.require_primary_key()?.name));
        }
        Ok(insert.build(dialect.builder()).0)
    }

    /// Renders the rows in `range`, moving their values out: each row is rendered once.
    fn render(
        &mut self,
        backend: Backend,
        range: std::ops::Range<usize>,
        conflict: Option<&[&str]>,
    ) -> Result<Statement> {
        match backend {
            Backend::Sqlite => self.render_with(&super::sqlite::SqliteDialect, range, conflict),
            Backend::Postgres => {
                self.render_with(&super::postgres::PostgresDialect, range, conflict)
            }
        }
    }

    fn render_with<D: Dialect>(
        &mut self,
        dialect: &D,
        range: std::ops::Range<usize>,
        conflict: Option<&[&str]>,
    ) -> Result<Statement> {
        let rows = range.len();
        // Every chunk of a batch but the last has the same shape: render its text once.
        let sql = match &self.rendered {
            Some((rendered_rows, sql)) if *rendered_rows == rows => sql.clone(),
            _ => {
                let sql = self.sql_text(dialect, rows, conflict)?;
                self.rendered = Some((rows, sql.clone()));
                sql
            }
        };
        let mut values = Vec::with_capacity(rows * self.columns.len());
        for row in &mut self.rows[range] {
            // Values were coerced to their columns' types in `new`; row by row, in column
            // order, as the placeholders are numbered.
            for (column, &position) in self.columns.iter().zip(&self.positions) {
                let value = row[position].take().unwrap_or(Value::Null);
                values.push(dialect.bind(column.column_type, value));
            }
        }
        Ok(Statement::new(sql, sea_query::Values(values)))
    }

    /// The SQL text of an INSERT of `rows` rows of these columns; its values are placeholders.
    fn sql_text<D: Dialect>(
        &self,
        dialect: &D,
        rows: usize,
        conflict: Option<&[&str]>,
    ) -> Result<String> {
        let schema = self.schema;
        let mut insert = Query::insert();
        insert.into_table(ident(&schema.name));
        if self.columns.is_empty() {
            insert.or_default_values();
        } else {
            insert.columns(self.columns.iter().map(|c| ident(&c.name)));
            for _ in 0..rows {
                let row = self
                    .columns
                    .iter()
                    .map(|c| Expr::val(dialect.bind(c.column_type, Value::Null)));
                insert
                    .values(row)
                    .map_err(|e| Error::invalid_record(&schema.name, e.to_string()))?;
            }
        }
        if let Some(conflict) = conflict {
            let mut on_conflict = OnConflict::columns(conflict.iter().map(|c| ident(c)));
            let updated: Vec<_> = self
                .columns
                .iter()
                // The key identifies the row: an upsert never rewrites it.
                .filter(|c| !conflict.contains(&c.name.as_str()) && !c.is_primary_key())
                .map(|c| ident(&c.name))
                .collect();
            if updated.is_empty() {
                // Nothing else to write: touch the key so that RETURNING still yields the row.
                on_conflict.update_columns(conflict.iter().map(|c| ident(c)));
            } else {
                on_conflict.update_columns(updated);
            }
            insert.on_conflict(on_conflict);
        }
        if self.returning {
            insert.returning_col(ident(&schema.require_primary_key()?.name));
        }
        Ok(insert.build(dialect.builder()).0)
    }
}
