//! INSERT … RETURNING the key of one row, and upsert (ON CONFLICT … DO UPDATE): the SQL text
//! of a row's shape rendered once and reused, the values bound straight from the record.

use std::sync::Arc;

use super::rows::Rows;
use super::shape::RenderedSql;
use super::{Backend, Statement};
use crate::error::{Error, Result};
use crate::schema::{Column, ColumnType, TableSchema};
use crate::value::{Record, Value};

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
        let mut rows = Rows::one(schema, record)?;
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
        let mut rows = Rows::one(schema, record)?;
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
            key: rows.columns.iter().position(|c| c.is_primary_key()),
            values: rows.values,
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
    /// use memtable::sql::Backend::{Postgres, Sqlite};
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
    /// The place of the primary key among `values`, unless the database assigns it.
    pub(crate) key: Option<usize>,
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
        Statement::new(self.sql.clone(), sea_query::Values(values))
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
