//! The connections against real files: settings, errors, busy waits, transactions, the
//! blocking pool, the statement cache and the statement events.
#![cfg(feature = "sqlite")]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_query::Value as Sv;
use tempfile::TempDir;

use super::connection::{Connections, Lease};
use super::error::to_error;
use crate::error::Error;
use crate::schema::ColumnType;
use crate::value::Value;

const LONG: Duration = Duration::from_secs(5);

/// `sqlite://<dir>/<name>`, with `%`, `?` and `#` encoded as the store's tests encode them.
fn url_in(dir: &TempDir, name: &str) -> String {
    let mut url = String::from("sqlite://");
    for c in dir.path().join(name).to_string_lossy().chars() {
        match c {
            '%' => url.push_str("%25"),
            '?' => url.push_str("%3F"),
            '#' => url.push_str("%23"),
            c => url.push(c),
        }
    }
    url
}

async fn file_pool(dir: &TempDir, max: u32, busy: Duration) -> Connections {
    Connections::open(&url_in(dir, "t.db"), Some(max), busy)
        .await
        .unwrap()
}

async fn create_table(pool: &Connections) {
    let mut lease = pool.acquire().await.unwrap();
    lease
        .execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b TEXT)",
            &[],
        )
        .await
        .unwrap();
    lease
        .execute("CREATE UNIQUE INDEX t_b ON t (b)", &[])
        .await
        .unwrap();
}

async fn insert(lease: &mut Lease<'_>, id: i64) -> Result<u64, Error> {
    lease
        .execute(
            "INSERT INTO t (id, a) VALUES (?, ?)",
            &[Sv::BigInt(Some(id)), Sv::String(Some(format!("row {id}")))],
        )
        .await
}

async fn count(lease: &mut Lease<'_>) -> i64 {
    let row = lease
        .fetch_first("SELECT count(*) FROM t", &[], &[ColumnType::Bigint])
        .await
        .unwrap()
        .unwrap();
    row[0].as_i64().unwrap()
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn a_file_gets_wal_and_every_setting() {
    let dir = tempfile::tempdir().unwrap();
    // Missing parent directories are created; a `?` and a `#` in the path survive.
    let url = url_in(&dir, "deeper/still/a?b#c%d.db");
    let pool = Connections::open(&url, None, LONG).await.unwrap();
    let path = dir.path().join("deeper/still/a?b#c%d.db");
    assert!(path.exists());

    let other = rusqlite::Connection::open(&path).unwrap();
    let mode: String = other
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");

    let mut lease = pool.acquire().await.unwrap();
    let ints = [ColumnType::Bigint];
    for (pragma, expected) in [
        ("PRAGMA synchronous", 1),
        ("PRAGMA foreign_keys", 1),
        ("PRAGMA cache_size", -16000),
        ("PRAGMA busy_timeout", 0),
        // case_sensitive_like=ON: LIKE as on PostgreSQL.
        ("SELECT 'a' LIKE 'A'", 0),
        ("SELECT 'a' LIKE 'a'", 1),
    ] {
        let rows = lease.fetch(pragma, &[], &ints).await.unwrap();
        assert_eq!(rows, vec![vec![Value::Integer(expected)]], "{pragma}");
    }
    let mode = lease
        .fetch("PRAGMA journal_mode", &[], &[ColumnType::Text])
        .await
        .unwrap();
    assert_eq!(mode, vec![vec![Value::Text("wal".into())]]);
}

#[tokio::test]
async fn rows_values_and_counts() {
    let pool = Connections::open("sqlite::memory:", None, LONG)
        .await
        .unwrap();
    create_table(&pool).await;
    let mut lease = pool.acquire().await.unwrap();
    assert_eq!(insert(&mut lease, 1).await.unwrap(), 1);
    assert_eq!(insert(&mut lease, 2).await.unwrap(), 1);

    // A multi-row insert of coerced values, with RETURNING decoded as the one type.
    let keys = lease
        .execute_values(
            "INSERT INTO t (id, a, b) VALUES (?, ?, ?), (?, ?, ?) RETURNING id",
            &[
                Value::Integer(3),
                Value::Text("three".into()),
                Value::Null,
                Value::Integer(4),
                Value::Text("four".into()),
                Value::Text("b4".into()),
            ],
            Some(ColumnType::Bigint),
        )
        .await
        .unwrap();
    assert_eq!(keys, vec![vec![Value::Integer(3)], vec![Value::Integer(4)]]);
    let none = lease
        .execute_values(
            "INSERT INTO t (id, a) VALUES (?, ?)",
            &[Value::Integer(5), Value::Text("five".into())],
            None,
        )
        .await
        .unwrap();
    assert!(none.is_empty());

    let updated = lease
        .execute(
            "UPDATE t SET b = ? WHERE id <= ?",
            &[Sv::String(Some("x".into())), Sv::BigInt(Some(1))],
        )
        .await
        .unwrap();
    assert_eq!(updated, 1);
    let updated = lease
        .execute("UPDATE t SET a = a || '!'", &[])
        .await
        .unwrap();
    assert_eq!(updated, 5);
    // Statements that change no rows count none, DDL and reads included.
    assert_eq!(
        lease
            .execute("UPDATE t SET a = 'no' WHERE id > 100", &[])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        lease
            .execute("CREATE TABLE u (x INTEGER)", &[])
            .await
            .unwrap(),
        0
    );
    assert_eq!(lease.execute("SELECT * FROM t", &[]).await.unwrap(), 0);

    let types = [ColumnType::Bigint, ColumnType::Text, ColumnType::Text];
    let rows = lease
        .fetch("SELECT id, a, b FROM t ORDER BY id", &[], &types)
        .await
        .unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[3],
        vec![
            Value::Integer(4),
            Value::Text("four!".into()),
            Value::Text("b4".into())
        ]
    );
    assert_eq!(rows[2][2], Value::Null);
    let first = lease
        .fetch_first(
            "SELECT id, a, b FROM t WHERE id > ? ORDER BY id",
            &[Sv::BigInt(Some(1))],
            &types,
        )
        .await
        .unwrap();
    assert_eq!(
        first.as_ref().map(|r| r[0].clone()),
        Some(Value::Integer(2))
    );
    let missing = lease
        .fetch_first(
            "SELECT id FROM t WHERE id = ?",
            &[Sv::BigInt(Some(99))],
            &[ColumnType::Bigint],
        )
        .await
        .unwrap();
    assert_eq!(missing, None);

    let unbounded = lease
        .fetch_unbounded(
            "SELECT id FROM t WHERE id >= ? ORDER BY id".into(),
            vec![Sv::BigInt(Some(2))],
            vec![ColumnType::Bigint],
        )
        .await
        .unwrap();
    assert_eq!(unbounded.len(), 4);

    // Wrong input is an error, never a panic.
    assert!(
        lease
            .fetch("SELECT ?", &[], &[ColumnType::Text])
            .await
            .is_err()
    );
    assert!(
        lease
            .fetch("SELECT 1", &[], &[ColumnType::Text, ColumnType::Text])
            .await
            .is_err()
    );
    assert!(lease.execute("NOT SQL", &[]).await.is_err());
    assert!(lease.execute("SELECT 1; SELECT 2", &[]).await.is_err());
    let huge = Sv::BigUnsigned(Some(u64::MAX));
    assert!(
        lease
            .fetch("SELECT ?", &[huge], &[ColumnType::Text])
            .await
            .is_err()
    );
    // The connection is still good after all that.
    assert_eq!(count(&mut lease).await, 5);
}

#[tokio::test]
async fn constraint_errors_carry_sqlites_code_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let pool = file_pool(&dir, 2, LONG).await;
    create_table(&pool).await;
    let mut lease = pool.acquire().await.unwrap();
    insert(&mut lease, 1).await.unwrap();
    lease
        .execute("UPDATE t SET b = 'taken' WHERE id = 1", &[])
        .await
        .unwrap();

    let expect = |error: Error, code: &str, message: &str| match error {
        Error::Database(e) => {
            assert_eq!(e.code(), Some(code), "{e:?}");
            assert_eq!(e.message(), message);
            assert!(!e.is_transient());
        }
        other => panic!("{other:?}"),
    };
    expect(
        insert(&mut lease, 1).await.unwrap_err(),
        "1555",
        "UNIQUE constraint failed: t.id",
    );
    let error = lease
        .execute(
            "INSERT INTO t (id, a, b) VALUES (2, 'x', ?)",
            &[Sv::String(Some("taken".into()))],
        )
        .await
        .unwrap_err();
    expect(error, "2067", "UNIQUE constraint failed: t.b");
    let error = lease
        .execute_values(
            "INSERT INTO t (id, a) VALUES (?, ?)",
            &[Value::Integer(3), Value::Null],
            None,
        )
        .await
        .unwrap_err();
    expect(error, "1299", "NOT NULL constraint failed: t.a");
    let error = lease
        .fetch("SELECT * FROM nope", &[], &[])
        .await
        .unwrap_err();
    expect(error, "1", "no such table: nope");
}

#[tokio::test]
async fn a_read_only_database_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let pool = file_pool(&dir, 1, LONG).await;
        create_table(&pool).await;
        let mut lease = pool.acquire().await.unwrap();
        insert(&mut lease, 1).await.unwrap();
        drop(lease);
        pool.close().await;
    }
    let url = format!("{}?mode=ro", url_in(&dir, "t.db"));
    let pool = Connections::open(&url, None, LONG).await.unwrap();
    let mut lease = pool.acquire().await.unwrap();
    assert_eq!(count(&mut lease).await, 1);
    let error = insert(&mut lease, 2).await.unwrap_err();
    assert!(
        matches!(&error, Error::PermissionDenied { code: Some(code), message, .. }
            if code.parse::<i32>().unwrap() & 0xff == 8 && message.contains("readonly")),
        "{error:?}"
    );

    // A missing file opened read-only, a file that is not a database: connection errors.
    let missing = format!("{}?mode=ro", url_in(&dir, "missing.db"));
    let error = Connections::open(&missing, None, LONG).await.err().unwrap();
    assert!(
        matches!(&error, Error::Connection(e) if e.code() == Some("14") && !e.is_transient()),
        "{error:?}"
    );
    std::fs::write(dir.path().join("junk.db"), [7u8; 4096]).unwrap();
    let error = Connections::open(&url_in(&dir, "junk.db"), None, LONG)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&error, Error::Connection(e) if e.code() == Some("26")),
        "{error:?}"
    );
    let error = Connections::open("sqlite://x.db?mode=nope", None, LONG)
        .await
        .err()
        .unwrap();
    assert!(matches!(error, Error::Connection(_)), "{error:?}");
}

#[tokio::test]
async fn a_second_writer_waits_without_blocking_readers() {
    let dir = tempfile::tempdir().unwrap();
    let pool = file_pool(&dir, 3, LONG).await;
    create_table(&pool).await;
    let mut first = pool.acquire().await.unwrap();
    let mut second = pool.acquire().await.unwrap();
    let mut reader = pool.acquire().await.unwrap();

    first.begin_immediate().await.unwrap();
    assert!(first.in_transaction());
    insert(&mut first, 1).await.unwrap();

    let started = Instant::now();
    let (waited, ()) = tokio::join!(
        async {
            second.begin_immediate().await.unwrap();
            let waited = started.elapsed();
            insert(&mut second, 2).await.unwrap();
            second.commit().await.unwrap();
            waited
        },
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            // The writer holds its transaction: a reader sees the last commit, at once.
            let read = Instant::now();
            assert_eq!(count(&mut reader).await, 0);
            assert!(read.elapsed() < Duration::from_secs(1));
            first.commit().await.unwrap();
        }
    );
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(!first.in_transaction() && !second.in_transaction());
    assert_eq!(count(&mut reader).await, 2);
}

#[tokio::test]
async fn a_spent_busy_timeout_is_a_transient_error() {
    let dir = tempfile::tempdir().unwrap();
    let pool = file_pool(&dir, 2, Duration::from_millis(60)).await;
    create_table(&pool).await;
    let mut writer = pool.acquire().await.unwrap();
    let mut other = pool.acquire().await.unwrap();
    writer.begin_immediate().await.unwrap();

    for attempt in ["begin", "autocommit write"] {
        let started = Instant::now();
        let error = match attempt {
            "begin" => other.begin_immediate().await.unwrap_err(),
            _ => insert(&mut other, 7).await.unwrap_err(),
        };
        let waited = started.elapsed();
        assert!(error.is_transient(), "{attempt}: {error:?}");
        assert_eq!(error.code(), Some("5"), "{attempt}");
        assert!(
            waited >= Duration::from_millis(55) && waited < Duration::from_secs(2),
            "{attempt}: {waited:?}"
        );
        assert!(!other.in_transaction());
    }

    // Inside a transaction a busy statement is not repeated: it fails at once.
    let pool_long = file_pool(&dir, 1, LONG).await;
    let mut deferred = pool_long.acquire().await.unwrap();
    deferred.execute("BEGIN", &[]).await.unwrap();
    let started = Instant::now();
    let error = insert(&mut deferred, 8).await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
    deferred.rollback().await;
    assert!(!deferred.in_transaction());
    writer.rollback().await;
    assert!(!writer.in_transaction());
}

#[tokio::test]
async fn a_lease_dropped_mid_transaction_leaves_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let pool = file_pool(&dir, 1, LONG).await;
    create_table(&pool).await;
    {
        let mut lease = pool.acquire().await.unwrap();
        lease.begin_immediate().await.unwrap();
        insert(&mut lease, 1).await.unwrap();
    }
    assert_eq!(pool.idle_count(), 1);
    // The caller's future cancelled while its transaction is open.
    let cancelled = tokio::time::timeout(Duration::from_millis(30), async {
        let mut lease = pool.acquire().await.unwrap();
        lease.begin_immediate().await.unwrap();
        insert(&mut lease, 2).await.unwrap();
        std::future::pending::<()>().await;
    })
    .await;
    assert!(cancelled.is_err());
    let mut lease = pool.acquire().await.unwrap();
    assert!(!lease.in_transaction());
    assert_eq!(count(&mut lease).await, 0);
    // The write lock was released too.
    lease.begin_immediate().await.unwrap();
    lease.commit().await.unwrap();
}

#[tokio::test]
async fn blocking_work_runs_on_another_thread_and_gives_the_connection_back() {
    let dir = tempfile::tempdir().unwrap();
    let pool = file_pool(&dir, 1, LONG).await;
    create_table(&pool).await;
    let mut lease = pool.acquire().await.unwrap();
    let caller = std::thread::current().id();
    let (thread, one) = lease
        .blocking(|conn| {
            let one: i64 = conn
                .query_row("SELECT 1", [], |r| r.get(0))
                .map_err(to_error)?;
            conn.execute("INSERT INTO t (id, a) VALUES (1, 'x')", [])
                .map_err(to_error)?;
            Ok((std::thread::current().id(), one))
        })
        .await
        .unwrap();
    assert_ne!(thread, caller);
    assert_eq!(one, 1);
    // The connection is back: the lease goes on with it.
    assert_eq!(count(&mut lease).await, 1);
    let error = lease
        .blocking(|conn| {
            conn.execute("INSERT INTO t (id, a) VALUES (1, 'x')", [])
                .map_err(to_error)
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("1555"));
    drop(lease);

    // Cancelled, the work runs to its end; its open transaction is rolled back and the
    // connection goes back to the idle list before the permit is free again.
    let cancelled = tokio::time::timeout(Duration::from_millis(20), async {
        let mut lease = pool.acquire().await.unwrap();
        lease
            .blocking(|conn| {
                conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO t (id, a) VALUES (2, 'y');")
                    .map_err(to_error)?;
                std::thread::sleep(Duration::from_millis(150));
                Ok(())
            })
            .await
    })
    .await;
    assert!(cancelled.is_err());
    // The work still holds the one permit...
    assert!(
        tokio::time::timeout(Duration::from_millis(30), pool.acquire())
            .await
            .is_err()
    );
    // ...until its connection is back in the idle list.
    let waiting = Instant::now();
    while pool.idle_count() == 0 {
        assert!(waiting.elapsed() < LONG, "the connection never came back");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut lease = pool.acquire().await.unwrap();
    assert_eq!(pool.idle_count(), 0);
    assert!(!lease.in_transaction());
    assert_eq!(count(&mut lease).await, 1);

    // Work that panics loses the connection, not the pool.
    let error = lease
        .blocking(|_| -> Result<(), Error> { panic!("work panicked") })
        .await
        .unwrap_err();
    assert!(error.is_transient());
    assert!(lease.fetch("SELECT 1", &[], &[]).await.is_err());
    drop(lease);
    let mut lease = pool.acquire().await.unwrap();
    assert_eq!(count(&mut lease).await, 1);
}

#[tokio::test]
async fn a_database_in_memory_has_one_connection() {
    let pool = Connections::open("sqlite::memory:", Some(8), LONG)
        .await
        .unwrap();
    create_table(&pool).await;
    let mut lease = pool.acquire().await.unwrap();
    insert(&mut lease, 1).await.unwrap();
    // The only connection is out: the next lease waits for it.
    assert!(
        tokio::time::timeout(Duration::from_millis(30), pool.acquire())
            .await
            .is_err()
    );
    drop(lease);
    let mut lease = pool.acquire().await.unwrap();
    assert_eq!(count(&mut lease).await, 1);
    drop(lease);

    pool.close().await;
    assert!(pool.acquire().await.is_err());
}

#[tokio::test]
async fn leases_of_a_file_share_it_and_closing_refuses_more() {
    let dir = tempfile::tempdir().unwrap();
    let pool = file_pool(&dir, 2, LONG).await;
    create_table(&pool).await;
    let mut a = pool.acquire().await.unwrap();
    let mut b = pool.acquire().await.unwrap();
    insert(&mut a, 1).await.unwrap();
    assert_eq!(count(&mut b).await, 1);
    assert!(
        tokio::time::timeout(Duration::from_millis(30), pool.acquire())
            .await
            .is_err()
    );
    drop(a);
    assert_eq!(pool.idle_count(), 1);
    pool.close().await;
    assert_eq!(pool.idle_count(), 0);
    drop(b);
    assert_eq!(
        pool.idle_count(),
        0,
        "a lease dropped after close is closed"
    );
    assert!(pool.acquire().await.is_err());
}

#[test]
fn processes_opening_one_new_file_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let url = url_in(&dir, "race.db");
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let pool = Connections::open(&url, Some(1), LONG).await?;
                    let mut lease = pool.acquire().await?;
                    lease
                        .execute("CREATE TABLE IF NOT EXISTS r (i INTEGER)", &[])
                        .await?;
                    lease
                        .execute("INSERT INTO r VALUES (?)", &[Sv::BigInt(Some(i))])
                        .await
                })
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap().unwrap();
    }
    let conn = rusqlite::Connection::open(dir.path().join("race.db")).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM r", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 8);
}

#[tokio::test]
async fn prepared_statements_are_reused() {
    let pool = Connections::open("sqlite::memory:", None, LONG)
        .await
        .unwrap();
    let mut lease = pool.acquire().await.unwrap();
    const SQL: &str = "SELECT ? + 1";
    for i in 0..10_000 {
        let row = lease
            .fetch_first(SQL, &[Sv::BigInt(Some(i))], &[ColumnType::Bigint])
            .await
            .unwrap();
        assert_eq!(row, Some(vec![Value::Integer(i + 1)]));
    }
    let (runs, reprepares) = lease
        .blocking(|conn| {
            let statement = conn.prepare_cached(SQL).map_err(to_error)?;
            Ok((
                statement.get_status(rusqlite::StatementStatus::Run),
                statement.get_status(rusqlite::StatementStatus::RePrepare),
            ))
        })
        .await
        .unwrap();
    assert_eq!((runs, reprepares), (10_000, 0));
}

#[tokio::test]
async fn leases_and_their_futures_are_send() {
    let pool = Arc::new(
        Connections::open("sqlite::memory:", None, LONG)
            .await
            .unwrap(),
    );
    assert_send(&pool.acquire());
    let mut lease = pool.acquire().await.unwrap();
    assert_send(&lease);
    let params = [Sv::BigInt(Some(1))];
    assert_send(&lease.fetch("SELECT ?", &params, &[ColumnType::Bigint]));
    assert_send(&lease.fetch_first("SELECT ?", &params, &[ColumnType::Bigint]));
    assert_send(&lease.execute("SELECT ?", &params));
    assert_send(&lease.execute_values("SELECT ?", &[Value::Integer(1)], None));
    assert_send(&lease.begin_immediate());
    assert_send(&lease.commit());
    assert_send(&lease.rollback());
    assert_send(&lease.blocking(|_| Ok(())));
    assert_send(&lease.fetch_unbounded("SELECT 1".into(), Vec::new(), Vec::new()));
    // Spawned as a task, a lease's work compiles and runs.
    let spawned = tokio::spawn({
        let pool = Arc::clone(&pool);
        async move {
            let mut lease = pool.acquire().await.unwrap();
            lease.fetch("SELECT 1", &[], &[ColumnType::Bigint]).await
        }
    });
    drop(lease);
    assert_eq!(
        spawned.await.unwrap().unwrap(),
        vec![vec![Value::Integer(1)]]
    );
}

/// Collects the `db.statement` field of every `memtable::statement` event.
struct Statements(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Statements {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Field<'a>(&'a mut Option<String>);
        impl tracing::field::Visit for Field<'_> {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "db.statement" {
                    *self.0 = Some(value.to_owned());
                }
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "db.statement" {
                    *self.0 = Some(format!("{value:?}"));
                }
            }
        }
        if event.metadata().target() != "memtable::statement" {
            return;
        }
        let mut statement = None;
        event.record(&mut Field(&mut statement));
        self.0
            .lock()
            .unwrap()
            .push(statement.unwrap_or_else(|| "<missing db.statement>".into()));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Runs alone, in a process of its own: tracing settles once per call site, for every thread,
/// whether anyone listens, and another test's thread that reaches the statement event while
/// this test's subscriber is being set can settle it as unheard (tracing's interest cache).
#[test]
fn every_statement_is_one_event_without_its_values() {
    const ALONE: &str = "MEMTABLE_TEST_ALONE";
    if std::env::var_os(ALONE).is_some() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(statements_are_events_without_their_values());
        return;
    }
    let path = concat!(
        module_path!(),
        "::every_statement_is_one_event_without_its_values"
    );
    let name = path.split_once("::").unwrap().1;
    let run = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--test-threads=1"])
        .env(ALONE, "1")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success() && out.contains("test result: ok. 1 passed"),
        "{out}{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

async fn statements_are_events_without_their_values() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let _guard = tracing::subscriber::set_default(Statements(Arc::clone(&seen)));
    let pool = Connections::open("sqlite::memory:", None, LONG)
        .await
        .unwrap();
    create_table(&pool).await;
    let mut lease = pool.acquire().await.unwrap();
    lease.begin_immediate().await.unwrap();
    lease
        .execute(
            "INSERT INTO t (id, a) VALUES (?, ?)",
            &[Sv::BigInt(Some(1)), Sv::String(Some("s3cr3t".into()))],
        )
        .await
        .unwrap();
    lease.commit().await.unwrap();
    lease
        .fetch_unbounded("SELECT a FROM t".into(), Vec::new(), vec![ColumnType::Text])
        .await
        .unwrap();
    lease.begin_immediate().await.unwrap();
    drop(lease);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b TEXT)",
            "CREATE UNIQUE INDEX t_b ON t (b)",
            "BEGIN IMMEDIATE",
            "INSERT INTO t (id, a) VALUES (?, ?)",
            "COMMIT",
            "SELECT a FROM t",
            "BEGIN IMMEDIATE",
            "ROLLBACK",
        ]
    );
}

#[tokio::test]
async fn each_commit_reports_the_size_of_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let pool = file_pool(&dir, 2, LONG).await;
    create_table(&pool).await;
    let mut lease = pool.acquire().await.unwrap();
    lease.take_wal_size();
    let mut sizes = Vec::new();
    for id in 0..3 {
        insert(&mut lease, id).await.unwrap();
        sizes.push(lease.take_wal_size());
    }
    // Each autocommit insert appends pages; taken once, the size is not reported again.
    assert!(
        sizes[0] > 0 && sizes[0] < sizes[1] && sizes[1] < sizes[2],
        "{sizes:?}"
    );
    assert_eq!(lease.take_wal_size(), 0);
    // Inside a transaction nothing commits until COMMIT; a bulk write on the blocking pool
    // reports its commit too.
    lease.begin_immediate().await.unwrap();
    insert(&mut lease, 10).await.unwrap();
    assert_eq!(lease.take_wal_size(), 0);
    let row = vec![Value::Integer(11), Value::Text("eleven".into())];
    let mut lent = row.clone();
    lease
        .execute_values_unbounded(
            "INSERT INTO t (id, a) VALUES (?, ?)".into(),
            &mut lent,
            None,
        )
        .await
        .unwrap();
    // The values come back from the blocking pool, for the caller to drop.
    assert_eq!(lent, row);
    lease.commit().await.unwrap();
    assert!(lease.take_wal_size() > sizes[2]);
}

#[tokio::test]
async fn the_wal_stays_near_a_thousand_pages_under_point_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::Store::connect(&url_in(&dir, "w.db")).await.unwrap();
    let schema = crate::TableSchema::from_json_str(
        r#"{"name": "w", "columns": [
            {"name": "id", "type": "bigint", "constraints": ["primary_key"]},
            {"name": "body", "type": "text"}
        ]}"#,
    )
    .unwrap();
    store.create_table(&schema).await.unwrap();
    // Rows of about a page each: without checkpoints, 6,000 of them leave a WAL of over
    // 70 MB (measured); checkpointed from 1,000 pages, it stays near 4 MB, and within 12 MB.
    for id in 0..6_000_i64 {
        let record = crate::Record::new()
            .with("id", id)
            .with("body", "x".repeat(3_000));
        store.insert_into_table("w", record).await.unwrap();
    }
    let wal = std::fs::metadata(dir.path().join("w.db-wal"))
        .unwrap()
        .len();
    let db = std::fs::metadata(dir.path().join("w.db")).unwrap().len();
    assert!(wal < 16 * 1024 * 1024, "the WAL grew to {wal} bytes");
    assert!(
        db > 12 * 1024 * 1024,
        "checkpoints moved only {db} bytes into the file"
    );
    store.close().await;
}
