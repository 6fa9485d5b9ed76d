//! The `outputSchema` of each tool: the JSON Schema of an executor's result object.
//!
//! Every result is `{"success": true, "data": <the executor's data>}` or `{"success": false,
//! "data": {"message", "error": {"kind", …}}}`; the schema says which `data` goes with which
//! `success`. An executor whose data this module does not describe gets an open object, so a
//! new executor is served with a correct (if loose) schema until it is described here.

use serde_json::{Value, json};

use crate::error::ErrorKind;

/// The JSON Schema (draft 2020-12) of the result object of the executor `name`.
pub(super) fn result_schema(name: &str) -> serde_json::Map<String, Value> {
    let schema = json!({
        "type": "object",
        "required": ["success", "data"],
        "properties": {
            "success": {"type": "boolean"},
            "data": {"type": "object"},
        },
        "oneOf": [
            {"properties": {"success": {"const": true}, "data": success_data(name)}},
            {"properties": {"success": {"const": false}, "data": failure_data()}},
        ],
    });
    match schema {
        Value::Object(object) => object,
        _ => serde_json::Map::new(),
    }
}

/// `data` of a failed call: what went wrong, for the model to correct its call.
fn failure_data() -> Value {
    let kinds: Vec<&str> = ErrorKind::ALL.iter().map(|kind| kind.as_str()).collect();
    json!({
        "type": "object",
        "required": ["message", "error"],
        "properties": {
            "message": {"type": "string", "description": "What went wrong, for people and models."},
            "error": {
                "type": "object",
                "required": ["kind"],
                "properties": {
                    "kind": {"type": "string", "enum": kinds},
                    "table": {"type": "string"},
                    "column": {"type": "string"},
                    "id": {"type": "string"},
                    "executor": {"type": "string"},
                    "operation": {"type": "string"},
                    "transient": {"type": "boolean"},
                },
            },
        },
    })
}

/// `data` of a successful call of `name`.
fn success_data(name: &str) -> Value {
    let text = json!({"type": "string"});
    let count = json!({"type": "integer", "minimum": 0});
    match name {
        "create_table" | "drop_table" => object(
            &["tableName", "message"],
            json!({"tableName": text, "message": text}),
        ),
        "insert_into_table" => object(
            &["id", "message"],
            json!({"id": {"type": "string", "description": "The new record's primary key, as a string."}, "message": text}),
        ),
        "update_table_record" => object(
            &["message"],
            json!({"message": text, "updated": {"type": "integer", "minimum": 0, "description": "Records updated (by where)."}}),
        ),
        "delete_from_table" => object(
            &["message"],
            json!({"message": text, "deleted": {"type": "integer", "minimum": 0, "description": "Records deleted (by where)."}}),
        ),
        "query_table" => object(
            &["results", "count"],
            json!({
                "results": {
                    "type": "array",
                    "items": {"type": "object", "description": "A record: column name to value (json as JSON, blob as base64, bigint as a number)."},
                },
                "count": count,
                "truncated": {"type": "boolean", "description": "More rows matched than one call returns."},
                "limit": count,
                "message": text,
            }),
        ),
        "table_exists" => object(
            &["exists", "tableName"],
            json!({"exists": {"type": "boolean"}, "tableName": text}),
        ),
        _ => json!({"type": "object"}),
    }
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_is_an_object_schema_with_both_outcomes() {
        for name in crate::executor::EXECUTOR_NAMES
            .iter()
            .chain(&["not_described"])
        {
            let schema = result_schema(name);
            assert_eq!(schema["type"], "object", "{name}");
            assert_eq!(schema["oneOf"].as_array().map(Vec::len), Some(2), "{name}");
            let kinds = &schema["oneOf"][1]["properties"]["data"]["properties"]["error"]["properties"]
                ["kind"]["enum"];
            assert_eq!(kinds.as_array().map(Vec::len), Some(ErrorKind::ALL.len()));
        }
        assert_eq!(
            result_schema("query_table")["oneOf"][0]["properties"]["data"]["required"],
            json!(["results", "count"])
        );
    }
}
