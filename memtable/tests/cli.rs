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
    let data = succeeded(&memtable(
        url,
        &["exec", "query_table", r#"{"tableName": "notes"}"#],
        None,
    ));
    assert_eq!(data["count"], 1);
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

on_both_backends!(exec_runs_every_executor, exec_exit_codes, plugin_scopes);

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
    assert_eq!(names, ["query_table", "table_exists"]);
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
