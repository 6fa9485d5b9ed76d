//! DELETE … WHERE key = id, and DELETE … WHERE a filter.

use sea_query::Query;

use super::select::within_bind_limit;
use super::shape::{self, RenderedSql};
use super::{Backend, Dialect, Statement, condition, ident, key_condition, key_value};
use crate::error::Result;
use crate::query::{Filter, require_condition};
use crate::schema::TableSchema;
use crate::value::Value;

impl Backend {
    /// `DELETE FROM … WHERE` the key equals `id` (a value of the key's type, see
    /// [`Value::from_id`]).
    ///
    /// ```
    /// use memtable::sql::Backend::{Postgres, Sqlite};
    /// use memtable::{Column, ColumnType, Constraint, TableSchema, Value};
    ///
    /// let schema = TableSchema::new("t", vec![Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey)]);
    /// let delete = Postgres.delete(&schema, &Value::Text("a".into()))?;
    /// assert_eq!(delete.sql(), r#"DELETE FROM "t" WHERE "id" = $1"#);
    /// # Ok::<(), memtable::Error>(())
    /// ```
    pub fn delete(self, schema: &TableSchema, id: &Value) -> Result<Statement> {
        schema.validate()?;
        self.render_delete(schema, id)
    }

    /// [`delete`](Self::delete) for a schema already validated.
    pub(crate) fn render_delete(self, schema: &TableSchema, id: &Value) -> Result<Statement> {
        delete(self.dialect(), schema, id)
    }

    /// [`render_delete`](Self::render_delete), reusing the SQL text `rendered` holds.
    pub(crate) fn render_delete_cached(
        self,
        schema: &TableSchema,
        id: &Value,
        rendered: &RenderedSql,
    ) -> Result<Statement> {
        const SHAPE: &str = "delete";
        if let Some(sql) = rendered.get(SHAPE) {
            let value = key_value(self.dialect(), schema, id)?;
            return Ok(Statement::new(sql, sea_query::Values(vec![value])));
        }
        let statement = self.render_delete(schema, id)?;
        rendered.put(SHAPE.to_owned(), statement.sql());
        Ok(statement)
    }
}

impl Backend {
    /// `DELETE FROM … WHERE` the rows match `filter`. A filter that matches every row by
    /// construction (`Filter::And(vec![])`, an empty `NOT IN` list) is
    /// [`Error::InvalidQuery`](crate::Error::InvalidQuery).
    ///
    /// ```
    /// use memtable::sql::Backend::{Postgres, Sqlite};
    /// use memtable::{Column, ColumnType, Constraint, Filter, TableSchema};
    ///
    /// let schema = TableSchema::new("t", vec![
    ///     Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey),
    ///     Column::new("n", ColumnType::Integer),
    /// ]);
    /// let delete = Sqlite.delete_where(&schema, &Filter::is_in("n", [1, 2]))?;
    /// assert_eq!(delete.sql(), r#"DELETE FROM "t" WHERE "n" IN (?, ?)"#);
    /// let delete = Postgres.delete_where(&schema, &Filter::is_in("n", [1, 2]))?;
    /// assert_eq!(delete.sql(), r#"DELETE FROM "t" WHERE "n" IN ($1, $2)"#);
    /// assert!(Sqlite.delete_where(&schema, &Filter::And(vec![])).is_err());
    /// # Ok::<(), memtable::Error>(())
    /// ```
    pub fn delete_where(self, schema: &TableSchema, filter: &Filter) -> Result<Statement> {
        schema.validate()?;
        require_condition(&schema.name, filter)?;
        let filter = filter.clone().resolve(schema)?;
        delete_where(self.dialect(), schema, filter)
    }

    /// [`delete_where`](Self::delete_where) for a schema already validated, taking the
    /// filter, and reusing the SQL text `rendered` holds for the filter's shape.
    pub(crate) fn render_delete_where_cached(
        self,
        schema: &TableSchema,
        filter: Filter,
        rendered: &RenderedSql,
    ) -> Result<Statement> {
        require_condition(&schema.name, &filter)?;
        let filter = filter.resolve(schema)?;
        let mut key = String::from("delete_where ");
        shape::filter(&mut key, &filter);
        if let Some(sql) = rendered.get(&key) {
            let dialect = self.dialect();
            let mut values = Vec::new();
            shape::filter_values(dialect, schema, filter, &mut values)?;
            return within_bind_limit(
                dialect,
                schema,
                Statement::new(sql, sea_query::Values(values)),
            );
        }
        let statement = delete_where(self.dialect(), schema, filter)?;
        rendered.put(key, statement.sql());
        Ok(statement)
    }
}

fn delete_where(dialect: &dyn Dialect, schema: &TableSchema, filter: Filter) -> Result<Statement> {
    let mut delete = Query::delete();
    delete
        .from_table(ident(&schema.name))
        .and_where(condition(dialect, schema, filter)?);
    let (sql, values) = dialect.build_delete(&delete);
    within_bind_limit(dialect, schema, Statement::new(sql, values))
}

fn delete(dialect: &dyn Dialect, schema: &TableSchema, id: &Value) -> Result<Statement> {
    let mut delete = Query::delete();
    delete
        .from_table(ident(&schema.name))
        .and_where(key_condition(dialect, schema, id)?);
    let (sql, values) = dialect.build_delete(&delete);
    Ok(Statement::new(sql, values))
}
