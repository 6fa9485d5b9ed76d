//! UPDATE … WHERE key = id.

use sea_query::Query;

use super::{Backend, Dialect, Statement, ident, key_condition};
use crate::error::{Error, Result};
use crate::schema::TableSchema;
use crate::value::{Record, Value};

impl Backend {
    /// `UPDATE … SET` the record's columns `WHERE` the key equals `id` (a value of the key's
    /// type, see [`Value::from_id`]).
    ///
    /// An empty record, or one that sets an `auto_increment` key, is [`Error::InvalidRecord`].
    ///
    /// ```
    /// use memtable::sql::Backend;
    /// use memtable::{Column, ColumnType, Constraint, Record, TableSchema, Value};
    ///
    /// let schema = TableSchema::new("t", vec![
    ///     Column::new("id", ColumnType::Bigint).with(Constraint::PrimaryKey),
    ///     Column::new("order", ColumnType::Integer),
    /// ]);
    /// let update = Backend::Sqlite.update(&schema, &Value::Integer(7), &Record::new().with("order", 2))?;
    /// assert_eq!(update.sql(), r#"UPDATE "t" SET "order" = ? WHERE "id" = ?"#);
    /// # Ok::<(), memtable::Error>(())
    /// ```
    pub fn update(self, schema: &TableSchema, id: &Value, record: &Record) -> Result<Statement> {
        schema.validate()?;
        self.render_update(schema, id, record.clone())
    }

    /// [`update`](Self::update) for a schema already validated, taking the record.
    pub(crate) fn render_update(
        self,
        schema: &TableSchema,
        id: &Value,
        record: Record,
    ) -> Result<Statement> {
        let record = record.coerce(schema)?;
        if record.is_empty() {
            return Err(Error::invalid_record(
                &schema.name,
                "an update needs at least one column",
            ));
        }
        let key = schema.require_primary_key()?;
        if key.is_auto_increment() && record.contains_key(&key.name) {
            return Err(Error::invalid_record(
                &schema.name,
                format!("{:?} is auto_increment and cannot be set", key.name),
            ));
        }
        match self {
            Backend::Sqlite => update(&super::sqlite::SqliteDialect, schema, id, record),
            Backend::Postgres => update(&super::postgres::PostgresDialect, schema, id, record),
        }
    }
}

fn update<D: Dialect>(
    dialect: &D,
    schema: &TableSchema,
    id: &Value,
    mut record: Record,
) -> Result<Statement> {
    let mut update = Query::update();
    update.table(ident(&schema.name));
    // Schema order, so that the same columns always render the same SQL.
    for column in &schema.columns {
        // Values were coerced to their columns' types by the caller.
        if let Some(value) = record.remove(&column.name) {
            update.value(ident(&column.name), dialect.bind(column.column_type, value));
        }
    }
    update.and_where(key_condition(dialect, schema, id)?);
    let (sql, values) = update.build(dialect.builder());
    Ok(Statement::new(sql, values))
}
