//! UPDATE … WHERE key = id.

use sea_query::Query;

use super::{Backend, Dialect, Statement, bind_value, ident, key_condition};
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
        let record = record.clone().coerce(schema)?;
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
        self.dispatch(
            |d| update(d, schema, id, &record),
            |d| update(d, schema, id, &record),
        )
    }
}

fn update<D: Dialect>(
    dialect: &D,
    schema: &TableSchema,
    id: &Value,
    record: &Record,
) -> Result<Statement> {
    let mut update = Query::update();
    update.table(ident(&schema.name));
    // Schema order, so that the same columns always render the same SQL.
    for column in &schema.columns {
        if let Some(value) = record.get(&column.name) {
            let value = bind_value(dialect, &schema.name, column, value.clone())?;
            update.value(ident(&column.name), value);
        }
    }
    update.and_where(key_condition(dialect, schema, id)?);
    let (sql, values) = update.build(dialect.builder());
    Ok(Statement::new(sql, values))
}
