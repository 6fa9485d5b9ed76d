//! PostgreSQL: native BIGINT, DOUBLE PRECISION, BYTEA, JSONB and BOOLEAN, identity keys, and
//! parameters typed by their column so that NULLs and 32-bit integers bind as the column's type.

use sea_query::{Expr, ExprTrait as _, PostgresQueryBuilder, Query};

use crate::backend::{BulkForms, Capabilities};
use crate::schema::ColumnType;
use crate::sql::{Dialect, Statement, write_literal};
use crate::value::Value;

/// The first key of memtable's advisory locks ("memt" in ASCII), so that they do not meet an
/// application's own.
const SCHEMA_LOCK_SPACE: i32 = 0x6d65_6d74;

/// PostgreSQL's dialect.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PostgresDialect;

/// Arrays and binary COPY for bulk writes; DDL is transactional.
static CAPABILITIES: Capabilities = Capabilities {
    bulk: BulkForms {
        arrays: true,
        copy: true,
    },
    transactional_ddl: true,
    json_as_text: false,
};

impl Dialect for PostgresDialect {
    crate::sql::sea_query_builder!(PostgresQueryBuilder);

    fn capabilities(&self) -> &'static Capabilities {
        &CAPABILITIES
    }

    fn column_type(&self, column_type: ColumnType) -> &'static str {
        match column_type {
            ColumnType::Text => "TEXT",
            ColumnType::Integer => "INTEGER",
            ColumnType::Bigint => "BIGINT",
            ColumnType::Real => "DOUBLE PRECISION",
            ColumnType::Blob => "BYTEA",
            ColumnType::Json => "JSONB",
            ColumnType::Boolean => "BOOLEAN",
        }
    }

    fn auto_increment_key(&self, def: &mut sea_query::ColumnDef) {
        def.primary_key().extra("GENERATED ALWAYS AS IDENTITY");
    }

    fn bind(&self, column_type: ColumnType, value: Value) -> sea_query::Value {
        use sea_query::Value as V;
        match (column_type, value) {
            (ColumnType::Integer, Value::Integer(i)) => match i32::try_from(i) {
                Ok(i) => V::Int(Some(i)),
                // Unreachable after coercion; binding as BIGINT lets PostgreSQL report the range.
                Err(_) => V::BigInt(Some(i)),
            },
            (ColumnType::Json, Value::Json(j)) => V::Json(Some(Box::new(j))),
            (_, Value::Bool(b)) => V::Bool(Some(b)),
            (_, Value::Integer(i)) => V::BigInt(Some(i)),
            (_, Value::Real(f)) => V::Double(Some(f)),
            (_, Value::Text(s)) => V::String(Some(s)),
            (_, Value::Blob(b)) => V::Bytes(Some(b)),
            (_, Value::Json(j)) => V::Json(Some(Box::new(j))),
            (ty, Value::Null) => match ty {
                ColumnType::Text => V::String(None),
                ColumnType::Integer => V::Int(None),
                ColumnType::Bigint => V::BigInt(None),
                ColumnType::Real => V::Double(None),
                ColumnType::Blob => V::Bytes(None),
                ColumnType::Json => V::Json(None),
                ColumnType::Boolean => V::Bool(None),
            },
        }
    }

    fn write_page(&self, sql: &mut String, limit: Option<u64>, offset: Option<u64>) {
        if let Some(limit) = limit {
            sql.push_str(" LIMIT ");
            write_literal(sql, limit);
        }
        if let Some(offset) = offset {
            sql.push_str(" OFFSET ");
            write_literal(sql, offset);
        }
    }

    fn table_exists(&self, table: &str) -> sea_query::SelectStatement {
        Query::select()
            .column("table_name")
            .from(("information_schema", "tables"))
            .and_where(Expr::col("table_schema").eq(Expr::cust("current_schema()")))
            .and_where(Expr::col("table_name").eq(table))
            .to_owned()
    }

    fn schema_lock(&self, table: &str) -> Option<Statement> {
        // A transaction-level advisory lock, released at commit or rollback, keyed by
        // memtable's key space and the table's name (hashed by the server: the name is bound).
        let query = Query::select()
            .expr(Expr::cust_with_values(
                format!("pg_advisory_xact_lock({SCHEMA_LOCK_SPACE}, hashtext($1))"),
                [table],
            ))
            .to_owned();
        let (sql, values) = query.build(PostgresQueryBuilder);
        Some(Statement::new(sql, values))
    }

    fn max_bind_params(&self) -> usize {
        // The wire protocol counts parameters in 16 bits.
        65_535
    }
}

// Used by the store only when it is built with PostgreSQL.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
impl PostgresDialect {
    /// `column_name, data_type, is_nullable` of every column of `table` in the current schema,
    /// in order; the name is bound.
    pub(crate) fn columns(table: &str) -> Statement {
        let query = Query::select()
            .columns(["column_name", "data_type", "is_nullable"])
            .from(("information_schema", "columns"))
            .and_where(Expr::col("table_schema").eq(Expr::cust("current_schema()")))
            .and_where(Expr::col("table_name").eq(table))
            .order_by("ordinal_position", sea_query::Order::Asc)
            .to_owned();
        let (sql, values) = query.build(PostgresQueryBuilder);
        Statement::new(sql, values)
    }

    /// The columns of `table`'s primary key; the name is bound. Read from `pg_catalog`, not
    /// `information_schema`, whose constraint views show only the tables the role owns: a role
    /// that may only read must still find the key.
    pub(crate) fn primary_key(table: &str) -> Statement {
        let query = Query::select()
            .expr(Expr::cust("a.attname::text"))
            .from_as(("pg_catalog", "pg_index"), "i")
            .join_as(
                sea_query::JoinType::InnerJoin,
                ("pg_catalog", "pg_class"),
                "c",
                Expr::col(("c", "oid")).equals(("i", "indrelid")),
            )
            .join_as(
                sea_query::JoinType::InnerJoin,
                ("pg_catalog", "pg_namespace"),
                "n",
                Expr::col(("n", "oid")).equals(("c", "relnamespace")),
            )
            .join_as(
                sea_query::JoinType::InnerJoin,
                ("pg_catalog", "pg_attribute"),
                "a",
                Expr::col(("a", "attrelid"))
                    .equals(("c", "oid"))
                    .and(Expr::cust("a.attnum = ANY(i.indkey)")),
            )
            .and_where(Expr::col(("i", "indisprimary")).eq(true))
            .and_where(Expr::col(("n", "nspname")).eq(Expr::cust("current_schema()")))
            .and_where(Expr::col(("c", "relname")).eq(table))
            .to_owned();
        let (sql, values) = query.build(PostgresQueryBuilder);
        Statement::new(sql, values)
    }
}
