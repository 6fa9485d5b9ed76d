//! DELETE … WHERE key = id.

use sea_query::Query;

use super::{Backend, Dialect, Statement, ident, key_condition};
use crate::error::Result;
use crate::schema::TableSchema;
use crate::value::Value;

impl Backend {
    /// `DELETE FROM … WHERE` the key equals `id` (a value of the key's type, see
    /// [`Value::from_id`]).
    ///
    /// ```
    /// use memtable::sql::Backend;
    /// use memtable::{Column, ColumnType, Constraint, TableSchema, Value};
    ///
    /// let schema = TableSchema::new("t", vec![Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey)]);
    /// let delete = Backend::Postgres.delete(&schema, &Value::Text("a".into()))?;
    /// assert_eq!(delete.sql(), r#"DELETE FROM "t" WHERE "id" = $1"#);
    /// # Ok::<(), memtable::Error>(())
    /// ```
    pub fn delete(self, schema: &TableSchema, id: &Value) -> Result<Statement> {
        schema.validate()?;
        self.render_delete(schema, id)
    }

    /// [`delete`](Self::delete) for a schema already validated.
    pub(crate) fn render_delete(self, schema: &TableSchema, id: &Value) -> Result<Statement> {
        self.dispatch(|d| delete(d, schema, id), |d| delete(d, schema, id))
    }
}

fn delete<D: Dialect>(dialect: &D, schema: &TableSchema, id: &Value) -> Result<Statement> {
    let mut delete = Query::delete();
    delete
        .from_table(ident(&schema.name))
        .and_where(key_condition(dialect, schema, id)?);
    let (sql, values) = delete.build(dialect.builder());
    Ok(Statement::new(sql, values))
}
