//! Records checked against a schema: the columns they write, their values coerced to those
//! columns' types, and the SQL text of the statements that write them.

use sea_query::{Expr, OnConflict, Query};

use super::shape;
use super::{Backend, Dialect, Statement, ident};
use crate::error::{Error, Result};
use crate::schema::{Column, TableSchema};
use crate::value::{Record, Value};

/// Records checked against a schema, with the columns they write in schema order.
pub(super) struct Rows<'a> {
    pub(super) schema: &'a TableSchema,
    /// The columns written (those present in at least one record), in schema order.
    pub(super) columns: Vec<&'a Column>,
    /// The values, row by row, `columns.len()` to a row, coerced to their columns' types;
    /// `Null` for a column a record leaves out.
    pub(super) values: Vec<Value>,
    /// Whether the statements return the key of each row written.
    pub(super) returning: bool,
    /// The last SQL text rendered, with its number of rows.
    pub(super) rendered: Option<(usize, String)>,
}

impl<'a> Rows<'a> {
    pub(super) fn new(schema: &'a TableSchema, records: Vec<Record>) -> Result<Self> {
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

    /// One record checked against a schema: what [`new`](Self::new) makes of a batch of
    /// one, without a batch's layout. A single record writes exactly the columns it names
    /// (an `auto_increment` key never), so no column takes a default, and its values are
    /// coerced in its own order, then put in the schema's. The faults, and which one is
    /// reported first, are those of [`Layout::coerce`].
    pub(super) fn one(schema: &'a TableSchema, record: Record) -> Result<Self> {
        let (key_position, key) = schema.require_primary_key_at()?;
        let fields = record.into_fields();
        let mut columns: Vec<&'a Column> = Vec::with_capacity(fields.len());
        let mut values = Vec::with_capacity(fields.len());
        let (mut key_given, mut key_slot) = (false, None);
        let (mut in_order, mut last) = (true, None);
        for (field, (name, value)) in fields.into_iter().enumerate() {
            let name = name.as_str();
            let position = (schema.column_index_at(field, name))
                .ok_or_else(|| Error::unknown_column(&schema.name, name))?;
            let column = &schema.columns[position];
            let value = value.coerce(&schema.name, column)?;
            if position == key_position {
                if key.is_auto_increment() {
                    key_given |= !value.is_null();
                    continue;
                }
                key_slot = Some(values.len());
            }
            in_order &= last.is_none_or(|last| last < position);
            last = Some(position);
            columns.push(column);
            values.push(value);
        }
        if !in_order {
            let position =
                |column: &Column| (schema.columns.iter()).position(|c| std::ptr::eq(c, column));
            let mut written: Vec<(Option<usize>, &'a Column, Value)> = (columns.drain(..))
                .zip(values)
                .map(|(column, value)| (position(column), column, value))
                .collect();
            written.sort_by_key(|(position, ..)| *position);
            // A column named twice keeps its last value, as in a batch.
            written.dedup_by(|later, earlier| {
                let same = later.0 == earlier.0;
                if same {
                    std::mem::swap(&mut later.2, &mut earlier.2);
                }
                same
            });
            key_slot = written.iter().position(|(p, ..)| *p == Some(key_position));
            values = Vec::with_capacity(written.len());
            for (_, column, value) in written {
                columns.push(column);
                values.push(value);
            }
        }
        check_key(schema, key, key_given, key_slot.map(|slot| &values[slot]))?;
        Ok(Rows {
            schema,
            columns,
            values,
            returning: true,
            rendered: None,
        })
    }

    /// `COPY t (a, b) FROM STDIN (FORMAT binary)`; the names are quoted by sea-query.
    pub(super) fn copy_sql(&self, dialect: &dyn Dialect) -> String {
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
    pub(super) fn unnest_sql(&self, dialect: &dyn Dialect) -> Result<String> {
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
    ///
    /// The texts are kept per table, so a column is named by its position in the schema, one
    /// character each (the names themselves would make a key ten times as long, built and
    /// hashed on every write).
    pub(super) fn shape(&self, conflict: Option<&[&str]>) -> String {
        let columns = &self.schema.columns;
        let conflicts = conflict.unwrap_or_default();
        let mut key = String::with_capacity(4 + 3 * (self.columns.len() + conflicts.len()));
        key.push_str(if self.returning { "I" } else { "i" });
        // The columns written are the schema's, in its order: one walk finds every position.
        let mut positions = columns.iter().enumerate();
        for column in &self.columns {
            match positions.find(|(_, c)| std::ptr::eq(*c, *column)) {
                Some((position, _)) => shape::position(&mut key, position),
                None => {
                    shape::name(&mut key, &column.name);
                    positions = columns.iter().enumerate();
                }
            }
        }
        if conflict.is_some() {
            key.push('|');
            for name in conflicts {
                match columns.iter().position(|c| c.name == *name) {
                    Some(position) => shape::position(&mut key, position),
                    None => shape::name(&mut key, name),
                }
            }
        }
        key
    }

    /// Renders the rows in `range`, moving their values out: each row is rendered once.
    pub(super) fn render(
        &mut self,
        backend: Backend,
        range: std::ops::Range<usize>,
        conflict: Option<&[&str]>,
    ) -> Result<Statement> {
        self.render_with(backend.dialect(), range, conflict)
    }

    pub(super) fn render_with(
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
    pub(super) fn sql_text(
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
pub(super) struct Layout<'a> {
    pub(super) schema: &'a TableSchema,
    /// The position of the primary key in the schema.
    pub(super) key_position: usize,
    /// The columns written, in schema order: those some record names (an `auto_increment` key
    /// never: the database assigns it), and the key.
    pub(super) columns: Vec<&'a Column>,
    /// For each column of the schema, its place among `columns`, if written.
    pub(super) slots: Vec<Option<usize>>,
    /// The value of each column written for a record that leaves it out: its default, or
    /// `Null` (one statement writes every row's columns, so the database's default cannot
    /// apply to some rows only).
    defaults: Vec<Value>,
}

impl<'a> Layout<'a> {
    /// The columns `records` write. Names that are not columns are ignored here: [`coerce`]
    /// refuses them in order, among the other faults of each record.
    ///
    /// [`coerce`]: Self::coerce
    pub(super) fn new(schema: &'a TableSchema, records: &[Record]) -> Result<Self> {
        let (key_position, _) = schema.require_primary_key_at()?;
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
    pub(super) fn all(schema: &'a TableSchema) -> Result<Self> {
        let (key_position, _) = schema.require_primary_key_at()?;
        let present = (schema.columns.iter())
            .map(|column| !(column.is_primary_key() && column.is_auto_increment()))
            .collect();
        Ok(Layout::of(schema, key_position, present))
    }

    /// The columns whose `present` is true.
    pub(super) fn of(schema: &'a TableSchema, key_position: usize, present: Vec<bool>) -> Self {
        let mut columns = Vec::with_capacity(present.len());
        let mut slots = Vec::with_capacity(present.len());
        for (column, present) in schema.columns.iter().zip(present) {
            slots.push(present.then_some(columns.len()));
            if present {
                columns.push(column);
            }
        }
        let defaults = columns
            .iter()
            .map(|column| column.default_value().unwrap_or(Value::Null))
            .collect();
        Layout {
            schema,
            key_position,
            columns,
            slots,
            defaults,
        }
    }

    /// Coerces `records`, in order, to the columns written, appending one row of values
    /// (`columns.len()` of them; for a column a record leaves out, its default or `Null`) for
    /// each to `values`.
    /// A record with a name that is not a column, a value that does not fit its column, no key
    /// (unless the database assigns it) or a key the database should assign is refused.
    pub(super) fn coerce(
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
            values.extend_from_slice(&self.defaults);
            debug_assert_eq!(values.len(), row + width);
            let mut key_given = false;
            for (field, (name, value)) in record.into_fields().into_iter().enumerate() {
                let name = name.as_str();
                let position = finder
                    .find(field, name)
                    .ok_or_else(|| Error::unknown_column(&schema.name, name))?;
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
            let key_value = self.slots[self.key_position].map(|slot| &values[row + slot]);
            check_key(schema, key, key_given, key_value)?;
        }
        Ok(())
    }
}

/// A record's key: an `auto_increment` one must not be given (`key_given`: a value other than
/// NULL), any other must be written (`written`, its value) and not NULL.
fn check_key(
    schema: &TableSchema,
    key: &Column,
    key_given: bool,
    written: Option<&Value>,
) -> Result<()> {
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
    } else if written.is_none_or(Value::is_null) {
        return Err(Error::invalid_record(
            &schema.name,
            format!("a value for the primary key {:?} is required", key.name),
        ));
    }
    Ok(())
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
    pub(super) fn new(schema: &'a TableSchema) -> Self {
        ColumnFinder {
            schema,
            previous: Vec::with_capacity(schema.columns.len()),
        }
    }

    /// The position of the column `name`, the record's `field`th.
    pub(super) fn find(&mut self, field: usize, name: &str) -> Option<usize> {
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
