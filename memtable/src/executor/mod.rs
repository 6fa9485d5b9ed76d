//! The table operations as named JSON executors, for agents, the CLI and MCP clients.
//!
//! An executor takes its parameters as JSON and returns a result object, never a Rust error
//! and never a panic, whatever the input:
//!
//! - success: `{"success": true, "data": {...}}`;
//! - failure: `{"success": false, "data": {"message": "...", "error": {"kind": "...", ...}}}`
//!   where `kind` is one of the [`ErrorKind`]s and the error object names the table, column,
//!   id or constraint involved.
//!
//! | executor | parameters | `data` on success |
//! |---|---|---|
//! | `create_table` | the schema JSON (`{name, columns, indexes?}`) | `{tableName, message}` |
//! | `insert_into_table` | `{tableName, data}` | `{id, message}` |
//! | `update_table_record` | `{tableName, id, data}` or `{tableName, where, data}` | by id `{message}`; by where `{updated, message}` |
//! | `query_table` | `{tableName, queryOptions?: {where, orderBy, limit, offset}}` | `{results, count}` (and `truncated`, `limit` when capped) |
//! | `delete_from_table` | `{tableName, id}` or `{tableName, where}` | by id `{message}`; by where `{deleted, message}` |
//! | `table_exists` | `{tableName}` | `{exists, tableName}` |
//! | `drop_table` | `{tableName}` | `{tableName, message}` |
//!
//! Values in `data` and `where` are read as their column's type (a blob is base64 text, a json
//! column any document); an `id` may be a string or a number. The write executors take exactly
//! one of `id` (one record) and `where` (every matching record, read as `query_table`'s
//! `where`, not empty).
//!
//! `query_table` returns at most the set's row cap ([`Executors::max_rows`], 1,000 unless the
//! store's [`Limits`](crate::Limits) or [`Executors::with_max_rows`] say otherwise), so that an
//! agent cannot pull a whole table into its context: when more rows match than the cap lets
//! through (no `limit`, or a larger one), the result holds the first `cap` rows and
//! `"truncated": true, "limit": cap`; page on with `offset`. A request past another limit fails
//! with kind `limit_exceeded`.
//!
//! [`Executors::for_plugin`] builds a set that only sees the tables created through it
//! (ownership is kept in the catalog): any other table, whoever owns it, looks missing.
//! [`Executors::read_only`] keeps only `query_table` and `table_exists`.
//!
//! ```
//! use memtable::Store;
//! use memtable::executor::Executors;
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = Store::connect("sqlite::memory:").await?;
//! let agent = Executors::for_plugin(store, "notes_plugin");
//! let created = agent.execute("create_table", json!({
//!     "name": "notes",
//!     "columns": [
//!         {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
//!         {"name": "body", "type": "text"}
//!     ]
//! })).await;
//! assert_eq!(created["success"], true);
//! let inserted = agent
//!     .execute("insert_into_table", json!({"tableName": "notes", "data": {"body": "hi"}}))
//!     .await;
//! assert_eq!(inserted["data"]["id"], "1");
//! let found = agent
//!     .execute("query_table", json!({"tableName": "notes", "queryOptions": {"where": {"id": 1}}}))
//!     .await;
//! assert_eq!(found["data"]["results"][0]["body"], "hi");
//! let missing = agent.execute("drop_table", json!({"tableName": "someone_elses"})).await;
//! assert_eq!(missing["data"]["error"]["kind"], "table_not_found");
//! # Ok::<(), memtable::Error>(())
//! # }).unwrap();
//! ```

mod outcome;
pub mod params;
mod registry;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use self::outcome::failure;
use self::outcome::{Failure, success};
use self::params::{DeleteParams, InsertParams, QueryParams, TableParams, UpdateParams};
use self::registry::Executor;
pub use self::registry::ExecutorDefinition;
pub use crate::error::ErrorKind;
use crate::error::{Error, IdentifierKind, Result, truncate};
use crate::limits::{LimitKind, json_depth};
use crate::query::QueryOptions;
use crate::schema::{TableSchema, validate_identifier};
use crate::store::{Store, Table as KnownTable};
use crate::value::Record;

/// The names of every executor, in the order of the documentation.
pub const EXECUTOR_NAMES: [&str; 7] = [
    "create_table",
    "insert_into_table",
    "update_table_record",
    "query_table",
    "delete_from_table",
    "table_exists",
    "drop_table",
];

/// The executors a read-only set keeps.
pub const READ_ONLY_EXECUTOR_NAMES: [&str; 2] = ["query_table", "table_exists"];

/// How many levels executor parameters may nest around the json values they carry
/// (`{"queryOptions": {"where": {"doc": {"$eq": value}}}}`): parameters nested deeper than the
/// store's [`Limits::max_json_depth`](crate::Limits::max_json_depth) plus this are refused whole.
pub const PARAMS_NESTING: usize = 4;

/// A set of executors over one [`Store`]: every table, or one plugin's; all seven, or only the
/// read-only ones. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Executors {
    store: Store,
    plugin: Option<String>,
    read_only: bool,
    max_rows: u64,
}

impl Executors {
    /// All seven executors over every table of `store` (protected tables can be read, not
    /// written).
    pub fn new(store: Store) -> Executors {
        let max_rows = store.limits().max_rows();
        Executors {
            store,
            plugin: None,
            read_only: false,
            max_rows,
        }
    }

    /// All seven executors, scoped to `plugin`: `create_table` records the plugin as the new
    /// table's owner, and every other table (another plugin's, or one without an owner) looks
    /// exactly like a missing one — `table_not_found`, and `table_exists` is false.
    ///
    /// Creating a table whose name is taken outside the scope fails with `schema_mismatch`
    /// (the name cannot be had, and nothing of the other table is shown).
    pub fn for_plugin(store: Store, plugin: impl Into<String>) -> Executors {
        let max_rows = store.limits().max_rows();
        Executors {
            store,
            plugin: Some(plugin.into()),
            read_only: false,
            max_rows,
        }
    }

    /// The same set with another row cap (at least 1): `query_table` returns at most `max`
    /// rows, with `"truncated": true` when more matched.
    pub fn with_max_rows(mut self, max: u64) -> Executors {
        self.max_rows = max.max(1);
        self
    }

    /// The most rows one `query_table` call returns (default: the store's
    /// [`Limits::max_rows`](crate::Limits::max_rows), 1,000).
    pub fn max_rows(&self) -> u64 {
        self.max_rows
    }

    /// The same set with only the executors that never write: `query_table` and
    /// `table_exists`. Calling another is an `invalid_params` failure.
    ///
    /// That limits what the set offers; for the database itself to refuse writes, give it a
    /// store connected with [`StoreBuilder::read_only`](crate::StoreBuilder::read_only) (the
    /// `memtable` command line and MCP server with `--read-only` do; see
    /// [`Store::is_read_only`]).
    pub fn read_only(mut self) -> Executors {
        self.read_only = true;
        self
    }

    /// Whether this set is read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The plugin this set is scoped to, if any.
    pub fn plugin(&self) -> Option<&str> {
        self.plugin.as_deref()
    }

    /// The store the executors run on.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The names of the executors in this set.
    pub fn names(&self) -> Vec<&'static str> {
        self.available().map(Executor::name).collect()
    }

    /// The definitions (description, JSON Schema of the parameters, hints) of the executors in
    /// this set.
    pub fn definitions(&self) -> Vec<ExecutorDefinition> {
        definitions(self.read_only)
    }

    /// The definition of the executor `name`, if this set has it.
    pub fn definition(&self, name: &str) -> Option<ExecutorDefinition> {
        self.available()
            .find(|e| e.name() == name)
            .map(Executor::definition)
    }

    fn available(&self) -> impl Iterator<Item = Executor> + '_ {
        Executor::ALL
            .into_iter()
            .filter(|e| !self.read_only || e.is_read_only())
    }

    /// Runs the executor `name` with `params` and returns its result object (see the module
    /// documentation). Never panics and never fails: bad input is a failed result.
    pub async fn execute(&self, name: &str, params: Value) -> Value {
        match self.run(name, params).await {
            Ok(data) => success(data),
            Err(failure) => failure.to_json(),
        }
    }

    /// The tables this set can see, in name order: the plugin's own in a plugin scope, else
    /// every table memtable created.
    pub async fn list_tables(&self) -> Result<Vec<String>> {
        match &self.plugin {
            Some(plugin) => self.store.list_owned_tables(plugin).await,
            None => self.store.list_tables().await,
        }
    }

    /// The schema of `table`, if this set can see it; else [`Error::TableNotFound`].
    pub async fn table_schema(&self, table: &str) -> Result<TableSchema> {
        Ok(self.visible_table(table).await?.schema.clone())
    }

    async fn run(&self, name: &str, params: Value) -> Result<Value, Failure> {
        if let Some(failure) = unavailable_failure(name, self.read_only) {
            return Err(failure);
        }
        let Some(executor) = Executor::from_name(name) else {
            return Err(Failure::params(name, "unknown executor"));
        };
        // A call with no parameters at all is a call with an empty object.
        let params = match params {
            Value::Null => Value::Object(serde_json::Map::new()),
            other => other,
        };
        // Refused before anything walks it recursively: parameters nest a few levels (the
        // executor's keys, a record, a where clause) around the json values they carry.
        let depth = json_depth(&params);
        let max = self.store.limits().max_json_depth() + PARAMS_NESTING;
        if depth > max {
            let table = params
                .get("tableName")
                .or_else(|| params.get("name"))
                .and_then(Value::as_str)
                .map(truncate)
                .unwrap_or_default();
            // Dropped one level at a time: dropping it whole would recurse once per level.
            dismantle(params);
            return Err(Error::LimitExceeded {
                limit: LimitKind::JsonDepth,
                table,
                max,
                actual: depth,
            }
            .into());
        }
        match executor {
            Executor::CreateTable => self.create_table(params).await,
            Executor::InsertIntoTable => self.insert_into_table(parse(executor, params)?).await,
            Executor::UpdateTableRecord => self.update_table_record(parse(executor, params)?).await,
            Executor::QueryTable => self.query_table(parse(executor, params)?).await,
            Executor::DeleteFromTable => self.delete_from_table(parse(executor, params)?).await,
            Executor::TableExists => self.table_exists(parse(executor, params)?).await,
            Executor::DropTable => self.drop_table(parse(executor, params)?).await,
        }
    }

    async fn create_table(&self, params: Value) -> Result<Value, Failure> {
        if !params.is_object() {
            return Err(Failure::params(
                "create_table",
                "expected the table schema, an object {name, columns, indexes?}",
            ));
        }
        let schema = TableSchema::from_json(params)?;
        match &self.plugin {
            None => self.store.create_table(&schema).await?,
            Some(plugin) => {
                // A name taken outside the scope: refuse without telling how the other table
                // differs (its schema is none of this plugin's business).
                let taken = || Error::SchemaMismatch {
                    table: schema.name.clone(),
                    difference: "the name is taken by a table outside this plugin's scope".into(),
                };
                if !self.store.is_protected(&schema.name)
                    && !self.owns(&schema.name).await?
                    && self.store.table_exists(&schema.name).await?
                {
                    return Err(taken().into());
                }
                match self.store.create_owned_table(&schema, plugin).await {
                    Err(Error::SchemaMismatch { .. }) if !self.owns(&schema.name).await? => {
                        return Err(taken().into());
                    }
                    other => other?,
                }
            }
        }
        Ok(json!({
            "tableName": schema.name,
            "message": format!(
                "table {:?} is ready (created, or already there with this schema)",
                schema.name
            ),
        }))
    }

    async fn insert_into_table(&self, params: InsertParams) -> Result<Value, Failure> {
        let table = params.table_name;
        let info = self.writable_table(&table).await?;
        let record = Record::from_json(&info.schema, &Value::Object(params.data))?;
        let id = self.store.insert_into_table(&table, record).await?;
        Ok(json!({
            "message": format!("inserted record {:?} into table {table:?}", truncate(&id)),
            "id": id,
        }))
    }

    async fn update_table_record(&self, params: UpdateParams) -> Result<Value, Failure> {
        const NAME: &str = "update_table_record";
        let table = params.table_name;
        let target = target(NAME, params.id, params.filter)?;
        let info = self.writable_table(&table).await?;
        let record = Record::from_json(&info.schema, &Value::Object(params.data))?;
        match target {
            Target::Id(id) => {
                self.store.update_table_record(&table, &id, record).await?;
                Ok(json!({
                    "message": format!("updated record {:?} of table {table:?}", truncate(&id)),
                }))
            }
            Target::Where(filter) => {
                let filter = where_filter(NAME, &info.schema, filter)?;
                let updated = self.store.update_where(&table, &filter, record).await?;
                Ok(json!({
                    "updated": updated,
                    "message": format!("updated {updated} record(s) of table {table:?}"),
                }))
            }
        }
    }

    async fn query_table(&self, params: QueryParams) -> Result<Value, Failure> {
        let table = params.table_name;
        let info = self.visible_table(&table).await?;
        let mut options = match &params.query_options {
            Some(options) => QueryOptions::from_json(&info.schema, &options.to_json())?,
            None => QueryOptions::new(),
        };
        // Past the cap, one row more than it tells whether the cap cut anything off.
        let cap = self.max_rows;
        let capped = options.limit.is_none_or(|limit| limit > cap);
        if capped {
            options.limit = Some(cap.saturating_add(1));
        }
        let mut rows = self.store.query_table(&table, &options).await?;
        let truncated = capped && u64::try_from(rows.len()).unwrap_or(u64::MAX) > cap;
        if truncated {
            rows.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
        }
        let count = rows.len();
        let results: Vec<Value> = rows.iter().map(Record::to_json).collect();
        let mut data = json!({ "results": results, "count": count });
        if truncated && let Value::Object(object) = &mut data {
            object.insert("truncated".into(), Value::Bool(true));
            object.insert("limit".into(), cap.into());
            object.insert(
                "message".into(),
                format!(
                    "more rows match than the {cap} one call returns: these are the first \
                     {cap}; ask for the next with offset"
                )
                .into(),
            );
        }
        Ok(data)
    }

    async fn delete_from_table(&self, params: DeleteParams) -> Result<Value, Failure> {
        const NAME: &str = "delete_from_table";
        let table = params.table_name;
        let target = target(NAME, params.id, params.filter)?;
        let info = self.writable_table(&table).await?;
        match target {
            Target::Id(id) => {
                self.store.delete_from_table(&table, &id).await?;
                Ok(json!({
                    "message": format!("deleted record {:?} from table {table:?}", truncate(&id)),
                }))
            }
            Target::Where(filter) => {
                let filter = where_filter(NAME, &info.schema, filter)?;
                let deleted = self.store.delete_where(&table, &filter).await?;
                Ok(json!({
                    "deleted": deleted,
                    "message": format!("deleted {deleted} record(s) from table {table:?}"),
                }))
            }
        }
    }

    async fn table_exists(&self, params: TableParams) -> Result<Value, Failure> {
        let table = params.table_name;
        let exists = match &self.plugin {
            None => self.store.table_exists(&table).await?,
            Some(_) => {
                validate_identifier(IdentifierKind::Table, &table)?;
                self.owns(&table).await?
            }
        };
        Ok(json!({ "exists": exists, "tableName": table }))
    }

    async fn drop_table(&self, params: TableParams) -> Result<Value, Failure> {
        let table = params.table_name;
        if self.plugin.is_some() {
            self.visible_table(&table).await?;
        }
        self.store.drop_table(&table).await?;
        Ok(json!({
            "tableName": table,
            "message": format!("dropped table {table:?}"),
        }))
    }

    /// A table this set may write: as [`visible_table`](Self::visible_table), with a
    /// protected table refused first (as the store would) outside a plugin scope.
    async fn writable_table(&self, table: &str) -> Result<Arc<KnownTable>> {
        if self.plugin.is_none() {
            validate_identifier(IdentifierKind::Table, table)?;
            if self.store.is_protected(table) {
                return Err(Error::ProtectedTable {
                    table: table.to_owned(),
                });
            }
        }
        self.visible_table(table).await
    }

    /// `table` if this set can see it (any table outside a plugin scope, else only the
    /// plugin's own), from one lookup of the store's cache; [`Error::TableNotFound`] otherwise.
    async fn visible_table(&self, table: &str) -> Result<Arc<KnownTable>> {
        let Some(plugin) = &self.plugin else {
            return self.store.known_table(table).await;
        };
        validate_identifier(IdentifierKind::Table, table)?;
        match self.store.known_table(table).await {
            Ok(info) if info.owner.as_deref() == Some(plugin.as_str()) => Ok(info),
            Err(error @ (Error::Database(_) | Error::Connection(_))) => Err(error),
            _ => Err(Error::TableNotFound {
                table: table.to_owned(),
            }),
        }
    }

    /// Whether `table` exists and belongs to this set's plugin. Database failures are errors;
    /// anything else that stops the lookup (no such table, a table memtable cannot read) means
    /// "not the plugin's".
    async fn owns(&self, table: &str) -> Result<bool> {
        match self.visible_table(table).await {
            Ok(_) => Ok(self.plugin.is_some()),
            Err(error @ (Error::Database(_) | Error::Connection(_))) => Err(error),
            Err(_) => Ok(false),
        }
    }
}

/// The definitions of every executor (`read_only`: of the read-only ones), as
/// [`Executors::definitions`] gives them, without a store.
pub fn definitions(read_only: bool) -> Vec<ExecutorDefinition> {
    Executor::ALL
        .into_iter()
        .filter(|e| !read_only || e.is_read_only())
        .map(Executor::definition)
        .collect()
}

/// The result of calling an executor that `executors` does not have (unknown, or not
/// read-only in a read-only set), without a store: for front ends that check a name before
/// connecting.
#[cfg(feature = "cli")]
pub(crate) fn unavailable(name: &str, read_only: bool) -> Option<Value> {
    unavailable_failure(name, read_only).map(|failure| failure.to_json())
}

fn unavailable_failure(name: &str, read_only: bool) -> Option<Failure> {
    let executor = Executor::from_name(name);
    if executor.is_some_and(|e| !read_only || e.is_read_only()) {
        return None;
    }
    let available: Vec<&str> = Executor::ALL
        .into_iter()
        .filter(|e| !read_only || e.is_read_only())
        .map(Executor::name)
        .collect();
    let reason = match executor {
        None => format!(
            "unknown executor {:?}; available: {}",
            truncate(name),
            available.join(", ")
        ),
        Some(_) => format!(
            "executor {name:?} is not available: these executors are read-only (available: {})",
            available.join(", ")
        ),
    };
    Some(Failure::Unavailable {
        executor: truncate(name),
        reason,
    })
}

/// The result of calling `executor` with parameters that could not even be read as JSON.
#[cfg(feature = "cli")]
pub(crate) fn malformed_params(executor: &str, message: impl std::fmt::Display) -> Value {
    Failure::params(executor, message).to_json()
}

/// Which rows a write executor changes: the one of an id, or every one matching a `where`.
enum Target {
    Id(String),
    Where(serde_json::Map<String, Value>),
}

/// The rows named by exactly one of `id` and `where`; both or neither is `invalid_params`.
fn target(
    executor: &str,
    id: Option<params::RecordId>,
    filter: Option<serde_json::Map<String, Value>>,
) -> Result<Target, Failure> {
    match (id, filter) {
        (Some(id), None) => Ok(Target::Id(id.as_id())),
        (None, Some(filter)) => Ok(Target::Where(filter)),
        (Some(_), Some(_)) => Err(Failure::params(
            executor,
            "give either id (the one record with that primary key) or where (every record \
             matching the conditions), not both",
        )),
        (None, None) => Err(Failure::params(
            executor,
            "missing the record(s) to write: give id (the one record with that primary key) \
             or where (every record matching the conditions)",
        )),
    }
}

/// The filter of a write executor's `where`, read as `query_table`'s; an empty one is
/// `invalid_params`, so that no call changes every row by omission.
fn where_filter(
    executor: &str,
    schema: &TableSchema,
    filter: serde_json::Map<String, Value>,
) -> Result<crate::query::Filter, Failure> {
    if filter.is_empty() {
        return Err(Failure::params(
            executor,
            "where is empty: a write by filter needs a condition (an empty where would change \
             every row); give id for one record",
        ));
    }
    let options = QueryOptions::from_json(schema, &json!({ "where": Value::Object(filter) }))?;
    options.filter.ok_or_else(|| {
        Failure::params(
            executor,
            "where is empty: a write by filter needs a condition",
        )
    })
}

/// Drops a JSON document without recursion, however deep it is.
fn dismantle(value: Value) {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// Reads `params` as the parameters of `executor`; a mismatch is an `invalid_params` failure
/// quoting serde's description of it (which names the offending key and the expected type).
fn parse<T: DeserializeOwned>(executor: Executor, params: Value) -> Result<T, Failure> {
    serde_json::from_value(params).map_err(|e| Failure::params(executor.name(), e))
}
