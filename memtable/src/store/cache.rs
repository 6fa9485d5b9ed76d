//! The in-memory record of every table a store has seen: its schema and owner.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::schema::TableSchema;
use crate::sql::shape::RenderedSql;

/// A table as the store knows it.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) schema: TableSchema,
    /// The plugin that created it through a scoped API, if any.
    pub(crate) owner: Option<String>,
    /// Whether memtable created it (the catalog holds its schema), so that its columns have
    /// exactly the types memtable declares: a table found in the database's own catalog may,
    /// say, have a `json` column where memtable declares `jsonb`.
    pub(crate) created: bool,
    /// SQL text rendered for this table's statements, by shape. It lives and dies with this
    /// entry: a table dropped or created anew starts with none.
    pub(crate) rendered: RenderedSql,
}

impl Table {
    /// A table memtable created (its schema from the catalog or from `create_table`).
    pub(crate) fn new(schema: TableSchema, owner: Option<String>) -> Self {
        Table {
            schema,
            owner,
            created: true,
            rendered: RenderedSql::default(),
        }
    }

    /// A table memtable did not create, as the database's own catalog describes it.
    pub(crate) fn found(schema: TableSchema) -> Self {
        Table {
            created: false,
            ..Table::new(schema, None)
        }
    }
}

/// Table name → table, shared by every clone of a store. Reads vastly outnumber writes (which
/// happen on create, drop, and the first use of a table), hence the read-write lock.
#[derive(Debug, Default)]
pub(crate) struct SchemaCache {
    tables: RwLock<HashMap<String, Arc<Table>>>,
}

impl SchemaCache {
    pub(crate) fn get(&self, name: &str) -> Option<Arc<Table>> {
        self.tables
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    pub(crate) fn insert(&self, table: Table) -> Arc<Table> {
        let table = Arc::new(table);
        self.tables
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(table.schema.name.clone(), table.clone());
        table
    }

    pub(crate) fn remove(&self, name: &str) {
        self.tables
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }
}
