//! Reliability under load and faults: concurrent writers (8 processes on one SQLite file; 32
//! tasks through one `Store` on each backend), processes killed with SIGKILL in the middle of
//! `insert_many`, `create_table` and a transaction, a PostgreSQL server stopped and restarted under an open
//! `Store`, a read-only SQLite file and a full disk.
//!
//! The child processes are this test binary itself, run as `<exe> --exact child` with the role
//! in `MEMTABLE_FAULTS_CHILD`; they report on stdout in lines starting with `CHILD `. Every wait
//! is bounded. Each test prints its figures on stderr (`cargo test -- --nocapture` shows them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use memtable::{
    Column, ColumnType, Constraint, Error, Filter, Index, OrderBy, QueryOptions, Record, Store,
    TableSchema, Value,
};
use memtable_tests::both_backends;
use sqlx::{AssertSqlSafe, Connection as _, Row as _};

const ROLE_VAR: &str = "MEMTABLE_FAULTS_CHILD";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

// ---- child processes ---------------------------------------------------------------------

/// Not a test of its own: the body of the child processes the tests start. Without its
/// environment variable it does nothing.
#[test]
fn child() {
    let Ok(role) = std::env::var(ROLE_VAR) else {
        return;
    };
    let runtime = runtime();
    runtime.block_on(async {
        match role.as_str() {
            "insert_rows" => child_insert_rows().await,
            "insert_many" => child_insert_many().await,
            "create_tables" => child_create_tables().await,
            "full_disk" => child_full_disk().await,
            "transaction_move" => child_transaction_move().await,
            other => panic!("unknown role {other}"),
        }
    });
}

fn report(line: &str) {
    println!("CHILD {line}");
}

fn rows_schema() -> TableSchema {
    TableSchema::new(
        "shared_rows",
        vec![
            Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey),
            Column::new("worker", ColumnType::Integer).with(Constraint::NotNull),
            Column::new("seq", ColumnType::Integer).with(Constraint::NotNull),
            Column::new("body", ColumnType::Text),
        ],
    )
    .with_index(Index::new(
        "idx_shared_rows_worker",
        ["worker", "seq"],
        true,
    ))
}

/// Connects, creates the shared table, says `ready`, waits for the go file, then inserts
/// `COUNT` rows one statement at a time, counting the errors (nothing is retried).
async fn child_insert_rows() {
    let (url, worker, count, go) = (env("URL"), env("WORKER"), env("COUNT"), env("GO"));
    let worker: i64 = worker.parse().unwrap();
    let count: i64 = count.parse().unwrap();
    let setup = async {
        let store = Store::connect(&url).await?;
        store.create_table(&rows_schema()).await?;
        Ok::<_, Error>(store)
    };
    let store = match setup.await {
        Ok(store) => store,
        Err(error) => {
            report(&format!("done inserted=0 errors={count} setup={error}"));
            return;
        }
    };
    report("ready");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !Path::new(&go).exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut errors = 0;
    for seq in 0..count {
        let record = Record::new()
            .with("id", format!("w{worker}-{seq}"))
            .with("worker", worker)
            .with("seq", seq)
            .with("body", "x".repeat(100));
        if let Err(error) = store.insert_into_table("shared_rows", record).await {
            errors += 1;
            eprintln!("worker {worker} row {seq}: {error}");
        }
    }
    report(&format!("done inserted={} errors={errors}", count - errors));
}

fn bulk_schema(table: &str) -> TableSchema {
    TableSchema::new(
        table,
        vec![
            Column::new("id", ColumnType::Integer).with(Constraint::PrimaryKey),
            Column::new("body", ColumnType::Text).with(Constraint::NotNull),
            Column::new("n", ColumnType::Bigint),
        ],
    )
}

/// Creates `TABLE`, builds `ROWS` records, says `started` and inserts them in one call.
async fn child_insert_many() {
    let (url, table, rows) = (env("URL"), env("TABLE"), env("ROWS"));
    let rows: i64 = rows.parse().unwrap();
    let store = Store::connect(&url).await.unwrap();
    store.create_table(&bulk_schema(&table)).await.unwrap();
    let records: Vec<Record> = (0..rows)
        .map(|i| {
            Record::new()
                .with("id", i)
                .with("body", format!("row {i} of a batch"))
                .with("n", i * 7)
        })
        .collect();
    report("started");
    match store.insert_many_into_table(&table, records).await {
        Ok(ids) => report(&format!("committed {}", ids.len())),
        Err(error) => report(&format!("failed {error}")),
    }
}

/// The two tables rows move between in a transaction.
fn move_schema(table: &str) -> TableSchema {
    TableSchema::new(
        table,
        vec![
            Column::new("id", ColumnType::Integer).with(Constraint::PrimaryKey),
            Column::new("body", ColumnType::Text).with(Constraint::NotNull),
        ],
    )
}

const MOVE_ROWS: i64 = 200;

/// Moves every row of `moves_from` to `moves_to` in one transaction, a delete and an insert
/// per row: says `moving`, `halfway` (then waits `PAUSE_MS`, the transaction open),
/// `committing` and `committed`.
async fn child_transaction_move() {
    let (url, pause) = (env("URL"), env("PAUSE_MS"));
    let pause = Duration::from_millis(pause.parse().unwrap());
    let store = Store::connect(&url).await.unwrap();
    let tx = store.begin().await.unwrap();
    report("moving");
    for id in 0..MOVE_ROWS {
        let key = id.to_string();
        tx.delete_from_table("moves_from", &key).await.unwrap();
        let row = Record::new()
            .with("id", id)
            .with("body", format!("row {id}"));
        tx.insert_into_table("moves_to", row).await.unwrap();
        if id == MOVE_ROWS / 2 {
            report("halfway");
            tokio::time::sleep(pause).await;
        }
    }
    report("committing");
    tx.commit().await.unwrap();
    report("committed");
}

fn indexed_schema(i: u64) -> TableSchema {
    let mut schema = TableSchema::new(
        format!("made_{i}"),
        (0..12)
            .map(|c| {
                let column = Column::new(format!("c{c}"), ColumnType::Text);
                if c == 0 {
                    column.with(Constraint::PrimaryKey)
                } else {
                    column
                }
            })
            .collect(),
    );
    for x in 1..6 {
        schema = schema.with_index(Index::new(
            format!("idx_made_{i}_{x}"),
            [format!("c{x}"), format!("c{}", x + 5)],
            x % 2 == 0,
        ));
    }
    schema
}

/// Creates tables `made_START`, `made_START+1`, ... until killed, saying `created i` after
/// each.
async fn child_create_tables() {
    let (url, start) = (env("URL"), env("START"));
    let start: u64 = start.parse().unwrap();
    let store = Store::connect(&url).await.unwrap();
    report("connected");
    for i in start..start + 10_000 {
        store.create_table(&indexed_schema(i)).await.unwrap();
        report(&format!("created {i}"));
    }
}

/// In a mount namespace of its own: mounts a 2 MiB tmpfs on `DIR` and fills a SQLite file on
/// it.
async fn child_full_disk() {
    let dir = env("DIR");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs", &dir])
        .output();
    match mounted {
        Ok(output) if output.status.success() => {}
        Ok(output) => {
            report(&format!(
                "skip mount failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
            return;
        }
        Err(error) => {
            report(&format!("skip mount failed: {error}"));
            return;
        }
    }
    let url = format!("sqlite://{dir}/full.db");
    let store = Store::connect(&url).await.unwrap();
    store.create_table(&bulk_schema("fill")).await.unwrap();
    let mut inserted = 0_i64;
    let mut failure = None;
    for i in 0..10_000 {
        let record = Record::new()
            .with("id", i)
            .with("body", format!("{i:08}").repeat(2_000));
        match store.insert_into_table("fill", record).await {
            Ok(_) => inserted += 1,
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    let Some(error) = failure else {
        report("done never full");
        return;
    };
    let code = match &error {
        Error::Database(db) => db.code().map(str::to_owned),
        _ => None,
    };
    report(&format!(
        "full inserted={inserted} database_error={} code={code:?} transient={} message={error}",
        matches!(error, Error::Database(_)),
        error.is_transient(),
    ));
    // What was written before is all there and readable.
    let count = store.count("fill", None).await.unwrap();
    let last = store
        .query_table(
            "fill",
            &QueryOptions::new().order_by(OrderBy::desc("id")).limit(1),
        )
        .await
        .unwrap();
    let last_id = last
        .first()
        .and_then(|r| r.get("id"))
        .and_then(Value::as_i64);
    // A batch fails whole.
    let batch: Vec<Record> = (100_000..100_050)
        .map(|i| Record::new().with("id", i).with("body", "y".repeat(20_000)))
        .collect();
    let batch = store.insert_many_into_table("fill", batch).await;
    let after = store.count("fill", None).await.unwrap();
    report(&format!(
        "after count={count} last={last_id:?} batch_failed={} count_after_batch={after}",
        batch.is_err()
    ));
}

/// A child process: this binary, in a role.
struct Child {
    process: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Child {
    fn spawn(role: &str, vars: &[(&str, String)]) -> Child {
        Child::spawn_with(None, role, vars)
    }

    /// As [`spawn`](Self::spawn), under `wrapper` (e.g. `unshare --mount`).
    fn spawn_with(wrapper: Option<&[&str]>, role: &str, vars: &[(&str, String)]) -> Child {
        let exe = std::env::current_exe().unwrap();
        let mut command = match wrapper {
            Some([program, args @ ..]) => {
                let mut command = Command::new(program);
                command.args(args).arg(&exe);
                command
            }
            _ => Command::new(&exe),
        };
        command
            .args(["--exact", "child", "--nocapture", "--test-threads=1"])
            .env(ROLE_VAR, role)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in vars {
            command.env(name, value);
        }
        let mut process = command.spawn().unwrap();
        let stdout = process.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The test harness may print "test child ... " on the same line first.
                if let Some((_, report)) = line.split_once("CHILD ")
                    && send.send(report.to_owned()).is_err()
                {
                    break;
                }
            }
        });
        Child { process, lines }
    }

    /// The next report, which must start with `prefix`, within `timeout`.
    fn expect(&self, prefix: &str, timeout: Duration) -> String {
        match self.lines.recv_timeout(timeout) {
            Ok(line) if line.starts_with(prefix) => line,
            Ok(line) => panic!("expected a report {prefix:?}, got {line:?}"),
            Err(error) => panic!("no report {prefix:?} within {timeout:?}: {error}"),
        }
    }

    /// The next report, if one comes within `timeout`.
    fn next(&self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// SIGKILL, and waits for the process to be gone.
    fn kill(mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }

    /// Waits (bounded) for the process to exit.
    fn wait(mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.process.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.process.kill();
                panic!("child still running after {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn sqlite_url(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(format!("{name}.db")).display())
}

// ---- 8 processes, one SQLite file ----------------------------------------------------------

#[test]
fn eight_processes_insert_into_one_sqlite_file() {
    const PROCESSES: i64 = 8;
    const ROWS: i64 = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "shared");
    let go = dir.path().join("go");
    let started = Instant::now();
    let children: Vec<Child> = (0..PROCESSES)
        .map(|worker| {
            Child::spawn(
                "insert_rows",
                &[
                    ("URL", url.clone()),
                    ("WORKER", worker.to_string()),
                    ("COUNT", ROWS.to_string()),
                    ("GO", go.display().to_string()),
                ],
            )
        })
        .collect();
    // Every process connected to the same new file and created the same table at once.
    for child in &children {
        child.expect("ready", Duration::from_secs(60));
    }
    std::fs::write(&go, "").unwrap();
    for child in children {
        let done = child.expect("done", Duration::from_secs(300));
        assert_eq!(done, format!("done inserted={ROWS} errors=0"));
        assert!(child.wait(Duration::from_secs(30)).success());
    }
    let elapsed = started.elapsed();
    runtime().block_on(async {
        let store = Store::connect(&url).await.unwrap();
        assert_eq!(
            store.count("shared_rows", None).await.unwrap(),
            (PROCESSES * ROWS) as u64
        );
        let rows = store
            .query_table("shared_rows", &QueryOptions::new())
            .await
            .unwrap();
        let seen: BTreeSet<(i64, i64)> = rows
            .iter()
            .map(|r| {
                let get = |c: &str| r.get(c).and_then(Value::as_i64).unwrap();
                (get("worker"), get("seq"))
            })
            .collect();
        let expected: BTreeSet<(i64, i64)> = (0..PROCESSES)
            .flat_map(|w| (0..ROWS).map(move |s| (w, s)))
            .collect();
        assert_eq!(seen, expected);
        assert_eq!(store.list_tables().await.unwrap(), ["shared_rows"]);
    });
    assert_eq!(integrity_check(&url), "ok");
    eprintln!(
        "figures: {PROCESSES} processes x {ROWS} inserts into one SQLite file: {} rows, 0 errors, \
         0 lost ({elapsed:?})",
        PROCESSES * ROWS
    );
}

fn integrity_check(url: &str) -> String {
    runtime().block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get::<String, _>(0)
    })
}

// ---- 32 tasks, one Store ------------------------------------------------------------------

const TASKS: u64 = 32;
const OPS_PER_TASK: u64 = 500;

/// A small deterministic generator (xorshift64*), one per task.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// One row of the model: (owner task, n, body).
type Model = BTreeMap<String, (i64, i64, String)>;

fn mixed_schema() -> TableSchema {
    TableSchema::new(
        "mixed",
        vec![
            Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey),
            Column::new("owner", ColumnType::Integer).with(Constraint::NotNull),
            Column::new("n", ColumnType::Bigint).with(Constraint::NotNull),
            Column::new("body", ColumnType::Text),
        ],
    )
    .with_index(Index::new("idx_mixed_owner", ["owner", "n"], false))
}

fn mixed_record(id: &str, owner: i64, n: i64, body: &str) -> Record {
    Record::new()
        .with("id", id)
        .with("owner", owner)
        .with("n", n)
        .with("body", body)
}

/// 500 operations of one task on its own keys (insert, insert_many, update, upsert, delete,
/// query, count), checked against its model as it goes; every operation must succeed.
async fn mixed_task(store: Store, task: u64) -> (Model, u64) {
    let owner = task as i64;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (task + 1));
    let mut model = Model::new();
    let mut ops = 0;
    let key = |k: u64| format!("t{task}-k{k}");
    for step in 0..OPS_PER_TASK {
        let k = key(rng.below(24));
        let n = rng.below(1_000_000) as i64;
        let body = format!("task {task} step {step}");
        match rng.below(8) {
            0 | 1 if !model.contains_key(&k) => {
                let id = store
                    .insert_into_table("mixed", mixed_record(&k, owner, n, &body))
                    .await
                    .unwrap_or_else(|e| panic!("task {task}: insert failed: {e}"));
                assert_eq!(id, k);
                model.insert(k, (owner, n, body));
            }
            2 => {
                let fresh: Vec<String> = (0..3).map(|i| format!("t{task}-s{step}-{i}")).collect();
                let records = fresh
                    .iter()
                    .map(|id| mixed_record(id, owner, n, &body))
                    .collect();
                store
                    .insert_many_into_table("mixed", records)
                    .await
                    .unwrap_or_else(|e| panic!("task {task}: insert_many failed: {e}"));
                for id in fresh {
                    model.insert(id, (owner, n, body.clone()));
                }
            }
            3 if model.contains_key(&k) => {
                store
                    .update_table_record(
                        "mixed",
                        &k,
                        Record::new().with("n", n).with("body", body.as_str()),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("task {task}: update failed: {e}"));
                model.insert(k, (owner, n, body));
            }
            4 => {
                store
                    .upsert_into_table("mixed", mixed_record(&k, owner, n, &body))
                    .await
                    .unwrap_or_else(|e| panic!("task {task}: upsert failed: {e}"));
                model.insert(k, (owner, n, body));
            }
            5 if model.contains_key(&k) => {
                store
                    .delete_from_table("mixed", &k)
                    .await
                    .unwrap_or_else(|e| panic!("task {task}: delete failed: {e}"));
                model.remove(&k);
            }
            6 => {
                let count = store
                    .count("mixed", Some(&Filter::eq("owner", owner)))
                    .await
                    .unwrap_or_else(|e| panic!("task {task}: count failed: {e}"));
                assert_eq!(count, model.len() as u64, "task {task} step {step}");
            }
            _ => {
                let rows = store
                    .query_table(
                        "mixed",
                        &QueryOptions::new().filter(Filter::eq("id", k.as_str())),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("task {task}: query failed: {e}"));
                let found = rows.first().map(|r| {
                    (
                        r.get("owner").and_then(Value::as_i64).unwrap(),
                        r.get("n").and_then(Value::as_i64).unwrap(),
                        r.get("body").and_then(Value::as_str).unwrap().to_owned(),
                    )
                });
                assert_eq!(found.as_ref(), model.get(&k), "task {task} step {step}");
            }
        }
        ops += 1;
    }
    (model, ops)
}

both_backends! {
    async fn thirty_two_tasks_mixed_operations_through_one_store(db, store) {
        store.create_table(&mixed_schema()).await.unwrap();
        let started = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| tokio::spawn(mixed_task(store.clone(), task)))
            .collect();
        let mut expected = Model::new();
        let mut ops = 0;
        for task in tasks {
            let (model, done) = task.await.unwrap();
            expected.extend(model);
            ops += done;
        }
        let elapsed = started.elapsed();
        let rows = store
            .query_table("mixed", &QueryOptions::new().order_by(OrderBy::asc("id")))
            .await
            .unwrap();
        let actual: Model = rows
            .iter()
            .map(|r| {
                (
                    r.get("id").and_then(Value::as_str).unwrap().to_owned(),
                    (
                        r.get("owner").and_then(Value::as_i64).unwrap(),
                        r.get("n").and_then(Value::as_i64).unwrap(),
                        r.get("body").and_then(Value::as_str).unwrap().to_owned(),
                    ),
                )
            })
            .collect();
        assert_eq!(actual.len(), rows.len(), "ids are unique");
        assert_eq!(actual, expected);
        assert_eq!(ops, TASKS * OPS_PER_TASK);
        eprintln!(
            "figures: {}: {TASKS} tasks x {OPS_PER_TASK} mixed operations through one Store: {ops} \
             operations, 0 errors, {} rows exactly as modelled ({elapsed:?})",
            db.backend,
            actual.len()
        );
    }
}

// ---- SIGKILL in the middle of insert_many and create_table --------------------------------

const BULK_ROWS: i64 = 100_000;

/// Kills a child in the middle of `insert_many` of 100,000 rows, at several points of the
/// call, and checks after each that the table holds all the rows or none.
fn kill_during_insert_many(url: &str, check: impl Fn(&str, &Store)) {
    let rt = runtime();
    // A run left alone: how long the call takes here, to aim the kills.
    let child = Child::spawn(
        "insert_many",
        &[
            ("URL", url.to_owned()),
            ("TABLE", "bulk_0".into()),
            ("ROWS", BULK_ROWS.to_string()),
        ],
    );
    child.expect("started", Duration::from_secs(120));
    let started = Instant::now();
    child.expect(&format!("committed {BULK_ROWS}"), Duration::from_secs(300));
    let duration = started.elapsed();
    assert!(child.wait(Duration::from_secs(30)).success());
    // Outcomes: no rows; all rows, the kill landing before the child could say so; all rows,
    // the call over before the kill.
    let (mut none, mut all_unsaid, mut all_said) = (0, 0, 0);
    // Early, in the middle, near the end and around the commit (a call under way here takes
    // longer than the one left alone, so some of the later kills still land before it ends).
    let percents = [10_u32, 40, 70, 90, 100, 110, 125, 150];
    for (trial, percent) in percents.into_iter().enumerate() {
        let table = format!("bulk_{}", trial + 1);
        let child = Child::spawn(
            "insert_many",
            &[
                ("URL", url.to_owned()),
                ("TABLE", table.clone()),
                ("ROWS", BULK_ROWS.to_string()),
            ],
        );
        child.expect("started", Duration::from_secs(120));
        let report = child.next(duration * percent / 100);
        child.kill();
        let store = rt.block_on(Store::connect(url)).unwrap();
        let count = rt.block_on(store.count(&table, None)).unwrap();
        assert!(
            count == 0 || count == BULK_ROWS as u64,
            "{table}: {count} rows after a kill at {percent}% (report {report:?})"
        );
        match (count, &report) {
            (0, _) => none += 1,
            (_, None) => all_unsaid += 1,
            (_, Some(_)) => all_said += 1,
        }
        // Intact rows, when there are any.
        if count > 0 {
            let last = rt
                .block_on(store.query_table(
                    &table,
                    &QueryOptions::new().filter(Filter::eq("id", BULK_ROWS - 1)),
                ))
                .unwrap();
            assert_eq!(
                last[0].get("n").and_then(Value::as_i64),
                Some((BULK_ROWS - 1) * 7)
            );
        }
        check(&table, &store);
        catalog_agrees(url, &store, &rt);
        rt.block_on(store.close());
    }
    assert!(
        none > 0,
        "no kill landed before the commit: none of the trials tested anything"
    );
    eprintln!(
        "figures: {}: insert_many of {BULK_ROWS} rows killed with SIGKILL {} times ({duration:?} \
         per call left alone): {none} left no rows, {all_unsaid} all rows (killed before the \
         child reported the commit), {all_said} all rows (after); 0 partial",
        url.split(':').next().unwrap_or_default(),
        percents.len(),
    );
}

#[test]
fn sigkill_during_insert_many_leaves_all_rows_or_none_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "bulk");
    kill_during_insert_many(&url, |_, _| assert_eq!(integrity_check(&url), "ok"));
}

/// The tables memtable lists (its catalog) and the tables the database has, with their
/// indexes, must agree.
fn catalog_agrees(url: &str, store: &Store, rt: &tokio::runtime::Runtime) -> usize {
    let listed: BTreeSet<String> = rt
        .block_on(store.list_tables())
        .unwrap()
        .into_iter()
        .map(|table| table.name)
        .collect();
    let (tables, indexes) = rt.block_on(database_tables(url));
    assert_eq!(listed, tables, "catalog and database disagree");
    for table in &listed {
        let schema = rt.block_on(store.table_schema(table)).unwrap();
        for index in &schema.indexes {
            assert!(
                indexes.contains(&index.name),
                "index {} of {table} is missing",
                index.name
            );
        }
    }
    listed.len()
}

/// The tables (but memtable's catalog and the database's own) and the indexes of a database.
async fn database_tables(url: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        let rows =
            sqlx::query("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite%'")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        let of = |kind: &str| {
            rows.iter()
                .filter(|r| r.get::<String, _>(0) == kind)
                .map(|r| r.get::<String, _>(1))
                .filter(|name| name != "_memtable_catalog")
                .collect()
        };
        (of("table"), of("index"))
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let rows = sqlx::query(AssertSqlSafe(
            "SELECT c.relkind::text, c.relname FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i')",
        ))
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let of = |kind: &str| {
            rows.iter()
                .filter(|r| r.get::<String, _>(0) == kind)
                .map(|r| r.get::<String, _>(1))
                .filter(|name| {
                    name != "_memtable_catalog" && !name.starts_with("_memtable_catalog_")
                })
                .collect()
        };
        (of("r"), of("i"))
    }
}

/// Kills a child that creates table after table, at several moments, and checks after each
/// that catalog and tables agree.
fn kill_during_create_table(url: &str) {
    let rt = runtime();
    let mut next = 0_u64;
    let mut trials = 0;
    for delay_ms in [0_u64, 1, 3, 7, 13, 29] {
        let child = Child::spawn(
            "create_tables",
            &[("URL", url.to_owned()), ("START", next.to_string())],
        );
        child.expect("connected", Duration::from_secs(60));
        // Let it create a few, then kill it a little after one more starts.
        for _ in 0..2 {
            child.expect("created", Duration::from_secs(60));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill();
        trials += 1;
        let store = rt.block_on(Store::connect(url)).unwrap();
        let tables = catalog_agrees(url, &store, &rt);
        next = next.max(tables as u64) + 1_000;
        rt.block_on(store.close());
    }
    eprintln!(
        "figures: create_table killed with SIGKILL {trials} times on {}: catalog and tables agree \
         after every kill",
        url.split(':').next().unwrap_or_default()
    );
}

#[test]
fn sigkill_during_create_table_keeps_catalog_and_tables_in_step_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "ddl");
    kill_during_create_table(&url);
    assert_eq!(integrity_check(&url), "ok");
}

#[test]
fn sigkill_during_create_table_keeps_catalog_and_tables_in_step_postgres() {
    let Some(db) = runtime().block_on(memtable_tests::fixture::TestDb::postgres("ddl_kill")) else {
        return;
    };
    kill_during_create_table(&db.url);
}

#[test]
fn sigkill_during_insert_many_leaves_all_rows_or_none_postgres() {
    let Some(db) = runtime().block_on(memtable_tests::fixture::TestDb::postgres("bulk_kill"))
    else {
        return;
    };
    kill_during_insert_many(&db.url, |_, _| {});
}

// ---- SIGKILL in the middle of a transaction -----------------------------------------------

/// Kills a child in the middle of a transaction moving rows from one table to another (in its
/// pause halfway, then at a few moments after it starts), and checks after each kill that the
/// rows are all where they were or all moved, never some of each, and that the killed
/// transaction holds no lock: a transaction of this process moves them back.
fn kill_during_transaction(url: &str) {
    let rt = runtime();
    let store = rt.block_on(Store::connect(url)).unwrap();
    rt.block_on(async {
        store
            .create_table(&move_schema("moves_from"))
            .await
            .unwrap();
        store.create_table(&move_schema("moves_to")).await.unwrap();
        let rows = (0..MOVE_ROWS)
            .map(|id| {
                Record::new()
                    .with("id", id)
                    .with("body", format!("row {id}"))
            })
            .collect();
        store
            .insert_many_into_table("moves_from", rows)
            .await
            .unwrap();
    });
    let counts = |store: &Store| {
        rt.block_on(async {
            (
                store.count("moves_from", None).await.unwrap(),
                store.count("moves_to", None).await.unwrap(),
            )
        })
    };
    let (mut none, mut all) = (0, 0);
    // In the pause halfway (surely before the commit), then after a delay from the start.
    let trials: [(u64, Option<u64>); 5] = [
        (60_000, None),
        (0, Some(0)),
        (0, Some(5)),
        (0, Some(20)),
        (0, Some(200)),
    ];
    for (pause, delay) in trials {
        let child = Child::spawn(
            "transaction_move",
            &[("URL", url.to_owned()), ("PAUSE_MS", pause.to_string())],
        );
        child.expect("moving", Duration::from_secs(60));
        match delay {
            None => {
                child.expect("halfway", Duration::from_secs(60));
            }
            Some(ms) => std::thread::sleep(Duration::from_millis(ms)),
        }
        child.kill();
        let (from, to) = counts(&store);
        assert_eq!(
            from + to,
            MOVE_ROWS as u64,
            "rows lost or doubled by a kill"
        );
        assert!(
            to == 0 || to == MOVE_ROWS as u64,
            "a killed transaction left {to} of {MOVE_ROWS} rows moved"
        );
        if delay.is_none() {
            assert_eq!(to, 0, "killed in its pause, the transaction committed");
        }
        if to == 0 {
            none += 1;
        } else {
            all += 1;
            // Moved back in a transaction: the killed one holds no lock.
            rt.block_on(async {
                let tx = store.begin().await.unwrap();
                assert_eq!(
                    tx.delete_where("moves_to", &Filter::gte("id", 0_i64))
                        .await
                        .unwrap(),
                    MOVE_ROWS as u64
                );
                let rows = (0..MOVE_ROWS)
                    .map(|id| {
                        Record::new()
                            .with("id", id)
                            .with("body", format!("row {id}"))
                    })
                    .collect();
                tx.insert_many_into_table("moves_from", rows).await.unwrap();
                tx.commit().await.unwrap();
            });
        }
        // The killed transaction's locks are gone: a write goes through, within the bound.
        rt.block_on(async {
            let moved = tokio::time::timeout(Duration::from_secs(30), async {
                let tx = store.begin().await?;
                tx.update_where(
                    "moves_from",
                    &Filter::eq("id", 0_i64),
                    Record::new().with("body", "row 0"),
                )
                .await?;
                tx.commit().await
            })
            .await;
            assert!(matches!(moved, Ok(Ok(()))), "after a kill: {moved:?}");
        });
    }
    assert!(none > 0, "no kill landed inside the transaction");
    eprintln!(
        "figures: {}: a transaction of {MOVE_ROWS} moves killed with SIGKILL {} times: {none} \
         left every row where it was, {all} had committed every move; 0 partial",
        url.split(':').next().unwrap_or_default(),
        trials.len(),
    );
    rt.block_on(store.close());
}

#[test]
fn sigkill_during_a_transaction_leaves_nothing_of_it_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "moves");
    kill_during_transaction(&url);
    assert_eq!(integrity_check(&url), "ok");
}

#[test]
fn sigkill_during_a_transaction_leaves_nothing_of_it_postgres() {
    let Some(db) = runtime().block_on(memtable_tests::fixture::TestDb::postgres("tx_kill")) else {
        return;
    };
    kill_during_transaction(&db.url);
}

// ---- PostgreSQL stopped and restarted -----------------------------------------------------

/// A PostgreSQL cluster of this test's own, on a free port, run by the same user scripts/test
/// uses (`memtable-pg` when root); removed on drop.
struct PrivateCluster {
    bin: PathBuf,
    user: Option<String>,
    dir: tempfile::TempDir,
    port: u16,
    url: String,
}

impl PrivateCluster {
    /// `None` when PostgreSQL is not installed, outside CI; in CI that is a failure.
    fn start() -> Option<PrivateCluster> {
        let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists())
            .max_by_key(|bin| {
                bin.parent()
                    .and_then(|v| v.file_name())
                    .and_then(|v| v.to_str())
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(0)
            });
        let Some(bin) = bin else {
            assert!(!in_ci, "PostgreSQL server binaries are missing in CI");
            eprintln!("note: no PostgreSQL server binaries; skipping the restart test");
            return None;
        };
        let user = is_root().then(|| "memtable-pg".to_owned());
        let dir = tempfile::Builder::new()
            .prefix("memtable-fault-pg.")
            .tempdir_in("/tmp")
            .unwrap();
        if let Some(user) = &user {
            let status = Command::new("chown")
                .args([user.as_str(), &dir.path().display().to_string()])
                .status()
                .unwrap();
            assert!(
                status.success(),
                "chown to {user} (does the user exist? scripts/test makes it)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = PrivateCluster {
            url: format!(
                "postgres://{}@127.0.0.1:{port}/postgres",
                user.clone().unwrap_or_else(whoami)
            ),
            bin,
            user,
            dir,
            port,
        };
        let data = cluster.data();
        let pg_user = cluster.user.clone().unwrap_or_else(whoami);
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                &pg_user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        // The stop below is a crash of the server's processes (not of the machine): fsync can
        // be off, but commits must reach the server's WAL before they return
        // (synchronous_commit stays on), or the last ones are lost, by PostgreSQL's design.
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             fsync = off\nfull_page_writes = off\n",
            cluster.dir.path().display()
        );
        let mut existing = std::fs::read_to_string(format!("{data}/postgresql.conf")).unwrap();
        existing.push_str(&conf);
        std::fs::write(format!("{data}/postgresql.conf"), existing).unwrap();
        cluster.start_server();
        Some(cluster)
    }

    fn data(&self) -> String {
        format!("{}/data", self.dir.path().display())
    }

    /// Runs a PostgreSQL program as the cluster's user; it must succeed.
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = match &self.user {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&path);
                command
            }
            None => Command::new(&path),
        };
        let output = command.args(args).current_dir("/").output().unwrap();
        assert!(
            output.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn start_server(&self) {
        let log = format!("{}/postgres.log", self.dir.path().display());
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-l", &log, "-w", "-t", "60", "start"],
        );
    }

    /// Stops the server at once, as a crash would: `immediate` ends every server process
    /// without letting any finish its work (with `fast`, the session holding a lock may end
    /// first and let the waiting operation complete before its own session ends).
    fn stop_server(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-m",
                "immediate",
                "-w",
                "-t",
                "60",
                "stop",
            ],
        );
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let path = self.bin.join("pg_ctl");
        let data = self.data();
        let args = [
            "-D",
            data.as_str(),
            "-m",
            "immediate",
            "-w",
            "-t",
            "30",
            "stop",
        ];
        let _ = match &self.user {
            Some(user) => Command::new("runuser")
                .args(["-u", user, "--"])
                .arg(&path)
                .args(args)
                .current_dir("/")
                .output(),
            None => Command::new(&path).args(args).current_dir("/").output(),
        };
        let _ = self.port;
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().unwrap().stdout == b"0\n"
}

fn whoami() -> String {
    String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_and_restarted_under_an_open_store() {
    let Some(cluster) = tokio::task::spawn_blocking(PrivateCluster::start)
        .await
        .unwrap()
    else {
        return;
    };
    let store = Store::builder(&cluster.url)
        .max_connections(4)
        .connect()
        .await
        .unwrap();
    let schema = TableSchema::new(
        "restart",
        vec![
            Column::new("id", ColumnType::Integer).with(Constraint::PrimaryKey),
            Column::new("body", ColumnType::Text),
        ],
    );
    store.create_table(&schema).await.unwrap();
    let rows = (0..10)
        .map(|i| Record::new().with("id", i).with("body", "before"))
        .collect();
    store.insert_many_into_table("restart", rows).await.unwrap();
    // Several connections open and idle in the store.
    let reads: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.query_table("restart", &QueryOptions::new()).await })
        })
        .collect();
    for read in reads {
        assert_eq!(read.await.unwrap().unwrap().len(), 10);
    }

    // An operation in flight: blocked on a lock another session holds.
    let mut locker = sqlx::PgConnection::connect(&cluster.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query(AssertSqlSafe("LOCK TABLE restart IN ACCESS EXCLUSIVE MODE"))
        .execute(&mut locker)
        .await
        .unwrap();
    let in_flight = {
        let store = store.clone();
        tokio::spawn(async move { store.query_table("restart", &QueryOptions::new()).await })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let waiting: i64 = sqlx::query_scalar(AssertSqlSafe(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
        ))
        .fetch_one(&mut locker)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the query never waited on the lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!in_flight.is_finished());

    let mut faults = 0;
    let (cluster, ()) = stop(cluster).await;
    faults += 1;
    let error = tokio::time::timeout(Duration::from_secs(30), in_flight)
        .await
        .expect("the operation in flight ends")
        .unwrap()
        .expect_err("the operation in flight fails");
    assert!(error.is_transient(), "in flight: {error:?}");
    let in_flight_error = error.to_string();
    drop(locker);

    // While the server is down, every operation fails, transiently, and promptly.
    let mut down_errors = Vec::new();
    for i in 0..6 {
        let result = if i % 2 == 0 {
            store
                .query_table("restart", &QueryOptions::new())
                .await
                .map(drop)
        } else {
            store
                .insert_into_table(
                    "restart",
                    Record::new().with("id", 100 + i).with("body", "down"),
                )
                .await
                .map(drop)
        };
        let error = result.expect_err("the server is down");
        assert!(error.is_transient(), "while down: {error:?}");
        down_errors.push(error.to_string());
    }

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.start_server();
        cluster
    })
    .await
    .unwrap();
    faults += 1;

    // Back: the same Store works again. At most one operation may still fail (transiently), on
    // a connection that died with the old server: the store then discards every idle one.
    let mut failures_after_restart = 0;
    loop {
        match store.query_table("restart", &QueryOptions::new()).await {
            Ok(rows) => {
                assert_eq!(rows.len(), 10);
                break;
            }
            Err(error) => {
                assert!(error.is_transient(), "after the restart: {error:?}");
                failures_after_restart += 1;
                assert!(
                    failures_after_restart <= 1,
                    "still failing after {failures_after_restart} attempts: {error}"
                );
            }
        }
    }
    // Then everything works, concurrently, with no error.
    let work: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .insert_into_table(
                        "restart",
                        Record::new().with("id", 1_000 + i).with("body", "after"),
                    )
                    .await?;
                store
                    .update_table_record(
                        "restart",
                        &(1_000 + i).to_string(),
                        Record::new().with("body", "again"),
                    )
                    .await?;
                store
                    .query_table("restart", &QueryOptions::new())
                    .await
                    .map(drop)
            })
        })
        .collect();
    for task in work {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.count("restart", None).await.unwrap(), 18);

    // A restart between two operations, with every connection of the store idle: all of them
    // died with the old server; the first to fail makes the store discard the others.
    let reads: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.query_table("restart", &QueryOptions::new()).await })
        })
        .collect();
    for read in reads {
        read.await.unwrap().unwrap();
    }
    let (cluster, ()) = stop(cluster).await;
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.start_server();
        cluster
    })
    .await
    .unwrap();
    faults += 1;
    let mut failures_after_quiet_restart = 0;
    loop {
        match store.count("restart", None).await {
            Ok(count) => {
                assert_eq!(count, 18);
                break;
            }
            Err(error) => {
                assert!(error.is_transient(), "after the restart: {error:?}");
                failures_after_quiet_restart += 1;
                // One: the connection that fails takes every idle one with it.
                assert!(
                    failures_after_quiet_restart <= 1,
                    "still failing after {failures_after_quiet_restart} attempts: {error}"
                );
            }
        }
    }
    for i in 0..20 {
        store
            .upsert_into_table("restart", Record::new().with("id", i).with("body", "last"))
            .await
            .unwrap();
    }
    assert_eq!(store.count("restart", None).await.unwrap(), 28);
    eprintln!(
        "figures: PostgreSQL stopped (pg_ctl -m immediate) and restarted twice under an open \
         Store ({faults} faults): the operation in flight failed transiently; {} operations \
         while down all failed transiently; {failures_after_restart} transient failures after \
         the first restart before the first success; {failures_after_quiet_restart} after the \
         second (all 4 connections idle across it); 0 rows lost (in flight: {in_flight_error}; \
         while down: {})",
        down_errors.len(),
        down_errors.first().map(String::as_str).unwrap_or_default()
    );
    drop(cluster);
}

async fn stop(cluster: PrivateCluster) -> (PrivateCluster, ()) {
    tokio::task::spawn_blocking(move || {
        cluster.stop_server();
        (cluster, ())
    })
    .await
    .unwrap()
}

// ---- SQLite: a read-only file, a full disk ------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_read_only_file_gives_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "ro");
    let store = Store::connect(&url).await.unwrap();
    store.create_table(&bulk_schema("kept")).await.unwrap();
    store
        .insert_into_table("kept", Record::new().with("id", 1).with("body", "kept"))
        .await
        .unwrap();
    store.close().await;
    drop(store);

    // Opened read-only (root ignores file permissions, so the test asks SQLite itself).
    let store = Store::connect(&format!("{url}?mode=ro")).await.unwrap();
    let rows = store
        .query_table("kept", &QueryOptions::new())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let writes = [
        store
            .insert_into_table("kept", Record::new().with("id", 2).with("body", "new"))
            .await
            .map(drop),
        store
            .update_table_record("kept", "1", Record::new().with("body", "changed"))
            .await,
        store.delete_from_table("kept", "1").await,
        store.create_table(&bulk_schema("new_table")).await,
        store.drop_table("kept").await,
    ];
    for result in writes {
        let error = result.expect_err("a read-only file refuses writes");
        assert!(matches!(error, Error::PermissionDenied { .. }), "{error:?}");
        assert!(error.to_string().contains("readonly"), "{error}");
        assert!(!error.is_transient(), "{error:?}");
    }
    // Through an executor: a failed result saying so.
    let agent = memtable::executor::Executors::new(store.clone());
    let result = agent
        .execute(
            "insert_into_table",
            serde_json::json!({"tableName": "kept", "data": {"id": 3, "body": "x"}}),
        )
        .await;
    assert_eq!(result["data"]["error"]["kind"], "permission_denied");
    assert_eq!(result["data"]["error"]["table"], "kept");
    assert_eq!(result["data"]["error"]["operation"], "insert_into_table");
    assert!(
        result["data"]["message"]
            .as_str()
            .unwrap()
            .contains("readonly")
    );
    // Nothing changed.
    let rows = store
        .query_table("kept", &QueryOptions::new())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get("body").and_then(Value::as_str), Some("kept"));
}

#[test]
fn sqlite_full_disk_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let unshare = ["unshare", "--mount", "--propagation", "private"];
    let child = Child::spawn_with(
        Some(&unshare[..]),
        "full_disk",
        &[("DIR", dir.path().display().to_string())],
    );
    let Some(report) = child.next(Duration::from_secs(120)) else {
        // unshare itself failed to start the child: no permission to make a namespace.
        let _ = child.wait(Duration::from_secs(10));
        assert!(!is_root(), "root could not make a mount namespace");
        eprintln!("note: cannot make a mount namespace (not root); full-disk test skipped");
        return;
    };
    if report.starts_with("skip") {
        assert!(!is_root(), "root could not mount a tmpfs: {report}");
        eprintln!("note: {report}; full-disk test skipped");
        let _ = child.wait(Duration::from_secs(10));
        return;
    }
    assert!(report.starts_with("full inserted="), "{report}");
    assert!(report.contains("database_error=true"), "{report}");
    assert!(
        report.contains("code=Some(\"13\")"),
        "SQLITE_FULL: {report}"
    );
    assert!(report.contains("database or disk is full"), "{report}");
    let inserted: u64 = report["full inserted=".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(inserted > 0);
    let after = child.expect("after", Duration::from_secs(60));
    assert_eq!(
        after,
        format!(
            "after count={inserted} last=Some({}) batch_failed=true count_after_batch={inserted}",
            inserted - 1
        )
    );
    assert!(child.wait(Duration::from_secs(30)).success());
    eprintln!(
        "figures: full disk (2 MiB tmpfs): {inserted} rows written, then SQLITE_FULL as \
         Error::Database; every row written before is readable, a batch fails whole; 0 lost"
    );
}
