//! The parameters of each executor: what an agent sends, and (through `schemars`) the JSON
//! Schema its tool definition advertises.
//!
//! Every struct refuses unknown keys, so that a misspelt key (`tablename`) is an
//! `invalid_params` failure naming the valid ones rather than a silently ignored option. Values
//! inside `data` and `where` are not typed here: they are read against the table's schema
//! ([`Record::from_json`](crate::Record::from_json),
//! [`QueryOptions::from_json`](crate::QueryOptions::from_json)), so a blob is base64 text and a
//! json column takes any document.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The parameters of `create_table`: the table's schema, in the JSON form of
/// [`TableSchema`](crate::TableSchema).
///
/// `create_table`, `sync_table` and `drop_table` take no `idempotencyKey`: repeating one
/// changes nothing more (the same schema again succeeds; a table dropped again is
/// `table_not_found`).
///
/// This type documents the shape (it is what the JSON Schema is generated from); the executor
/// reads the parameters with [`TableSchema::from_json`](crate::TableSchema::from_json), so that
/// a schema breaking a rule is an `invalid_schema` failure naming the rule.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTableParams {
    /// The table's name: letters, digits and `_`, not starting with a digit, at most 63 bytes.
    pub name: String,
    /// The columns, in order. Exactly one must have the `primary_key` constraint.
    pub columns: Vec<ColumnParams>,
    /// Secondary indexes.
    pub indexes: Option<Vec<IndexParams>>,
}

/// One column of a table schema.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnParams {
    /// The column's name: letters, digits and `_`, not starting with a digit.
    pub name: String,
    /// The column's type.
    #[serde(rename = "type")]
    pub column_type: ColumnTypeParam,
    /// Constraints; none means a nullable column without uniqueness.
    pub constraints: Option<Vec<ConstraintParam>>,
    /// The value a record inserted without this column gets: a value of the column's type
    /// (a number for integer, bigint and real, true/false for boolean, base64 text for blob,
    /// any JSON for json). Not on the primary key.
    pub default: Option<Value>,
}

/// A column type, as written in a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnTypeParam {
    /// Text.
    Text,
    /// A 32-bit integer.
    Integer,
    /// A 64-bit integer.
    Bigint,
    /// A 64-bit float.
    Real,
    /// Bytes, written and read as base64 text.
    Blob,
    /// Any JSON document.
    Json,
    /// true or false.
    Boolean,
}

/// A column constraint, as written in a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintParam {
    /// The key rows are addressed by (their "id").
    PrimaryKey,
    /// No two rows share a value.
    Unique,
    /// NULL is refused.
    NotNull,
    /// The database assigns the key (integer or bigint primary key only).
    AutoIncrement,
}

/// A secondary index of a table schema.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexParams {
    /// The index's name.
    pub name: String,
    /// The indexed columns, in order.
    pub columns: Vec<String>,
    /// Whether no two rows may share the indexed values (default false).
    pub unique: Option<bool>,
}

/// The parameters of `list_tables`: none (an empty object).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTablesParams {}

/// The parameters of `table_exists`, `drop_table` and `describe_table`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableParams {
    /// The table's name.
    #[serde(rename = "tableName")]
    pub table_name: String,
}

/// The parameters of `insert_into_table`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InsertParams {
    /// The table's name.
    #[serde(rename = "tableName")]
    pub table_name: String,
    /// The new record: column name to value. A text primary key left out gets a new UUID; an
    /// auto_increment key must be left out.
    pub data: Map<String, Value>,
    /// Makes the call safe to repeat: a string of 1 to 128 bytes (a UUID, say). A call
    /// repeated with the same key and the same parameters returns the first call's `data`
    /// without writing again (keys are kept at least 24 hours, per plugin); the same key with
    /// other parameters is `invalid_params`.
    #[serde(rename = "idempotencyKey", default)]
    pub idempotency_key: Option<String>,
}

/// The parameters of `update_table_record`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateParams {
    /// The table's name.
    #[serde(rename = "tableName")]
    pub table_name: String,
    /// The primary key value of the one record to change. Give exactly one of `id` and
    /// `where`.
    #[serde(default)]
    pub id: Option<RecordId>,
    /// Change every record matching these conditions instead (the `where` of `query_table`'s
    /// queryOptions; not empty). Give exactly one of `id` and `where`.
    #[serde(rename = "where", default)]
    pub filter: Option<Map<String, Value>>,
    /// The columns to set and their new values (at least one; not the primary key of an
    /// auto_increment table).
    pub data: Map<String, Value>,
    /// Makes the call safe to repeat: a string of 1 to 128 bytes (a UUID, say). A call
    /// repeated with the same key and the same parameters returns the first call's `data`
    /// without writing again (keys are kept at least 24 hours, per plugin); the same key with
    /// other parameters is `invalid_params`.
    #[serde(rename = "idempotencyKey", default)]
    pub idempotency_key: Option<String>,
}

/// The parameters of `delete_from_table`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteParams {
    /// The table's name.
    #[serde(rename = "tableName")]
    pub table_name: String,
    /// The primary key value of the one record to delete. Give exactly one of `id` and
    /// `where`.
    #[serde(default)]
    pub id: Option<RecordId>,
    /// Delete every record matching these conditions instead (the `where` of `query_table`'s
    /// queryOptions; not empty). Give exactly one of `id` and `where`.
    #[serde(rename = "where", default)]
    pub filter: Option<Map<String, Value>>,
    /// Makes the call safe to repeat: a string of 1 to 128 bytes (a UUID, say). A call
    /// repeated with the same key and the same parameters returns the first call's `data`
    /// without writing again (keys are kept at least 24 hours, per plugin); the same key with
    /// other parameters is `invalid_params`.
    #[serde(rename = "idempotencyKey", default)]
    pub idempotency_key: Option<String>,
}

/// The parameters of `transaction`: row operations run in order in one transaction, all or
/// nothing.
///
/// This type documents the shape (it is what the JSON Schema is generated from); the executor
/// reads the operations one by one, so that a fault names the operation's index.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionParams {
    /// The operations, in order (at most 100). If one fails, none of them is applied.
    pub operations: Vec<OperationParams>,
    /// Makes the call safe to repeat: a string of 1 to 128 bytes (a UUID, say). A call
    /// repeated with the same key and the same parameters returns the first call's `data`
    /// without writing again (keys are kept at least 24 hours, per plugin); the same key with
    /// other parameters is `invalid_params`.
    #[serde(rename = "idempotencyKey", default)]
    pub idempotency_key: Option<String>,
}

/// One operation of a `transaction`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationParams {
    /// The executor to run: a row executor only.
    pub executor: RowExecutor,
    /// Its parameters, exactly as that executor takes them when called on its own (without an
    /// `idempotencyKey`: that goes on the transaction).
    pub params: Map<String, Value>,
}

/// The executors a `transaction` can run: those that read or write rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowExecutor {
    /// `insert_into_table`.
    InsertIntoTable,
    /// `update_table_record` (by `id` or by `where`).
    UpdateTableRecord,
    /// `delete_from_table` (by `id` or by `where`).
    DeleteFromTable,
    /// `query_table`: reads the rows as the transaction sees them (its own writes included).
    QueryTable,
}

/// The parameters of `query_table`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryParams {
    /// The table's name.
    #[serde(rename = "tableName")]
    pub table_name: String,
    /// Which rows, in which order; leave out for every row.
    #[serde(rename = "queryOptions")]
    pub query_options: Option<QueryOptionsParams>,
}

/// Which rows `query_table` returns.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryOptionsParams {
    /// Conditions, ANDed: `{"column": value}` for equality (`null` means IS NULL), or
    /// `{"column": {"$op": operand}}` with `$eq $ne $lt $lte $gt $gte $in $nin $like $null`
    /// (`$in`/`$nin` take a list, `$like` a pattern with `%` and `_`, `$null` true or false).
    /// Beside columns: `"$or": [where, ...]` (at least one holds), `"$and": [where, ...]` (all
    /// hold; both lists not empty) and `"$not": where` (the rows it does not match).
    #[serde(rename = "where")]
    pub filter: Option<Map<String, Value>>,
    /// Sort keys, most significant first: a list of `{column, direction}`, one such object, or a
    /// column name (ascending).
    #[serde(rename = "orderBy")]
    pub order_by: Option<OrderByParam>,
    /// At most this many rows.
    pub limit: Option<u64>,
    /// Skip this many rows first.
    pub offset: Option<u64>,
}

impl QueryOptionsParams {
    /// The JSON form [`QueryOptions::from_json`](crate::QueryOptions::from_json) reads.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        if let Some(filter) = &self.filter {
            object.insert("where".into(), Value::Object(filter.clone()));
        }
        if let Some(order_by) = &self.order_by {
            object.insert("orderBy".into(), order_by.to_json());
        }
        if let Some(limit) = self.limit {
            object.insert("limit".into(), limit.into());
        }
        if let Some(offset) = self.offset {
            object.insert("offset".into(), offset.into());
        }
        Value::Object(object)
    }
}

/// The sort keys of a query, in any of three forms.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(untagged)]
pub enum OrderByParam {
    /// Sort keys, most significant first.
    Keys(Vec<OrderByParams>),
    /// One sort key.
    Key(OrderByParams),
    /// A column name: ascending on that column.
    Column(String),
}

impl OrderByParam {
    /// The JSON form [`QueryOptions::from_json`](crate::QueryOptions::from_json) reads.
    pub fn to_json(&self) -> Value {
        match self {
            OrderByParam::Keys(keys) => {
                Value::Array(keys.iter().map(OrderByParams::to_json).collect())
            }
            OrderByParam::Key(key) => key.to_json(),
            OrderByParam::Column(column) => Value::String(column.clone()),
        }
    }
}

/// Read by hand, so that a wrong form is refused naming `orderBy` and the forms it takes rather
/// than in serde's words about untagged enums.
impl<'de> Deserialize<'de> for OrderByParam {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let key = |value: Value| {
            serde_json::from_value::<OrderByParams>(value)
                .map_err(|e| D::Error::custom(format_args!("orderBy: {e}")))
        };
        match Value::deserialize(deserializer)? {
            Value::String(column) => Ok(OrderByParam::Column(column)),
            object @ Value::Object(_) => key(object).map(OrderByParam::Key),
            Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    object @ Value::Object(_) => key(object),
                    other => Err(D::Error::custom(format_args!(
                        "each entry of an orderBy list must be a {{\"column\", \"direction\"}} \
                         object; got {} ({})",
                        crate::query::json_kind(&other),
                        crate::query::ORDER_BY_FORMS
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(OrderByParam::Keys),
            other => Err(D::Error::custom(format_args!(
                "{}; got {}",
                crate::query::ORDER_BY_FORMS,
                crate::query::json_kind(&other)
            ))),
        }
    }
}

/// One sort key of a query.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderByParams {
    /// The column to sort by (not a json column).
    pub column: String,
    /// `asc` (the default) or `desc`.
    pub direction: Option<SortDirection>,
}

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortDirection {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

impl OrderByParams {
    fn to_json(&self) -> Value {
        let mut item = Map::new();
        item.insert("column".into(), Value::String(self.column.clone()));
        if let Some(direction) = self.direction {
            item.insert("direction".into(), Value::String(direction.as_str().into()));
        }
        Value::Object(item)
    }
}

impl SortDirection {
    /// `asc` or `desc`.
    pub fn as_str(self) -> &'static str {
        match self {
            SortDirection::Asc => "asc",
            SortDirection::Desc => "desc",
        }
    }
}

/// A record's id: its primary key value, as a string or a number (a number is read as its
/// decimal form, so `7` and `"7"` are the same id).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RecordId {
    /// An id given as a string.
    Text(String),
    /// An id given as a number.
    Number(serde_json::Number),
}

impl RecordId {
    /// The id as the store takes it.
    ///
    /// A whole number written as a float (`7.0`, as some models write numbers) is read as the
    /// integer it is.
    pub fn as_id(&self) -> String {
        match self {
            RecordId::Text(text) => text.clone(),
            RecordId::Number(number) => match number.as_f64() {
                Some(f) if number.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    format!("{f:.0}")
                }
                _ => number.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_strings_or_numbers() {
        let id = |v: Value| serde_json::from_value::<RecordId>(v).map(|id| id.as_id());
        assert_eq!(id(json!("abc")).ok().as_deref(), Some("abc"));
        assert_eq!(id(json!(7)).ok().as_deref(), Some("7"));
        assert_eq!(id(json!(-7)).ok().as_deref(), Some("-7"));
        assert_eq!(id(json!(7.0)).ok().as_deref(), Some("7"));
        assert_eq!(id(json!(7.5)).ok().as_deref(), Some("7.5"));
        assert_eq!(
            id(json!(u64::MAX)).ok().as_deref(),
            Some("18446744073709551615")
        );
        assert!(id(json!(true)).is_err());
        assert!(id(json!(null)).is_err());
        assert!(id(json!([1])).is_err());
    }

    #[test]
    fn query_options_keep_their_json_form() {
        let options: QueryOptionsParams = serde_json::from_value(json!({
            "where": {"a": {"$gt": 1}}, "orderBy": [{"column": "a", "direction": "desc"}, {"column": "b"}],
            "limit": 5, "offset": 0
        }))
        .unwrap_or_default();
        assert_eq!(
            options.to_json(),
            json!({"where": {"a": {"$gt": 1}}, "orderBy": [{"column": "a", "direction": "desc"},
                   {"column": "b"}], "limit": 5, "offset": 0})
        );
        assert_eq!(QueryOptionsParams::default().to_json(), json!({}));
    }

    #[test]
    fn order_by_takes_three_forms_and_names_them_when_wrong() {
        let read = |order_by: Value| {
            serde_json::from_value::<QueryOptionsParams>(json!({ "orderBy": order_by }))
                .map(|o| o.to_json()["orderBy"].clone())
                .map_err(|e| e.to_string())
        };
        for form in [
            json!("a"),
            json!({"column": "a", "direction": "desc"}),
            json!([{"column": "a"}, {"column": "b", "direction": "asc"}]),
        ] {
            assert_eq!(read(form.clone()), Ok(form));
        }
        for wrong in [
            json!(1),
            json!(true),
            json!(["a"]),
            json!([[{"column": "a"}]]),
        ] {
            let message = read(wrong).unwrap_err();
            assert!(
                message.contains("orderBy")
                    && message.contains("column name")
                    && message.contains("list")
                    && !message.contains("untagged"),
                "{message}"
            );
        }
        let message = read(json!({"column": "a", "direction": "up"})).unwrap_err();
        assert!(
            message.starts_with("orderBy: ") && message.contains("desc"),
            "{message}"
        );
    }

    #[test]
    fn the_schema_mirror_reads_every_type_and_constraint() {
        for column_type in [
            "text", "integer", "bigint", "real", "blob", "json", "boolean",
        ] {
            assert!(serde_json::from_value::<ColumnTypeParam>(json!(column_type)).is_ok());
        }
        for constraint in ["primary_key", "unique", "not_null", "auto_increment"] {
            assert!(serde_json::from_value::<ConstraintParam>(json!(constraint)).is_ok());
        }
        let schema = json!({"name": "t", "columns": [
            {"name": "id", "type": "text", "constraints": ["primary_key"]}],
            "indexes": [{"name": "i", "columns": ["id"], "unique": true}]});
        assert!(serde_json::from_value::<CreateTableParams>(schema.clone()).is_ok());
        assert!(crate::TableSchema::from_json(schema).is_ok());
    }
}
