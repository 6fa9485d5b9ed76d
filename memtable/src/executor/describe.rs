//! `describe_table`'s `recordSchema`: the JSON Schema of a record `insert_into_table` accepts,
//! made from the table's schema.

use serde_json::{Map, Value, json};

use crate::schema::{Column, ColumnType, TableSchema};

/// The JSON Schema (draft 2020-12) of a record to insert into a table of `schema`, as the
/// executors read it ([`Record::from_json`](crate::Record::from_json)).
///
/// One property per column: `text` a string, `integer` an integer within 32 bits, `bigint` an
/// integer within 64 bits (a JSON number, read exactly), `real` a number, `boolean` true or
/// false, `blob` a base64 string (`contentEncoding: base64`), `json` any document. A nullable
/// column also takes `null`. An `auto_increment` key has no property (the database assigns it,
/// and a record giving it is refused). `required` lists the columns that are NOT NULL (or the
/// primary key) and that nothing fills in: not a text primary key, which gets a new UUID when
/// left out, nor a column with a default. Other keys are refused (`additionalProperties: false`), as the executors refuse
/// unknown columns.
///
/// ```
/// use memtable::TableSchema;
/// use memtable::executor::record_schema;
///
/// let schema = TableSchema::from_json_str(r#"{"name": "notes", "columns": [
///     {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
///     {"name": "body", "type": "text", "constraints": ["not_null"]},
///     {"name": "pinned", "type": "boolean"},
///     {"name": "stars", "type": "integer", "constraints": ["not_null"], "default": 0}]}"#)?;
/// let record = record_schema(&schema);
/// assert_eq!(record["required"], serde_json::json!(["body"]));
/// assert_eq!(record["properties"]["pinned"]["type"], serde_json::json!(["boolean", "null"]));
/// assert!(record["properties"].get("id").is_none());
/// # Ok::<(), memtable::Error>(())
/// ```
pub fn record_schema(schema: &TableSchema) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for column in &schema.columns {
        if column.is_primary_key() && column.is_auto_increment() {
            continue;
        }
        let nullable = column.is_nullable();
        properties.insert(column.name.clone(), property(column, nullable));
        let generated = column.is_primary_key() && column.column_type == ColumnType::Text;
        if !nullable && !generated && column.default.is_none() {
            required.push(Value::String(column.name.clone()));
        }
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("a record of table {}", schema.name),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// The schema of one column's value.
fn property(column: &Column, nullable: bool) -> Value {
    let (kind, mut extra) = match column.column_type {
        ColumnType::Text => ("string", json!({})),
        ColumnType::Integer => ("integer", json!({"minimum": i32::MIN, "maximum": i32::MAX})),
        ColumnType::Bigint => ("integer", json!({"minimum": i64::MIN, "maximum": i64::MAX})),
        ColumnType::Real => ("number", json!({})),
        ColumnType::Boolean => ("boolean", json!({})),
        ColumnType::Blob => ("string", json!({"contentEncoding": "base64"})),
        ColumnType::Json => {
            // Any document; `null` is SQL NULL, which a NOT NULL column refuses.
            return if nullable {
                json!({})
            } else {
                json!({"not": {"type": "null"}})
            };
        }
    };
    let kind = if nullable {
        json!([kind, "null"])
    } else {
        json!(kind)
    };
    if let Value::Object(object) = &mut extra {
        object.insert("type".into(), kind);
    }
    extra
}
