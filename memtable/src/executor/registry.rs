//! The executors' names, descriptions (written for a language model choosing a tool) and the
//! JSON Schemas of their parameters, generated from the types in [`params`](super::params).

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use super::params::{
    CreateTableParams, DeleteParams, InsertParams, ListTablesParams, QueryParams, TableParams,
    TransactionParams, UpdateParams,
};

/// One executor as a tool: what an agent runtime, a CLI or an MCP server advertises.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutorDefinition {
    /// The executor's name (`query_table`, ...).
    pub name: &'static str,
    /// What it does and how to call it, for a language model.
    pub description: &'static str,
    /// The JSON Schema (draft 2020-12) of its parameters: an object schema, with no `$ref`.
    pub parameters: Value,
    /// It never changes the database.
    pub read_only: bool,
    /// It may delete or overwrite data (meaningful when not read-only).
    pub destructive: bool,
    /// Calling it again with the same parameters has no further effect.
    pub idempotent: bool,
}

impl ExecutorDefinition {
    /// The definition as JSON: `{"name", "description", "parameters", "readOnly",
    /// "destructive", "idempotent"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
            "readOnly": self.read_only,
            "destructive": self.destructive,
            "idempotent": self.idempotent,
        })
    }
}

/// The executors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Executor {
    CreateTable,
    SyncTable,
    InsertIntoTable,
    UpdateTableRecord,
    QueryTable,
    DeleteFromTable,
    TableExists,
    DropTable,
    Transaction,
    ListTables,
    DescribeTable,
}

impl Executor {
    pub(crate) const ALL: [Executor; 11] = [
        Executor::CreateTable,
        Executor::SyncTable,
        Executor::InsertIntoTable,
        Executor::UpdateTableRecord,
        Executor::QueryTable,
        Executor::DeleteFromTable,
        Executor::TableExists,
        Executor::DropTable,
        Executor::Transaction,
        Executor::ListTables,
        Executor::DescribeTable,
    ];

    pub(crate) fn from_name(name: &str) -> Option<Executor> {
        Executor::ALL.into_iter().find(|e| e.name() == name)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Executor::CreateTable => "create_table",
            Executor::SyncTable => "sync_table",
            Executor::InsertIntoTable => "insert_into_table",
            Executor::UpdateTableRecord => "update_table_record",
            Executor::QueryTable => "query_table",
            Executor::DeleteFromTable => "delete_from_table",
            Executor::TableExists => "table_exists",
            Executor::DropTable => "drop_table",
            Executor::Transaction => "transaction",
            Executor::ListTables => "list_tables",
            Executor::DescribeTable => "describe_table",
        }
    }

    /// Whether it takes an `idempotencyKey`: the executors that write rows. (`create_table`,
    /// `sync_table` and `drop_table` do not: repeating one changes nothing more.)
    pub(crate) fn takes_idempotency_key(self) -> bool {
        matches!(
            self,
            Executor::InsertIntoTable
                | Executor::UpdateTableRecord
                | Executor::DeleteFromTable
                | Executor::Transaction
        )
    }

    /// Whether it reads or writes rows, and so can run inside a `transaction`.
    pub(crate) fn is_row_operation(self) -> bool {
        matches!(
            self,
            Executor::InsertIntoTable
                | Executor::UpdateTableRecord
                | Executor::QueryTable
                | Executor::DeleteFromTable
        )
    }

    pub(crate) fn is_read_only(self) -> bool {
        matches!(
            self,
            Executor::QueryTable
                | Executor::TableExists
                | Executor::ListTables
                | Executor::DescribeTable
        )
    }

    fn is_destructive(self) -> bool {
        matches!(
            self,
            Executor::UpdateTableRecord
                | Executor::DeleteFromTable
                | Executor::DropTable
                | Executor::Transaction
        )
    }

    fn is_idempotent(self) -> bool {
        // Creating an existing table with the same schema, setting the same values again,
        // reading: no further effect. A second insert adds a row (or hits the key); a second
        // delete or drop fails.
        matches!(
            self,
            Executor::CreateTable
                | Executor::SyncTable
                | Executor::UpdateTableRecord
                | Executor::QueryTable
                | Executor::TableExists
                | Executor::ListTables
                | Executor::DescribeTable
        )
    }

    fn description(self) -> &'static str {
        match self {
            Executor::CreateTable => {
                "Create a database table from a schema. Parameters are the schema itself: \
                 {\"name\": \"notes\", \"columns\": [{\"name\": \"id\", \"type\": \"integer\", \
                 \"constraints\": [\"primary_key\", \"auto_increment\"]}, {\"name\": \"body\", \
                 \"type\": \"text\", \"constraints\": [\"not_null\"]}], \"indexes\": [{\"name\": \
                 \"idx_body\", \"columns\": [\"body\"], \"unique\": false}]}. Column types: text, \
                 integer (32-bit), bigint (64-bit), real, blob (base64 text in JSON), json (any \
                 JSON document), boolean. Exactly one column must be primary_key: rows are \
                 addressed by its value (their id). auto_increment only on an integer or bigint \
                 primary key; a text primary key left out at insert gets a new UUID. A column may \
                 have a \"default\" (a value of its type) that records inserted without it \
                 get. Names use letters, digits and _ and do not start with a digit. Creating a table that \
                 already exists with the same schema succeeds and changes nothing; with a \
                 different schema it fails with schema_mismatch. Returns {tableName, message}."
            }
            Executor::SyncTable => {
                "Create a table from a schema, or bring an existing table up to a newer version \
                 of its schema. Parameters are the schema, as for create_table. When the table \
                 exists, only additions are made, in one transaction: new columns (nullable, or \
                 not_null with a \"default\": a value of the column's type that the existing \
                 records get, e.g. {\"name\": \"priority\", \"type\": \"integer\", \
                 \"constraints\": [\"not_null\"], \"default\": 0}) and new indexes. A \
                 schema that drops or renames a column, changes a type, a constraint or a \
                 default, or changes or drops an index fails with schema_mismatch listing every \
                 difference (error.differences) and changes nothing; a new unique index that \
                 existing records violate fails with constraint_violation. Syncing the schema \
                 the table already has does nothing. Returns {tableName, created, addedColumns, \
                 addedIndexes, message}."
            }
            Executor::InsertIntoTable => {
                "Insert one record into a table and return its id. data maps column names to \
                 values of the column's type: numbers for integer/bigint/real, true/false for \
                 boolean, base64 strings for blob, any JSON for json columns. Leave out an \
                 auto_increment key (the database assigns it) or a text key (a UUID is \
                 generated). Returns {id, message}; the id is the primary key's value as a \
                 string, to pass to update_table_record or delete_from_table. \
                 Optional idempotencyKey (a string of 1 to 128 bytes, e.g. a UUID): a call \
                 repeated with the same key and the same parameters returns the first call's \
                 result without writing again (keys are kept 24 hours); the same key with \
                 other parameters fails with invalid_params."
            }
            Executor::UpdateTableRecord => {
                "Change columns of the record whose primary key is id, or of every record \
                 matching where (give exactly one of id and where). data maps the columns to \
                 set to their new values (other columns keep theirs). where takes the same \
                 conditions as query_table's queryOptions.where, such as {\"status\": \"open\", \
                 \"priority\": {\"$lt\": 3}}, and must not be empty. By id: fails with \
                 record_not_found when no record has that id; returns {message}. By where: \
                 one statement; returns {updated}, how many records changed (0 when none \
                 matched). \
                 Optional idempotencyKey (a string of 1 to 128 bytes, e.g. a UUID): a call \
                 repeated with the same key and the same parameters returns the first call's \
                 result without writing again (keys are kept 24 hours); the same key with \
                 other parameters fails with invalid_params."
            }
            Executor::QueryTable => {
                "Read records from a table. queryOptions (all optional): where maps columns to a \
                 value for equality (null matches NULL) or to an operator object such as \
                 {\"$gt\": 10} or {\"$in\": [\"a\", \"b\"]} (operators $eq $ne $lt $lte $gt $gte \
                 $in $nin $like $null; several in one object must all hold; conditions on \
                 several columns must all hold); beside columns, where takes \
                 \"$or\": [where, ...] (at least one holds), \"$and\": [where, ...] (all hold) \
                 and \"$not\": where (the rows it does not match), as in {\"status\": \"open\", \
                 \"$or\": [{\"priority\": {\"$gte\": 3}}, {\"owner\": null}]}; orderBy is a \
                 list of {column, direction: asc | desc}, one such object, or a column name; \
                 limit and offset page through the rows. Returns {results, count}: the \
                 records as objects (blobs as base64, json columns as documents) and how many \
                 were returned. One call returns at most 1,000 rows unless configured \
                 otherwise: when more match, the result also has truncated: true and limit (the \
                 cap); ask for the next rows with offset. Read-only."
            }
            Executor::DeleteFromTable => {
                "Delete the record whose primary key is id, or every record matching where \
                 (give exactly one of id and where). where takes the same conditions as \
                 query_table's queryOptions.where and must not be empty. By id: fails with \
                 record_not_found when no record has that id; returns {message}. By where: one \
                 statement; returns {deleted}, how many records were deleted (0 when none \
                 matched). Destructive: the records are gone. \
                 Optional idempotencyKey (a string of 1 to 128 bytes, e.g. a UUID): a call \
                 repeated with the same key and the same parameters returns the first call's \
                 result without writing again (keys are kept 24 hours); the same key with \
                 other parameters fails with invalid_params."
            }
            Executor::TableExists => {
                "Tell whether a table exists. Returns {exists, tableName}. Read-only."
            }
            Executor::DropTable => {
                "Drop a table and every record in it. Fails with table_not_found when there is no \
                 such table. Returns {tableName, message}. Destructive and irreversible: only \
                 call it when the user asked for the table to be deleted."
            }
            Executor::Transaction => {
                "Run several row operations as one, all or nothing: {\"operations\": \
                 [{\"executor\": \"delete_from_table\", \"params\": {\"tableName\": \
                 \"pending\", \"id\": \"t1\"}}, {\"executor\": \"insert_into_table\", \
                 \"params\": {\"tableName\": \"tokens\", \"data\": {\"id\": \"t1\"}}}]}. \
                 Each operation is insert_into_table, update_table_record, delete_from_table \
                 or query_table, with exactly the params that executor takes on its own \
                 (update and delete by id or by where); at most 100 operations, run in order, \
                 each seeing the writes of those before it. Returns {results}: each \
                 operation's data, in order. If any operation fails, none is applied: the \
                 failure's error has operation, the 0-based index of the one that failed. \
                 Tables cannot be created or dropped in a transaction. The idempotencyKey \
                 goes on the transaction, not on its operations. \
                 Optional idempotencyKey (a string of 1 to 128 bytes, e.g. a UUID): a call \
                 repeated with the same key and the same parameters returns the first call's \
                 result without writing again (keys are kept 24 hours); the same key with \
                 other parameters fails with invalid_params."
            }
            Executor::ListTables => {
                "List the tables you can use. Takes no parameters ({}). Returns {tables: [{name, \
                 columns, owner}]}: each table's name, how many columns it has, and the plugin \
                 that owns it (null for none). Call describe_table for a table's columns. \
                 Read-only."
            }
            Executor::DescribeTable => {
                "Describe a table: its columns, types, constraints and indexes, and what a \
                 record to insert looks like. Returns {schema, recordSchema}: schema in the form \
                 create_table takes, recordSchema the JSON Schema of insert_into_table's data \
                 (the columns as properties with their JSON types, the required ones listed; \
                 blobs are base64 strings). Call it before writing to a table whose columns you \
                 do not know, instead of guessing their names. Read-only."
            }
        }
    }

    fn parameters(self) -> Value {
        match self {
            Executor::CreateTable | Executor::SyncTable => schema_of::<CreateTableParams>(),
            Executor::InsertIntoTable => schema_of::<InsertParams>(),
            Executor::UpdateTableRecord => schema_of::<UpdateParams>(),
            Executor::QueryTable => schema_of::<QueryParams>(),
            Executor::DeleteFromTable => schema_of::<DeleteParams>(),
            Executor::TableExists | Executor::DropTable | Executor::DescribeTable => {
                schema_of::<TableParams>()
            }
            Executor::Transaction => schema_of::<TransactionParams>(),
            Executor::ListTables => schema_of::<ListTablesParams>(),
        }
    }

    pub(crate) fn definition(self) -> ExecutorDefinition {
        ExecutorDefinition {
            name: self.name(),
            description: self.description(),
            parameters: self.parameters(),
            read_only: self.is_read_only(),
            destructive: self.is_destructive(),
            idempotent: self.is_idempotent(),
        }
    }
}

/// The JSON Schema of `T` (draft 2020-12, subschemas inlined so that a tool-calling model sees
/// one self-contained object), without the root's title and description, which only name the
/// Rust type.
fn schema_of<T: JsonSchema>() -> Value {
    let settings = SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true);
    let mut schema = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Value::Object(object) = &mut schema {
        object.remove("title");
        object.remove("description");
    }
    schema
}
