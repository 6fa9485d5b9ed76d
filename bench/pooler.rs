//! What running behind a transaction-mode pooler costs memtable per operation: the same
//! single-row operations on one PostgreSQL database three ways, rounds interleaved:
//! directly with prepared statements (the default), directly in pooler mode
//! (`transaction_pooled(true)`: unnamed statements, each in a transaction of its own), and
//! through PgBouncer in transaction mode (`pgbouncer=true`).
//!
//! ```sh
//! MEMTABLE_BENCH_POSTGRES_URL=postgres://…:5432/db \
//! MEMTABLE_BENCH_PGBOUNCER_URL=postgres://…:6432/db?pgbouncer=true \
//! cargo bench -p memtable-bench --bench pooler
//! ```
//!
//! Without both URLs it prints how to set them and measures nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Instant;

use memtable::{Filter, QueryOptions, Record, Store, TableSchema};

const OPERATIONS: [&str; 3] = ["insert", "point select", "update by id"];

fn schema(table: &str) -> TableSchema {
    TableSchema::from_json(serde_json::json!({
        "name": table,
        "columns": [
            { "name": "id", "type": "bigint", "constraints": ["primary_key"] },
            { "name": "user_id", "type": "text", "constraints": ["not_null"] },
            { "name": "token", "type": "text" },
            { "name": "data", "type": "json" }
        ]
    }))
    .unwrap()
}

/// One round: `ops` of each operation on `table`; the µs per operation of each.
async fn round(store: &Store, table: &str, first_id: i64, ops: i64) -> [f64; 3] {
    let mut out = [0.0; 3];
    let started = Instant::now();
    for i in 0..ops {
        let record = Record::new()
            .with("id", first_id + i)
            .with("user_id", format!("u{i}"))
            .with("token", "t")
            .with("data", serde_json::json!({"n": i}));
        store.insert_into_table(table, record).await.unwrap();
    }
    out[0] = started.elapsed().as_secs_f64() * 1e6 / ops as f64;
    let started = Instant::now();
    for i in 0..ops {
        let options = QueryOptions::new().filter(Filter::eq("id", first_id + i));
        let rows = store.query_table(table, &options).await.unwrap();
        assert_eq!(rows.len(), 1);
    }
    out[1] = started.elapsed().as_secs_f64() * 1e6 / ops as f64;
    let started = Instant::now();
    for i in 0..ops {
        let id = (first_id + i).to_string();
        store
            .update_table_record(table, &id, Record::new().with("token", "u"))
            .await
            .unwrap();
    }
    out[2] = started.elapsed().as_secs_f64() * 1e6 / ops as f64;
    out
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let quick = cfg!(debug_assertions);
    let (Ok(direct), Ok(pooled)) = (
        std::env::var("MEMTABLE_BENCH_POSTGRES_URL"),
        std::env::var("MEMTABLE_BENCH_PGBOUNCER_URL"),
    ) else {
        println!(
            "pooler: set MEMTABLE_BENCH_POSTGRES_URL and MEMTABLE_BENCH_PGBOUNCER_URL (the same \
             database through PgBouncer in transaction mode, with pgbouncer=true) to measure"
        );
        return;
    };
    let ops: i64 = std::env::var("MEMTABLE_BENCH_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 20 } else { 2000 });
    let rounds: usize = std::env::var("MEMTABLE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1 } else { 5 });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sides = [
            ("direct, prepared", Store::connect(&direct).await.unwrap()),
            (
                "direct, pooler mode",
                Store::builder(direct.clone())
                    .transaction_pooled(true)
                    .connect()
                    .await
                    .unwrap(),
            ),
            ("through PgBouncer", Store::connect(&pooled).await.unwrap()),
        ];
        let table = format!("bench_pooler_{}", std::process::id());
        sides[0].1.create_table(&schema(&table)).await.unwrap();
        let mut times = vec![[Vec::new(), Vec::new(), Vec::new()]; sides.len()];
        let mut next_id = 0;
        for r in 0..rounds {
            for s in 0..sides.len() {
                // The side that goes first turns with the rounds.
                let s = (s + r) % sides.len();
                let measured = round(&sides[s].1, &table, next_id, ops).await;
                next_id += ops;
                for (op, value) in measured.into_iter().enumerate() {
                    times[s][op].push(value);
                }
            }
        }
        sides[0].1.drop_table(&table).await.unwrap();
        println!("\nPooler mode, µs per operation (median of {rounds} rounds of {ops}):\n");
        println!("| operation | direct, prepared | direct, pooler mode | through PgBouncer |");
        println!("|---|---|---|---|");
        for (op, name) in OPERATIONS.iter().enumerate() {
            let base = median(&mut times[0][op]);
            let mode = median(&mut times[1][op]);
            let bouncer = median(&mut times[2][op]);
            println!(
                "| {name} | {base:.1} | {mode:.1} ({:.2}×) | {bouncer:.1} ({:.2}×) |",
                mode / base,
                bouncer / base
            );
        }
    });
}
