//! The result objects executors return: every [`Error`] as a failure with its kind and fields.

use std::fmt;

use serde_json::{Map, Value, json};

use crate::error::{Error, ErrorKind, SchemaProblem};

/// `{"success": true, "data": data}`.
pub(crate) fn success(data: Value) -> Value {
    json!({ "success": true, "data": data })
}

/// Why an executor call failed: an error of the store, or of the call itself.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The store (or the reading of values against a schema) refused.
    Store(Error),
    /// The parameters do not have the executor's shape.
    Params { executor: String, message: String },
    /// No executor of that name in this set.
    Unavailable { executor: String, reason: String },
    /// Operation `index` of a `transaction` (running `executor`) failed.
    InOperation {
        index: usize,
        executor: &'static str,
        failure: Box<Failure>,
    },
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Store(error)
    }
}

impl Failure {
    pub(crate) fn params(executor: &str, message: impl fmt::Display) -> Failure {
        Failure::Params {
            executor: executor.to_owned(),
            message: crate::error::truncate(&message.to_string()),
        }
    }

    /// This failure, as that of operation `index` of a transaction, running `executor`.
    pub(crate) fn in_operation(self, index: usize, executor: &'static str) -> Failure {
        Failure::InOperation {
            index,
            executor,
            failure: Box::new(self),
        }
    }

    /// The failed result object.
    pub(crate) fn to_json(&self) -> Value {
        let params_error = |executor: &str| {
            let mut error = Map::new();
            error.insert("kind".into(), ErrorKind::InvalidParams.as_str().into());
            error.insert("executor".into(), executor.into());
            error
        };
        match self {
            Failure::Store(error) => failure(error),
            Failure::Params { executor, message } => failed(
                format!("invalid parameters for {executor}: {message}"),
                params_error(executor),
            ),
            Failure::Unavailable { executor, reason } => {
                failed(reason.clone(), params_error(executor))
            }
            Failure::InOperation {
                index,
                executor,
                failure,
            } => {
                let mut result = failure.to_json();
                let data = &mut result["data"];
                // A malformed operation is the transaction's own fault, already naming it.
                let own = matches!(&**failure, Failure::Params { executor, .. } if executor == "transaction");
                if !own {
                    let message = data["message"].as_str().unwrap_or_default();
                    data["message"] = format!(
                        "operation {index} ({executor}) failed, so none of the transaction's \
                         operations is applied: {message}"
                    )
                    .into();
                }
                if let Value::Object(error) = &mut data["error"] {
                    error.insert("operation".into(), (*index).into());
                }
                result
            }
        }
    }
}

/// The result object of an executor that failed with `error`:
/// `{"success": false, "data": {"message", "error": {"kind", ...}}}`, the error object
/// carrying the table, column, id, constraint ... involved (never a caller's value).
pub fn failure(error: &Error) -> Value {
    failed(error.to_string(), error_object(error))
}

fn failed(message: String, error: Map<String, Value>) -> Value {
    json!({
        "success": false,
        "data": { "message": message, "error": Value::Object(error) },
    })
}

/// The `error` object of a failed result: `kind` and the fields of the error.
fn error_object(error: &Error) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("kind".into(), ErrorKind::of(error).as_str().into());
    let mut put = |key: &str, value: &str| {
        object.insert(key.into(), Value::String(value.to_owned()));
    };
    match error {
        Error::InvalidIdentifier { kind, name, reason } => {
            put("identifier", &kind.to_string());
            put("name", name);
            put("reason", &reason.to_string());
        }
        Error::InvalidSchema { table, problem } => {
            put("table", table);
            put("problem", &problem.to_string());
            let (column, index) = problem_location(problem);
            if let Some(column) = column {
                put("column", column);
            }
            if let Some(index) = index {
                put("index", index);
            }
        }
        Error::ProtectedTable { table } | Error::TableNotFound { table } => put("table", table),
        Error::SchemaMismatch {
            table,
            difference,
            differences,
        } => {
            put("table", table);
            put("difference", difference);
            object.insert("differences".into(), json!(differences));
        }
        Error::UnknownColumn { table, column } => {
            put("table", table);
            put("column", column);
        }
        Error::TypeMismatch {
            table,
            column,
            expected,
            found,
        } => {
            put("table", table);
            put("column", column);
            put("expected", expected.as_str());
            put("found", found);
        }
        Error::RecordNotFound { table, id } => {
            put("table", table);
            put("id", id);
        }
        Error::InvalidRecord { table, reason } | Error::InvalidQuery { table, reason } => {
            put("table", table);
            put("reason", reason);
        }
        Error::ConstraintViolation {
            kind,
            table,
            column,
            constraint,
            ..
        } => {
            put("constraint", kind.as_str());
            if let Some(table) = table {
                put("table", table);
            }
            if let Some(column) = column {
                put("column", column);
            }
            if let Some(name) = constraint {
                put("constraintName", name);
            }
        }
        Error::LimitExceeded {
            limit,
            table,
            max,
            actual,
        } => {
            put("limit", limit.as_str());
            put("table", table);
            object.insert("max".into(), (*max).into());
            object.insert("actual".into(), (*actual).into());
        }
        Error::TransactionAborted { table } => {
            if let Some(table) = table {
                put("table", table);
            }
        }
        Error::PermissionDenied {
            table,
            operation,
            code,
            ..
        } => {
            if let Some(table) = table {
                put("table", table);
            }
            put("operation", operation);
            if let Some(code) = code {
                put("code", code);
            }
        }
        _ => {
            if let Some(code) = error.code() {
                put("code", code);
            }
            object.insert("transient".into(), Value::Bool(error.is_transient()));
        }
    }
    object
}

/// The column and index a schema problem names, if any.
fn problem_location(problem: &SchemaProblem) -> (Option<&str>, Option<&str>) {
    match problem {
        SchemaProblem::InvalidAutoIncrement { column }
        | SchemaProblem::DuplicateColumn { column }
        | SchemaProblem::UnsupportedColumnType { column, .. }
        | SchemaProblem::InvalidDefault { column, .. } => (Some(column), None),
        SchemaProblem::DuplicateIndex { index } | SchemaProblem::EmptyIndex { index } => {
            (None, Some(index))
        }
        SchemaProblem::UnknownIndexColumn { index, column }
        | SchemaProblem::DuplicateIndexColumn { index, column } => (Some(column), Some(index)),
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ConstraintKind, IdentifierKind, IdentifierProblem};
    use crate::schema::ColumnType;

    #[test]
    fn every_error_maps_to_its_kind_and_fields() {
        let cases = [
            (
                Error::InvalidIdentifier {
                    kind: IdentifierKind::Column,
                    name: "a b".into(),
                    reason: IdentifierProblem::InvalidCharacters,
                },
                json!({"kind": "invalid_identifier", "identifier": "column", "name": "a b",
                       "reason": "it must match ^[a-zA-Z_][a-zA-Z0-9_]*$"}),
            ),
            (
                Error::InvalidSchema {
                    table: "t".into(),
                    problem: SchemaProblem::UnknownIndexColumn {
                        index: "i".into(),
                        column: "c".into(),
                    },
                },
                json!({"kind": "invalid_schema", "table": "t", "index": "i", "column": "c",
                       "problem": "index \"i\" names unknown column \"c\""}),
            ),
            (
                Error::TypeMismatch {
                    table: "t".into(),
                    column: "c".into(),
                    expected: ColumnType::Bigint,
                    found: "a string".into(),
                },
                json!({"kind": "type_mismatch", "table": "t", "column": "c",
                       "expected": "bigint", "found": "a string"}),
            ),
            (
                Error::RecordNotFound {
                    table: "t".into(),
                    id: "9".into(),
                },
                json!({"kind": "record_not_found", "table": "t", "id": "9"}),
            ),
            (
                Error::ConstraintViolation {
                    kind: ConstraintKind::ForeignKey,
                    table: Some("t".into()),
                    column: None,
                    constraint: Some("fk_t".into()),
                    message: "violates".into(),
                },
                json!({"kind": "constraint_violation", "constraint": "foreign_key",
                       "table": "t", "constraintName": "fk_t"}),
            ),
            (
                Error::InvalidQuery {
                    table: "t".into(),
                    reason: "bad".into(),
                },
                json!({"kind": "invalid_params", "table": "t", "reason": "bad"}),
            ),
            (
                Error::InvalidRecord {
                    table: "t".into(),
                    reason: "empty".into(),
                },
                json!({"kind": "invalid_params", "table": "t", "reason": "empty"}),
            ),
            (
                Error::LimitExceeded {
                    limit: crate::limits::LimitKind::RecordSize,
                    table: "t".into(),
                    max: 10,
                    actual: 11,
                },
                json!({"kind": "limit_exceeded", "limit": "record_size", "table": "t",
                       "max": 10, "actual": 11}),
            ),
            (
                Error::Database(crate::error::DatabaseError::new(
                    "database is locked",
                    Some("5".into()),
                    true,
                )),
                json!({"kind": "database", "code": "5", "transient": true}),
            ),
            (
                Error::Connection(crate::error::DatabaseError::new(
                    "server does not support TLS",
                    None,
                    false,
                )),
                json!({"kind": "connection", "transient": false}),
            ),
            (
                Error::PermissionDenied {
                    table: Some("t".into()),
                    operation: "insert_into_table".into(),
                    message: "permission denied for table t".into(),
                    code: Some("42501".into()),
                },
                json!({"kind": "permission_denied", "table": "t",
                       "operation": "insert_into_table", "code": "42501"}),
            ),
            (
                Error::TransactionAborted {
                    table: Some("t".into()),
                },
                json!({"kind": "transaction_aborted", "table": "t"}),
            ),
        ];
        for (error, expected) in cases {
            let result = failure(&error);
            assert_eq!(result["success"], false);
            assert_eq!(result["data"]["message"], error.to_string());
            assert_eq!(result["data"]["error"], expected, "{error:?}");
        }
    }

    #[test]
    fn kinds_have_distinct_names() {
        let names: std::collections::HashSet<&str> =
            ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ErrorKind::ALL.len());
        assert_eq!(ErrorKind::TableNotFound.to_string(), "table_not_found");
    }
}
