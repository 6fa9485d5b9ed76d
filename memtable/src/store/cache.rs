//! The in-memory record of every table a store has seen: its schema and owner, by the scope
//! and name it is addressed by.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use foldhash::fast::RandomState;

use crate::schema::{ColumnType, TableSchema};
use crate::sql::shape::RenderedSql;
use crate::value::{ColumnNames, Record, Value};

/// A table as the store knows it.
#[derive(Debug)]
pub(crate) struct Table {
    /// The schema rendered into SQL: its name and index names are the physical ones.
    pub(crate) schema: TableSchema,
    /// The schema as its owner declared it, when its names differ from the physical ones (a
    /// table in a plugin's namespace); `None` when they are the same.
    logical: Option<TableSchema>,
    /// The plugin that owns it, if any.
    pub(crate) owner: Option<String>,
    /// Whether memtable created it (the catalog holds its schema), so that its columns have
    /// exactly the types memtable declares: a table found in the database's own catalog may,
    /// say, have a `json` column where memtable declares `jsonb`.
    pub(crate) created: bool,
    /// SQL text rendered for this table's statements, by shape. It lives and dies with this
    /// entry: a table dropped or created anew starts with none.
    pub(crate) rendered: RenderedSql,
    /// The columns its rows are read as.
    pub(crate) columns: ReadColumns,
}

/// The columns of a table's rows as they are read: their types, to decode each row, and their
/// names, which every record read shares (reading a row allocates no name).
#[derive(Debug)]
pub(crate) struct ReadColumns {
    pub(crate) types: Box<[ColumnType]>,
    pub(crate) names: Arc<ColumnNames>,
    /// The address of the last list of names found to be these columns in order (a derived
    /// struct's `COLUMN_NAMES`): a typed read of the same struct then compares no name.
    field_order: AtomicUsize,
}

impl ReadColumns {
    /// Every column of `schema`, in order.
    pub(crate) fn of(schema: &TableSchema) -> Self {
        ReadColumns {
            types: schema.columns.iter().map(|c| c.column_type).collect(),
            names: ColumnNames::new(schema.columns.iter().map(|c| c.name.as_str())),
            field_order: AtomicUsize::new(0),
        }
    }

    /// Whether these are the columns `fields` names, in that order.
    pub(crate) fn in_order_of(&self, fields: &'static [&'static str]) -> bool {
        let address = fields.as_ptr().addr();
        if self.field_order.load(Ordering::Relaxed) == address {
            return true;
        }
        let in_order = self.names.len() == fields.len()
            && self
                .names
                .iter()
                .zip(fields)
                .all(|(name, field)| name == *field);
        if in_order {
            self.field_order.store(address, Ordering::Relaxed);
        }
        in_order
    }

    /// The record of a row read in these columns.
    pub(crate) fn record(&self, row: Vec<Value>) -> Record {
        Record::from_distinct(&self.names, row)
    }
}

impl Table {
    /// A table memtable created, living under its own name (its schema from the catalog or
    /// from `create_table`).
    pub(crate) fn new(schema: TableSchema, owner: Option<String>) -> Self {
        Table {
            columns: ReadColumns::of(&schema),
            schema,
            logical: None,
            owner,
            created: true,
            rendered: RenderedSql::default(),
        }
    }

    /// A table memtable created in `owner`'s namespace: `physical` is rendered, `logical` is
    /// what the owner sees.
    pub(crate) fn namespaced(physical: TableSchema, logical: TableSchema, owner: String) -> Self {
        let logical = (physical != logical).then_some(logical);
        Table {
            logical,
            ..Table::new(physical, Some(owner))
        }
    }

    /// A table memtable did not create, as the database's own catalog describes it.
    pub(crate) fn found(schema: TableSchema) -> Self {
        Table {
            created: false,
            ..Table::new(schema, None)
        }
    }

    /// The schema as its owner declared it (names as the owner addresses them).
    pub(crate) fn logical(&self) -> &TableSchema {
        self.logical.as_ref().unwrap_or(&self.schema)
    }

    /// Whether it lives under the name it is addressed by: the host (the unscoped store) can
    /// address it.
    pub(crate) fn is_unscoped(&self) -> bool {
        self.logical.is_none()
    }

    /// The physical names that differ from what the owner calls them, physical first: the
    /// table's and its indexes'.
    pub(crate) fn renamed(&self) -> Vec<(&str, &str)> {
        let Some(logical) = &self.logical else {
            return Vec::new();
        };
        let mut names = vec![(self.schema.name.as_str(), logical.name.as_str())];
        names.extend(
            self.schema
                .indexes
                .iter()
                .zip(&logical.indexes)
                .map(|(physical, logical)| (physical.name.as_str(), logical.name.as_str())),
        );
        names
    }
}

/// The key of the host's (unscoped) tables; a plugin's name is never empty.
const HOST: &str = "";

/// Entries by name (a scope's, or a table's).
type ByName<V> = HashMap<String, V, RandomState>;

/// Scope → name → table, shared by every clone of a store (scoped or not). A table is filed
/// under every scope that addresses it: the host's when it lives under its own name, its
/// owner's when it has one. Reads vastly outnumber writes (which happen on create, drop, and
/// the first use of a table), hence the read-write lock.
#[derive(Debug, Default)]
pub(crate) struct SchemaCache {
    scopes: RwLock<ByName<ByName<Arc<Table>>>>,
}

impl SchemaCache {
    /// The table `name` of `scope` (`None`: the host's).
    pub(crate) fn get(&self, scope: Option<&str>, name: &str) -> Option<Arc<Table>> {
        self.scopes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(scope.unwrap_or(HOST))?
            .get(name)
            .cloned()
    }

    /// Files `table` under every scope that addresses it.
    pub(crate) fn insert(&self, table: Table) -> Arc<Table> {
        let table = Arc::new(table);
        let mut scopes = self.scopes.write().unwrap_or_else(PoisonError::into_inner);
        let name = table.logical().name.clone();
        if table.is_unscoped() {
            scopes
                .entry(HOST.to_owned())
                .or_default()
                .insert(name.clone(), table.clone());
        }
        if let Some(owner) = &table.owner {
            scopes
                .entry(owner.clone())
                .or_default()
                .insert(name, table.clone());
        }
        table
    }

    /// Forgets the table whose physical name is `physical`, in every scope.
    pub(crate) fn remove(&self, physical: &str) {
        let mut scopes = self.scopes.write().unwrap_or_else(PoisonError::into_inner);
        for tables in scopes.values_mut() {
            tables.retain(|_, table| table.schema.name != physical);
        }
    }
}
