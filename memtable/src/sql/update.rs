//! UPDATE … WHERE key = id, and UPDATE … WHERE a filter.

use std::sync::Arc;

use sea_query::Query;

use super::select::within_bind_limit;
use super::shape::{self, RenderedSql};
use super::{Backend, Dialect, Statement, condition, ident, key_condition, key_value};
use crate::error::{Error, Result};
use crate::query::{Filter, require_condition};
use crate::schema::TableSchema;
use crate::value::{Record, Value};

impl Backend {
    /// `UPDATE … SET` the record's columns `WHERE` the key equals `id` (a value of the key's
    /// type, see [`Value::from_id`]).
    ///
    /// An empty record, or one that sets an `auto_increment` key, is [`Error::InvalidRecord`].
    ///
    /// ```
    /// use memtable::sql::Backend::{Postgres, Sqlite};
    /// use memtable::{Column, ColumnType, Constraint, Record, TableSchema, Value};
    ///
    /// let schema = TableSchema::new("t", vec![
    ///     Column::new("id", ColumnType::Bigint).with(Constraint::PrimaryKey),
    ///     Column::new("order", ColumnType::Integer),
    /// ]);
    /// let update = Sqlite.update(&schema, &Value::Integer(7), &Record::new().with("order", 2))?;
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
        let set = checked(schema, record)?;
        update(self.dialect(), schema, id, set)
    }

    /// [`render_update`](Self::render_update), reusing the SQL text `rendered` holds for
    /// updates of the same columns.
    pub(crate) fn render_update_cached(
        self,
        schema: &TableSchema,
        id: &Value,
        record: Record,
        rendered: &RenderedSql,
    ) -> Result<Statement> {
        let set = checked(schema, record)?;
        let mut shape = String::with_capacity("update ".len() + schema.columns.len());
        shape.push_str("update ");
        set_columns(&mut shape, schema, &set);
        if let Some(sql) = rendered.get(&shape) {
            return reuse(self.dialect(), schema, sql, id, set);
        }
        let statement = update(self.dialect(), schema, id, set)?;
        rendered.put(shape, statement.sql());
        Ok(statement)
    }
}

impl Backend {
    /// `UPDATE … SET` the record's columns `WHERE` the rows match `filter`: the SET values
    /// bound first, then the filter's.
    ///
    /// A filter that matches every row by construction (`Filter::And(vec![])`, an empty
    /// `NOT IN` list) is [`Error::InvalidQuery`]; the record is checked as by
    /// [`update`](Self::update).
    ///
    /// ```
    /// use memtable::sql::Backend::{Postgres, Sqlite};
    /// use memtable::{Column, ColumnType, Constraint, Filter, Record, TableSchema};
    ///
    /// let schema = TableSchema::new("t", vec![
    ///     Column::new("id", ColumnType::Bigint).with(Constraint::PrimaryKey),
    ///     Column::new("done", ColumnType::Boolean),
    ///     Column::new("n", ColumnType::Integer),
    /// ]);
    /// let filter = Filter::lt("n", 3);
    /// let update = Postgres.update_where(&schema, &filter, &Record::new().with("done", true))?;
    /// assert_eq!(update.sql(), r#"UPDATE "t" SET "done" = $1 WHERE "n" < $2"#);
    /// let update = Sqlite.update_where(&schema, &filter, &Record::new().with("done", true))?;
    /// assert_eq!(update.sql(), r#"UPDATE "t" SET "done" = ? WHERE "n" < ?"#);
    /// assert!(Postgres.update_where(&schema, &Filter::And(vec![]), &Record::new().with("n", 1)).is_err());
    /// # Ok::<(), memtable::Error>(())
    /// ```
    pub fn update_where(
        self,
        schema: &TableSchema,
        filter: &Filter,
        record: &Record,
    ) -> Result<Statement> {
        schema.validate()?;
        require_condition(&schema.name, filter)?;
        let filter = filter.clone().resolve(schema)?;
        let set = checked(schema, record.clone())?;
        update_where(self.dialect(), schema, filter, set)
    }

    /// [`update_where`](Self::update_where) for a schema already validated, taking the filter
    /// and the record, and reusing the SQL text `rendered` holds for the same set columns and
    /// filter shape.
    pub(crate) fn render_update_where_cached(
        self,
        schema: &TableSchema,
        filter: Filter,
        record: Record,
        rendered: &RenderedSql,
    ) -> Result<Statement> {
        require_condition(&schema.name, &filter)?;
        let filter = filter.resolve(schema)?;
        let set = checked(schema, record)?;
        let mut key = String::from("update_where ");
        set_columns(&mut key, schema, &set);
        key.push(' ');
        shape::filter(&mut key, &filter);
        if let Some(sql) = rendered.get(&key) {
            let dialect = self.dialect();
            let mut values = set_values(dialect, schema, set, 0);
            shape::filter_values(dialect, schema, filter, &mut values)?;
            return within_bind_limit(
                dialect,
                schema,
                Statement::new(sql, sea_query::Values(values)),
            );
        }
        let statement = update_where(self.dialect(), schema, filter, set)?;
        rendered.put(key, statement.sql());
        Ok(statement)
    }
}

fn update_where(
    dialect: &dyn Dialect,
    schema: &TableSchema,
    filter: Filter,
    set: Vec<(usize, Value)>,
) -> Result<Statement> {
    let mut update = Query::update();
    update.table(ident(&schema.name));
    for (position, value) in set {
        let column = &schema.columns[position];
        update.value(ident(&column.name), dialect.bind(column.column_type, value));
    }
    update.and_where(condition(dialect, schema, filter)?);
    let (sql, values) = dialect.build_update(&update);
    within_bind_limit(dialect, schema, Statement::new(sql, values))
}

/// Appends which columns `set` (from [`checked`]) sets, one character a column of the schema:
/// the shape of an update's SET list.
fn set_columns(key: &mut String, schema: &TableSchema, set: &[(usize, Value)]) {
    let mut positions = set.iter().map(|(position, _)| *position).peekable();
    for position in 0..schema.columns.len() {
        key.push(if positions.next_if_eq(&position).is_some() {
            '1'
        } else {
            '0'
        });
    }
}

/// The columns an update sets: each of the record's values coerced to its column, with the
/// column's position, in schema order (the SET list's); refused when the record is empty or
/// sets an `auto_increment` key. A column the record names twice keeps its first value.
fn checked(schema: &TableSchema, record: Record) -> Result<Vec<(usize, Value)>> {
    let fields = record.into_fields();
    let mut set = Vec::with_capacity(fields.len());
    for (field, (name, value)) in fields.into_iter().enumerate() {
        let name = name.as_str();
        let position = (schema.column_index_at(field, name))
            .ok_or_else(|| Error::unknown_column(&schema.name, name))?;
        let value = value.coerce(&schema.name, &schema.columns[position])?;
        set.push((position, value));
    }
    if set.is_empty() {
        return Err(Error::invalid_record(
            &schema.name,
            "an update needs at least one column",
        ));
    }
    let key = schema.require_primary_key()?;
    if key.is_auto_increment() && set.iter().any(|(p, _)| schema.columns[*p].name == key.name) {
        return Err(Error::invalid_record(
            &schema.name,
            format!("{:?} is auto_increment and cannot be set", key.name),
        ));
    }
    // Stable: of two values for one column, the first stays first and is kept.
    set.sort_by_key(|(position, _)| *position);
    set.dedup_by_key(|(position, _)| *position);
    Ok(set)
}

/// The values of `set` (from [`checked`]), bound as their columns' types in the order of the
/// SET list, with room for `more` values after them (the key, the filter's).
fn set_values(
    dialect: &dyn Dialect,
    schema: &TableSchema,
    set: Vec<(usize, Value)>,
    more: usize,
) -> Vec<sea_query::Value> {
    let mut values = Vec::with_capacity(set.len() + more);
    for (position, value) in set {
        values.push(dialect.bind(schema.columns[position].column_type, value));
    }
    values
}

/// The values of an update of SQL text rendered before: the set columns in schema order, as
/// [`update`] binds them, then the id.
fn reuse(
    dialect: &dyn Dialect,
    schema: &TableSchema,
    sql: Arc<str>,
    id: &Value,
    set: Vec<(usize, Value)>,
) -> Result<Statement> {
    let mut values = set_values(dialect, schema, set, 1);
    values.push(key_value(dialect, schema, id)?);
    Ok(Statement::new(sql, sea_query::Values(values)))
}

fn update(
    dialect: &dyn Dialect,
    schema: &TableSchema,
    id: &Value,
    set: Vec<(usize, Value)>,
) -> Result<Statement> {
    let mut update = Query::update();
    update.table(ident(&schema.name));
    // Schema order (`checked`'s), so that the same columns always render the same SQL; the
    // values were coerced to their columns' types there.
    for (position, value) in set {
        let column = &schema.columns[position];
        update.value(ident(&column.name), dialect.bind(column.column_type, value));
    }
    update.and_where(key_condition(dialect, schema, id)?);
    let (sql, values) = dialect.build_update(&update);
    Ok(Statement::new(sql, values))
}
