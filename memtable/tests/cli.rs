//! The `memtable` binary driven as a real process, against a SQLite file and PostgreSQL: exec
//! and its exit codes, tables, schema, executors, scopes, and the database defaults.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Database, Run, memtable, memtable_in};
use serde_json::{Value, json};

const NOTES: &str = r#"{"name": "notes", "columns": [
    {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
    {"name": "body", "type": "text", "constraints": ["not_null"]},
    {"name": "raw", "type": "blob"},
    {"name": "doc", "type": "json"},
    {"name": "done", "type": "boolean"}]}"#;

/// The one line a successful exec prints, as JSON; its `data`.
fn succeeded(run: &Run) -> Value {
    assert_eq!(run.status, 0, "{run:?}");
    let result = run.json();
    assert_eq!(result["success"], true, "{run:?}");
    result["data"].clone()
}

/// A failed exec: its exit status and the error object it printed.
fn failed(run: &Run, status: i32, kind: &str) -> Value {
    assert_eq!(run.status, status, "{run:?}");
    let result = run.json();
    assert_eq!(result["success"], false, "{run:?}");
    assert_eq!(result["data"]["error"]["kind"], kind, "{run:?}");
    assert!(
        !run.stderr.trim().is_empty(),
        "a message for people: {run:?}"
    );
    result["data"]["error"].clone()
}

fn exec_runs_every_executor(db: &Database) {
    let url = db.url.as_str();
    let data = succeeded(&memtable(url, &["exec", "create_table", NOTES], None));
    assert_eq!(data["tableName"], "notes");
    // Idempotent.
    succeeded(&memtable(url, &["exec", "create_table", NOTES], None));

    let insert = r#"{"tableName": "notes", "data": {"body": "hello", "raw": "AAE=", "doc": {"tags": ["a"]}, "done": false}}"#;
    let data = succeeded(&memtable(url, &["exec", "insert_into_table", insert], None));
    assert_eq!(data["id"], "1");
    // Parameters from stdin.
    let data = succeeded(&memtable(
        url,
        &["exec", "insert_into_table", "-"],
        Some(r#"{"tableName": "notes", "data": {"body": "from stdin", "done": true}}"#),
    ));
    assert_eq!(data["id"], "2");

    let data = succeeded(&memtable(
        url,
        &[
            "exec",
            "query_table",
            r#"{"tableName": "notes", "queryOptions": {"where": {"doc": {"tags": ["a"]}}}}"#,
        ],
        None,
    ));
    assert_eq!(
        data,
        json!({"count": 1, "results": [
            {"id": 1, "body": "hello", "raw": "AAE=", "doc": {"tags": ["a"]}, "done": false}
        ]})
    );
    let data = succeeded(&memtable(
        url,
        &["exec", "query_table", "-"],
        Some(
            r#"{"tableName": "notes", "queryOptions": {"orderBy": [{"column": "id", "direction": "desc"}], "limit": 1}}"#,
        ),
    ));
    assert_eq!(data["results"][0]["body"], "from stdin");

    succeeded(&memtable(
        url,
        &[
            "exec",
            "update_table_record",
            r#"{"tableName": "notes", "id": 1, "data": {"body": "edited"}}"#,
        ],
        None,
    ));
    succeeded(&memtable(
        url,
        &[
            "exec",
            "delete_from_table",
            r#"{"tableName": "notes", "id": "2"}"#,
        ],
        None,
    ));
    let data = succeeded(&memtable(
        url,
        &["exec", "query_table", r#"{"tableName": "notes"}"#],
        None,
    ));
    assert_eq!(data["count"], 1);
    assert_eq!(data["results"][0]["body"], "edited");

    let data = succeeded(&memtable(
        url,
        &["exec", "table_exists", r#"{"tableName": "notes"}"#],
        None,
    ));
    assert_eq!(data, json!({"exists": true, "tableName": "notes"}));

    // tables and schema
    let run = memtable(url, &["tables"], None);
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(run.stdout, "notes\n");
    let run = memtable(url, &["schema", "notes"], None);
    assert_eq!(run.status, 0, "{run:?}");
    let schema: Value = serde_json::from_str(&run.stdout).unwrap();
    let expected: Value = serde_json::from_str(NOTES).unwrap();
    assert_eq!(schema, expected);

    let data = succeeded(&memtable(
        url,
        &["exec", "drop_table", r#"{"tableName": "notes"}"#],
        None,
    ));
    assert_eq!(data["tableName"], "notes");
    let run = memtable(url, &["tables"], None);
    assert_eq!((run.status, run.stdout.as_str()), (0, ""), "{run:?}");
}

fn exec_exit_codes(db: &Database) {
    let url = db.url.as_str();
    // The executor failed: 1, with the result on stdout and a message on stderr.
    let error = failed(
        &memtable(
            url,
            &["exec", "query_table", r#"{"tableName": "missing"}"#],
            None,
        ),
        1,
        "table_not_found",
    );
    assert_eq!(error["table"], "missing");
    failed(
        &memtable(
            url,
            &["exec", "drop_table", r#"{"tableName": "memories"}"#],
            None,
        ),
        1,
        "protected_table",
    );
    // No parameters mean {}: the executor runs and says what is missing.
    failed(
        &memtable(url, &["exec", "table_exists"], None),
        1,
        "invalid_params",
    );
    failed(
        &memtable(url, &["exec", "table_exists", "-"], Some("")),
        1,
        "invalid_params",
    );
    // Parameters that are not JSON: a usage error that still prints a result.
    let error = failed(
        &memtable(url, &["exec", "query_table", "{tableName: notes"], None),
        2,
        "invalid_params",
    );
    assert_eq!(error["executor"], "query_table");
    failed(
        &memtable(url, &["exec", "query_table", "-"], Some("not json")),
        2,
        "invalid_params",
    );
    // An unknown executor, or one a read-only set does not have: usage errors too.
    failed(
        &memtable(url, &["exec", "truncate", "{}"], None),
        2,
        "invalid_params",
    );
    failed(
        &memtable(
            url,
            &["--read-only", "exec", "drop_table", r#"{"tableName": "t"}"#],
            None,
        ),
        2,
        "invalid_params",
    );
    // Grammar errors: 2, nothing on stdout.
    for args in [
        &["exec"][..],
        &["frobnicate"],
        &["schema"],
        &["exec", "query_table", "{}", "extra"],
        &["--database"],
        &[],
    ] {
        let run = memtable(url, args, None);
        assert_eq!(run.status, 2, "{args:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
        assert!(!run.stderr.is_empty(), "{args:?}: {run:?}");
    }
    // schema of a missing table: 1.
    let run = memtable(url, &["schema", "missing"], None);
    assert_eq!(run.status, 1, "{run:?}");
    assert!(run.stderr.contains("missing"), "{run:?}");
    // --help is not an error.
    let run = memtable(url, &["--help"], None);
    assert_eq!(run.status, 0, "{run:?}");
    assert!(run.stdout.contains("exec"), "{run:?}");
}

fn plugin_scopes(db: &Database) {
    let url = db.url.as_str();
    succeeded(&memtable(
        url,
        &["--plugin", "plugin_x", "exec", "create_table", NOTES],
        None,
    ));
    succeeded(&memtable(
        url,
        &[
            "--plugin",
            "plugin_x",
            "exec",
            "insert_into_table",
            r#"{"tableName": "notes", "data": {"body": "x's"}}"#,
        ],
        None,
    ));
    // Another plugin cannot read, write or drop it, nor see it.
    for (executor, params) in [
        ("query_table", r#"{"tableName": "notes"}"#),
        (
            "insert_into_table",
            r#"{"tableName": "notes", "data": {"body": "y"}}"#,
        ),
        ("drop_table", r#"{"tableName": "notes"}"#),
    ] {
        failed(
            &memtable(
                url,
                &["--plugin", "plugin_y", "exec", executor, params],
                None,
            ),
            1,
            "table_not_found",
        );
    }
    let data = succeeded(&memtable(
        url,
        &[
            "--plugin",
            "plugin_y",
            "exec",
            "table_exists",
            r#"{"tableName": "notes"}"#,
        ],
        None,
    ));
    assert_eq!(data["exists"], false);
    let run = memtable(url, &["--plugin", "plugin_y", "tables"], None);
    assert_eq!((run.status, run.stdout.as_str()), (0, ""), "{run:?}");
    let run = memtable(url, &["--plugin", "plugin_y", "schema", "notes"], None);
    assert_eq!(run.status, 1, "{run:?}");
    let run = memtable(url, &["--plugin", "plugin_x", "tables"], None);
    assert_eq!(run.stdout, "notes\n", "{run:?}");
    // Read-only in the owner's scope: reads work, writes are not offered.
    let data = succeeded(&memtable(
        url,
        &[
            "--plugin",
            "plugin_x",
            "--read-only",
            "exec",
            "query_table",
            r#"{"tableName": "notes"}"#,
        ],
        None,
    ));
    assert_eq!(data["results"][0]["body"], "x's");
    failed(
        &memtable(
            url,
            &[
                "--read-only",
                "--plugin",
                "plugin_x",
                "exec",
                "drop_table",
                r#"{"tableName": "notes"}"#,
            ],
            None,
        ),
        2,
        "invalid_params",
    );
    // The host's store addresses unscoped tables only, and lists the plugin's with its owner.
    failed(
        &memtable(
            url,
            &["exec", "query_table", r#"{"tableName": "notes"}"#],
            None,
        ),
        1,
        "table_not_found",
    );
    let run = memtable(url, &["tables"], None);
    assert_eq!(run.stdout, "notes\tplugin_x\n", "{run:?}");
}

const CRM_SETTINGS: &str = r#"{"name": "settings", "columns": [
    {"name": "key", "type": "text", "constraints": ["primary_key"]},
    {"name": "value", "type": "json"}]}"#;

const MAIL_SETTINGS: &str = r#"{"name": "settings", "columns": [
    {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
    {"name": "signature", "type": "text", "constraints": ["not_null"]}]}"#;

/// Two plugins each with a table `settings`, through the binary; list_tables and
/// describe_table round-trip.
fn namespaces(db: &Database) {
    let url = db.url.as_str();
    let exec = |plugin: &str, executor: &str, params: &str| {
        memtable(url, &["--plugin", plugin, "exec", executor, params], None)
    };
    succeeded(&exec("crm", "create_table", CRM_SETTINGS));
    succeeded(&exec("mail", "create_table", MAIL_SETTINGS));
    succeeded(&exec(
        "crm",
        "insert_into_table",
        r#"{"tableName": "settings", "data": {"key": "theme", "value": {"mode": "dark"}}}"#,
    ));
    let data = succeeded(&exec(
        "mail",
        "insert_into_table",
        r#"{"tableName": "settings", "data": {"signature": "regards"}}"#,
    ));
    assert_eq!(data["id"], "1");
    let data = succeeded(&exec("crm", "query_table", r#"{"tableName": "settings"}"#));
    assert_eq!(
        data["results"],
        json!([{"key": "theme", "value": {"mode": "dark"}}])
    );
    let data = succeeded(&exec("mail", "query_table", r#"{"tableName": "settings"}"#));
    assert_eq!(data["results"], json!([{"id": 1, "signature": "regards"}]));
    // A constraint violation names the plugin's table, nothing of the other's.
    let run = exec(
        "crm",
        "insert_into_table",
        r#"{"tableName": "settings", "data": {"key": "theme"}}"#,
    );
    let error = failed(&run, 1, "constraint_violation");
    assert_eq!(error["table"], "settings");
    assert!(
        !run.stdout.contains("_mtns_") && !run.stdout.contains("mail"),
        "{run:?}"
    );
    assert!(
        !run.stderr.contains("_mtns_") && !run.stderr.contains("mail"),
        "{run:?}"
    );

    // list_tables / describe_table, in a scope, read-only, and on the host.
    let data = succeeded(&memtable(
        url,
        &[
            "--plugin",
            "mail",
            "--read-only",
            "exec",
            "list_tables",
            "{}",
        ],
        None,
    ));
    assert_eq!(
        data,
        json!({"tables": [{"name": "settings", "columns": 2, "owner": "mail"}]})
    );
    let data = succeeded(&exec(
        "crm",
        "describe_table",
        r#"{"tableName": "settings"}"#,
    ));
    let schema: Value = serde_json::from_str(CRM_SETTINGS).unwrap();
    assert_eq!(data["schema"], schema);
    assert_eq!(data["recordSchema"]["required"], json!([]));
    assert_eq!(data["recordSchema"]["additionalProperties"], false);
    let data = succeeded(&exec(
        "mail",
        "describe_table",
        r#"{"tableName": "settings"}"#,
    ));
    assert_eq!(data["recordSchema"]["required"], json!(["signature"]));
    let data = succeeded(&memtable(url, &["exec", "list_tables"], None));
    assert_eq!(
        data["tables"],
        json!([
            {"name": "settings", "columns": 2, "owner": "crm"},
            {"name": "settings", "columns": 2, "owner": "mail"}
        ])
    );
    failed(
        &memtable(
            url,
            &["exec", "describe_table", r#"{"tableName": "settings"}"#],
            None,
        ),
        1,
        "table_not_found",
    );
    failed(
        &exec("spy", "describe_table", r#"{"tableName": "settings"}"#),
        1,
        "table_not_found",
    );

    // tables and schema use the same scoping.
    let run = memtable(url, &["--plugin", "crm", "tables"], None);
    assert_eq!(run.stdout, "settings\n", "{run:?}");
    let run = memtable(url, &["tables"], None);
    assert_eq!(run.stdout, "settings\tcrm\nsettings\tmail\n", "{run:?}");
    let run = memtable(url, &["--plugin", "mail", "schema", "settings"], None);
    assert_eq!(run.status, 0, "{run:?}");
    let printed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        printed,
        serde_json::from_str::<Value>(MAIL_SETTINGS).unwrap()
    );
    let run = memtable(url, &["schema", "settings"], None);
    assert_eq!(run.status, 1, "{run:?}");
    let run = memtable(url, &["--plugin", "spy", "tables"], None);
    assert_eq!((run.status, run.stdout.as_str()), (0, ""), "{run:?}");
    // A plugin name that is not an identifier.
    failed(
        &memtable(url, &["--plugin", "no such", "exec", "list_tables"], None),
        1,
        "invalid_identifier",
    );
}

/// The `where` forms of the write executors and the `transaction` executor, from a shell.
fn exec_writes_by_filter_and_transactions(db: &Database) {
    let url = db.url.as_str();
    succeeded(&memtable(url, &["exec", "create_table", NOTES], None));
    for body in ["a", "b", "c"] {
        let insert = json!({"tableName": "notes", "data": {"body": body, "done": false}});
        succeeded(&memtable(
            url,
            &["exec", "insert_into_table", &insert.to_string()],
            None,
        ));
    }
    let data = succeeded(&memtable(
        url,
        &[
            "exec",
            "update_table_record",
            r#"{"tableName": "notes", "where": {"$or": [{"body": "a"}, {"body": "b"}]}, "data": {"done": true}}"#,
        ],
        None,
    ));
    assert_eq!(data["updated"], 2);
    let data = succeeded(&memtable(
        url,
        &[
            "exec",
            "delete_from_table",
            r#"{"tableName": "notes", "where": {"done": true, "$not": {"body": "a"}}}"#,
        ],
        None,
    ));
    assert_eq!(data["deleted"], 1);
    let error = failed(
        &memtable(
            url,
            &[
                "exec",
                "delete_from_table",
                r#"{"tableName": "notes", "where": {}}"#,
            ],
            None,
        ),
        1,
        "invalid_params",
    );
    assert_eq!(error["executor"], "delete_from_table");

    // A transaction: every operation, or (operation 1 failing) none.
    let moved = r#"{"operations": [
        {"executor": "delete_from_table", "params": {"tableName": "notes", "id": 1}},
        {"executor": "insert_into_table", "params": {"tableName": "notes", "data": {"body": "a2"}}},
        {"executor": "query_table", "params": {"tableName": "notes", "queryOptions": {"orderBy": "id"}}}
    ]}"#;
    let data = succeeded(&memtable(url, &["exec", "transaction", "-"], Some(moved)));
    let results = data["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[1]["id"], "4");
    assert_eq!(results[2]["count"], 2);
    let failing = r#"{"operations": [
        {"executor": "insert_into_table", "params": {"tableName": "notes", "data": {"body": "lost"}}},
        {"executor": "update_table_record", "params": {"tableName": "notes", "id": 99, "data": {"body": "x"}}}
    ]}"#;
    let error = failed(
        &memtable(url, &["exec", "transaction", failing], None),
        1,
        "record_not_found",
    );
    assert_eq!(error["operation"], 1);
    let dropping =
        r#"{"operations": [{"executor": "drop_table", "params": {"tableName": "notes"}}]}"#;
    let error = failed(
        &memtable(url, &["exec", "transaction", dropping], None),
        1,
        "invalid_params",
    );
    assert_eq!(error["operation"], 0);
    let data = succeeded(&memtable(
        url,
        &[
            "exec",
            "query_table",
            r#"{"tableName": "notes", "queryOptions": {"orderBy": "id"}}"#,
        ],
        None,
    ));
    let bodies: Vec<&str> = data["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["c", "a2"]);
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                let db = super::common::Database::sqlite();
                super::$name(&db);
            }

            #[test]
            fn postgres() {
                let Some(db) = super::common::Database::postgres(stringify!($name)) else {
                    return;
                };
                super::$name(&db);
            }
        }
    )*};
}

/// `sync_table` from a shell: created, then grown by a column with a default and an index (the
/// row already there gets the default), then a no-op, then a refusal listing each difference.
fn exec_sync_table(db: &Database) {
    let url = db.url.as_str();
    let v1 = json!({"name": "notes", "columns": [
        {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
        {"name": "body", "type": "text", "constraints": ["not_null"]}]});
    let mut v2 = v1.clone();
    v2["columns"].as_array_mut().unwrap().push(
        json!({"name": "stars", "type": "integer", "constraints": ["not_null"], "default": 0}),
    );
    v2["indexes"] = json!([{"name": "idx_notes_stars", "columns": ["stars"]}]);
    let data = succeeded(&memtable(
        url,
        &["exec", "sync_table", &v1.to_string()],
        None,
    ));
    assert_eq!(data["created"], true, "{data}");
    succeeded(&memtable(
        url,
        &[
            "exec",
            "insert_into_table",
            r#"{"tableName": "notes", "data": {"body": "old"}}"#,
        ],
        None,
    ));
    let data = succeeded(&memtable(
        url,
        &["exec", "sync_table", "-"],
        Some(&v2.to_string()),
    ));
    assert_eq!(
        data,
        json!({"tableName": "notes", "created": false, "addedColumns": ["stars"],
               "addedIndexes": ["idx_notes_stars"], "message": data["message"]})
    );
    let data = succeeded(&memtable(
        url,
        &["exec", "sync_table", &v2.to_string()],
        None,
    ));
    assert_eq!(data["addedColumns"], json!([]));
    let data = succeeded(&memtable(
        url,
        &["exec", "query_table", r#"{"tableName": "notes"}"#],
        None,
    ));
    assert_eq!(
        data["results"],
        json!([{"id": 1, "body": "old", "stars": 0}])
    );
    let v3 = json!({"name": "notes", "columns": [
        {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
        {"name": "stars", "type": "text", "constraints": ["not_null"], "default": "0"}]});
    let error = failed(
        &memtable(url, &["exec", "sync_table", &v3.to_string()], None),
        1,
        "schema_mismatch",
    );
    assert_eq!(
        error["differences"],
        json!([
            "column \"body\" is missing",
            "column \"stars\" is integer, not text",
            "index \"idx_notes_stars\" is missing"
        ]),
        "{error}"
    );
}

/// An insert with an idempotency key, run twice as two processes: one row, the same id; the
/// same key with another body fails as `invalid_params`.
fn exec_with_an_idempotency_key(db: &Database) {
    let url = db.url.as_str();
    succeeded(&memtable(url, &["exec", "create_table", NOTES], None));
    let insert = r#"{"tableName": "notes", "data": {"body": "once"}, "idempotencyKey": "cli-1"}"#;
    let first = succeeded(&memtable(url, &["exec", "insert_into_table", insert], None));
    let again = succeeded(&memtable(url, &["exec", "insert_into_table", insert], None));
    assert_eq!(again, first, "the second process replays the first's data");
    let other = r#"{"tableName": "notes", "data": {"body": "twice"}, "idempotencyKey": "cli-1"}"#;
    let error = failed(
        &memtable(url, &["exec", "insert_into_table", other], None),
        1,
        "invalid_params",
    );
    assert_eq!(error["kind"], "invalid_params", "{error}");
    let found = succeeded(&memtable(
        url,
        &["exec", "query_table", r#"{"tableName": "notes"}"#],
        None,
    ));
    assert_eq!(found["count"], 1, "{found}");
    assert_eq!(
        found["results"][0]["id"].to_string(),
        first["id"].as_str().unwrap()
    );
}

on_both_backends!(
    exec_runs_every_executor,
    exec_with_an_idempotency_key,
    exec_exit_codes,
    plugin_scopes,
    exec_writes_by_filter_and_transactions,
    namespaces,
    exec_sync_table
);

#[test]
fn parameters_too_deep_for_the_parser_are_limit_exceeded() {
    // Past the store's depth limit (64 + the parameters' own levels) and past serde_json's
    // recursion limit (128): both `limit_exceeded`, the same failure for the same fault.
    for depth in [100, 200, 5_000] {
        let doc = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let params = format!(r#"{{"tableName": "t", "data": {{"doc": {doc}}}}}"#);
        let run = memtable(
            "sqlite::memory:",
            &["exec", "insert_into_table", "-"],
            Some(&params),
        );
        let error = failed(&run, 1, "limit_exceeded");
        assert_eq!(error["limit"], "json_depth", "{depth}: {run:?}");
        assert!(
            error["actual"].as_u64().unwrap() > error["max"].as_u64().unwrap(),
            "{run:?}"
        );
    }
}

#[test]
fn executors_prints_the_registry() {
    let run = memtable("sqlite::memory:", &["executors"], None);
    assert_eq!(run.status, 0, "{run:?}");
    let definitions: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = definitions
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, memtable::executor::EXECUTOR_NAMES);
    for definition in &definitions {
        assert!(definition["description"].as_str().unwrap().len() > 40);
        assert_eq!(definition["parameters"]["type"], "object");
        assert!(definition["readOnly"].is_boolean());
        assert!(definition["destructive"].is_boolean());
    }
    let run = memtable("sqlite::memory:", &["--read-only", "executors"], None);
    let definitions: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = definitions
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, memtable::executor::READ_ONLY_EXECUTOR_NAMES);
}

#[test]
fn the_database_comes_from_the_environment_else_memtable_db() {
    let dir = tempfile::tempdir().unwrap();
    let table_exists = ["exec", "table_exists", r#"{"tableName": "t"}"#];

    // Nothing set: sqlite://memtable.db in the working directory.
    let run = memtable_in(dir.path(), None, &[], &table_exists, None);
    succeeded(&run);
    assert!(dir.path().join("memtable.db").exists());

    // DATABASE_URL, overridden by MEMTABLE_DATABASE_URL, overridden by --database.
    let url = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let run = memtable_in(
        dir.path(),
        None,
        &[("DATABASE_URL", &url("from_database_url.db"))],
        &table_exists,
        None,
    );
    succeeded(&run);
    assert!(dir.path().join("from_database_url.db").exists());
    let run = memtable_in(
        dir.path(),
        None,
        &[
            ("DATABASE_URL", &url("not_this.db")),
            ("MEMTABLE_DATABASE_URL", &url("from_memtable_url.db")),
        ],
        &table_exists,
        None,
    );
    succeeded(&run);
    assert!(dir.path().join("from_memtable_url.db").exists());
    assert!(!dir.path().join("not_this.db").exists());
    let flag = url("from_flag.db");
    let run = memtable_in(
        dir.path(),
        Some(&flag),
        &[("MEMTABLE_DATABASE_URL", &url("not_this_either.db"))],
        &table_exists,
        None,
    );
    succeeded(&run);
    assert!(dir.path().join("from_flag.db").exists());
    assert!(!dir.path().join("not_this_either.db").exists());
}

#[test]
fn a_database_that_cannot_be_opened_is_a_failed_result() {
    let run = memtable(
        "mysql://nowhere",
        &["exec", "table_exists", r#"{"tableName": "t"}"#],
        None,
    );
    let error = failed(&run, 1, "connection");
    assert_eq!(error["transient"], false);
    let run = memtable("mysql://nowhere", &["tables"], None);
    assert_eq!(run.status, 1, "{run:?}");
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("error"), "{run:?}");
}

/// A role that may only read (set up by `scripts/test`): the inspection commands and the
/// read executors work on tables another role created; a write fails as `permission_denied`.
#[test]
fn a_read_only_role_inspects_and_queries() {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(owner), Some(reader)) = (
        var("MEMTABLE_TEST_POSTGRES_OWNER_URL"),
        var("MEMTABLE_TEST_POSTGRES_READER_URL"),
    ) else {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v.is_empty()),
            "the roles of scripts/test must be there in CI"
        );
        return;
    };
    let table = format!("cli_notes_{}", std::process::id());
    let schema = NOTES.replacen("\"notes\"", &format!("\"{table}\""), 1);
    succeeded(&memtable(&owner, &["exec", "create_table", &schema], None));
    let insert = format!(r#"{{"tableName": "{table}", "data": {{"body": "hi", "done": true}}}}"#);
    succeeded(&memtable(
        &owner,
        &["exec", "insert_into_table", &insert],
        None,
    ));

    let run = memtable(&reader, &["tables"], None);
    assert_eq!(run.status, 0, "{run:?}");
    assert!(run.stdout.lines().any(|line| line == table), "{run:?}");
    let run = memtable(&reader, &["schema", &table], None);
    assert_eq!(run.status, 0, "{run:?}");
    let found: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(found, serde_json::from_str::<Value>(&schema).unwrap());
    let exists = format!(r#"{{"tableName": "{table}"}}"#);
    let data = succeeded(&memtable(
        &reader,
        &["--read-only", "exec", "table_exists", &exists],
        None,
    ));
    assert_eq!(data["exists"], true);
    let data = succeeded(&memtable(
        &reader,
        &["--read-only", "exec", "query_table", &exists],
        None,
    ));
    assert_eq!(data["results"][0]["done"], true);
    let error = failed(
        &memtable(&reader, &["exec", "insert_into_table", &insert], None),
        1,
        "permission_denied",
    );
    assert_eq!(error["table"], table.as_str());
    assert_eq!(error["operation"], "insert_into_table");
}

#[test]
fn odd_input_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("odd.db").display());
    let long = "x".repeat(100_000);
    let nested = "[".repeat(10_000);
    let cases: Vec<Vec<String>> = vec![
        vec!["exec".into(), "query_table".into(), long.clone()],
        vec!["exec".into(), long.clone(), "{}".into()],
        vec!["exec".into(), "query_table".into(), nested.clone()],
        vec![
            "exec".into(),
            "query_table".into(),
            r#"{"tableName": "\u0000"}"#.into(),
        ],
        vec!["exec".into(), "create_table".into(), "[]".into()],
        vec!["exec".into(), "create_table".into(), "1e999".into()],
        vec!["schema".into(), long.clone()],
        vec!["schema".into(), "bad name".into()],
        vec!["--plugin".into(), long.clone(), "tables".into()],
    ];
    for args in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = memtable(&url, &args, None);
        assert!(
            matches!(run.status, 0..=2),
            "{:?}: {run:?}",
            &args
                .iter()
                .map(|a| &a[..a.len().min(40)])
                .collect::<Vec<_>>()
        );
        assert!(!run.stderr.contains("panicked"), "{run:?}");
    }
    // NUL and invalid UTF-8 on stdin.
    for input in ["\u{0}", "{\"tableName\": \"a\u{0}b\"}"] {
        let run = memtable(&url, &["exec", "query_table", "-"], Some(input));
        assert!(matches!(run.status, 1 | 2), "{run:?}");
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_memtable"))
        .args(["--database", &url, "exec", "query_table", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"{\"tableName\": \"\xff\"}")?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    // Arguments that are not UTF-8.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_memtable"))
            .arg("--database")
            .arg(&url)
            .arg("exec")
            .arg("query_table")
            .arg(std::ffi::OsStr::from_bytes(b"{\"tableName\": \"\xff\"}"))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    }
}

#[test]
fn concurrent_processes_write_one_sqlite_file() {
    // 8 writers at once, each running `memtable exec` 100 times on the same new file (whose
    // catalog and table they all create at the start): no failure, no row lost.
    let db = Database::sqlite();
    let notes = r#"{"name": "notes", "columns": [
        {"name": "id", "type": "text", "constraints": ["primary_key"]},
        {"name": "body", "type": "text"}]}"#;
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let url = db.url.clone();
            std::thread::spawn(move || {
                succeeded(&memtable(&url, &["exec", "create_table", notes], None));
                for i in 0..100 {
                    let params = json!({"tableName": "notes",
                        "data": {"id": format!("w{writer}-{i}"), "body": "x"}});
                    let run = memtable(
                        &url,
                        &["exec", "insert_into_table", &params.to_string()],
                        None,
                    );
                    assert_eq!(succeeded(&run)["id"], format!("w{writer}-{i}"));
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let data = succeeded(&memtable(
        &db.url,
        &[
            "--max-rows",
            "1000",
            "exec",
            "query_table",
            r#"{"tableName": "notes"}"#,
        ],
        None,
    ));
    assert_eq!(data["count"], 800);
}

#[test]
fn max_rows_caps_query_table() {
    let db = Database::sqlite();
    let url = db.url.as_str();
    succeeded(&memtable(url, &["exec", "create_table", NOTES], None));
    for body in ["a", "b", "c"] {
        let params = json!({"tableName": "notes", "data": {"body": body}}).to_string();
        succeeded(&memtable(
            url,
            &["exec", "insert_into_table", &params],
            None,
        ));
    }
    let data = succeeded(&memtable(
        url,
        &[
            "--max-rows",
            "2",
            "exec",
            "query_table",
            r#"{"tableName": "notes"}"#,
        ],
        None,
    ));
    assert_eq!(
        (
            data["count"].as_u64(),
            data["truncated"].as_bool(),
            data["limit"].as_u64()
        ),
        (Some(2), Some(true), Some(2))
    );
    let data = succeeded(&memtable(
        url,
        &["exec", "query_table", r#"{"tableName": "notes"}"#],
        None,
    ));
    assert_eq!(data["count"], 3);
    assert!(data.get("truncated").is_none());
}

#[test]
fn help_shows_every_command_with_an_example() {
    let run = memtable_in(&std::env::temp_dir(), None, &[], &["--help"], None);
    assert_eq!(run.status, 0, "{run:?}");
    let (commands, examples) = run.stdout.split_once("Examples:").unwrap();
    for command in [
        "exec",
        "tables",
        "schema",
        "executors",
        "mcp",
        "export",
        "import",
        "copy",
    ] {
        assert!(
            commands
                .lines()
                .any(|l| l.trim_start().starts_with(command)),
            "{command} listed: {run:?}"
        );
        assert!(
            examples
                .lines()
                .any(|l| l.trim_start().starts_with("memtable")
                    && l.contains(&format!(" {command}"))),
            "an example of {command}: {run:?}"
        );
        let help = memtable_in(&std::env::temp_dir(), None, &[], &["help", command], None);
        assert!(help.stdout.contains("Example"), "{command}: {help:?}");
    }
    assert!(examples.contains("cargo install --path memtable --features cli"));
}
