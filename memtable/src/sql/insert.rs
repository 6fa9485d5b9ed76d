//! INSERT … RETURNING the key, multi-row INSERT for batches, and upsert (ON CONFLICT … DO
//! UPDATE).

use std::sync::Arc;

use sea_query::{Expr, OnConflict, Query};

use super::shape::{self, RenderedSql};
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
        self.layout.coerce(records, values)
    }
}

impl Backend {
    /// `INSERT INTO … VALUES (…) RETURNING` the key, for one record.
    ///
    /// The record must hold the primary key, unless the key is `auto_increment`, in which case
    /// it must not. Columns are written in schema order, so records with the same columns
    /// render the same SQL.
    ///
    /// ```
    /// use memtable::sql::Backend::{Postgres, Sqlite};
    /// use memtable::{Column, ColumnType, Constraint, Record, TableSchema};
    ///
    /// let schema = TableSchema::new("t", vec![
    ///     Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey),
    ///     Column::new("flag", ColumnType::Boolean),
    /// ]);
    /// let record = Record::new().with("flag", true).with("id", "a");
    /// assert_eq!(Sqlite.insert(&schema, &record)?.sql(), r#"INSERT INTO "t" ("id", "flag") VALUES (?, ?) RETURNING "id""#);
    /// assert_eq!(Postgres.insert(&schema, &record)?.sql(), r#"INSERT INTO "t" ("id", "flag") VALUES ($1, $2) RETURNING "id""#);
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

    /// [`render_insert`](Self::render_insert), reusing the SQL text `rendered` holds for
    /// inserts of the same columns.
    #[cfg(test)]
    pub(crate) fn render_insert_cached(
        self,
        schema: &TableSchema,
        record: Record,
        returning: bool,
        rendered: &RenderedSql,
    ) -> Result<Statement> {
        Ok(self
            .bound_row(schema, record, returning, None, rendered)?
            .into_statement(self))
    }

    /// A one-row INSERT (an upsert with `conflict`) ready to bind: its SQL text, reused from
    /// `rendered` for records writing the same columns, and the record's values coerced to
    /// their columns' types, in the order of the placeholders. The store binds them straight
    /// into the driver's arguments.
    pub(crate) fn bound_row(
        self,
        schema: &TableSchema,
        record: Record,
        returning: bool,
        conflict: Option<&[&str]>,
        rendered: &RenderedSql,
    ) -> Result<BoundRow> {
        if let Some(conflict) = conflict {
            check_conflict_target(schema, conflict)?;
        }
        let mut rows = Rows::new(schema, vec![record])?;
        rows.returning = returning;
        if let Some(conflict) = conflict
            && let Some(column) = conflict
                .iter()
                .find(|column| !rows.columns.iter().any(|c| c.name == **column))
        {
            return Err(Error::invalid_record(
                &schema.name,
                format!("an upsert on {conflict:?} needs a value for {column:?}"),
            ));
        }
        let key = rows.shape(conflict);
        let sql = match rendered.get(&key) {
            Some(sql) => sql,
            None => {
                let sql: Arc<str> = rows.sql_text(self.dialect(), 1, conflict)?.into();
                rendered.put(key, &sql);
                sql
            }
        };
        Ok(BoundRow {
            sql,
            types: rows.columns.iter().map(|c| c.column_type).collect(),
            values: rows.values,
        })
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
        })
    }

    /// `INSERT … ON CONFLICT (conflict) DO UPDATE SET` every other written column, `RETURNING`
    /// the key: one atomic statement that inserts the record or updates the row it collides
    /// with.
    ///
    /// `conflict` names the columns of the primary key, of a unique column, or of a unique
    /// index; anything else is refused, since the database needs a unique constraint there.
    ///
    /// ```
    /// use memtable::sql::Backend::Postgres;
    /// use memtable::{Column, ColumnType, Constraint, Record, TableSchema};
    ///
    /// let schema = TableSchema::new("kv", vec![
    ///     Column::new("key", ColumnType::Text).with(Constraint::PrimaryKey),
    ///     Column::new("value", ColumnType::Json),
    /// ]);
    /// let record = Record::new().with("key", "k").with("value", serde_json::json!({"n": 1}));
    /// assert_eq!(
    ///     Postgres.upsert(&schema, &record, &["key"])?.sql(),
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
        self.render_upsert_cached(schema, record, conflict, &RenderedSql::default())
    }

    /// [`render_upsert`](Self::render_upsert), reusing the SQL text `rendered` holds for
    /// upserts of the same columns on the same conflict target.
    pub(crate) fn render_upsert_cached(
        self,
        schema: &TableSchema,
        record: Record,
        conflict: &[&str],
        rendered: &RenderedSql,
    ) -> Result<Statement> {
        Ok(self
            .bound_row(schema, record, true, Some(conflict), rendered)?
            .into_statement(self))
    }
}

/// A one-row INSERT or upsert: see [`Backend::bound_row`].
#[derive(Debug)]
pub(crate) struct BoundRow {
    /// The SQL text.
    pub(crate) sql: Arc<str>,
    /// The type of the column of each placeholder.
    pub(crate) types: Vec<ColumnType>,
    /// The values, coerced to `types`, in the order of the placeholders.
    pub(crate) values: Vec<Value>,
}

impl BoundRow {
    /// The statement with its values as sea-query binds them.
    fn into_statement(self, backend: Backend) -> Statement {
        let dialect = backend.dialect();
        let values = self
            .values
            .into_iter()
            .zip(&self.types)
            .map(|(value, ty)| dialect.bind(*ty, value))
            .collect();
        Statement::new(self.sql.to_string(), sea_query::Values(values))
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
    /// The values, row by row, `columns.len()` to a row, coerced to their columns' types;
    /// `Null` for a column a record leaves out.
    values: Vec<Value>,
    /// Whether the statements return the key of each row written.
    returning: bool,
    /// The last SQL text rendered, with its number of rows.
    rendered: Option<(usize, String)>,
}

impl<'a> Rows<'a> {
    fn new(schema: &'a TableSchema, records: Vec<Record>) -> Result<Self> {
        let layout = Layout::new(schema, &records)?;
        let mut values = Vec::with_capacity(records.len().saturating_mul(layout.columns.len()));
        layout.coerce(records, &mut values)?;
        Ok(Rows {
            schema,
            columns: layout.columns,
            values,
            returning: true,
            rendered: None,
        })
    }

    /// `COPY t (a, b) FROM STDIN (FORMAT binary)`; the names are quoted by sea-query.
    fn copy_sql(&self, dialect: &dyn Dialect) -> String {
        let mut sql = String::from("COPY ");
        dialect.write_ident(&mut sql, &self.schema.name);
        sql.push_str(" (");
        for (i, column) in self.columns.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            dialect.write_ident(&mut sql, &column.name);
        }
        sql.push_str(") FROM STDIN (FORMAT binary)");
        sql
    }

    /// `INSERT INTO t (a, b) SELECT UNNEST($1::T1[]), UNNEST($2::T2[])`: set-returning
    /// functions in one select list advance in lockstep, so the arrays zip into rows. The casts
    /// name the columns' PostgreSQL types (library constants, never caller text).
    fn unnest_sql(&self, dialect: &dyn Dialect) -> Result<String> {
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
        Ok(dialect.build_insert(&insert).0)
    }

    /// The shape of a one-row statement of these columns: what its SQL text depends on.
    fn shape(&self, conflict: Option<&[&str]>) -> String {
        let mut key = String::from(if self.returning {
            "insert returning "
        } else {
            "insert "
        });
        for column in &self.columns {
            shape::name(&mut key, &column.name);
        }
        if let Some(conflict) = conflict {
            key.push_str(" on conflict ");
            for column in conflict {
                shape::name(&mut key, column);
            }
        }
        key
    }

    /// Renders the rows in `range`, moving their values out: each row is rendered once.
    fn render(
        &mut self,
        backend: Backend,
        range: std::ops::Range<usize>,
        conflict: Option<&[&str]>,
    ) -> Result<Statement> {
        self.render_with(backend.dialect(), range, conflict)
    }

    fn render_with(
        &mut self,
        dialect: &dyn Dialect,
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
        let width = self.columns.len();
        let mut values = Vec::with_capacity(rows * width);
        // Values were coerced to their columns' types in `new`; row by row, in column order, as
        // the placeholders are numbered.
        let taken = &mut self.values[range.start * width..range.end * width];
        for (value, column) in taken.iter_mut().zip(self.columns.iter().cycle()) {
            values.push(dialect.bind(column.column_type, std::mem::take(value)));
        }
        Ok(Statement::new(sql, sea_query::Values(values)))
    }

    /// The SQL text of an INSERT of `rows` rows of these columns; its values are placeholders.
    fn sql_text(
        &self,
        dialect: &dyn Dialect,
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
        Ok(dialect.build_insert(&insert).0)
    }
}

/// The columns some records write, and the coercion of records to them.
struct Layout<'a> {
    schema: &'a TableSchema,
    /// The position of the primary key in the schema.
    key_position: usize,
    /// The columns written, in schema order: those some record names (an `auto_increment` key
    /// never: the database assigns it), and the key.
    columns: Vec<&'a Column>,
    /// For each column of the schema, its place among `columns`, if written.
    slots: Vec<Option<usize>>,
}

impl<'a> Layout<'a> {
    /// The columns `records` write. Names that are not columns are ignored here: [`coerce`]
    /// refuses them in order, among the other faults of each record.
    ///
    /// [`coerce`]: Self::coerce
    fn new(schema: &'a TableSchema, records: &[Record]) -> Result<Self> {
        let key_position = key_position(schema)?;
        let mut present = vec![false; schema.columns.len()];
        let mut finder = ColumnFinder::new(schema);
        for record in records {
            for (field, name) in record.keys().enumerate() {
                if let Some(position) = finder.find(field, name) {
                    present[position] = true;
                }
            }
        }
        // Every record holds a key unless the database assigns it (a record that does not is
        // refused by `coerce`).
        present[key_position] = !schema.columns[key_position].is_auto_increment();
        Ok(Layout::of(schema, key_position, present))
    }

    /// Every column but an `auto_increment` key.
    fn all(schema: &'a TableSchema) -> Result<Self> {
        let key_position = key_position(schema)?;
        let present = (schema.columns.iter())
            .map(|column| !(column.is_primary_key() && column.is_auto_increment()))
            .collect();
        Ok(Layout::of(schema, key_position, present))
    }

    /// The columns whose `present` is true.
    fn of(schema: &'a TableSchema, key_position: usize, present: Vec<bool>) -> Self {
        let mut columns = Vec::with_capacity(present.len());
        let mut slots = Vec::with_capacity(present.len());
        for (column, present) in schema.columns.iter().zip(present) {
            slots.push(present.then_some(columns.len()));
            if present {
                columns.push(column);
            }
        }
        Layout {
            schema,
            key_position,
            columns,
            slots,
        }
    }

    /// Coerces `records`, in order, to the columns written, appending one row of values
    /// (`columns.len()` of them, `Null` for a column a record leaves out) for each to `values`.
    /// A record with a name that is not a column, a value that does not fit its column, no key
    /// (unless the database assigns it) or a key the database should assign is refused.
    fn coerce(
        &self,
        records: impl IntoIterator<Item = Record>,
        values: &mut Vec<Value>,
    ) -> Result<()> {
        let schema = self.schema;
        let key = &schema.columns[self.key_position];
        let width = self.columns.len();
        let mut finder = ColumnFinder::new(schema);
        for record in records {
            let row = values.len();
            values.resize(row + width, Value::Null);
            let mut key_given = false;
            for (field, (name, value)) in record.into_iter().enumerate() {
                let position = finder
                    .find(field, &name)
                    .ok_or_else(|| Error::unknown_column(&schema.name, &name))?;
                let value = value.coerce(&schema.name, &schema.columns[position])?;
                match self.slots[position] {
                    Some(slot) => values[row + slot] = value,
                    None if position == self.key_position => key_given |= !value.is_null(),
                    None => {
                        return Err(Error::invalid_record(
                            &schema.name,
                            format!("{name:?} is not among the columns of this batch"),
                        ));
                    }
                }
            }
            if key.is_auto_increment() {
                if key_given {
                    return Err(Error::invalid_record(
                        &schema.name,
                        format!(
                            "{:?} is auto_increment: the database assigns it, leave it out",
                            key.name
                        ),
                    ));
                }
            } else if self.slots[self.key_position].is_none_or(|slot| values[row + slot].is_null())
            {
                return Err(Error::invalid_record(
                    &schema.name,
                    format!("a value for the primary key {:?} is required", key.name),
                ));
            }
        }
        Ok(())
    }
}

fn key_position(schema: &TableSchema) -> Result<usize> {
    schema
        .columns
        .iter()
        .position(Column::is_primary_key)
        .ok_or_else(|| {
            Error::invalid_schema(&schema.name, crate::error::SchemaProblem::NoPrimaryKey)
        })
}

/// Finds the schema position of each field of a record by name. Records built alike (by the
/// typed API, by most callers) name their columns in the same order, so the position of the
/// same field of the previous record is tried first: one comparison instead of a search.
struct ColumnFinder<'a> {
    schema: &'a TableSchema,
    /// The schema position of each field of the previous record.
    previous: Vec<usize>,
}

impl<'a> ColumnFinder<'a> {
    fn new(schema: &'a TableSchema) -> Self {
        ColumnFinder {
            schema,
            previous: Vec::with_capacity(schema.columns.len()),
        }
    }

    /// The position of the column `name`, the record's `field`th.
    fn find(&mut self, field: usize, name: &str) -> Option<usize> {
        if let Some(&position) = self.previous.get(field)
            && self.schema.columns[position].name == name
        {
            return Some(position);
        }
        let position = self.schema.column_index(name)?;
        self.previous.truncate(field);
        if self.previous.len() == field {
            self.previous.push(position);
        }
        Some(position)
    }
}

/// The sizes of the chunks of at most `per_chunk` rows that `count` rows make, in order.
fn chunk_sizes(count: usize, per_chunk: usize) -> impl Iterator<Item = usize> {
    let per_chunk = per_chunk.max(1);
    (0..count)
        .step_by(per_chunk)
        .map(move |start| per_chunk.min(count - start))
}
