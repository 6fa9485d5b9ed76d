//! SELECT with where / order / limit / offset, and COUNT.

use std::sync::Arc;

use sea_query::{Expr, Order, Query};

use super::shape::{self, RenderedSql};
use super::{Backend, Dialect, Statement, condition, ident};
use crate::error::{Error, Result};
use crate::query::{Direction, Filter, QueryOptions};
use crate::schema::TableSchema;

impl Backend {
    /// `SELECT` every column of `schema` (in schema order) from the rows matching `options`.
    ///
    /// An offset without a limit is `LIMIT -1 OFFSET n` on SQLite and `OFFSET n` on PostgreSQL.
    ///
    /// ```
    /// use memtable::sql::Backend::{Postgres, Sqlite};
    /// use memtable::{Column, ColumnType, Constraint, OrderBy, QueryOptions, TableSchema};
    ///
    /// let schema = TableSchema::new("t", vec![Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey)]);
    /// let options = QueryOptions::new().order_by(OrderBy::desc("id")).offset(20);
    /// assert_eq!(Sqlite.select(&schema, &options)?.sql(), r#"SELECT "id" FROM "t" ORDER BY "id" DESC LIMIT -1 OFFSET 20"#);
    /// assert_eq!(Postgres.select(&schema, &options)?.sql(), r#"SELECT "id" FROM "t" ORDER BY "id" DESC OFFSET 20"#);
    /// # Ok::<(), memtable::Error>(())
    /// ```
    pub fn select(self, schema: &TableSchema, options: &QueryOptions) -> Result<Statement> {
        schema.validate()?;
        self.render_select(schema, options.clone())
    }

    /// [`select`](Self::select) for a schema already validated, taking the options.
    pub(crate) fn render_select(
        self,
        schema: &TableSchema,
        options: QueryOptions,
    ) -> Result<Statement> {
        let options = options.resolve(schema)?;
        select(self.dialect(), schema, options)
    }

    /// [`render_select`](Self::render_select), reusing the SQL text `rendered` holds for the
    /// options' shape (and keeping it there the first time).
    pub(crate) fn render_select_cached(
        self,
        schema: &TableSchema,
        options: QueryOptions,
        rendered: &RenderedSql,
    ) -> Result<Statement> {
        let options = options.resolve(schema)?;
        let key = shape::select(&options);
        if let Some(sql) = rendered.get(&key) {
            return self.reuse(schema, sql, options.filter);
        }
        let statement = select(self.dialect(), schema, options)?;
        rendered.put(key, statement.sql());
        Ok(statement)
    }

    /// As [`render_select_cached`](Self::render_select_cached), borrowing the options. A
    /// shape already rendered takes its values straight from the filter, each coerced on its
    /// own, without resolving a copy of the whole filter first: the point select's path.
    ///
    /// Resolving keeps a filter's shape (its structure, columns and operators, which values
    /// are NULL, the length of each list), so the shape of the options as given is the shape
    /// they resolve to, and a rendered shape passed every check that depends only on it. Any
    /// value that fails here sends the call down the full path, which reports the error just
    /// as it would have.
    pub(crate) fn render_select_borrowed(
        self,
        schema: &TableSchema,
        options: &QueryOptions,
        rendered: &RenderedSql,
    ) -> Result<Statement> {
        if let Some(sql) = shape::rendered_select(options, rendered) {
            let dialect = self.dialect();
            let mut values = Vec::with_capacity(4);
            let collected = options.filter.as_ref().is_none_or(|filter| {
                shape::borrowed_filter_values(dialect, schema, filter, &mut values).is_some()
            });
            if collected {
                return within_bind_limit(
                    dialect,
                    schema,
                    Statement::new(sql, sea_query::Values(values)),
                );
            }
        }
        self.render_select_cached(schema, options.clone(), rendered)
    }

    /// As [`render_select_cached`](Self::render_select_cached), for options the caller gives
    /// up, with the shape looked up before resolving (the shape of the options as given is the
    /// shape they resolve to, see [`render_select_borrowed`](Self::render_select_borrowed)), so
    /// that a known shape's key is not allocated: the resolved filter's values are then moved
    /// into the statement, none copied.
    pub(crate) fn render_select_owned(
        self,
        schema: &TableSchema,
        options: QueryOptions,
        rendered: &RenderedSql,
    ) -> Result<Statement> {
        match shape::rendered_select(&options, rendered) {
            Some(sql) => self.reuse(schema, sql, options.resolve(schema)?.filter),
            None => self.render_select_cached(schema, options, rendered),
        }
    }

    /// `SELECT COUNT(*)` of the rows matching `filter`.
    pub fn count(self, schema: &TableSchema, filter: Option<&Filter>) -> Result<Statement> {
        schema.validate()?;
        let filter = filter.cloned().map(|f| f.resolve(schema)).transpose()?;
        count(self.dialect(), schema, filter)
    }

    /// [`count`](Self::count) for a schema already validated, taking the filter, and reusing
    /// the SQL text `rendered` holds for the filter's shape.
    pub(crate) fn render_count_cached(
        self,
        schema: &TableSchema,
        filter: Option<Filter>,
        rendered: &RenderedSql,
    ) -> Result<Statement> {
        let filter = filter.map(|f| f.resolve(schema)).transpose()?;
        let key = shape::count(filter.as_ref());
        if let Some(sql) = rendered.get(&key) {
            return self.reuse(schema, sql, filter);
        }
        let statement = count(self.dialect(), schema, filter)?;
        rendered.put(key, statement.sql());
        Ok(statement)
    }

    /// The statement of SQL text rendered before for a filter of the same shape, binding this
    /// filter's values.
    fn reuse(
        self,
        schema: &TableSchema,
        sql: Arc<str>,
        filter: Option<Filter>,
    ) -> Result<Statement> {
        reuse(self.dialect(), schema, sql, filter)
    }
}

fn reuse(
    dialect: &dyn Dialect,
    schema: &TableSchema,
    sql: Arc<str>,
    filter: Option<Filter>,
) -> Result<Statement> {
    let mut values = Vec::new();
    if let Some(filter) = filter {
        shape::filter_values(dialect, schema, filter, &mut values)?;
    }
    within_bind_limit(
        dialect,
        schema,
        Statement::new(sql, sea_query::Values(values)),
    )
}

fn select(dialect: &dyn Dialect, schema: &TableSchema, options: QueryOptions) -> Result<Statement> {
    let mut query = Query::select();
    query
        .columns(schema.columns.iter().map(|c| ident(&c.name)))
        .from(ident(&schema.name));
    if let Some(filter) = options.filter {
        query.and_where(condition(dialect, schema, filter)?);
    }
    for order in &options.order_by {
        schema.require_column(&order.column)?;
        let direction = match order.direction {
            Direction::Asc => Order::Asc,
            Direction::Desc => Order::Desc,
        };
        query.order_by(ident(&order.column), direction);
    }
    let (mut sql, values) = dialect.build_select(&query);
    dialect.write_page(&mut sql, options.limit, options.offset);
    within_bind_limit(dialect, schema, Statement::new(sql, values))
}

fn count(dialect: &dyn Dialect, schema: &TableSchema, filter: Option<Filter>) -> Result<Statement> {
    let mut query = Query::select();
    query.expr(Expr::cust("COUNT(*)")).from(ident(&schema.name));
    if let Some(filter) = filter {
        query.and_where(condition(dialect, schema, filter)?);
    }
    let (sql, values) = dialect.build_select(&query);
    within_bind_limit(dialect, schema, Statement::new(sql, values))
}

/// A filter with more values than the backend can bind (a huge `$in` list) is refused here
/// rather than by the database.
pub(super) fn within_bind_limit(
    dialect: &dyn Dialect,
    schema: &TableSchema,
    statement: Statement,
) -> Result<Statement> {
    if statement.values().len() > dialect.max_bind_params() {
        return Err(Error::invalid_query(
            &schema.name,
            format!(
                "the filter binds {} values; at most {} fit in one statement",
                statement.values().len(),
                dialect.max_bind_params()
            ),
        ));
    }
    Ok(statement)
}
