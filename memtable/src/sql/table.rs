//! CREATE TABLE, CREATE INDEX, DROP TABLE and the existence query.

use sea_query::{ColumnDef, Index, Table};

use super::{Backend, Dialect, Statement, ident};
use crate::error::{IdentifierKind, Result};
use crate::schema::{Additions, Column, TableSchema, validate_identifier};

impl Backend {
    /// `CREATE TABLE` followed by one `CREATE [UNIQUE] INDEX` per index of a validated schema.
    ///
    /// ```
    /// use memtable::sql::Backend::{Postgres, Sqlite};
    /// use memtable::TableSchema;
    ///
    /// let schema = TableSchema::from_json_str(r#"{"name": "kv", "columns": [
    ///     {"name": "id", "type": "bigint", "constraints": ["primary_key", "auto_increment"]},
    ///     {"name": "key", "type": "text", "constraints": ["not_null", "unique"]},
    ///     {"name": "value", "type": "json"}]}"#)?;
    /// let sqlite = Sqlite.create_table(&schema)?;
    /// assert_eq!(sqlite[0].sql(), r#"CREATE TABLE "kv" ( "id" INTEGER PRIMARY KEY AUTOINCREMENT, "key" TEXT NOT NULL UNIQUE, "value" TEXT )"#);
    /// let postgres = Postgres.create_table(&schema)?;
    /// assert_eq!(postgres[0].sql(), r#"CREATE TABLE "kv" ( "id" BIGINT PRIMARY KEY GENERATED ALWAYS AS IDENTITY, "key" TEXT NOT NULL UNIQUE, "value" JSONB )"#);
    /// # Ok::<(), memtable::Error>(())
    /// ```
    pub fn create_table(self, schema: &TableSchema) -> Result<Vec<Statement>> {
        schema.validate()?;
        Ok(create_table(self.dialect(), schema, false))
    }

    /// As [`create_table`](Self::create_table), with `IF NOT EXISTS` on the table and every
    /// index.
    pub fn create_table_if_not_exists(self, schema: &TableSchema) -> Result<Vec<Statement>> {
        schema.validate()?;
        Ok(create_table(self.dialect(), schema, true))
    }

    /// `DROP TABLE "name"`.
    pub fn drop_table(self, table: &str) -> Result<Statement> {
        validate_identifier(IdentifierKind::Table, table)?;
        let statement = Table::drop().table(ident(table)).to_owned();
        Ok(Statement::ddl(self.dialect().build_table_drop(&statement)))
    }

    /// The query that returns `table`'s name when it exists (in the current schema, on
    /// PostgreSQL); the name is bound, not written into the SQL. SQLite matches names without
    /// regard to case, so compare the name returned to tell `t` from `T`.
    pub fn table_exists(self, table: &str) -> Result<Statement> {
        validate_identifier(IdentifierKind::Table, table)?;
        let dialect = self.dialect();
        Ok(Statement::from_query(dialect, &dialect.table_exists(table)))
    }
}

impl Backend {
    /// The statements that bring the table of `schema` (validated) up to it by `additions`:
    /// one `ALTER TABLE … ADD COLUMN` per column (its default a literal rendered by
    /// sea-query), then one `CREATE [UNIQUE] INDEX` per index.
    pub(crate) fn add_to_table(
        self,
        schema: &TableSchema,
        additions: &Additions,
    ) -> Vec<Statement> {
        let dialect = self.dialect();
        let mut statements = Vec::new();
        for column in &additions.columns {
            statements.extend(dialect.add_column(&schema.name, column));
        }
        for index in &additions.indexes {
            statements.push(create_index(dialect, &schema.name, index, false));
        }
        statements
    }

    /// The statement that serializes schema changes of `table` inside a write transaction,
    /// where beginning the transaction does not already.
    pub(crate) fn schema_lock(self, table: &str) -> Option<Statement> {
        self.dialect().schema_lock(table)
    }
}

/// `ALTER TABLE "table" ADD COLUMN …`, the column declared as in `CREATE TABLE`.
pub(crate) fn add_column<D: Dialect + ?Sized>(
    dialect: &D,
    table: &str,
    column: &Column,
) -> Statement {
    let statement = Table::alter()
        .table(ident(table))
        .add_column(column_def(dialect, column))
        .to_owned();
    Statement::ddl(dialect.build_table_alter(&statement))
}

/// `CREATE [UNIQUE] INDEX "name" ON "table" (…)`.
pub(crate) fn create_index<D: Dialect + ?Sized>(
    dialect: &D,
    table: &str,
    index: &crate::schema::Index,
    if_not_exists: bool,
) -> Statement {
    let mut create = Index::create();
    create.name(index.name.clone()).table(ident(table));
    for column in &index.columns {
        create.col(ident(column));
    }
    if index.unique {
        create.unique();
    }
    if if_not_exists {
        create.if_not_exists();
    }
    Statement::ddl(dialect.build_index_create(&create))
}

impl Statement {
    pub(crate) fn from_query(
        dialect: &dyn Dialect,
        query: &sea_query::SelectStatement,
    ) -> Statement {
        let (sql, values) = dialect.build_select(query);
        Statement::new(sql, values)
    }
}

fn create_table(
    dialect: &dyn Dialect,
    schema: &TableSchema,
    if_not_exists: bool,
) -> Vec<Statement> {
    let mut table = Table::create();
    table.table(ident(&schema.name));
    if if_not_exists {
        table.if_not_exists();
    }
    for column in &schema.columns {
        table.col(column_def(dialect, column));
    }
    let mut statements = vec![Statement::ddl(dialect.build_table_create(&table))];
    for index in &schema.indexes {
        statements.push(create_index(dialect, &schema.name, index, if_not_exists));
    }
    statements
}

/// The column as `CREATE TABLE` and `ADD COLUMN` declare it. A default is rendered by
/// sea-query as a literal of the dialect (a DEFAULT clause takes no parameters), escaped by
/// sea-query's own value writer: the caller's text is never written into the SQL as such.
pub(crate) fn column_def<D: Dialect + ?Sized>(dialect: &D, column: &Column) -> ColumnDef {
    let mut def = ColumnDef::new(ident(&column.name));
    if column.is_auto_increment() {
        def.custom(dialect.column_type(column.column_type));
        dialect.auto_increment_key(&mut def);
        return def;
    }
    def.custom(dialect.column_type(column.column_type));
    if !column.is_nullable() {
        // SQLite lets a non-integer PRIMARY KEY hold NULL unless told otherwise.
        def.not_null();
    }
    if column.is_primary_key() {
        def.primary_key();
    }
    if column.is_unique() && !column.is_primary_key() {
        def.unique_key();
    }
    if let Some(default) = column.default_value() {
        def.default(dialect.bind(column.column_type, default));
    }
    def
}
