//! The command line never creates a database it only inspects or reads: `tables`, `schema`
//! and `--read-only` open read-only, a missing SQLite file is a failure naming it, and a write
//! mode that creates a new file says so on stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Database, memtable};
use serde_json::Value;

const NOTES: &str = r#"{"name": "notes", "columns": [
    {"name": "id", "type": "text", "constraints": ["primary_key"]},
    {"name": "body", "type": "text"}]}"#;

/// Every read-only command on `url` (naming the missing file `path`) fails, names it, and
/// creates nothing.
fn refused_and_named(url: &str, path: &str) {
    for args in [
        vec!["tables"],
        vec!["schema", "notes"],
        vec![
            "--read-only",
            "exec",
            "table_exists",
            r#"{"tableName": "notes"}"#,
        ],
        vec![
            "--read-only",
            "exec",
            "query_table",
            r#"{"tableName": "notes"}"#,
        ],
    ] {
        let run = memtable(url, &args, None);
        assert_eq!(run.status, 1, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains(path),
            "{args:?} names the file: {run:?}"
        );
        if args[0] == "--read-only" {
            let result = run.json();
            assert_eq!(result["data"]["error"]["kind"], "connection", "{run:?}");
            assert!(
                result["data"]["message"].as_str().unwrap().contains(path),
                "{run:?}"
            );
        }
    }
}

#[test]
fn a_missing_sqlite_file_is_named_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nonexistent").join("dir").join("x.db");
    let path = missing.display().to_string();
    refused_and_named(&format!("sqlite://{path}"), &path);
    assert!(!dir.path().join("nonexistent").exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // The path of the issue, at the root of the file system.
    let root = std::path::Path::new("/nonexistent");
    if !root.exists() {
        refused_and_named("sqlite:///nonexistent/dir/x.db", "/nonexistent/dir/x.db");
        assert!(!root.exists());
    }
}

#[test]
fn a_write_mode_that_creates_a_new_file_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sub").join("agent.db");
    let url = format!("sqlite://{}", file.display());
    let run = memtable(&url, &["exec", "create_table", NOTES], None);
    assert_eq!(run.status, 0, "{run:?}");
    let notes: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.contains("created a new SQLite database"))
        .collect();
    assert_eq!(notes.len(), 1, "{run:?}");
    assert!(notes[0].contains(&file.display().to_string()), "{run:?}");
    assert!(file.exists());

    // Not new any more: nothing said.
    let run = memtable(
        &url,
        &["exec", "table_exists", r#"{"tableName": "notes"}"#],
        None,
    );
    assert_eq!(run.status, 0, "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
}

/// On an existing database, the read-only commands work and leave it as it was: `tables` on a
/// database without a catalog does not create one.
fn read_only_commands_read(db: &Database) {
    let url = db.url.as_str();
    let run = memtable(url, &["tables"], None);
    assert_eq!(run.status, 0, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let run = memtable(
        url,
        &[
            "--read-only",
            "exec",
            "table_exists",
            r#"{"tableName": "memtable_tables"}"#,
        ],
        None,
    );
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(
        run.json()["data"]["exists"],
        false,
        "no catalog created: {run:?}"
    );

    assert_eq!(
        memtable(url, &["exec", "create_table", NOTES], None).status,
        0
    );
    let insert = r#"{"tableName": "notes", "data": {"id": "a", "body": "hi"}}"#;
    assert_eq!(
        memtable(url, &["exec", "insert_into_table", insert], None).status,
        0
    );
    let run = memtable(url, &["tables"], None);
    assert_eq!(run.stdout.trim(), "notes", "{run:?}");
    let run = memtable(url, &["schema", "notes"], None);
    let schema: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(schema, serde_json::from_str::<Value>(NOTES).unwrap());
    let run = memtable(
        url,
        &[
            "--read-only",
            "exec",
            "query_table",
            r#"{"tableName": "notes"}"#,
        ],
        None,
    );
    assert_eq!(run.json()["data"]["results"][0]["body"], "hi", "{run:?}");
    // A write executor is not in the read-only set at all.
    let run = memtable(
        url,
        &["--read-only", "exec", "insert_into_table", insert],
        None,
    );
    assert_eq!(run.status, 2, "{run:?}");
}

mod read_only_commands_read {
    #[test]
    fn sqlite() {
        let db = super::common::Database::sqlite();
        // The file exists (empty), as a database another process made.
        let path = db.url.strip_prefix("sqlite://").unwrap();
        std::fs::write(path, b"").unwrap();
        super::read_only_commands_read(&db);
    }

    #[test]
    fn postgres() {
        let Some(db) = super::common::Database::postgres("read_only_commands") else {
            return;
        };
        super::read_only_commands_read(&db);
    }
}
