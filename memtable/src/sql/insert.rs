//! INSERT … RETURNING the key, multi-row INSERT for batches, and upsert (ON CONFLICT … DO
//! UPDATE).

use sea_query::{Expr, OnConflict, Query};

use super::{Backend, Dialect, Statement, ident};
use crate::error::{Error, Result};
use crate::schema::{Column, TableSchema};
use crate::value::{Record, Value};

/// Rows per multi-row INSERT at most: past a few hundred rows a statement, larger statements
/// stop paying off and only cost memory.
const MAX_ROWS_PER_STATEMENT: usize = 500;

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
        self.render_insert(schema, record.clone())
    }

    /// [`insert`](Self::insert) for a schema already validated, taking the record.
    pub(crate) fn render_insert(self, schema: &TableSchema, record: Record) -> Result<Statement> {
        let mut rows = Rows::new(schema, vec![record])?;
        rows.render(self, 0..1, None)
    }

    /// Multi-row INSERTs (each `RETURNING` the keys) writing `records` in order, as few
    /// statements as the backend's bind-parameter limit allows. Records may hold different
    /// columns: a column absent from a record is written as NULL.
    pub fn insert_many(self, schema: &TableSchema, records: &[Record]) -> Result<Vec<Statement>> {
        schema.validate()?;
        self.render_insert_many(schema, records.to_vec())
    }

    /// [`insert_many`](Self::insert_many) for a schema already validated, taking the records.
    pub(crate) fn render_insert_many(
        self,
        schema: &TableSchema,
        records: Vec<Record>,
    ) -> Result<Vec<Statement>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let count = records.len();
        let mut rows = Rows::new(schema, records)?;
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
    columns: Vec<&'a Column>,
    records: Vec<Record>,
}

impl<'a> Rows<'a> {
    fn new(schema: &'a TableSchema, records: Vec<Record>) -> Result<Self> {
        let key = schema.require_primary_key()?;
        let mut coerced = Vec::with_capacity(records.len());
        for record in records {
            let mut record = record.coerce(schema)?;
            if key.is_auto_increment() {
                match record.remove(&key.name) {
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
            } else if record.get(&key.name).is_none_or(Value::is_null) {
                return Err(Error::invalid_record(
                    &schema.name,
                    format!("a value for the primary key {:?} is required", key.name),
                ));
            }
            coerced.push(record);
        }
        let columns = schema
            .columns
            .iter()
            .filter(|c| coerced.iter().any(|r| r.contains_key(&c.name)))
            .collect();
        Ok(Rows {
            schema,
            columns,
            records: coerced,
        })
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
        let schema = self.schema;
        let key = schema.require_primary_key()?;
        let mut insert = Query::insert();
        insert.into_table(ident(&schema.name));
        if self.columns.is_empty() {
            insert.or_default_values();
        } else {
            insert.columns(self.columns.iter().map(|c| ident(&c.name)));
        }
        for record in &mut self.records[range] {
            if self.columns.is_empty() {
                continue;
            }
            // Values were coerced to their columns' types in `new`.
            let row = self.columns.iter().map(|c| {
                let value = record.remove(&c.name).unwrap_or(Value::Null);
                Expr::val(dialect.bind(c.column_type, value))
            });
            insert
                .values(row)
                .map_err(|e| Error::invalid_record(&schema.name, e.to_string()))?;
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
        insert.returning_col(ident(&key.name));
        let (sql, values) = insert.build(dialect.builder());
        Ok(Statement::new(sql, values))
    }
}
