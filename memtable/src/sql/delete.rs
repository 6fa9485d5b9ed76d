//! DELETE … WHERE key = id.

use sea_query::Query;

use super::shape::RenderedSql;
use super::{Backend, Dialect, Statement, ident, key_condition, key_value};
use crate::error::Result;
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
            return Ok(Statement::new(
                sql.to_string(),
                sea_query::Values(vec![value]),
            ));
        }
        let statement = self.render_delete(schema, id)?;
        rendered.put(SHAPE.to_owned(), statement.sql());
        Ok(statement)
    }
}

fn delete(dialect: &dyn Dialect, schema: &TableSchema, id: &Value) -> Result<Statement> {
    let mut delete = Query::delete();
    delete
        .from_table(ident(&schema.name))
        .and_where(key_condition(dialect, schema, id)?);
    let (sql, values) = dialect.build_delete(&delete);
    Ok(Statement::new(sql, values))
}
