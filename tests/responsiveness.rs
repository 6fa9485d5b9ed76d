//! The runtime is never blocked: while 8 tasks run mixed operations on a small table and one
//! task reads a 50,000-row table in full, a 1 ms ticker on the same runtime (2 worker threads)
//! keeps ticking. Guards a driver that runs bounded statements on the calling task and
//! unbounded work on the blocking pool.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use memtable::{Filter, QueryOptions, Record, Store, TableSchema, Value};
use memtable_tests::{both_backends, unique_name};
use serde_json::json;
use tokio::time::MissedTickBehavior;

/// Rows of the table read in full.
const BIG_ROWS: usize = 50_000;

/// Held by the test running now.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// Tasks running mixed operations.
const WORKERS: i64 = 8;
/// Operations per worker: this many rounds of six (insert, point query, update, upsert,
/// count, delete).
const ROUNDS: i64 = 50;
const OPS_PER_ROUND: u32 = 6;
/// Full reads of the big table.
const FULL_READS: usize = 3;
/// The ticker's period.
const TICK: Duration = Duration::from_millis(1);
/// The largest gap allowed between two ticks.
///
/// The one timing assertion of the test suite, allowed because the bound is 50 times the tick:
/// a runtime whose threads are blocked (a statement or a scan run on a worker thread) misses
/// it by far, while a merely slow machine or a debug build does not come near it. It catches a
/// blocked runtime, not a slow one.
const MAX_TICK_GAP: Duration = Duration::from_millis(50);
/// The measured phase fails rather than hangs past this.
const PHASE_TIMEOUT: Duration = Duration::from_secs(120);

fn schema(name: &str) -> TableSchema {
    TableSchema::from_json(json!({
        "name": name,
        "columns": [
            { "name": "id", "type": "text", "constraints": ["primary_key"] },
            { "name": "worker", "type": "integer", "constraints": ["not_null"] },
            { "name": "n", "type": "bigint", "constraints": ["not_null"] },
            { "name": "label", "type": "text" },
            { "name": "doc", "type": "json" },
            { "name": "flag", "type": "boolean", "constraints": ["not_null"] }
        ]
    }))
    .unwrap()
}

fn big_row(i: usize) -> Record {
    Record::new()
        .with("id", format!("row-{i:05}"))
        .with("worker", -1_i64)
        .with("n", i as i64)
        .with("label", format!("label number {i}"))
        .with(
            "doc",
            json!({ "i": i, "tags": ["a", "b"], "nested": { "even": i.is_multiple_of(2) } }),
        )
        .with("flag", i.is_multiple_of(3))
}

/// What the ticker saw: the largest gap between two consecutive ticks, and how many ticks.
struct Ticks {
    largest_gap: Duration,
    count: u64,
}

/// Ticks every [`TICK`] until `stop`, recording the largest gap between consecutive ticks.
async fn ticker(stop: Arc<AtomicBool>) -> Ticks {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The first tick completes at once.
    interval.tick().await;
    let mut last = Instant::now();
    let mut ticks = Ticks {
        largest_gap: Duration::ZERO,
        count: 0,
    };
    while !stop.load(Ordering::Relaxed) {
        interval.tick().await;
        let now = Instant::now();
        ticks.largest_gap = ticks.largest_gap.max(now - last);
        ticks.count += 1;
        last = now;
    }
    ticks
}

/// [`ROUNDS`] rounds of mixed operations on rows of its own in `table`; the number of
/// operations that succeeded, or the first failure.
async fn worker(store: Store, table: String, w: i64) -> Result<u32, String> {
    let mut ops = 0;
    for i in 0..ROUNDS {
        let id = format!("w{w}-{i}");
        let fail = |op: &str, e: &dyn std::fmt::Display| format!("worker {w}, {op} {id}: {e}");

        let record = Record::new()
            .with("id", id.clone())
            .with("worker", w)
            .with("n", i)
            .with("label", format!("worker {w} round {i}"))
            .with("doc", json!({ "w": w, "i": i }))
            .with("flag", false);
        let returned = store
            .insert_into_table(&table, record)
            .await
            .map_err(|e| fail("insert", &e))?;
        if returned != id {
            return Err(fail("insert", &format!("returned id {returned}")));
        }
        ops += 1;

        let found = store
            .query_table(
                &table,
                &QueryOptions::new()
                    .filter(Filter::eq("id", id.clone()))
                    .limit(1),
            )
            .await
            .map_err(|e| fail("query", &e))?;
        if found.len() != 1 || found[0].get("n") != Some(&Value::Integer(i)) {
            return Err(fail("query", &format!("found {found:?}")));
        }
        ops += 1;

        store
            .update_table_record(
                &table,
                &id,
                Record::new()
                    .with("n", i + 1_000)
                    .with("doc", json!({ "w": w, "i": i, "updated": true })),
            )
            .await
            .map_err(|e| fail("update", &e))?;
        ops += 1;

        let upsert = Record::new()
            .with("id", id.clone())
            .with("worker", w)
            .with("n", i + 2_000)
            .with("flag", true);
        let returned = store
            .upsert_into_table(&table, upsert)
            .await
            .map_err(|e| fail("upsert", &e))?;
        if returned != id {
            return Err(fail("upsert", &format!("returned id {returned}")));
        }
        ops += 1;

        // Each worker's rows are its own, and it deletes each before the next: one flagged.
        let filter = Filter::eq("worker", w).and(Filter::eq("flag", true));
        let count = store
            .count(&table, Some(&filter))
            .await
            .map_err(|e| fail("count", &e))?;
        if count != 1 {
            return Err(fail("count", &format!("counted {count}")));
        }
        ops += 1;

        store
            .delete_from_table(&table, &id)
            .await
            .map_err(|e| fail("delete", &e))?;
        ops += 1;
    }
    Ok(ops)
}

/// [`FULL_READS`] reads of `table` in full (no limit); the rows each returned.
async fn scanner(store: Store, table: String) -> Result<Vec<usize>, String> {
    let mut counts = Vec::with_capacity(FULL_READS);
    for read in 0..FULL_READS {
        let rows = store
            .query_table(&table, &QueryOptions::new())
            .await
            .map_err(|e| format!("full read {read} of {table}: {e}"))?;
        counts.push(rows.len());
        // Freeing 50,000 records takes a debug build 100-250 ms in one go: the test's own
        // work, done off the runtime so that the ticker measures the store, not the test.
        tokio::task::spawn_blocking(move || drop(rows))
            .await
            .map_err(|e| format!("dropping full read {read}: {e}"))?;
    }
    Ok(counts)
}

/// Opens the connections the measured phase will use, before it: one count per task of the
/// phase, all at once, so that each but the first opens a connection of its own.
///
/// Opening a PostgreSQL connection is a TLS handshake on the task that asks for it, a few
/// milliseconds of CPU in a debug build: with a cold pool, nine of them in the phase's first
/// moments made its largest tick gap 20-43 ms, against 10-16 ms warm (five and nine runs on
/// one machine). A service's pool is warm; the ticker measures the statements, not the
/// handshakes.
async fn warm_up(store: &Store, table: &str) {
    let counts: Vec<_> = (0..=WORKERS)
        .map(|_| {
            let (store, table) = (store.clone(), table.to_owned());
            tokio::spawn(async move { store.count(&table, None).await })
        })
        .collect();
    for count in counts {
        assert_eq!(count.await.expect("a warm-up task").unwrap(), 0);
    }
}

both_backends! {
    async fn ticker_keeps_ticking_under_load(db, store) {
        // One backend at a time: the two tests of this file at once would share two cores
        // between two loaded runtimes, and the ticker would measure that, not its own runtime.
        let _alone = ONE_AT_A_TIME.lock().await;
        let big = unique_name("big");
        let small = unique_name("small");
        store.create_table(&schema(&big)).await.unwrap();
        store.create_table(&schema(&small)).await.unwrap();

        let setup = Instant::now();
        let ids = store
            .insert_many_into_table(&big, (0..BIG_ROWS).map(big_row).collect())
            .await
            .unwrap();
        assert_eq!(ids.len(), BIG_ROWS);
        eprintln!("{}: setup ({BIG_ROWS} rows) took {:?}", db.backend, setup.elapsed());

        warm_up(&store, &small).await;

        let stop = Arc::new(AtomicBool::new(false));
        let phase = Instant::now();
        let measured = tokio::time::timeout(PHASE_TIMEOUT, async {
            let ticker = tokio::spawn(ticker(Arc::clone(&stop)));
            let workers: Vec<_> = (0..WORKERS)
                .map(|w| tokio::spawn(worker(store.clone(), small.clone(), w)))
                .collect();
            let scan = tokio::spawn(scanner(store.clone(), big.clone()));

            let mut ops = Vec::new();
            for handle in workers {
                ops.push(handle.await.expect("a worker task"));
            }
            let reads = scan.await.expect("the scanner task");
            stop.store(true, Ordering::Relaxed);
            let ticks = ticker.await.expect("the ticker task");
            (ops, reads, ticks)
        })
        .await;
        let elapsed = phase.elapsed();
        let (ops, reads, ticks) = measured.unwrap_or_else(|_| {
            panic!("the measured phase did not end within {PHASE_TIMEOUT:?}")
        });

        eprintln!(
            "{}: measured phase took {elapsed:?}: largest tick gap {:?} over {} ticks \
             ({WORKERS} workers x {} ops, {FULL_READS} full reads of {BIG_ROWS} rows)",
            db.backend,
            ticks.largest_gap,
            ticks.count,
            ROUNDS as u32 * OPS_PER_ROUND,
        );

        for (w, result) in ops.into_iter().enumerate() {
            let done = result.unwrap_or_else(|e| panic!("worker {w} failed: {e}"));
            assert_eq!(done, ROUNDS as u32 * OPS_PER_ROUND, "worker {w}");
        }
        let reads = reads.unwrap_or_else(|e| panic!("the scanner failed: {e}"));
        assert_eq!(reads, vec![BIG_ROWS; FULL_READS]);
        assert_eq!(store.count(&small, None).await.unwrap(), 0);
        assert!(
            ticks.largest_gap < MAX_TICK_GAP,
            "{}: the runtime was blocked: largest tick gap {:?} (bound {MAX_TICK_GAP:?})",
            db.backend,
            ticks.largest_gap,
        );
    }
}
