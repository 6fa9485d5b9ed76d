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
//! | `sync_table` | the schema JSON, as `create_table` | `{tableName, created, addedColumns, addedIndexes, message}` |
//! | `insert_into_table` | `{tableName, data}` | `{id, message}` |
//! | `update_table_record` | `{tableName, id, data}` or `{tableName, where, data}` | by id `{message}`; by where `{updated, message}` |
//! | `query_table` | `{tableName, queryOptions?: {where, orderBy, limit, offset}}` | `{results, count}` (and `truncated`, `limit` when capped) |
//! | `delete_from_table` | `{tableName, id}` or `{tableName, where}` | by id `{message}`; by where `{deleted, message}` |
//! | `table_exists` | `{tableName}` | `{exists, tableName}` |
//! | `drop_table` | `{tableName}` | `{tableName, message}` |
//! | `transaction` | `{operations: [{executor, params}, ...]}` (row executors only, at most 100) | `{results}`: each operation's `data`, in order |
//! | `list_tables` | `{}` | `{tables: [{name, columns, owner}]}`: the tables this set can see |
//! | `describe_table` | `{tableName}` | `{schema, recordSchema}`: the schema JSON, and the JSON Schema of a record to insert ([`record_schema`]) |
//!
//! Values in `data` and `where` are read as their column's type (a blob is base64 text, a json
//! column any document); an `id` may be a string or a number. The write executors take exactly
//! one of `id` (one record) and `where` (every matching record, read as `query_table`'s
//! `where`, not empty).
//!
//! `transaction` runs row operations (`insert_into_table`, `update_table_record`,
//! `delete_from_table`, `query_table`, each with its own parameters) in order, in one
//! transaction: all of them or none. When one fails, nothing is applied, and the failure's
//! `error` has `"operation"`, the failing operation's 0-based index.
//!
//! `insert_into_table`, `update_table_record`, `delete_from_table` and `transaction` take an
//! optional `"idempotencyKey"` (a string of 1 to 128 bytes; anything else is `invalid_params`
//! naming it): a call repeated with the same key and the same parameters returns the first
//! call's `data` without writing again, for at least 24 hours; the same key with other
//! parameters (or another executor) is `invalid_params`. The key is recorded in the write's
//! own transaction ([`Store::begin_idempotent`](crate::Store::begin_idempotent)), per plugin
//! namespace; a call that fails records none, so its retry runs again. `create_table`,
//! `sync_table` and `drop_table` take none: repeating them changes nothing more.
//!
//! `query_table` returns at most the set's row cap ([`Executors::max_rows`], 1,000 unless the
//! store's [`Limits`](crate::Limits) or [`Executors::with_max_rows`] say otherwise), so that an
//! agent cannot pull a whole table into its context: when more rows match than the cap lets
//! through (no `limit`, or a larger one), the result holds the first `cap` rows and
//! `"truncated": true, "limit": cap`; page on with `offset`. A request past another limit fails
//! with kind `limit_exceeded`.
//!
//! [`Executors::for_plugin`] builds a set on the plugin's namespace
//! ([`Store::scoped`](crate::Store::scoped)): it sees the plugin's tables only, and any other
//! table, whoever owns it, looks missing. [`Executors::read_only`] keeps only the executors
//! that never write: `query_table`, `table_exists`, `list_tables` and `describe_table`.
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

mod describe;
mod outcome;
pub mod params;
mod registry;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use self::describe::record_schema;
pub use self::outcome::failure;
use self::outcome::{Failure, success};
use self::params::{
    DeleteParams, InsertParams, ListTablesParams, QueryParams, TableParams, UpdateParams,
};
use self::registry::Executor;
pub use self::registry::ExecutorDefinition;
pub use crate::error::ErrorKind;
use crate::error::{Error, IdentifierKind, Result, truncate};
use crate::limits::{LimitKind, json_depth};
use crate::query::QueryOptions;
use crate::schema::{TableSchema, validate_identifier};
use crate::store::{
    Idempotency, MAX_IDEMPOTENCY_KEY_BYTES, RowSource, Store, Table as KnownTable, TableInfo,
    Transaction,
};
use crate::value::Record;

/// The names of every executor, in the order of the documentation.
pub const EXECUTOR_NAMES: [&str; 11] = [
    "create_table",
    "sync_table",
    "insert_into_table",
    "update_table_record",
    "query_table",
    "delete_from_table",
    "table_exists",
    "drop_table",
    "transaction",
    "list_tables",
    "describe_table",
];

/// The most operations one `transaction` call runs.
pub const MAX_TRANSACTION_OPERATIONS: usize = 100;

/// How many levels deeper than a call's own parameters a `transaction` carries each
/// operation's (`{"operations": [{"params": …}]}`).
const TRANSACTION_NESTING: usize = 3;

/// The executors a read-only set keeps.
pub const READ_ONLY_EXECUTOR_NAMES: [&str; 4] = [
    "query_table",
    "table_exists",
    "list_tables",
    "describe_table",
];

/// How many levels executor parameters may nest around the json values they carry
/// (`{"queryOptions": {"where": {"doc": {"$eq": value}}}}`): parameters nested deeper than the
/// store's [`Limits::max_json_depth`](crate::Limits::max_json_depth) plus this are refused whole.
pub const PARAMS_NESTING: usize = 4;

/// A set of executors over one [`Store`]: every table, or one plugin's; all of them, or only
/// the read-only ones. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Executors {
    store: Store,
    /// A plugin name [`Store::scoped`] refused: every call fails with that refusal.
    refused_plugin: Option<String>,
    read_only: bool,
    max_rows: u64,
}

impl Executors {
    /// Every executor over the tables `store` sees: on the host's store every table
    /// (protected tables can be read, not written); on a [`scoped`](Store::scoped) store the
    /// plugin's.
    pub fn new(store: Store) -> Executors {
        let max_rows = store.limits().max_rows();
        Executors {
            store,
            refused_plugin: None,
            read_only: false,
            max_rows,
        }
    }

    /// Every executor, in the namespace of `plugin`: `Executors::new(store.scoped(plugin))`.
    /// `create_table` makes the plugin's tables, and every other table (another plugin's of
    /// the same name included, or the host's) looks exactly like a missing one —
    /// `table_not_found`, `table_exists` false, absent from `list_tables`.
    ///
    /// A name [`Store::scoped`] refuses (not an identifier) makes a set whose every call fails
    /// with that refusal (`invalid_identifier`, kind `plugin`), so that this never fails.
    pub fn for_plugin(store: Store, plugin: impl Into<String>) -> Executors {
        let plugin = plugin.into();
        match store.scoped(&plugin) {
            Ok(scoped) => Executors::new(scoped),
            Err(_) => Executors {
                refused_plugin: Some(plugin),
                ..Executors::new(store)
            },
        }
    }

    /// The store this set may use: [`Store::scoped`]'s refusal of the plugin's name, if it
    /// refused it.
    fn usable_store(&self) -> Result<&Store> {
        match &self.refused_plugin {
            Some(plugin) => {
                Err(self
                    .store
                    .scoped(plugin)
                    .err()
                    .unwrap_or_else(|| Error::PermissionDenied {
                        table: None,
                        operation: "for_plugin".into(),
                        message: format!("the namespace of plugin {plugin:?} cannot be opened"),
                        code: None,
                    }))
            }
            None => Ok(&self.store),
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

    /// The same set with only the executors that never write: `query_table`, `table_exists`,
    /// `list_tables` and `describe_table`. Calling another is an `invalid_params` failure.
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
        self.refused_plugin.as_deref().or(self.store.plugin())
    }

    /// The store the executors run on (for a set scoped to a plugin, the plugin's
    /// [`scoped`](Store::scoped) store).
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

    /// The tables this set can see ([`Store::list_tables`]), in name order: the plugin's own
    /// in a plugin scope, else every table memtable created, each with its owner.
    pub async fn list_tables(&self) -> Result<Vec<TableInfo>> {
        self.usable_store()?.list_tables().await
    }

    /// The schema of `table`, if this set can see it; else [`Error::TableNotFound`].
    pub async fn table_schema(&self, table: &str) -> Result<TableSchema> {
        Ok(self
            .visible_table(&self.store, table)
            .await?
            .logical()
            .clone())
    }

    async fn run(&self, name: &str, params: Value) -> Result<Value, Failure> {
        if let Some(failure) = unavailable_failure(name, self.read_only) {
            return Err(failure);
        }
        self.usable_store()?;
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
        let mut max = self.store.limits().max_json_depth() + PARAMS_NESTING;
        if executor == Executor::Transaction {
            max += TRANSACTION_NESTING;
        }
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
        let params = if executor.takes_idempotency_key() {
            let (params, key) = take_idempotency_key(executor, params)?;
            if let Some(key) = key {
                return self.idempotent(executor, key, params).await;
            }
            params
        } else {
            params
        };
        match executor {
            Executor::CreateTable => self.create_table(params).await,
            Executor::SyncTable => self.sync_table(params).await,
            Executor::InsertIntoTable
            | Executor::UpdateTableRecord
            | Executor::QueryTable
            | Executor::DeleteFromTable => {
                let operation = Operation::parse(executor, params)?;
                self.row_operation(&self.store, operation).await
            }
            Executor::TableExists => self.table_exists(parse(executor, params)?).await,
            Executor::DropTable => self.drop_table(parse(executor, params)?).await,
            Executor::Transaction => self.transaction(params).await,
            Executor::ListTables => self.list_tables_executor(parse(executor, params)?).await,
            Executor::DescribeTable => self.describe_table(parse(executor, params)?).await,
        }
    }

    /// Runs one row executor on `rows`: the store, or a transaction.
    async fn row_operation(
        &self,
        rows: &dyn RowSource,
        operation: Operation,
    ) -> Result<Value, Failure> {
        match operation {
            Operation::Insert(params) => self.insert_into_table(rows, params).await,
            Operation::Update(params) => self.update_table_record(rows, params).await,
            Operation::Query(params) => self.query_table(rows, params).await,
            Operation::Delete(params) => self.delete_from_table(rows, params).await,
        }
    }

    /// `transaction`: every operation read first (a malformed one runs nothing), then run in
    /// order in one transaction, committed only if each succeeds.
    async fn transaction(&self, params: Value) -> Result<Value, Failure> {
        let operations = transaction_operations(params)?;
        let tx = self.store.begin().await?;
        match self.operations_in(&tx, operations).await {
            Ok(data) => {
                tx.commit().await?;
                Ok(data)
            }
            Err(failure) => {
                tx.rollback().await;
                Err(failure)
            }
        }
    }

    /// Runs a `transaction`'s operations in order in `tx`, stopping at the first failure
    /// (which names its operation); `tx` is neither committed nor rolled back.
    async fn operations_in(
        &self,
        tx: &Transaction<'_>,
        operations: Vec<Operation>,
    ) -> Result<Value, Failure> {
        let mut results = Vec::with_capacity(operations.len());
        for (index, operation) in operations.into_iter().enumerate() {
            let executor = operation.executor().name();
            match self.row_operation(tx, operation).await {
                Ok(data) => results.push(data),
                Err(failure) => return Err(failure.in_operation(index, executor)),
            }
        }
        Ok(json!({ "results": results }))
    }

    /// A write executor's call carrying an idempotency key: its parameters read first (a
    /// malformed call claims no key), then the key claimed in the write's own transaction
    /// ([`Store::begin_idempotent`]), so that the write and the key's record commit together
    /// or not at all. A key seen before replays the first call's `data` (same parameters) or
    /// fails as `invalid_params` (other parameters); a failed write records no key.
    async fn idempotent(
        &self,
        executor: Executor,
        key: String,
        params: Value,
    ) -> Result<Value, Failure> {
        let name = executor.name();
        let request = json!({ "executor": name, "params": params });
        let work = match executor {
            Executor::Transaction => Work::Operations(transaction_operations(params)?),
            _ => Work::Row(Operation::parse(executor, params)?),
        };
        let tx = match self.store.begin_idempotent(&key, &request).await? {
            Idempotency::Fresh(tx) => tx,
            Idempotency::Replay(data) => return Ok(data),
            Idempotency::Conflict => {
                return Err(Failure::params(
                    name,
                    format!(
                        "idempotencyKey {:?} was already used with other parameters (or \
                         another executor); use a new key for a new write",
                        truncate(&key)
                    ),
                ));
            }
        };
        let result = match work {
            Work::Operations(operations) => self.operations_in(&tx, operations).await,
            Work::Row(operation) => self.row_operation(&tx, operation).await,
        };
        match result {
            Ok(data) => {
                tx.commit_idempotent(&data).await?;
                Ok(data)
            }
            Err(failure) => {
                tx.rollback().await;
                Err(failure)
            }
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
        self.store.create_table(&schema).await?;
        Ok(json!({
            "tableName": schema.name,
            "message": format!(
                "table {:?} is ready (created, or already there with this schema)",
                schema.name
            ),
        }))
    }

    async fn sync_table(&self, params: Value) -> Result<Value, Failure> {
        if !params.is_object() {
            return Err(Failure::params(
                "sync_table",
                "expected the table schema, an object {name, columns, indexes?}",
            ));
        }
        let schema = TableSchema::from_json(params)?;
        let report = self.usable_store()?.sync_table(&schema).await?;
        let message = if report.created {
            format!("created table {:?}", schema.name)
        } else if report.is_unchanged() {
            format!("table {:?} already has this schema", schema.name)
        } else {
            format!(
                "table {:?}: added {} column(s) and {} index(es)",
                schema.name,
                report.added_columns.len(),
                report.added_indexes.len()
            )
        };
        Ok(json!({
            "tableName": schema.name,
            "created": report.created,
            "addedColumns": report.added_columns,
            "addedIndexes": report.added_indexes,
            "message": message,
        }))
    }

    /// Reads what a call gives (`read`) against the schema of `table` (one this set can see
    /// through `rows`; `writable`: one it may write). A column the cached schema lacks makes
    /// the store read the table's catalog entry once more (another process may have synced
    /// the table) before the call is refused with `unknown_column`.
    async fn read_against<T>(
        &self,
        rows: &dyn RowSource,
        table: &str,
        writable: bool,
        read: impl Fn(&TableSchema) -> Result<T, Failure>,
    ) -> Result<(Arc<KnownTable>, T), Failure> {
        let info = if writable {
            self.writable_table(rows, table).await?
        } else {
            self.visible_table(rows, table).await?
        };
        match read(info.logical()) {
            Err(Failure::Store(Error::UnknownColumn { .. })) if info.created => {
                let fresh = self.store.known_table_knowing(table, |_| false).await?;
                let read = read(fresh.logical())?;
                Ok((fresh, read))
            }
            other => Ok((info, other?)),
        }
    }

    async fn insert_into_table(
        &self,
        rows: &dyn RowSource,
        params: InsertParams,
    ) -> Result<Value, Failure> {
        let table = params.table_name;
        let data = Value::Object(params.data);
        let (_, record) = self
            .read_against(rows, &table, true, |schema| {
                Ok(Record::from_json(schema, &data)?)
            })
            .await?;
        let id = rows.insert_into_table(&table, record).await?;
        Ok(json!({
            "message": format!("inserted record {:?} into table {table:?}", truncate(&id)),
            "id": id,
        }))
    }

    async fn update_table_record(
        &self,
        rows: &dyn RowSource,
        params: UpdateParams,
    ) -> Result<Value, Failure> {
        const NAME: &str = "update_table_record";
        let table = params.table_name;
        let target = target(NAME, params.id, params.filter)?;
        let data = Value::Object(params.data);
        let (_, (record, filter)) = self
            .read_against(rows, &table, true, |schema| {
                let record = Record::from_json(schema, &data)?;
                let filter = match &target {
                    Target::Id(_) => None,
                    Target::Where(filter) => Some(where_filter(NAME, schema, filter.clone())?),
                };
                Ok((record, filter))
            })
            .await?;
        match (target, filter) {
            (Target::Id(id), _) => {
                rows.update_table_record(&table, &id, record).await?;
                Ok(json!({
                    "message": format!("updated record {:?} of table {table:?}", truncate(&id)),
                }))
            }
            (Target::Where(_), filter) => {
                let filter = filter.ok_or_else(|| Failure::params(NAME, "where is empty"))?;
                let updated = rows.update_where(&table, &filter, record).await?;
                Ok(json!({
                    "updated": updated,
                    "message": format!("updated {updated} record(s) of table {table:?}"),
                }))
            }
        }
    }

    async fn query_table(
        &self,
        rows: &dyn RowSource,
        params: QueryParams,
    ) -> Result<Value, Failure> {
        let table = params.table_name;
        let options = params.query_options.as_ref().map(|o| o.to_json());
        let (_, mut options) = self
            .read_against(rows, &table, false, |schema| match &options {
                Some(options) => Ok(QueryOptions::from_json(schema, options)?),
                None => Ok(QueryOptions::new()),
            })
            .await?;
        // Past the cap, one row more than it tells whether the cap cut anything off.
        let cap = self.max_rows;
        let capped = options.limit.is_none_or(|limit| limit > cap);
        if capped {
            options.limit = Some(cap.saturating_add(1));
        }
        let mut found = rows.query_table(&table, &options).await?;
        let truncated = capped && u64::try_from(found.len()).unwrap_or(u64::MAX) > cap;
        if truncated {
            found.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
        }
        let count = found.len();
        let results: Vec<Value> = found.iter().map(Record::to_json).collect();
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

    async fn delete_from_table(
        &self,
        rows: &dyn RowSource,
        params: DeleteParams,
    ) -> Result<Value, Failure> {
        const NAME: &str = "delete_from_table";
        let table = params.table_name;
        let target = target(NAME, params.id, params.filter)?;
        let (_, filter) = self
            .read_against(rows, &table, true, |schema| match &target {
                Target::Id(_) => Ok(None),
                Target::Where(filter) => Ok(Some(where_filter(NAME, schema, filter.clone())?)),
            })
            .await?;
        match (target, filter) {
            (Target::Id(id), _) => {
                rows.delete_from_table(&table, &id).await?;
                Ok(json!({
                    "message": format!("deleted record {:?} from table {table:?}", truncate(&id)),
                }))
            }
            (Target::Where(_), filter) => {
                let filter = filter.ok_or_else(|| Failure::params(NAME, "where is empty"))?;
                let deleted = rows.delete_where(&table, &filter).await?;
                Ok(json!({
                    "deleted": deleted,
                    "message": format!("deleted {deleted} record(s) from table {table:?}"),
                }))
            }
        }
    }

    async fn table_exists(&self, params: TableParams) -> Result<Value, Failure> {
        let table = params.table_name;
        let exists = self.store.table_exists(&table).await?;
        Ok(json!({ "exists": exists, "tableName": table }))
    }

    async fn drop_table(&self, params: TableParams) -> Result<Value, Failure> {
        let table = params.table_name;
        self.store.drop_table(&table).await?;
        Ok(json!({
            "tableName": table,
            "message": format!("dropped table {table:?}"),
        }))
    }

    async fn list_tables_executor(&self, _: ListTablesParams) -> Result<Value, Failure> {
        let tables: Vec<Value> = self
            .store
            .list_tables()
            .await?
            .into_iter()
            .map(
                |table| json!({"name": table.name, "columns": table.columns, "owner": table.owner}),
            )
            .collect();
        Ok(json!({ "tables": tables }))
    }

    async fn describe_table(&self, params: TableParams) -> Result<Value, Failure> {
        let info = self.visible_table(&self.store, &params.table_name).await?;
        let schema = info.logical();
        Ok(json!({ "schema": schema.to_json(), "recordSchema": record_schema(schema) }))
    }

    /// A table this set may write: as [`visible_table`](Self::visible_table), with a
    /// protected table refused first, as the store would.
    async fn writable_table(&self, rows: &dyn RowSource, table: &str) -> Result<Arc<KnownTable>> {
        validate_identifier(IdentifierKind::Table, table)?;
        if self.store.is_protected(table) {
            return Err(Error::ProtectedTable {
                table: table.to_owned(),
            });
        }
        self.visible_table(rows, table).await
    }

    /// `table` if this set can see it (through `rows`: the store, or a transaction of it),
    /// from one lookup of the store's cache; [`Error::TableNotFound`] otherwise.
    async fn visible_table(&self, rows: &dyn RowSource, table: &str) -> Result<Arc<KnownTable>> {
        self.usable_store()?;
        rows.known_table(table).await
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

/// The result of calling an executor with parameters that a JSON parser stops reading for
/// their depth (serde_json's recursion limit, 128 levels): `limit_exceeded`, as for any
/// document nested past the depth limit, not a syntax error.
#[cfg(feature = "mcp")]
pub(crate) fn too_deep(executor: &str) -> Value {
    /// The levels serde_json reads before it gives up.
    const PARSER_DEPTH: usize = 128;
    let mut max = crate::limits::Limits::default().max_json_depth() + PARAMS_NESTING;
    if executor == Executor::Transaction.name() {
        max += TRANSACTION_NESTING;
    }
    failure(&Error::LimitExceeded {
        limit: LimitKind::JsonDepth,
        table: String::new(),
        max,
        actual: PARSER_DEPTH + 1,
    })
}

/// Whether `error` is serde_json giving up on a document for its depth. serde_json has no
/// error code for it that a caller can match on, only its message.
#[cfg(feature = "mcp")]
pub(crate) fn is_too_deep(error: &serde_json::Error) -> bool {
    error.to_string().starts_with("recursion limit exceeded")
}

/// The result of calling `executor` with parameters that could not even be read as JSON.
#[cfg(feature = "cli")]
pub(crate) fn malformed_params(executor: &str, message: impl std::fmt::Display) -> Value {
    Failure::params(executor, message).to_json()
}

/// What a keyed call writes, read before its key is claimed.
enum Work {
    Row(Operation),
    Operations(Vec<Operation>),
}

/// The parameter a write executor may take to make a call safe to repeat.
const IDEMPOTENCY_KEY: &str = "idempotencyKey";

/// `params` without its `idempotencyKey`, and the key: a string of at most
/// [`MAX_IDEMPOTENCY_KEY_BYTES`] bytes (not empty), else an `invalid_params` failure naming
/// it.
fn take_idempotency_key(
    executor: Executor,
    params: Value,
) -> Result<(Value, Option<String>), Failure> {
    let Value::Object(mut object) = params else {
        return Ok((params, None));
    };
    let key = match object.remove(IDEMPOTENCY_KEY) {
        None => None,
        Some(Value::String(key)) if !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY_BYTES => {
            Some(key)
        }
        Some(Value::String(key)) => {
            return Err(Failure::params(
                executor.name(),
                format!(
                    "{IDEMPOTENCY_KEY}: {} bytes; a key is 1 to {MAX_IDEMPOTENCY_KEY_BYTES} bytes",
                    key.len()
                ),
            ));
        }
        Some(_) => {
            return Err(Failure::params(
                executor.name(),
                format!(
                    "{IDEMPOTENCY_KEY}: expected a string (1 to {MAX_IDEMPOTENCY_KEY_BYTES} bytes)"
                ),
            ));
        }
    };
    Ok((Value::Object(object), key))
}

/// One row executor's call: its parameters, read.
enum Operation {
    Insert(InsertParams),
    Update(UpdateParams),
    Query(QueryParams),
    Delete(DeleteParams),
}

impl Operation {
    /// Reads `params` as those of the row executor `executor`.
    fn parse(executor: Executor, params: Value) -> Result<Operation, Failure> {
        Ok(match executor {
            Executor::InsertIntoTable => Operation::Insert(parse(executor, params)?),
            Executor::UpdateTableRecord => Operation::Update(parse(executor, params)?),
            Executor::QueryTable => Operation::Query(parse(executor, params)?),
            Executor::DeleteFromTable => Operation::Delete(parse(executor, params)?),
            other => {
                return Err(Failure::params(
                    other.name(),
                    "not a row executor: a transaction runs only insert_into_table, \
                     update_table_record, delete_from_table and query_table",
                ));
            }
        })
    }

    fn executor(&self) -> Executor {
        match self {
            Operation::Insert(_) => Executor::InsertIntoTable,
            Operation::Update(_) => Executor::UpdateTableRecord,
            Operation::Query(_) => Executor::QueryTable,
            Operation::Delete(_) => Executor::DeleteFromTable,
        }
    }
}

/// The operations of a `transaction` call, each read as its executor's parameters; the first
/// fault (a key other than `operations`, more than [`MAX_TRANSACTION_OPERATIONS`], an
/// operation that is not `{executor, params}`, an executor that is not a row executor,
/// parameters that executor does not take) is an `invalid_params` failure naming the
/// operation's index.
fn transaction_operations(params: Value) -> Result<Vec<Operation>, Failure> {
    const NAME: &str = "transaction";
    const ROW_EXECUTORS: &str =
        "insert_into_table, update_table_record, delete_from_table, query_table";
    let Value::Object(mut params) = params else {
        return Err(Failure::params(
            NAME,
            "expected an object {\"operations\": [{\"executor\", \"params\"}, ...]}",
        ));
    };
    let operations = params.remove("operations");
    if let Some(key) = params.keys().next() {
        return Err(Failure::params(
            NAME,
            format!(
                "unknown key {:?}; the keys are operations and idempotencyKey",
                truncate(key)
            ),
        ));
    }
    let operations = match operations {
        Some(Value::Array(operations)) => operations,
        Some(_) => {
            return Err(Failure::params(
                NAME,
                "operations: expected a list of {\"executor\", \"params\"} objects",
            ));
        }
        None => {
            return Err(Failure::params(
                NAME,
                "missing operations: a list of {\"executor\", \"params\"} objects",
            ));
        }
    };
    if operations.len() > MAX_TRANSACTION_OPERATIONS {
        return Err(Failure::params(
            NAME,
            format!(
                "operations: {} operations, more than the {MAX_TRANSACTION_OPERATIONS} one \
                 transaction runs; split the work into several transactions",
                operations.len()
            ),
        ));
    }
    let mut read = Vec::with_capacity(operations.len());
    for (index, operation) in operations.into_iter().enumerate() {
        let fault = |message: String| {
            Failure::params(
                NAME,
                format!("operations[{index}]: {message}; nothing was run"),
            )
            .in_operation(index, NAME)
        };
        let Value::Object(mut operation) = operation else {
            return Err(fault(format!(
                "expected an object {{\"executor\": one of {ROW_EXECUTORS}, \"params\": {{...}}}}"
            )));
        };
        let (name, params) = (operation.remove("executor"), operation.remove("params"));
        if let Some(key) = operation.keys().next() {
            return Err(fault(format!(
                "unknown key {:?}; an operation has executor and params",
                truncate(key)
            )));
        }
        let name = match name {
            Some(Value::String(name)) => name,
            Some(_) => return Err(fault(format!("executor: expected one of {ROW_EXECUTORS}"))),
            None => {
                return Err(fault(format!("missing executor: one of {ROW_EXECUTORS}")));
            }
        };
        let executor = match Executor::from_name(&name) {
            Some(executor) if executor.is_row_operation() => executor,
            Some(_) => {
                return Err(fault(format!(
                    "{name} cannot run in a transaction: a transaction runs only the row \
                     executors {ROW_EXECUTORS}"
                )));
            }
            None => {
                return Err(fault(format!(
                    "unknown executor {:?}; a transaction runs {ROW_EXECUTORS}",
                    truncate(&name)
                )));
            }
        };
        let params = match params {
            Some(Value::Object(params)) if params.contains_key(IDEMPOTENCY_KEY) => {
                return Err(fault(format!(
                    "params: {IDEMPOTENCY_KEY} belongs on the transaction, not on one of its \
                     operations"
                )));
            }
            Some(params @ Value::Object(_)) => params,
            Some(_) => return Err(fault("params: expected an object".into())),
            None => {
                return Err(fault(format!(
                    "missing params: the parameters of {name}, as it takes them on its own"
                )));
            }
        };
        let operation = Operation::parse(executor, params)
            .map_err(|failure| failure.in_operation(index, executor.name()))?;
        read.push(operation);
    }
    Ok(read)
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
