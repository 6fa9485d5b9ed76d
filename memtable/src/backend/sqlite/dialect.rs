//! SQLite: storage types, `INTEGER PRIMARY KEY AUTOINCREMENT`, json as text, booleans as 0/1,
//! and `LIMIT -1` for an offset without a limit.

use sea_query::{Expr, ExprTrait as _, Query, SqliteQueryBuilder};

use crate::backend::{BulkForms, Capabilities};
use crate::schema::{Column, ColumnType, Constraint, Index};
use crate::sql::{Dialect, Statement, canonical_json, write_literal};
use crate::value::Value;

/// SQLite's dialect.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SqliteDialect;

/// Multi-row VALUES only; DDL is transactional.
static CAPABILITIES: Capabilities = Capabilities {
    bulk: BulkForms {
        arrays: false,
        copy: false,
    },
    transactional_ddl: true,
    json_as_text: true,
};

impl Dialect for SqliteDialect {
    crate::sql::sea_query_builder!(SqliteQueryBuilder);

    fn capabilities(&self) -> &'static Capabilities {
        &CAPABILITIES
    }

    fn column_type(&self, column_type: ColumnType) -> &'static str {
        match column_type {
            ColumnType::Text | ColumnType::Json => "TEXT",
            ColumnType::Integer | ColumnType::Bigint | ColumnType::Boolean => "INTEGER",
            ColumnType::Real => "REAL",
            ColumnType::Blob => "BLOB",
        }
    }

    fn auto_increment_key(&self, def: &mut sea_query::ColumnDef) {
        // Only the exact type name INTEGER makes the column an alias of the rowid, and
        // AUTOINCREMENT must follow PRIMARY KEY directly.
        def.custom("INTEGER").primary_key().auto_increment();
    }

    fn bind(&self, column_type: ColumnType, value: Value) -> sea_query::Value {
        use sea_query::Value as V;
        match value {
            Value::Null => match column_type {
                ColumnType::Integer | ColumnType::Bigint | ColumnType::Boolean => V::BigInt(None),
                ColumnType::Real => V::Double(None),
                ColumnType::Blob => V::Bytes(None),
                ColumnType::Text | ColumnType::Json => V::String(None),
            },
            Value::Bool(b) => V::Bool(Some(b)),
            Value::Integer(i) => V::BigInt(Some(i)),
            Value::Real(f) => V::Double(Some(f)),
            Value::Text(s) => V::String(Some(s)),
            Value::Blob(b) => V::Bytes(Some(b)),
            Value::Json(j) => V::String(Some(canonical_json(&j))),
        }
    }

    fn write_page(&self, sql: &mut String, limit: Option<u64>, offset: Option<u64>) {
        match (limit, offset) {
            (None, None) => {}
            (Some(limit), None) => {
                sql.push_str(" LIMIT ");
                write_literal(sql, limit);
            }
            (limit, Some(offset)) => {
                // SQLite has no OFFSET without LIMIT; -1 means no limit.
                sql.push_str(" LIMIT ");
                match limit {
                    Some(limit) => write_literal(sql, limit),
                    None => sql.push_str("-1"),
                }
                sql.push_str(" OFFSET ");
                write_literal(sql, offset);
            }
        }
    }

    fn table_exists(&self, table: &str) -> sea_query::SelectStatement {
        Query::select()
            .column("name")
            .from("sqlite_master")
            .and_where(Expr::col("type").eq("table"))
            .and_where(Expr::col("name").eq(table))
            .to_owned()
    }

    fn add_column(&self, table: &str, column: &Column) -> Vec<Statement> {
        if !column.is_unique() {
            return vec![crate::sql::table::add_column(self, table, column)];
        }
        // SQLite cannot add a UNIQUE column: add it plain, and enforce uniqueness by a unique
        // index named as PostgreSQL names the constraint it makes for `ADD COLUMN … UNIQUE`.
        let mut plain = column.clone();
        plain.constraints.retain(|c| *c != Constraint::Unique);
        let index = Index::new(format!("{table}_{}_key", column.name), [&column.name], true);
        vec![
            crate::sql::table::add_column(self, table, &plain),
            crate::sql::table::create_index(self, table, &index, false),
        ]
    }

    fn schema_lock(&self, _table: &str) -> Option<Statement> {
        // A write transaction begins IMMEDIATE: it already holds the database's write lock.
        None
    }

    fn max_bind_params(&self) -> usize {
        // SQLITE_MAX_VARIABLE_NUMBER of the bundled SQLite (3.32 and newer).
        32_766
    }
}

// Used by the store only when it is built with SQLite.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
impl SqliteDialect {
    /// `name, type, notnull, pk` of every column of `table`, in order; the name is bound.
    pub(crate) fn table_info(table: &str) -> Statement {
        let query = Query::select()
            .columns(["name", "type", "notnull", "pk"])
            .from_function(
                sea_query::Func::cust("pragma_table_info").arg(table),
                "info",
            )
            .to_owned();
        let (sql, values) = query.build(SqliteQueryBuilder);
        Statement::new(sql, values)
    }
}
