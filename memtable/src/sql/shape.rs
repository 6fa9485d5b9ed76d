//! Statement shapes: what a statement's SQL text depends on, apart from its values.
//!
//! Two calls with the same shape render the same SQL text and differ only in the values they
//! bind. The store keeps the text rendered for each shape of a table ([`RenderedSql`]) and, on a
//! later call of that shape, only collects the values ([`filter_values`]) in the order sea-query
//! would bind them: sea-query then runs once per shape instead of once per call, and the text
//! handed to sqlx is the one its statement cache already knows.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use foldhash::fast::RandomState;

use super::Dialect;
use crate::error::{Error, Result};
use crate::query::{CompareOp, Direction, Filter, QueryOptions};
use crate::schema::{ColumnType, TableSchema};
use crate::value::Value;

/// Shapes kept per table at most. Filters written by agents vary (an `IN` list of each length
/// is a shape of its own): past this many, further shapes are rendered every time.
const MAX_SHAPES: usize = 256;

/// The SQL text rendered for each shape of one table's statements.
#[derive(Debug, Default)]
pub(crate) struct RenderedSql {
    texts: RwLock<HashMap<String, Arc<str>, RandomState>>,
}

impl RenderedSql {
    pub(crate) fn get(&self, shape: &str) -> Option<Arc<str>> {
        self.texts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(shape)
            .cloned()
    }

    pub(crate) fn put(&self, shape: String, sql: &str) {
        let mut texts = self.texts.write().unwrap_or_else(PoisonError::into_inner);
        if texts.len() < MAX_SHAPES {
            texts.insert(shape, sql.into());
        }
    }
}

/// Appends a name, length-prefixed so that no two sequences of names write the same key.
pub(crate) fn name(key: &mut String, name: &str) {
    decimal(key, name.len() as u64);
    key.push(':');
    key.push_str(name);
}

/// Appends a column's position in its schema as one character (never one of the ASCII
/// characters that separate a key's parts, nor a digit a name's length is written with);
/// past what one character holds (no schema comes near), as its decimal between brackets.
pub(crate) fn position(key: &mut String, position: usize) {
    match u32::try_from(position)
        .ok()
        .and_then(|p| p.checked_add(0x100))
        .and_then(char::from_u32)
    {
        Some(c) => key.push(c),
        None => {
            key.push('[');
            decimal(key, position as u64);
            key.push(']');
        }
    }
}

fn number(key: &mut String, n: u64) {
    decimal(key, n);
    key.push(';');
}

/// Appends `n` in decimal. Shape keys are built on every call: without `fmt`'s machinery.
fn decimal(key: &mut String, mut n: u64) {
    // Most numbers in a key are a name's length or a limit: one or two digits.
    if n < 100 {
        if n >= 10 {
            key.push(char::from(b'0' + (n / 10) as u8));
        }
        key.push(char::from(b'0' + (n % 10) as u8));
        return;
    }
    let mut digits = [0_u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    key.extend(digits[start..].iter().map(|&d| char::from(d)));
}

/// Appends the shape of a resolved filter: its structure, columns and operators, which values
/// are NULL (they render as `IS NULL`), and the length of each list.
pub(crate) fn filter(key: &mut String, filter: &Filter) {
    match filter {
        Filter::Compare { column, op, value } => {
            key.push('c');
            name(key, column);
            key.push(match op {
                CompareOp::Eq => '=',
                CompareOp::Ne => '!',
                CompareOp::Lt => '<',
                CompareOp::Lte => '[',
                CompareOp::Gt => '>',
                CompareOp::Gte => ']',
            });
            key.push(if value.is_null() { 'n' } else { 'v' });
        }
        Filter::In {
            column,
            values,
            negated,
        } => {
            key.push(if *negated { 'I' } else { 'i' });
            name(key, column);
            number(key, values.len() as u64);
        }
        Filter::Like { column, .. } => {
            key.push('l');
            name(key, column);
        }
        Filter::Null { column, is_null } => {
            key.push(if *is_null { 'n' } else { 'N' });
            name(key, column);
        }
        Filter::And(all) => {
            key.push('(');
            for f in all {
                self::filter(key, f);
            }
            key.push(')');
        }
        Filter::Or(any) => {
            key.push('{');
            for f in any {
                self::filter(key, f);
            }
            key.push('}');
        }
        Filter::Not(inner) => {
            key.push('~');
            self::filter(key, inner);
        }
    }
}

/// The SQL text rendered for the shape of a `SELECT` with these options, if there is one yet.
/// The key is only looked up, so it is built in a buffer each thread keeps, not allocated
/// on every call.
pub(crate) fn rendered_select(options: &QueryOptions, rendered: &RenderedSql) -> Option<Arc<str>> {
    thread_local! {
        static KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    KEY.with(|key| match key.try_borrow_mut() {
        Ok(mut key) => {
            key.clear();
            write_select(&mut key, options);
            rendered.get(&key)
        }
        Err(_) => rendered.get(&select(options)),
    })
}

/// The shape of a `SELECT` with these resolved options.
pub(crate) fn select(options: &QueryOptions) -> String {
    // Room for a few conditions.
    let mut key = String::with_capacity(128);
    write_select(&mut key, options);
    key
}

fn write_select(key: &mut String, options: &QueryOptions) {
    key.push_str("select ");
    if let Some(f) = &options.filter {
        filter(key, f);
    }
    key.push(' ');
    for order in &options.order_by {
        name(key, &order.column);
        key.push(match order.direction {
            Direction::Asc => 'a',
            Direction::Desc => 'd',
        });
    }
    for bound in [options.limit, options.offset] {
        match bound {
            Some(n) => number(key, n),
            None => key.push('-'),
        }
    }
}

/// The shape of a `SELECT COUNT(*)` with this resolved filter.
pub(crate) fn count(filter: Option<&Filter>) -> String {
    let mut key = String::with_capacity(128);
    key.push_str("count ");
    if let Some(f) = filter {
        self::filter(&mut key, f);
    }
    key
}

/// The value a comparison binds, or `None` for the `IS [NOT] NULL` of (in)equality with NULL.
/// Shared with the rendering, so that both refuse the same filters.
pub(super) fn compared_value(
    table: &str,
    column: &str,
    op: CompareOp,
    value: Value,
) -> Result<Option<Value>> {
    match (op, value) {
        (CompareOp::Eq | CompareOp::Ne, Value::Null) => Ok(None),
        (_, Value::Null) => Err(Error::invalid_query(
            table,
            format!("cannot order-compare {column:?} with null"),
        )),
        (_, value) => Ok(Some(value)),
    }
}

/// A list's value, which must not be NULL.
pub(super) fn listed_value(table: &str, column: &str, value: Value) -> Result<Value> {
    match value {
        Value::Null => Err(Error::invalid_query(
            table,
            format!("the list for {column:?} contains null"),
        )),
        value => Ok(value),
    }
}

/// `$like` applies to text columns only.
pub(super) fn check_like(table: &str, column: &str, column_type: ColumnType) -> Result<()> {
    if column_type == ColumnType::Text {
        Ok(())
    } else {
        Err(Error::invalid_query(
            table,
            format!("$like needs a text column; {column:?} is {column_type}"),
        ))
    }
}

/// The values a resolved filter binds, in the order of its placeholders: the order in which
/// [`super::condition`] hands them to sea-query.
pub(super) fn filter_values(
    dialect: &dyn Dialect,
    schema: &TableSchema,
    filter: Filter,
    values: &mut Vec<sea_query::Value>,
) -> Result<()> {
    let table = schema.name.as_str();
    match filter {
        Filter::Compare { column, op, value } => {
            let col = schema.require_column(&column)?;
            if let Some(value) = compared_value(table, &column, op, value)? {
                values.push(dialect.bind(col.column_type, value));
            }
        }
        Filter::In {
            column, values: vs, ..
        } => {
            let col = schema.require_column(&column)?;
            for value in vs {
                let value = listed_value(table, &column, value)?;
                values.push(dialect.bind(col.column_type, value));
            }
        }
        Filter::Like { column, pattern } => {
            let col = schema.require_column(&column)?;
            check_like(table, &column, col.column_type)?;
            values.push(sea_query::Value::String(Some(pattern)));
        }
        Filter::Null { column, .. } => {
            schema.require_column(&column)?;
        }
        Filter::And(all) | Filter::Or(all) => {
            for f in all {
                filter_values(dialect, schema, f, values)?;
            }
        }
        Filter::Not(inner) => filter_values(dialect, schema, *inner, values)?,
    }
    Ok(())
}

/// The values an unresolved filter of a rendered shape binds, each coerced to its column, in
/// the order of [`filter_values`]; `None` when any value would be refused (the caller then
/// resolves the filter, which says why) or the filter holds a `$like` (whose pattern has
/// checks of its own, left to that path).
pub(crate) fn borrowed_filter_values(
    dialect: &dyn Dialect,
    schema: &TableSchema,
    filter: &Filter,
    values: &mut Vec<sea_query::Value>,
) -> Option<()> {
    let table = schema.name.as_str();
    match filter {
        Filter::Compare { column, op, value } => {
            let col = schema.column(column)?;
            match (op, value) {
                (CompareOp::Eq | CompareOp::Ne, Value::Null) => {}
                (_, Value::Null) => return None,
                (_, value) => {
                    let value = value.clone().coerce(table, col).ok()?;
                    values.push(dialect.bind(col.column_type, value));
                }
            }
        }
        Filter::In {
            column, values: vs, ..
        } => {
            let col = schema.column(column)?;
            for value in vs {
                if value.is_null() {
                    return None;
                }
                let value = value.clone().coerce(table, col).ok()?;
                values.push(dialect.bind(col.column_type, value));
            }
        }
        Filter::Like { .. } => return None,
        Filter::Null { column, .. } => {
            schema.column(column)?;
        }
        Filter::And(all) | Filter::Or(all) => {
            for f in all {
                borrowed_filter_values(dialect, schema, f, values)?;
            }
        }
        Filter::Not(inner) => borrowed_filter_values(dialect, schema, inner, values)?,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::{decimal, name};

    #[test]
    fn decimals_and_names_are_written_in_full() {
        for n in [0_u64, 7, 10, 99, 100, 12_345, u64::MAX] {
            let mut key = String::new();
            decimal(&mut key, n);
            assert_eq!(key, n.to_string());
        }
        let mut key = String::new();
        name(&mut key, "order");
        name(&mut key, &"x".repeat(63));
        assert_eq!(key, format!("5:order63:{}", "x".repeat(63)));
    }
}
