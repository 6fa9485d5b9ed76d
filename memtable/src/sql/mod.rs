//! Rendering of every statement memtable runs, through sea-query, for each backend. Pure: no I/O.
//!
//! Each statement family lives in its own file (`table`, `insert`, `select`, `update`,
//! `delete`), written once against the crate's `Dialect` trait; each backend's folder
//! (`backend/sqlite/dialect.rs`, `backend/postgres/dialect.rs`) overrides only what differs:
//! type names, auto-increment keys, how values are bound, and LIMIT/OFFSET.
//!
//! Every function validates before it renders: names must be columns of the schema, values must
//! fit their columns. Identifiers are always quoted and values always bound, except LIMIT and
//! OFFSET, which are written as integer literals (they are numbers, never caller text, and a
//! bound LIMIT makes SQLite re-prepare the statement on every execution).
//!
//! ```
//! use memtable::sql::Backend::{Postgres, Sqlite};
//! use memtable::{Column, ColumnType, Constraint, Filter, QueryOptions, TableSchema};
//!
//! let schema = TableSchema::new("notes", vec![
//!     Column::new("id", ColumnType::Integer).with(Constraint::PrimaryKey).with(Constraint::AutoIncrement),
//!     Column::new("body", ColumnType::Text),
//! ]);
//! let options = QueryOptions::new().filter(Filter::eq("body", "hi")).limit(5);
//! assert_eq!(
//!     Sqlite.select(&schema, &options)?.sql(),
//!     r#"SELECT "id", "body" FROM "notes" WHERE "body" = ? LIMIT 5"#
//! );
//! assert_eq!(
//!     Postgres.select(&schema, &options)?.sql(),
//!     r#"SELECT "id", "body" FROM "notes" WHERE "body" = $1 LIMIT 5"#
//! );
//! # Ok::<(), memtable::Error>(())
//! ```

mod batch;
mod delete;
mod insert;
mod rows;
mod select;
pub(crate) mod shape;
pub(crate) mod table;
mod update;

use std::fmt::Write as _;
use std::sync::Arc;

use sea_query::{Alias, Expr, ExprTrait as _};

pub(crate) use batch::{Batch, BatchForm};

use crate::error::{Error, Result};
use crate::query::{CompareOp, Filter};
use crate::schema::{Column, ColumnType, TableSchema};
use crate::value::Value;

/// A database backend memtable renders SQL for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite (3.35 or newer: RETURNING is used).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// One rendered statement: its SQL text and the values bound to its parameters, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    // Shared: a statement of a known shape takes its text from the table's cache without a
    // copy, and the driver hands it on the same way.
    sql: Arc<str>,
    values: sea_query::Values,
}

impl Statement {
    pub(crate) fn new(sql: impl Into<Arc<str>>, values: sea_query::Values) -> Self {
        Statement {
            sql: sql.into(),
            values,
        }
    }

    pub(crate) fn ddl(sql: String) -> Self {
        Statement::new(sql, sea_query::Values(Vec::new()))
    }

    /// The SQL text (placeholders `?` on SQLite, `$1…` on PostgreSQL).
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The values bound to the placeholders, in order.
    pub fn values(&self) -> &[sea_query::Value] {
        &self.values.0
    }

    /// The SQL text and the values.
    pub fn into_parts(self) -> (String, sea_query::Values) {
        (self.sql.to_string(), self.values)
    }

    /// The SQL text, still shared, and the values.
    pub(crate) fn into_shared_parts(self) -> (Arc<str>, sea_query::Values) {
        (self.sql, self.values)
    }
}

/// What differs between backends' SQL, implemented once per backend folder
/// (`backend/<name>/dialect.rs`). Object-safe: the statement families render through
/// `&dyn Dialect`, which [`Backend::dialect`] gives.
pub(crate) trait Dialect: Send + Sync {
    /// What the backend can do (bulk forms, `RETURNING`, transactional DDL).
    fn capabilities(&self) -> &'static crate::backend::Capabilities;

    /// The SQL type a column of this logical type is declared with.
    fn column_type(&self, column_type: ColumnType) -> &'static str;

    /// Declares an auto-increment primary key on `def` (type already set).
    fn auto_increment_key(&self, def: &mut sea_query::ColumnDef);

    /// The parameter value for an already coerced `value` of a column of `column_type`.
    fn bind(&self, column_type: ColumnType, value: Value) -> sea_query::Value;

    /// Appends LIMIT / OFFSET as integer literals.
    fn write_page(&self, sql: &mut String, limit: Option<u64>, offset: Option<u64>);

    /// The query that returns the table's name when it exists (SQLite matches names without
    /// regard to case: the caller compares the name returned).
    fn table_exists(&self, table: &str) -> sea_query::SelectStatement;

    /// How many parameters one statement may bind.
    fn max_bind_params(&self) -> usize;

    /// Appends `name` quoted as an identifier.
    fn write_ident(&self, sql: &mut String, name: &str);

    /// Renders a select with sea-query's builder for this backend.
    fn build_select(&self, statement: &sea_query::SelectStatement) -> (String, sea_query::Values);
    /// Renders an insert.
    fn build_insert(&self, statement: &sea_query::InsertStatement) -> (String, sea_query::Values);
    /// Renders an update.
    fn build_update(&self, statement: &sea_query::UpdateStatement) -> (String, sea_query::Values);
    /// Renders a delete.
    fn build_delete(&self, statement: &sea_query::DeleteStatement) -> (String, sea_query::Values);
    /// Renders a `CREATE TABLE`.
    fn build_table_create(&self, statement: &sea_query::TableCreateStatement) -> String;
    /// Renders a `CREATE INDEX`.
    fn build_index_create(&self, statement: &sea_query::IndexCreateStatement) -> String;
    /// Renders a `DROP TABLE`.
    fn build_table_drop(&self, statement: &sea_query::TableDropStatement) -> String;
    /// Renders an `ALTER TABLE` of one change.
    fn build_table_alter(&self, statement: &sea_query::TableAlterStatement) -> String;

    /// The statements that add `column` to `table` (already validated, as is its default).
    /// A backend that cannot add a `UNIQUE` column overrides this.
    fn add_column(&self, table: &str, column: &Column) -> Vec<Statement> {
        vec![table::add_column(self, table, column)]
    }

    /// The statement that serializes schema changes of `table` within a write transaction,
    /// taken before the catalog is read, when beginning a write does not already (SQLite's
    /// `BEGIN IMMEDIATE` does); the table's name is bound.
    fn schema_lock(&self, table: &str) -> Option<Statement>;
}

/// The `build_*` methods of [`Dialect`] for a sea-query builder: the one thing about
/// rendering that every backend states the same way.
macro_rules! sea_query_builder {
    ($builder:expr) => {
        fn write_ident(&self, sql: &mut String, name: &str) {
            use sea_query::{IntoIden as _, QuotedBuilder as _};
            $builder.prepare_iden(&sea_query::Alias::new(name).into_iden(), sql);
        }
        fn build_select(
            &self,
            statement: &sea_query::SelectStatement,
        ) -> (String, sea_query::Values) {
            statement.build($builder)
        }
        fn build_insert(
            &self,
            statement: &sea_query::InsertStatement,
        ) -> (String, sea_query::Values) {
            statement.build($builder)
        }
        fn build_update(
            &self,
            statement: &sea_query::UpdateStatement,
        ) -> (String, sea_query::Values) {
            statement.build($builder)
        }
        fn build_delete(
            &self,
            statement: &sea_query::DeleteStatement,
        ) -> (String, sea_query::Values) {
            statement.build($builder)
        }
        fn build_table_create(&self, statement: &sea_query::TableCreateStatement) -> String {
            statement.build($builder)
        }
        fn build_index_create(&self, statement: &sea_query::IndexCreateStatement) -> String {
            statement.build($builder)
        }
        fn build_table_drop(&self, statement: &sea_query::TableDropStatement) -> String {
            statement.build($builder)
        }
        fn build_table_alter(&self, statement: &sea_query::TableAlterStatement) -> String {
            statement.build($builder)
        }
    };
}
pub(crate) use sea_query_builder;

impl Backend {
    /// How many parameters one statement may bind on this backend.
    pub fn max_bind_params(self) -> usize {
        self.dialect().max_bind_params()
    }
}

/// A quoted-on-render identifier for a name that has already been validated.
fn ident(name: &str) -> Alias {
    Alias::new(name)
}

/// Coerces `value` to `column`'s type and converts it to a parameter value.
fn bind_value(
    dialect: &dyn Dialect,
    table: &str,
    column: &Column,
    value: Value,
) -> Result<sea_query::Value> {
    let value = value.coerce(table, column)?;
    Ok(dialect.bind(column.column_type, value))
}

/// The condition of a resolved filter (see [`Filter::resolve`]: its values already have their
/// columns' types), taking its values.
fn condition(dialect: &dyn Dialect, schema: &TableSchema, filter: Filter) -> Result<Expr> {
    let table = schema.name.as_str();
    Ok(match filter {
        Filter::Compare { column, op, value } => {
            let col = schema.require_column(&column)?;
            let target = Expr::col(ident(&column));
            match shape::compared_value(table, &column, op, value)? {
                None if op == CompareOp::Eq => target.is_null(),
                None => target.is_not_null(),
                Some(value) => {
                    let value = dialect.bind(col.column_type, value);
                    match op {
                        CompareOp::Eq => target.eq(value),
                        CompareOp::Ne => target.ne(value),
                        CompareOp::Lt => target.lt(value),
                        CompareOp::Lte => target.lte(value),
                        CompareOp::Gt => target.gt(value),
                        CompareOp::Gte => target.gte(value),
                    }
                }
            }
        }
        Filter::In {
            column,
            values,
            negated,
        } => {
            let col = schema.require_column(&column)?;
            if values.is_empty() {
                // `IN ()` is a syntax error on PostgreSQL: an empty list matches nothing.
                return Ok(Expr::cust(if negated { "1 = 1" } else { "1 = 0" }));
            }
            let values = values
                .into_iter()
                .map(|v| Ok(dialect.bind(col.column_type, shape::listed_value(table, &column, v)?)))
                .collect::<Result<Vec<_>>>()?;
            let target = Expr::col(ident(&column));
            if negated {
                target.is_not_in(values)
            } else {
                target.is_in(values)
            }
        }
        Filter::Like { column, pattern } => {
            let col = schema.require_column(&column)?;
            shape::check_like(table, &column, col.column_type)?;
            // One escape character on both backends (PostgreSQL's default is `\`, SQLite has
            // none); SQLite's LIKE is made case-sensitive like PostgreSQL's when connecting.
            Expr::col(ident(&column)).like(sea_query::LikeExpr::new(pattern).escape('\\'))
        }
        Filter::Null { column, is_null } => {
            schema.require_column(&column)?;
            let target = Expr::col(ident(&column));
            if is_null {
                target.is_null()
            } else {
                target.is_not_null()
            }
        }
        Filter::And(all) => joined(dialect, schema, all, "1 = 1", |a, b| a.and(b))?,
        Filter::Or(any) => joined(dialect, schema, any, "1 = 0", |a, b| a.or(b))?,
        // NULL (a comparison with a NULL column) counts as not matched, so that `NOT` matches
        // exactly the rows the inner filter does not.
        Filter::Not(inner) => Expr::from(sea_query::Func::coalesce([
            condition(dialect, schema, *inner)?,
            Expr::cust("1 = 0"),
        ]))
        .not(),
    })
}

/// The conditions of `filters` joined by `join` (`AND`, `OR`), in order; `empty` for none.
fn joined(
    dialect: &dyn Dialect,
    schema: &TableSchema,
    filters: Vec<Filter>,
    empty: &'static str,
    join: fn(Expr, Expr) -> Expr,
) -> Result<Expr> {
    let mut conditions = filters.into_iter().map(|f| condition(dialect, schema, f));
    match conditions.next() {
        None => Ok(Expr::cust(empty)),
        Some(first) => {
            let mut expr = first?;
            for next in conditions {
                expr = join(expr, next?);
            }
            Ok(expr)
        }
    }
}

/// The key column of `schema` and the value of `id` as that column's parameter.
fn key_condition(dialect: &dyn Dialect, schema: &TableSchema, id: &Value) -> Result<Expr> {
    let key = schema.require_primary_key()?;
    Ok(Expr::col(ident(&key.name)).eq(key_value(dialect, schema, id)?))
}

/// The parameter value of `id` for the key column of `schema`.
fn key_value(dialect: &dyn Dialect, schema: &TableSchema, id: &Value) -> Result<sea_query::Value> {
    let key = schema.require_primary_key()?;
    if id.is_null() {
        return Err(Error::invalid_record(&schema.name, "the id is null"));
    }
    bind_value(dialect, &schema.name, key, id.clone())
}

pub(crate) fn write_literal(sql: &mut String, n: impl std::fmt::Display) {
    // Writing to a String cannot fail.
    let _ = write!(sql, "{n}");
}

/// JSON text with object keys sorted at every level, so that equal documents are equal text
/// (SQLite compares json columns as text). serde_json's maps are already sorted unless some
/// crate in the build turns on its `preserve_order` feature: copy only then.
pub(crate) fn canonical_json(value: &serde_json::Value) -> String {
    fn is_sorted(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::Object(map) => {
                map.keys().zip(map.keys().skip(1)).all(|(a, b)| a <= b)
                    && map.values().all(is_sorted)
            }
            serde_json::Value::Array(items) => items.iter().all(is_sorted),
            _ => true,
        }
    }
    fn sorted(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                serde_json::Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect(),
                )
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(sorted).collect())
            }
            other => other.clone(),
        }
    }
    if is_sorted(value) {
        value.to_string()
    } else {
        sorted(value).to_string()
    }
}

#[cfg(test)]
mod tests;
