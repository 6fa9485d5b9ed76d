//! `memtable export`, `import` and `copy` as real processes, on a SQLite file and PostgreSQL:
//! round trips that read back exactly (every column type, bigint extremes, blobs, json,
//! unicode, nulls), copies SQLite → PostgreSQL → SQLite with owners, and the bad inputs, each
//! failing with nothing changed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{Database, Run, memtable};
use serde_json::{Value, json};

const EVERY_TYPE: &str = r#"{"name": "every_type", "columns": [
    {"name": "id", "type": "text", "constraints": ["primary_key"]},
    {"name": "i", "type": "integer"},
    {"name": "b", "type": "bigint"},
    {"name": "r", "type": "real"},
    {"name": "raw", "type": "blob"},
    {"name": "doc", "type": "json"},
    {"name": "flag", "type": "boolean"},
    {"name": "t", "type": "text"}],
  "indexes": [{"name": "idx_every_type_b", "columns": ["b"]}]}"#;

const COUNTERS: &str = r#"{"name": "counters", "columns": [
    {"name": "id", "type": "bigint", "constraints": ["primary_key", "auto_increment"]},
    {"name": "n", "type": "integer", "constraints": ["not_null"]}]}"#;

/// Rows of `every_type`: the extremes and oddities first, then plain rows past one page.
fn every_type_rows(plain: usize) -> Vec<Value> {
    let mut rows = vec![
        json!({"id": "max", "i": i32::MAX, "b": i64::MAX, "r": 1.5e300, "raw": "AAEC/w==",
               "doc": {"nested": [1, "two", null, {"three": true}], "big": i64::MIN},
               "flag": true, "t": "ünïcödé ✓ 🚀 \"quoted\" \\ \n new line"}),
        json!({"id": "min", "i": i32::MIN, "b": i64::MIN, "r": -0.000_123_456_789, "raw": "",
               "doc": [], "flag": false, "t": ""}),
        json!({"id": "nulls", "i": null, "b": null, "r": null, "raw": null, "doc": null,
               "flag": null, "t": null}),
        json!({"id": "json_scalars", "i": 0, "b": 0, "r": 0.0, "raw": "AA==",
               "doc": "a string", "flag": true, "t": "x"}),
        json!({"id": "日本語", "i": -1, "b": 9_007_199_254_740_993i64, "r": 3.25,
               "raw": "/////w==", "doc": 12.5, "flag": false, "t": "key in unicode"}),
    ];
    rows.extend((0..plain).map(|n| {
        json!({"id": format!("row{n:05}"), "i": n, "b": (n as i64) * 1_000_000_007,
               "r": n as f64 / 8.0, "raw": "AQID", "doc": {"n": n}, "flag": n % 2 == 0,
               "t": format!("plain {n}")})
    }));
    rows
}

fn jsonl(rows: &[Value]) -> String {
    rows.iter().map(|row| format!("{row}\n")).collect()
}

fn ok(run: &Run) {
    assert_eq!(run.status, 0, "{run:?}");
}

/// A SQLite file whose `every_type` holds [`every_type_rows`]`(plain)`, imported in `dir`.
fn every_type_source(dir: &Path, plain: usize) -> Database {
    let source = Database::sqlite();
    ok(&memtable(
        &source.url,
        &["exec", "create_table", EVERY_TYPE],
        None,
    ));
    let file = write_file(dir, "rows.jsonl", &jsonl(&every_type_rows(plain)));
    ok(&memtable(
        &source.url,
        &["import", "every_type", &file],
        None,
    ));
    source
}

/// The records an export printed, in its order.
fn exported(run: &Run) -> Vec<Value> {
    ok(run);
    run.stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// `rows` as an export writes them: in key order, every column present.
fn by_key(rows: &[Value]) -> Vec<Value> {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    rows
}

fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn count(url: &str, table: &str) -> u64 {
    let params = json!({"tableName": table}).to_string();
    let run = memtable(
        url,
        &["--max-rows", "100000", "exec", "query_table", &params],
        None,
    );
    ok(&run);
    run.json()["data"]["count"].as_u64().unwrap()
}

fn export_import_round_trip(db: &Database) {
    let dir = tempfile::tempdir().unwrap();
    let url = db.url.as_str();
    ok(&memtable(url, &["exec", "create_table", EVERY_TYPE], None));
    let rows = every_type_rows(2_500);
    let file = write_file(dir.path(), "in.jsonl", &jsonl(&rows));
    let run = memtable(url, &["import", "every_type", &file], None);
    ok(&run);
    assert!(run.stderr.contains("imported 2505"), "{run:?}");

    let first = exported(&memtable(url, &["export", "every_type"], None));
    // PostgreSQL orders text keys by its collation, SQLite by bytes: compare as sets of rows,
    // and each export against itself for order.
    let mut sorted = first.clone();
    sorted.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    assert_eq!(sorted, by_key(&rows));

    // Into a second database (always a SQLite file) and out again: the same lines.
    let second = Database::sqlite();
    ok(&memtable(
        &second.url,
        &["exec", "create_table", EVERY_TYPE],
        None,
    ));
    let run = memtable(
        &second.url,
        &["import", "every_type", "-"],
        Some(&first.iter().map(|r| format!("{r}\n")).collect::<String>()),
    );
    ok(&run);
    let again = exported(&memtable(&second.url, &["export", "every_type"], None));
    let mut again_sorted = again.clone();
    again_sorted.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    assert_eq!(again_sorted, sorted);

    // --output writes the same lines to a file.
    let out = dir.path().join("out.jsonl");
    let run = memtable(
        url,
        &["export", "every_type", "--output", out.to_str().unwrap()],
        None,
    );
    ok(&run);
    assert!(run.stdout.is_empty(), "{run:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), jsonl(&first));

    // Generated keys come back as they were when they run 1..n.
    ok(&memtable(url, &["exec", "create_table", COUNTERS], None));
    let counters: Vec<Value> = (1..=1_200)
        .map(|id| json!({"id": id, "n": id * 3}))
        .collect();
    let file = write_file(dir.path(), "counters.jsonl", &jsonl(&counters));
    ok(&memtable(url, &["import", "counters", &file], None));
    assert_eq!(
        exported(&memtable(url, &["export", "counters"], None)),
        counters
    );
}

fn bad_lines_import_nothing(db: &Database) {
    let dir = tempfile::tempdir().unwrap();
    let url = db.url.as_str();
    ok(&memtable(url, &["exec", "create_table", EVERY_TYPE], None));
    let good = jsonl(&every_type_rows(3));
    let cases = [
        (
            "not JSON",
            format!("{good}{{\"id\": \"x\",\n"),
            9,
            "not JSON",
        ),
        (
            "unknown column",
            format!("{good}{{\"id\": \"x\", \"nope\": 1}}\n"),
            9,
            "nope",
        ),
        (
            "wrong type",
            format!("{{\"id\": \"y\", \"i\": \"abc\"}}\n{good}"),
            1,
            "\"i\"",
        ),
        ("not an object", format!("{good}\n[1, 2]\n"), 10, "object"),
    ];
    for (what, text, line, names) in cases {
        let file = write_file(dir.path(), "bad.jsonl", &text);
        let run = memtable(url, &["import", "every_type", &file], None);
        assert_eq!(run.status, 1, "{what}: {run:?}");
        assert!(
            run.stderr.contains(&format!("line {line}:")),
            "{what}: {run:?}"
        );
        assert!(run.stderr.contains(names), "{what}: {run:?}");
        assert!(
            run.stderr.contains("nothing was imported"),
            "{what}: {run:?}"
        );
        assert_eq!(count(url, "every_type"), 0, "{what}");
    }
    // A duplicate key fails in the database: nothing of the batch stays.
    let rows = every_type_rows(3);
    let file = write_file(
        dir.path(),
        "dup.jsonl",
        &(jsonl(&rows) + &format!("{}\n", rows[0])),
    );
    let run = memtable(url, &["import", "every_type", &file], None);
    assert_eq!(run.status, 1, "{run:?}");
    assert_eq!(count(url, "every_type"), 0);
    // A missing table, a missing file.
    let file = write_file(dir.path(), "ok.jsonl", &good);
    let run = memtable(url, &["import", "missing", &file], None);
    assert_eq!(run.status, 1, "{run:?}");
    assert!(run.stderr.contains("missing"), "{run:?}");
    let run = memtable(url, &["import", "every_type", "/nonexistent/x.jsonl"], None);
    assert_eq!(run.status, 1, "{run:?}");
    assert_eq!(count(url, "every_type"), 0);
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

on_both_backends!(export_import_round_trip, bad_lines_import_nothing);

/// The tables `memtable tables` lists on the host: each name with its owner (after a tab).
fn listed(url: &str) -> Vec<(String, Option<String>)> {
    let run = memtable(url, &["tables"], None);
    ok(&run);
    let mut tables: Vec<(String, Option<String>)> = run
        .stdout
        .lines()
        .map(|line| match line.split_once('\t') {
            Some((name, owner)) => (name.to_owned(), Some(owner.to_owned())),
            None => (line.to_owned(), None),
        })
        .collect();
    tables.sort();
    tables
}

/// The arguments that address a table of `owner`: its plugin's scope, if it has one.
fn scope(owner: &Option<String>) -> Vec<&str> {
    match owner {
        Some(owner) => vec!["--plugin", owner.as_str()],
        None => Vec::new(),
    }
}

/// Every table of `url` exported, sorted by key, by name (and owner).
fn snapshot(url: &str) -> Vec<(String, Vec<Value>)> {
    listed(url)
        .into_iter()
        .map(|(table, owner)| {
            let mut args = scope(&owner);
            args.extend(["export", table.as_str()]);
            let mut rows = exported(&memtable(url, &args, None));
            rows.sort_by_key(|row| row["id"].to_string());
            (format!("{table} {owner:?}"), rows)
        })
        .collect()
}

fn schemas(url: &str) -> Vec<Value> {
    listed(url)
        .iter()
        .map(|(table, owner)| {
            let mut args = scope(owner);
            args.extend(["schema", table.as_str()]);
            let run = memtable(url, &args, None);
            ok(&run);
            serde_json::from_str(&run.stdout).unwrap()
        })
        .collect()
}

fn plugin_tables(url: &str, plugin: &str) -> Vec<String> {
    let run = memtable(url, &["--plugin", plugin, "tables"], None);
    ok(&run);
    let mut tables: Vec<String> = run.stdout.lines().map(str::to_owned).collect();
    tables.sort();
    tables
}

#[test]
fn copy_sqlite_to_postgres_to_sqlite_is_exact() {
    let Some(pg) = Database::postgres("copy_round_trip") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = every_type_source(dir.path(), 1_500);
    // Owned tables: the plugins' own.
    ok(&memtable(
        &source.url,
        &["--plugin", "p1", "exec", "create_table", COUNTERS],
        None,
    ));
    let counters: Vec<Value> = (1..=10).map(|id| json!({"id": id, "n": id})).collect();
    let file = write_file(dir.path(), "counters.jsonl", &jsonl(&counters));
    ok(&memtable(
        &source.url,
        &["--plugin", "p1", "import", "counters", &file],
        None,
    ));
    let settings = r#"{"name": "settings", "columns": [
        {"name": "id", "type": "text", "constraints": ["primary_key"]},
        {"name": "value", "type": "json"}]}"#;
    ok(&memtable(
        &source.url,
        &["--plugin", "p2", "exec", "create_table", settings],
        None,
    ));
    ok(&memtable(
        &source.url,
        &[
            "--plugin",
            "p2",
            "exec",
            "insert_into_table",
            r#"{"tableName": "settings", "data": {"id": "theme", "value": {"dark": true}}}"#,
        ],
        None,
    ));
    let expected = snapshot(&source.url);
    assert_eq!(expected.len(), 3);

    let run = memtable(&source.url, &["copy", "--to", &pg.url], None);
    ok(&run);
    assert!(
        run.stderr.contains("copied every_type: 1505 row(s)"),
        "{run:?}"
    );
    assert_eq!(snapshot(&pg.url), expected);
    assert_eq!(schemas(&pg.url), schemas(&source.url));
    assert_eq!(plugin_tables(&pg.url, "p1"), ["counters"]);
    assert_eq!(plugin_tables(&pg.url, "p2"), ["settings"]);

    let back = Database::sqlite();
    let run = memtable(&pg.url, &["copy", "--to", &back.url], None);
    ok(&run);
    assert_eq!(snapshot(&back.url), expected);
    assert_eq!(schemas(&back.url), schemas(&source.url));
    assert_eq!(plugin_tables(&back.url, "p1"), ["counters"]);
    assert_eq!(plugin_tables(&back.url, "p2"), ["settings"]);
    // The copied generated keys go on from where they were.
    let run = memtable(
        &back.url,
        &[
            "--plugin",
            "p1",
            "exec",
            "insert_into_table",
            r#"{"tableName": "counters", "data": {"n": 11}}"#,
        ],
        None,
    );
    ok(&run);
    assert_eq!(run.json()["data"]["id"], "11");
}

fn refused_copies(db: &Database) {
    let dir = tempfile::tempdir().unwrap();
    let source = Database::sqlite();
    ok(&memtable(
        &source.url,
        &["exec", "create_table", EVERY_TYPE],
        None,
    ));
    ok(&memtable(
        &source.url,
        &["exec", "create_table", COUNTERS],
        None,
    ));
    let file = write_file(dir.path(), "rows.jsonl", &jsonl(&every_type_rows(5)));
    ok(&memtable(
        &source.url,
        &["import", "every_type", &file],
        None,
    ));

    // The destination's counters already holds a row: refused, nothing created or written.
    ok(&memtable(
        &db.url,
        &["exec", "create_table", COUNTERS],
        None,
    ));
    ok(&memtable(
        &db.url,
        &[
            "exec",
            "insert_into_table",
            r#"{"tableName": "counters", "data": {"n": 1}}"#,
        ],
        None,
    ));
    let run = memtable(&source.url, &["copy", "--to", &db.url], None);
    assert_eq!(run.status, 1, "{run:?}");
    assert!(
        run.stderr.contains("\"counters\"") && run.stderr.contains("already holds 1 row"),
        "{run:?}"
    );
    let run = memtable(&db.url, &["tables"], None);
    assert_eq!(
        run.stdout.trim(),
        "counters",
        "nothing else created: {run:?}"
    );
    assert_eq!(count(&db.url, "counters"), 1);

    // An unknown scheme: refused before anything is read or written.
    for to in ["mysql://localhost/db", "file:///tmp/x.db", "nonsense"] {
        let run = memtable(&source.url, &["copy", "--to", to], None);
        assert_eq!(run.status, 1, "{to}: {run:?}");
        assert!(run.stderr.contains("destination"), "{to}: {run:?}");
        assert!(
            run.stderr.contains("sqlite: or postgres://"),
            "{to}: {run:?}"
        );
    }
    // --plugin does not apply to a copy.
    let run = memtable(
        &source.url,
        &["--plugin", "p", "copy", "--to", &db.url],
        None,
    );
    assert_eq!(run.status, 2, "{run:?}");
}

/// A copy that fails midway (a source row the destination refuses, on the second page) writes
/// nothing into the table it was filling: each table is written in one transaction. The row is
/// put into the source file without memtable, which refuses a NUL in text on every write.
fn a_copy_failing_midway_leaves_the_table_empty(db: &Database) {
    let dir = tempfile::tempdir().unwrap();
    let source = every_type_source(dir.path(), 1_100);
    let path = source.url.trim_start_matches("sqlite://");
    rusqlite::Connection::open(path)
        .unwrap()
        .execute(
            "INSERT INTO every_type (id, t) VALUES ('zzz', 'a' || char(0) || 'b')",
            [],
        )
        .unwrap();
    ok(&memtable(
        &db.url,
        &["exec", "create_table", EVERY_TYPE],
        None,
    ));
    let run = memtable(&source.url, &["copy", "--to", &db.url], None);
    assert_eq!(run.status, 1, "{run:?}");
    assert!(run.stderr.contains("every_type"), "{run:?}");
    assert_eq!(count(&db.url, "every_type"), 0);
}

on_both_backends!(a_copy_failing_midway_leaves_the_table_empty, refused_copies);

#[test]
fn export_never_creates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none").join("x.db");
    let url = format!("sqlite://{}", path.display());
    let run = memtable(&url, &["export", "t"], None);
    assert_eq!(run.status, 1, "{run:?}");
    assert!(run.stderr.contains(&path.display().to_string()), "{run:?}");
    let run = memtable(&url, &["import", "t", "-"], Some("{}\n"));
    assert_eq!(run.status, 1, "{run:?}");
    assert!(run.stderr.contains(&path.display().to_string()), "{run:?}");
    assert!(!dir.path().join("none").exists());
    let run = memtable(&url, &["copy", "--to", "sqlite::memory:"], None);
    assert_eq!(run.status, 1, "{run:?}");
    assert!(!dir.path().join("none").exists());
}
