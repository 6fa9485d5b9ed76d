//! memtable against hand-written sqlx doing the same work on the same database, in the same
//! run, with rounds interleaved (on PostgreSQL the sides also take turns every operation, on
//! new connections every round, the client's thread and the server processes pinned to cores
//! of their own where this machine allows it: `placement.rs`) and medians reported; on SQLite
//! also against hand-written rusqlite (synchronous, called directly: no worker thread), in the
//! same rounds; plus the bulk ceilings (rusqlite multi-row VALUES on SQLite, COPY on
//! PostgreSQL).
//!
//! ```sh
//! cargo bench -p memtable-bench                                  # SQLite file only
//! MEMTABLE_BENCH_POSTGRES_URL=postgres://… cargo bench -p memtable-bench
//! MEMTABLE_BENCH_OPS=2000 MEMTABLE_BENCH_ROUNDS=5 MEMTABLE_BENCH_BULK=100000 MEMTABLE_BENCH_BULK_ROUNDS=11 cargo bench -p memtable-bench
//! MEMTABLE_BENCH_SKIP_SQLITE=1 MEMTABLE_BENCH_POSTGRES_URL=postgres://… cargo bench -p memtable-bench   # PostgreSQL only
//! MEMTABLE_BENCH_PIN=0 …                                         # PostgreSQL: leave the processes where the scheduler puts them
//! ```
//!
//! The hand-written sqlx side holds one connection (the fastest way to use sqlx; on PostgreSQL a
//! new one every round, as memtable's store is), uses sqlx's
//! statement cache, and decodes rows into a tuple; the rusqlite side (SQLite only, its own
//! file, the same settings) holds one `rusqlite::Connection`, uses `prepare_cached` and decodes
//! into the same tuple; memtable goes through its public API. The SQLite table adds rusqlite's
//! µs and memtable's rate as a fraction of rusqlite's (rusqlite time / memtable time).
//!
//! With `node` on PATH and `bash bench/ts-provider/setup` done, an optimized run also runs
//! `bench/ts-provider/provider.mjs` after the Rust rounds of each backend: the seed's
//! TypeScript provider (SQL prepared on every call, a table-existence query before every
//! operation) doing the same operations with the same settings, on its own SQLite file or its
//! own PostgreSQL table, and prints memtable against it. The quick run under `cargo test`
//! never starts node.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr as _;
use std::time::{Duration, Instant};

use cpu_time::ThreadTime;

use memtable::{Filter, QueryOptions, Record, Store, TableSchema};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection as _, PgConnection, SqliteConnection};

mod placement;

const TABLE: &str = "bench_tokens";
/// A table of the same columns that memtable did not create (PostgreSQL only).
const UNNEST_TABLE: &str = "bench_tokens_unnest";

fn schema() -> TableSchema {
    TableSchema::from_json_str(
        r#"{
        "name": "bench_tokens",
        "columns": [
            { "name": "id", "type": "text", "constraints": ["primary_key"] },
            { "name": "user_id", "type": "text", "constraints": ["not_null"] },
            { "name": "provider", "type": "text", "constraints": ["not_null"] },
            { "name": "access_token", "type": "text", "constraints": ["not_null"] },
            { "name": "refresh_token", "type": "text" },
            { "name": "expires_at", "type": "bigint" },
            { "name": "scope", "type": "text" },
            { "name": "token_data", "type": "json" },
            { "name": "created_at", "type": "bigint", "constraints": ["not_null"] },
            { "name": "updated_at", "type": "bigint", "constraints": ["not_null"] }
        ],
        "indexes": [ { "name": "idx_bench_user_provider", "columns": ["user_id", "provider"], "unique": true } ]
    }"#,
    )
    .unwrap()
}

/// The one row shape both sides write.
struct Token {
    id: String,
    user_id: String,
    provider: &'static str,
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<i64>,
    scope: Option<&'static str>,
    token_data: serde_json::Value,
    created_at: i64,
    updated_at: i64,
}

fn token(prefix: &str, i: usize) -> Token {
    Token {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: format!("{prefix}-user-{i}"),
        provider: "github",
        access_token: format!("gho_{i:016}"),
        refresh_token: Some(format!("ghr_{i:016}")),
        expires_at: Some(1_700_000_000_000 + i as i64),
        scope: Some("repo read:user"),
        token_data: serde_json::json!({"token_type": "bearer", "n": i}),
        created_at: i as i64,
        updated_at: i as i64,
    }
}

fn record(t: &Token) -> Record {
    Record::new()
        .with("id", t.id.as_str())
        .with("user_id", t.user_id.as_str())
        .with("provider", t.provider)
        .with("access_token", t.access_token.as_str())
        .with("refresh_token", t.refresh_token.clone())
        .with("expires_at", t.expires_at)
        .with("scope", t.scope)
        .with("token_data", t.token_data.clone())
        .with("created_at", t.created_at)
        .with("updated_at", t.updated_at)
}

/// The same table as a typed struct, for the typed operations.
#[derive(memtable::Table)]
#[memtable(
    table = "bench_tokens",
    index(name = "idx_bench_user_provider", columns(user_id, provider), unique)
)]
struct TypedToken {
    #[memtable(primary_key)]
    id: String,
    user_id: String,
    provider: String,
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<i64>,
    scope: Option<String>,
    token_data: Option<serde_json::Value>,
    created_at: i64,
    updated_at: i64,
}

fn typed(t: &Token) -> TypedToken {
    TypedToken {
        id: String::new(),
        user_id: t.user_id.clone(),
        provider: t.provider.to_owned(),
        access_token: t.access_token.clone(),
        refresh_token: t.refresh_token.clone(),
        expires_at: t.expires_at,
        scope: t.scope.map(str::to_owned),
        token_data: Some(t.token_data.clone()),
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

type Decoded = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    i64,
    i64,
);
type DecodedPg = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<serde_json::Value>,
    i64,
    i64,
);

const COLUMNS: &str = "id, user_id, provider, access_token, refresh_token, expires_at, scope, token_data, created_at, updated_at";

// The SQLite statements of both hand-written sides (sqlx and rusqlite), the same text.
const SQLITE_INSERT: &str = "INSERT INTO bench_tokens (id, user_id, provider, access_token, refresh_token, expires_at, scope, token_data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const SQLITE_SELECT: &str = "SELECT id, user_id, provider, access_token, refresh_token, expires_at, scope, token_data, created_at, updated_at FROM bench_tokens WHERE user_id = ? AND provider = ? LIMIT 1";
const SQLITE_UPDATE: &str = "UPDATE bench_tokens SET access_token = ?, updated_at = ? WHERE id = ?";
const SQLITE_UPDATE_ALL: &str = "UPDATE bench_tokens SET user_id = ?, provider = ?, access_token = ?, refresh_token = ?, expires_at = ?, scope = ?, token_data = ?, created_at = ?, updated_at = ? WHERE id = ?";
const SQLITE_DELETE: &str = "DELETE FROM bench_tokens WHERE id = ?";
const SQLITE_UPSERT: &str = "INSERT INTO bench_tokens (id, user_id, provider, access_token, refresh_token, expires_at, scope, token_data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, provider) DO UPDATE SET access_token = excluded.access_token, refresh_token = excluded.refresh_token, expires_at = excluded.expires_at, scope = excluded.scope, token_data = excluded.token_data, created_at = excluded.created_at, updated_at = excluded.updated_at RETURNING id";

/// Hand-written sqlx on one held connection.
enum Hand {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Hand {
    async fn insert(&mut self, t: &Token) {
        match self {
            Hand::Sqlite(c) => {
                sqlx::query(SQLITE_INSERT)
                    .bind(&t.id)
                    .bind(&t.user_id)
                    .bind(t.provider)
                    .bind(&t.access_token)
                    .bind(&t.refresh_token)
                    .bind(t.expires_at)
                    .bind(t.scope)
                    .bind(t.token_data.to_string())
                    .bind(t.created_at)
                    .bind(t.updated_at)
                    .execute(&mut *c)
                    .await
                    .unwrap();
            }
            Hand::Postgres(c) => {
                sqlx::query(
                    "INSERT INTO bench_tokens (id, user_id, provider, access_token, refresh_token, expires_at, scope, token_data, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&t.id).bind(&t.user_id).bind(t.provider).bind(&t.access_token).bind(&t.refresh_token)
                .bind(t.expires_at).bind(t.scope).bind(&t.token_data).bind(t.created_at).bind(t.updated_at)
                .execute(&mut *c)
                .await
                .unwrap();
            }
        }
    }

    async fn select(&mut self, user_id: &str) -> String {
        match self {
            Hand::Sqlite(c) => {
                let row: Decoded = sqlx::query_as(SQLITE_SELECT)
                    .bind(user_id)
                    .bind("github")
                    .fetch_one(&mut *c)
                    .await
                    .unwrap();
                let _doc: Option<serde_json::Value> =
                    row.7.as_deref().map(|t| serde_json::from_str(t).unwrap());
                row.0
            }
            Hand::Postgres(c) => {
                let row: DecodedPg = sqlx::query_as(
                    "SELECT id, user_id, provider, access_token, refresh_token, expires_at, scope, token_data, created_at, updated_at FROM bench_tokens WHERE user_id = $1 AND provider = $2 LIMIT 1",
                )
                .bind(user_id)
                .bind("github")
                .fetch_one(&mut *c)
                .await
                .unwrap();
                row.0
            }
        }
    }

    async fn update(&mut self, id: &str, i: usize) {
        let sql = match self {
            Hand::Sqlite(_) => SQLITE_UPDATE,
            Hand::Postgres(_) => {
                "UPDATE bench_tokens SET access_token = $1, updated_at = $2 WHERE id = $3"
            }
        };
        let affected = match self {
            Hand::Sqlite(c) => sqlx::query(sql)
                .bind(format!("new_{i}"))
                .bind(i as i64)
                .bind(id)
                .execute(&mut *c)
                .await
                .unwrap()
                .rows_affected(),
            Hand::Postgres(c) => sqlx::query(sql)
                .bind(format!("new_{i}"))
                .bind(i as i64)
                .bind(id)
                .execute(&mut *c)
                .await
                .unwrap()
                .rows_affected(),
        };
        assert_eq!(affected, 1);
    }

    /// Every column but the key, as a typed `update(&row)` writes.
    async fn update_all(&mut self, t: &Token, i: usize) {
        let affected = match self {
            Hand::Sqlite(c) => sqlx::query(
                SQLITE_UPDATE_ALL,
            )
            .bind(&t.user_id).bind(t.provider).bind(format!("new_{i}")).bind(&t.refresh_token)
            .bind(t.expires_at).bind(t.scope).bind(t.token_data.to_string()).bind(t.created_at).bind(i as i64)
            .bind(&t.id)
            .execute(&mut *c)
            .await
            .unwrap()
            .rows_affected(),
            Hand::Postgres(c) => sqlx::query(
                "UPDATE bench_tokens SET user_id = $1, provider = $2, access_token = $3, refresh_token = $4, expires_at = $5, scope = $6, token_data = $7, created_at = $8, updated_at = $9 WHERE id = $10",
            )
            .bind(&t.user_id).bind(t.provider).bind(format!("new_{i}")).bind(&t.refresh_token)
            .bind(t.expires_at).bind(t.scope).bind(&t.token_data).bind(t.created_at).bind(i as i64)
            .bind(&t.id)
            .execute(&mut *c)
            .await
            .unwrap()
            .rows_affected(),
        };
        assert_eq!(affected, 1);
    }

    async fn delete(&mut self, id: &str) {
        let affected = match self {
            Hand::Sqlite(c) => sqlx::query(SQLITE_DELETE)
                .bind(id)
                .execute(&mut *c)
                .await
                .unwrap()
                .rows_affected(),
            Hand::Postgres(c) => sqlx::query("DELETE FROM bench_tokens WHERE id = $1")
                .bind(id)
                .execute(&mut *c)
                .await
                .unwrap()
                .rows_affected(),
        };
        assert_eq!(affected, 1);
    }

    /// `to_completion`: all rows fetched, so that the statement runs to its end (and its
    /// commit's error, if any, is seen) rather than being reset after its first row.
    async fn upsert(&mut self, t: &Token, to_completion: bool) -> String {
        match self {
            Hand::Sqlite(c) if to_completion => {
                let ids: Vec<String> = sqlx::query_scalar(
                    SQLITE_UPSERT,
                )
                .bind(&t.id).bind(&t.user_id).bind(t.provider).bind(&t.access_token).bind(&t.refresh_token)
                .bind(t.expires_at).bind(t.scope).bind(t.token_data.to_string()).bind(t.created_at).bind(t.updated_at)
                .fetch_all(&mut *c)
                .await
                .unwrap();
                ids.into_iter().next().unwrap()
            }
            Hand::Sqlite(c) => sqlx::query_scalar(
                SQLITE_UPSERT,
            )
            .bind(&t.id).bind(&t.user_id).bind(t.provider).bind(&t.access_token).bind(&t.refresh_token)
            .bind(t.expires_at).bind(t.scope).bind(t.token_data.to_string()).bind(t.created_at).bind(t.updated_at)
            .fetch_one(&mut *c)
            .await
            .unwrap(),
            Hand::Postgres(c) if to_completion => {
                let ids: Vec<String> = sqlx::query_scalar(
                "INSERT INTO bench_tokens (id, user_id, provider, access_token, refresh_token, expires_at, scope, token_data, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (user_id, provider) DO UPDATE SET access_token = excluded.access_token, refresh_token = excluded.refresh_token, expires_at = excluded.expires_at, scope = excluded.scope, token_data = excluded.token_data, created_at = excluded.created_at, updated_at = excluded.updated_at RETURNING id",
            )
            .bind(&t.id).bind(&t.user_id).bind(t.provider).bind(&t.access_token).bind(&t.refresh_token)
            .bind(t.expires_at).bind(t.scope).bind(&t.token_data).bind(t.created_at).bind(t.updated_at)
            .fetch_all(&mut *c)
            .await
            .unwrap();
                ids.into_iter().next().unwrap()
            }
            Hand::Postgres(c) => sqlx::query_scalar(
                "INSERT INTO bench_tokens (id, user_id, provider, access_token, refresh_token, expires_at, scope, token_data, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (user_id, provider) DO UPDATE SET access_token = excluded.access_token, refresh_token = excluded.refresh_token, expires_at = excluded.expires_at, scope = excluded.scope, token_data = excluded.token_data, created_at = excluded.created_at, updated_at = excluded.updated_at RETURNING id",
            )
            .bind(&t.id).bind(&t.user_id).bind(t.provider).bind(&t.access_token).bind(&t.refresh_token)
            .bind(t.expires_at).bind(t.scope).bind(&t.token_data).bind(t.created_at).bind(t.updated_at)
            .fetch_one(&mut *c)
            .await
            .unwrap(),
        }
    }

    /// The bulk path a person would write with sqlx: multi-row VALUES, 500 rows a statement,
    /// in one transaction (SQLite), or COPY (PostgreSQL, the ceiling).
    async fn bulk(&mut self, rows: &[Token]) {
        match self {
            Hand::Sqlite(c) => {
                let mut tx = c.begin_with("BEGIN IMMEDIATE").await.unwrap();
                for chunk in rows.chunks(500) {
                    let mut builder = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
                        "INSERT INTO bench_tokens ({COLUMNS}) "
                    ));
                    builder.push_values(chunk, |mut b, t| {
                        b.push_bind(&t.id)
                            .push_bind(&t.user_id)
                            .push_bind(t.provider)
                            .push_bind(&t.access_token)
                            .push_bind(&t.refresh_token)
                            .push_bind(t.expires_at)
                            .push_bind(t.scope)
                            .push_bind(t.token_data.to_string())
                            .push_bind(t.created_at)
                            .push_bind(t.updated_at);
                    });
                    builder
                        .build()
                        .persistent(true)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                }
                tx.commit().await.unwrap();
            }
            Hand::Postgres(c) => {
                let mut copy = c
                    .copy_in_raw(format!("COPY bench_tokens ({COLUMNS}) FROM STDIN").as_str())
                    .await
                    .unwrap();
                let mut buffer = String::with_capacity(rows.len() * 160);
                for t in rows {
                    let json = t.token_data.to_string().replace('\\', "\\\\");
                    buffer.push_str(&format!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                        t.id,
                        t.user_id,
                        t.provider,
                        t.access_token,
                        t.refresh_token.as_deref().unwrap_or("\\N"),
                        t.expires_at.map_or("\\N".to_owned(), |e| e.to_string()),
                        t.scope.unwrap_or("\\N"),
                        json,
                        t.created_at,
                        t.updated_at
                    ));
                }
                copy.send(buffer.into_bytes()).await.unwrap();
                copy.finish().await.unwrap();
            }
        }
    }
}

/// Hand-written rusqlite on one held connection (SQLite only), on its own file with the same
/// settings as the sqlx side. rusqlite is synchronous and is called directly from the async
/// benchmark code: no worker thread, no hop; statements cached (`prepare_cached`), rows
/// decoded into the same tuple as the sqlx side. Its multi-row VALUES insert is the bulk
/// ceiling of SQLite from Rust.
struct Rusqlite(rusqlite::Connection);

impl Rusqlite {
    fn open(path: &str) -> Self {
        let conn = rusqlite::Connection::open(path).unwrap();
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        conn.pragma_update(None, "cache_size", -16000).unwrap();
        Rusqlite(conn)
    }

    fn insert(&mut self, t: &Token) {
        self.0
            .prepare_cached(SQLITE_INSERT)
            .unwrap()
            .execute(rusqlite::params![
                t.id,
                t.user_id,
                t.provider,
                t.access_token,
                t.refresh_token,
                t.expires_at,
                t.scope,
                t.token_data.to_string(),
                t.created_at,
                t.updated_at
            ])
            .unwrap();
    }

    fn select(&mut self, user_id: &str) -> String {
        let row: Decoded = self
            .0
            .prepare_cached(SQLITE_SELECT)
            .unwrap()
            .query_row(rusqlite::params![user_id, "github"], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                ))
            })
            .unwrap();
        let _doc: Option<serde_json::Value> =
            row.7.as_deref().map(|t| serde_json::from_str(t).unwrap());
        row.0
    }

    fn update(&mut self, id: &str, i: usize) {
        let affected = self
            .0
            .prepare_cached(SQLITE_UPDATE)
            .unwrap()
            .execute(rusqlite::params![format!("new_{i}"), i as i64, id])
            .unwrap();
        assert_eq!(affected, 1);
    }

    fn update_all(&mut self, t: &Token, i: usize) {
        let affected = self
            .0
            .prepare_cached(SQLITE_UPDATE_ALL)
            .unwrap()
            .execute(rusqlite::params![
                t.user_id,
                t.provider,
                format!("new_{i}"),
                t.refresh_token,
                t.expires_at,
                t.scope,
                t.token_data.to_string(),
                t.created_at,
                i as i64,
                t.id
            ])
            .unwrap();
        assert_eq!(affected, 1);
    }

    fn delete(&mut self, id: &str) {
        let affected = self
            .0
            .prepare_cached(SQLITE_DELETE)
            .unwrap()
            .execute([id])
            .unwrap();
        assert_eq!(affected, 1);
    }

    /// As the sqlx side: `to_completion` steps the statement to its end (its commit's error,
    /// if any, is seen); otherwise `query_row`, which resets it after the first row.
    fn upsert(&mut self, t: &Token, to_completion: bool) -> String {
        let mut statement = self.0.prepare_cached(SQLITE_UPSERT).unwrap();
        let json = t.token_data.to_string();
        let params = rusqlite::params![
            t.id,
            t.user_id,
            t.provider,
            t.access_token,
            t.refresh_token,
            t.expires_at,
            t.scope,
            json,
            t.created_at,
            t.updated_at
        ];
        if to_completion {
            let mut rows = statement.query(params).unwrap();
            let id: String = rows.next().unwrap().unwrap().get(0).unwrap();
            while rows.next().unwrap().is_some() {}
            id
        } else {
            statement.query_row(params, |r| r.get(0)).unwrap()
        }
    }

    /// Multi-row VALUES, 500 rows a statement, cached statements, one transaction.
    fn bulk(&mut self, rows: &[Token]) {
        let tx = self
            .0
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        let placeholders = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; 500].join(", ");
        let full = format!("INSERT INTO bench_tokens ({COLUMNS}) VALUES {placeholders}");
        for chunk in rows.chunks(500) {
            let sql = if chunk.len() == 500 {
                full.clone()
            } else {
                format!(
                    "INSERT INTO bench_tokens ({COLUMNS}) VALUES {}",
                    vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
                )
            };
            let mut statement = tx.prepare_cached(&sql).unwrap();
            let mut params: Vec<Box<dyn rusqlite::ToSql>> = Vec::with_capacity(chunk.len() * 10);
            for t in chunk {
                params.push(Box::new(t.id.clone()));
                params.push(Box::new(t.user_id.clone()));
                params.push(Box::new(t.provider));
                params.push(Box::new(t.access_token.clone()));
                params.push(Box::new(t.refresh_token.clone()));
                params.push(Box::new(t.expires_at));
                params.push(Box::new(t.scope));
                params.push(Box::new(t.token_data.to_string()));
                params.push(Box::new(t.created_at));
                params.push(Box::new(t.updated_at));
            }
            statement
                .execute(rusqlite::params_from_iter(params.iter()))
                .unwrap();
        }
        tx.commit().unwrap();
    }
}

struct Settings {
    ops: usize,
    rounds: usize,
    bulk: usize,
    bulk_rounds: usize,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// µs per unit of `n` units of work.
async fn time<F: Future<Output = ()>>(n: usize, work: F) -> f64 {
    let started = Instant::now();
    work.await;
    started.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// µs per unit of `n` units of synchronous work (the rusqlite side).
fn time_sync(n: usize, work: impl FnOnce()) -> f64 {
    let started = Instant::now();
    work();
    started.elapsed().as_secs_f64() * 1e6 / n as f64
}

struct Line {
    operation: &'static str,
    ours: Vec<f64>,
    theirs: Vec<f64>,
    /// Hand-written rusqlite (SQLite only; empty on PostgreSQL).
    rusqlite: Vec<f64>,
    /// The µs of each operation of every round, memtable's and the baseline's (PostgreSQL's
    /// single-row operations, which take turns every operation; empty otherwise).
    ours_each: Vec<f64>,
    theirs_each: Vec<f64>,
    /// The CPU time of the benchmark's thread per operation (user and system), round by round,
    /// memtable's and the baseline's (where `ours_each` is kept).
    ours_cpu: Vec<f64>,
    theirs_cpu: Vec<f64>,
    baseline: &'static str,
    /// The key of the same work in the TypeScript provider's output, if it does it.
    ts: Option<&'static str>,
}

impl Line {
    fn new(operation: &'static str, baseline: &'static str) -> Self {
        Line {
            operation,
            ours: Vec::new(),
            theirs: Vec::new(),
            rusqlite: Vec::new(),
            ours_each: Vec::new(),
            theirs_each: Vec::new(),
            ours_cpu: Vec::new(),
            theirs_cpu: Vec::new(),
            baseline,
            ts: None,
        }
    }

    fn ts(mut self, key: &'static str) -> Self {
        self.ts = Some(key);
        self
    }
}

/// The seed's TypeScript provider, emulated by `bench/ts-provider/provider.mjs`.
enum TsProvider {
    /// `node` and the script's dependencies are there.
    Ready { node: PathBuf, script: PathBuf },
    /// Not run, and why (printed once, at the end).
    Skipped(String),
}

const TS_SETUP_HINT: &str = "run `bash bench/ts-provider/setup` (needs Node 20+ and npm) and `cargo bench -p memtable-bench` to include it";

impl TsProvider {
    /// Looks for `node` on PATH (without running it) and for the script's `node_modules`.
    fn detect(quick: bool) -> Self {
        if quick {
            return TsProvider::Skipped(
                "not run in the quick (unoptimized) run under `cargo test`".to_owned(),
            );
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ts-provider");
        let node = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("node"))
                .find(|p| p.is_file())
        });
        match node {
            None => TsProvider::Skipped(format!("`node` is not on PATH; {TS_SETUP_HINT}")),
            Some(_) if !dir.join("node_modules").is_dir() => TsProvider::Skipped(format!(
                "{} is missing; {TS_SETUP_HINT}",
                dir.join("node_modules").display()
            )),
            Some(node) => TsProvider::Ready {
                node,
                script: dir.join("provider.mjs"),
            },
        }
    }

    /// Runs the provider on `kind` (`sqlite` or `postgres`) at `target`, with the same
    /// settings; `None` when skipped (said once, in `main`) or failed (said here).
    fn run(&self, kind: &str, target: &str, settings: &Settings) -> Option<serde_json::Value> {
        let TsProvider::Ready { node, script } = self else {
            return None;
        };
        let output = Command::new(node)
            .arg(script)
            .args([kind, target])
            .args([settings.ops, settings.rounds, settings.bulk].map(|n| n.to_string()))
            .output();
        let failed = |why: String| {
            println!("\nTypeScript provider: failed ({why}); {TS_SETUP_HINT}");
            None
        };
        let output = match output {
            Ok(output) => output,
            Err(error) => return failed(format!("could not start {}: {error}", node.display())),
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return failed(format!("{}: {}", output.status, stderr.trim()));
        }
        match serde_json::from_slice::<serde_json::Value>(&output.stdout) {
            Ok(report) if report["us"].is_object() => Some(report),
            _ => failed(format!(
                "unexpected output: {}",
                String::from_utf8_lossy(&output.stdout).trim()
            )),
        }
    }
}

/// memtable's medians against the TypeScript provider's, one row per operation it does.
/// The client's CPU time per operation on PostgreSQL, median of the rounds: what memtable's
/// own work costs, apart from the server and the wait for it. Unlike the wall-clock time, it
/// hardly moves with where the scheduler puts the two connections' server processes
/// (BENCHMARKS.md, the PostgreSQL point select).
fn print_cpu_table(lines: &[Line]) {
    let measured: Vec<&Line> = (lines.iter())
        .filter(|line| !line.ours_cpu.is_empty() && !line.theirs_cpu.is_empty())
        .collect();
    if measured.is_empty() {
        return;
    }
    println!(
        "\nClient CPU per operation (this thread, user and system; median of the rounds)\n\
         | operation | memtable CPU µs | baseline CPU µs | memtable − baseline µs |\n|---|---|---|---|"
    );
    for line in measured {
        let ours = median(line.ours_cpu.clone());
        let theirs = median(line.theirs_cpu.clone());
        println!(
            "| {} | {ours:.1} | {theirs:.1} | {:+.1} |",
            line.operation,
            ours - theirs
        );
    }
}

fn print_ts_table(lines: &[Line], report: &serde_json::Value) {
    let versions = report["versions"]
        .as_object()
        .map(|v| {
            v.iter()
                .map(|(name, version)| format!("{name} {}", version.as_str().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    println!(
        "\nTypeScript provider ({versions}; SQL prepared on every call, existence query before \
         every operation; its bulk: {}), run after the Rust rounds with the same settings:",
        report["bulk_method"].as_str().unwrap_or("?")
    );
    println!("| operation | memtable µs | TypeScript provider µs | memtable / TS (time) |");
    println!("|---|---|---|---|");
    for line in lines {
        let Some(key) = line.ts else { continue };
        let Some(theirs) = report["us"][key].as_f64() else {
            continue;
        };
        let ours = median(line.ours.clone());
        println!(
            "| {} | {ours:.1} | {theirs:.1} | {:.2} |",
            line.operation,
            ours / theirs
        );
    }
}

// The lines of the single-row table, in the order they are printed.
const INSERT: usize = 0;
const SELECT: usize = 1;
const UPDATE: usize = 2;
const UPSERT: usize = 3;
const DELETE: usize = 4;
const INSERT_TYPED: usize = 5;
const SELECT_TYPED: usize = 6;
const UPDATE_TYPED: usize = 7;
const UPSERT_TYPED: usize = 8;
const DELETE_TYPED: usize = 9;
const UPSERT_TO_COMPLETION: usize = 10;

fn single_row_lines() -> Vec<Line> {
    vec![
        Line::new("insert (dynamic)", "sqlx").ts("insert"),
        Line::new("point select by unique index (dynamic)", "sqlx").ts("select"),
        Line::new("update by id, 2 columns (dynamic)", "sqlx").ts("update"),
        Line::new("upsert, unique index conflict (dynamic)", "sqlx").ts("upsert"),
        Line::new("delete by id (dynamic)", "sqlx").ts("delete"),
        Line::new("insert (typed, derive)", "sqlx").ts("insert"),
        Line::new("point select by unique index (typed)", "sqlx").ts("select"),
        Line::new("update by id, every column (typed)", "sqlx"),
        Line::new("upsert, unique index conflict (typed)", "sqlx").ts("upsert"),
        Line::new("delete by id (typed)", "sqlx").ts("delete"),
        // The same memtable upserts, against sqlx reading every row the statement returns:
        // on SQLite, `fetch_one` resets the statement after its first row, and an autocommit
        // statement commits in that reset, whose error sqlx drops; memtable runs every write
        // to completion.
        Line::new(
            "upsert (dynamic), baseline run to completion",
            "sqlx fetch_all",
        ),
    ]
}

/// The record of `t` without its key: an upsert then conflicts on the unique index
/// `(user_id, provider)` and generates a key only for a new row, as the hand-written one does.
fn upsert_record(t: &Token) -> Record {
    let mut record = record(t);
    record.remove("id");
    record
}

// On PostgreSQL the sides take turns every operation, so that each sees the server as the
// other does: a commit waits for an fsync, whose time drifts by tens of percent over seconds,
// and the server's background work (WAL writer, checkpointer) is shared. Each operation is
// timed on its own, and the table gives the median operation beside the mean: a stall of the
// server's lands on whichever side is running, and moves a mean, not a median. On SQLite each
// side runs every operation of a round before the next side's turn: memtable checkpoints its
// file on the blocking pool after its commits, and in shorter turns that work would run while
// another side is timed.

/// The sides of a comparison, as indexes into a line's times.
const OURS: usize = 0;
const THEIRS: usize = 1;
const RUSQLITE: usize = 2;

/// The single-row operations, in the order a round runs them (each side's rows go through
/// insert, select, update, upsert and delete in turn).
#[derive(Clone, Copy, PartialEq)]
enum Op {
    InsertTyped,
    Insert,
    Select,
    SelectTyped,
    Update,
    UpdateTyped,
    Upsert,
    /// The upserts again (conflicting once more), the baselines reading every row;
    /// memtable runs every write to completion, so its side is its `Upsert` again, timed in
    /// turns with the baseline's as every other line is.
    UpsertToCompletion,
    UpsertTyped,
    Delete,
    DeleteTyped,
}

const ROUND: [Op; 11] = [
    Op::InsertTyped,
    Op::Insert,
    Op::Select,
    Op::SelectTyped,
    Op::Update,
    Op::UpdateTyped,
    Op::Upsert,
    Op::UpsertToCompletion,
    Op::UpsertTyped,
    Op::Delete,
    Op::DeleteTyped,
];

impl Op {
    /// Its line in the table.
    fn line(self) -> usize {
        match self {
            Op::InsertTyped => INSERT_TYPED,
            Op::Insert => INSERT,
            Op::Select => SELECT,
            Op::SelectTyped => SELECT_TYPED,
            Op::Update => UPDATE,
            Op::UpdateTyped => UPDATE_TYPED,
            Op::Upsert => UPSERT,
            Op::UpsertToCompletion => UPSERT_TO_COMPLETION,
            Op::UpsertTyped => UPSERT_TYPED,
            Op::Delete => DELETE,
            Op::DeleteTyped => DELETE_TYPED,
        }
    }
}

/// One round's rows and sides. Each side works on rows of its own (memtable and sqlx share
/// a PostgreSQL table; on SQLite each side has its own file).
struct Round<'a> {
    store: &'a Store,
    hand: &'a mut Hand,
    rusqlite: Option<&'a mut Rusqlite>,
    round: usize,
    /// Each side's rows (`OURS`, `THEIRS`, `RUSQLITE`).
    rows: [Vec<Token>; 3],
    /// The typed operations' rows of the baselines; memtable's are `ours_typed`.
    typed: [Vec<Token>; 3],
    /// Typed rows leave the key empty: memtable generates it, as the hand side does.
    ours_typed: Vec<TypedToken>,
    /// The keys memtable gave its typed rows, and those rows as a typed update writes them
    /// (every column, as the hand-written statement it is compared with).
    typed_ids: Vec<String>,
    updated: Vec<TypedToken>,
    /// The baselines' upserts: new keys, conflicting on (user_id, provider) with their rows,
    /// which keep theirs.
    upserts: [Vec<Token>; 3],
    typed_upserts: [Vec<Token>; 3],
}

impl<'a> Round<'a> {
    fn new(
        store: &'a Store,
        hand: &'a mut Hand,
        rusqlite: Option<&'a mut Rusqlite>,
        round: usize,
        ops: usize,
    ) -> Self {
        let rows = |prefix: &str| -> Vec<Token> {
            (0..ops)
                .map(|i| token(&format!("{prefix}{round}"), i))
                .collect()
        };
        Round {
            store,
            hand,
            rusqlite,
            round,
            rows: [rows("m"), rows("s"), rows("r")],
            typed: [Vec::new(), rows("ts"), rows("tr")],
            ours_typed: rows("tm").iter().map(typed).collect(),
            typed_ids: Vec::with_capacity(ops),
            updated: Vec::new(),
            upserts: [Vec::new(), rows("s"), rows("r")],
            typed_upserts: [Vec::new(), rows("ts"), rows("tr")],
        }
    }

    /// What `op` needs that is not timed.
    fn prepare(&mut self, op: Op, side: usize) {
        if op == Op::UpdateTyped && side == OURS && self.updated.is_empty() {
            let round = self.round;
            self.updated = (self.typed_ids.iter().enumerate())
                .map(|(i, id)| TypedToken {
                    id: id.clone(),
                    access_token: format!("new_{i}"),
                    updated_at: i as i64,
                    ..typed(&token(&format!("tm{round}"), i))
                })
                .collect();
        }
    }

    /// Runs the operations `range` of `op` on `side`.
    async fn run(&mut self, op: Op, side: usize, range: std::ops::Range<usize>) {
        let store = self.store;
        if side == RUSQLITE {
            let conn = self.rusqlite.as_deref_mut().unwrap();
            let (rows, typed) = (&self.rows[side][range.clone()], &self.typed[side]);
            for (i, t) in range.clone().zip(rows) {
                match op {
                    Op::InsertTyped => conn.insert(&typed[i]),
                    Op::Insert => conn.insert(t),
                    Op::Select => drop(conn.select(&t.user_id)),
                    Op::SelectTyped => drop(conn.select(&typed[i].user_id)),
                    Op::Update => conn.update(&t.id, i),
                    Op::UpdateTyped => conn.update_all(&typed[i], i),
                    Op::Upsert => drop(conn.upsert(&self.upserts[side][i], false)),
                    Op::UpsertToCompletion => drop(conn.upsert(&self.upserts[side][i], true)),
                    Op::UpsertTyped => drop(conn.upsert(&self.typed_upserts[side][i], false)),
                    Op::Delete => conn.delete(&t.id),
                    Op::DeleteTyped => conn.delete(&typed[i].id),
                }
            }
            return;
        }
        if side == THEIRS {
            let hand = &mut *self.hand;
            for i in range {
                let (t, typed) = (&self.rows[side][i], &self.typed[side][i]);
                match op {
                    Op::InsertTyped => hand.insert(typed).await,
                    Op::Insert => hand.insert(t).await,
                    Op::Select => drop(hand.select(&t.user_id).await),
                    Op::SelectTyped => drop(hand.select(&typed.user_id).await),
                    Op::Update => hand.update(&t.id, i).await,
                    Op::UpdateTyped => hand.update_all(typed, i).await,
                    Op::Upsert => drop(hand.upsert(&self.upserts[side][i], false).await),
                    Op::UpsertToCompletion => {
                        drop(hand.upsert(&self.upserts[side][i], true).await);
                    }
                    Op::UpsertTyped => {
                        drop(hand.upsert(&self.typed_upserts[side][i], false).await);
                    }
                    Op::Delete => hand.delete(&t.id).await,
                    Op::DeleteTyped => hand.delete(&typed.id).await,
                }
            }
            return;
        }
        for i in range {
            let t = &self.rows[OURS][i];
            match op {
                Op::InsertTyped => self
                    .typed_ids
                    .push(store.insert(&self.ours_typed[i]).await.unwrap()),
                Op::Insert => drop(store.insert_into_table(TABLE, record(t)).await.unwrap()),
                Op::Select => {
                    let rows = store
                        .query_table(
                            TABLE,
                            &QueryOptions::new()
                                .filter(
                                    Filter::eq("user_id", t.user_id.as_str())
                                        .and(Filter::eq("provider", "github")),
                                )
                                .limit(1),
                        )
                        .await
                        .unwrap();
                    assert_eq!(rows.len(), 1);
                }
                Op::SelectTyped => {
                    let found = store
                        .select::<TypedToken>()
                        .filter(TypedToken::USER_ID.eq(self.ours_typed[i].user_id.as_str()))
                        .filter(TypedToken::PROVIDER.eq("github"))
                        .one()
                        .await
                        .unwrap();
                    assert!(found.is_some());
                }
                Op::Update => store
                    .update_table_record(
                        TABLE,
                        &t.id,
                        Record::new()
                            .with("access_token", format!("new_{i}"))
                            .with("updated_at", i as i64),
                    )
                    .await
                    .unwrap(),
                Op::UpdateTyped => store.update(&self.updated[i]).await.unwrap(),
                Op::Upsert | Op::UpsertToCompletion => drop(
                    store
                        .upsert_into_table(TABLE, upsert_record(t))
                        .await
                        .unwrap(),
                ),
                Op::UpsertTyped => drop(store.upsert(&self.ours_typed[i]).await.unwrap()),
                Op::Delete => store.delete_from_table(TABLE, &t.id).await.unwrap(),
                Op::DeleteTyped => store
                    .delete::<TypedToken>(&self.typed_ids[i])
                    .await
                    .unwrap(),
            }
        }
    }
}

/// One round of every single-row operation on each side: memtable, sqlx and (SQLite only)
/// rusqlite; the side that goes first turns with the rounds (and, taking turns, with each
/// operation). `take_turns`: the sides take turns every operation, each timed on its own
/// (PostgreSQL); otherwise each side runs the whole round in its turn (SQLite).
async fn single_row_round(
    store: &Store,
    hand: &mut Hand,
    rusqlite: Option<&mut Rusqlite>,
    round: usize,
    ops: usize,
    take_turns: bool,
    lines: &mut [Line],
) {
    let sides: &[usize] = if rusqlite.is_some() {
        &[OURS, THEIRS, RUSQLITE]
    } else {
        &[OURS, THEIRS]
    };
    let mut work = Round::new(store, hand, rusqlite, round, ops);
    let mut spent = vec![[0.0_f64; 3]; lines.len()];
    // The thread's CPU time, memtable's and the baseline's, when the sides take turns.
    let mut cpu = vec![[0.0_f64; 2]; lines.len()];
    // The µs of each operation, memtable's and the baseline's, when the sides take turns.
    let mut each = vec![[Vec::new(), Vec::new()]; lines.len()];
    let mut timed = async |work: &mut Round<'_>, op: Op, side: usize, range| {
        work.prepare(op, side);
        // Read outside the wall-clock time: reading a thread's CPU clock is a system call.
        let cpu_started = ThreadTime::now();
        let started = Instant::now();
        work.run(op, side, range).await;
        let elapsed = started.elapsed().as_secs_f64();
        let cpu_spent = cpu_started.elapsed().as_secs_f64();
        spent[op.line()][side] += elapsed;
        if take_turns && side != RUSQLITE {
            each[op.line()][side].push(elapsed * 1e6);
            cpu[op.line()][side] += cpu_spent;
        }
    };
    if take_turns {
        for op in ROUND {
            for i in 0..ops {
                for step in 0..sides.len() {
                    let side = sides[(step + i + round) % sides.len()];
                    timed(&mut work, op, side, i..i + 1).await;
                }
            }
        }
    } else {
        for step in 0..sides.len() {
            let side = sides[(step + round) % sides.len()];
            for op in ROUND {
                timed(&mut work, op, side, 0..ops).await;
            }
        }
    }
    let per_op = |total: f64| total * 1e6 / ops.max(1) as f64;
    for op in ROUND {
        let line = &mut lines[op.line()];
        line.ours.push(per_op(spent[op.line()][OURS]));
        line.theirs.push(per_op(spent[op.line()][THEIRS]));
        line.ours_each.extend_from_slice(&each[op.line()][OURS]);
        line.theirs_each.extend_from_slice(&each[op.line()][THEIRS]);
        if take_turns {
            line.ours_cpu.push(per_op(cpu[op.line()][OURS]));
            line.theirs_cpu.push(per_op(cpu[op.line()][THEIRS]));
        }
        if sides.contains(&RUSQLITE) {
            line.rusqlite.push(per_op(spent[op.line()][RUSQLITE]));
        }
    }
}

/// PostgreSQL: new connections for both sides before a round, each warmed up by a few
/// operations that are not counted (`round` names their rows).
///
/// One connection is served by one server process for its life, and where the scheduler runs
/// that process against the client (the same core or the other, on these two) stays with it.
/// The client's thread and the new connections' server processes are then pinned
/// (`placement.rs`), so that both sides run where the other does and a ratio measures the
/// code, not the placement; `label` names the round in the line that says so. The placement
/// holds until the returned guard is dropped. Where the processes cannot be pinned, new
/// connections every round at least let a placement fall on either side by chance, round by
/// round, for the median of the rounds to keep out.
async fn reconnect(
    store: &mut Store,
    hand: &mut Hand,
    url: &str,
    hand_url: &str,
    round: usize,
    label: &str,
) -> placement::Pinned {
    *store = Store::connect(url).await.unwrap();
    *hand = Hand::Postgres(PgConnection::connect(hand_url).await.unwrap());
    let mut uncounted = single_row_lines();
    single_row_round(store, hand, None, 1000 + round, 10, true, &mut uncounted).await;
    let Hand::Postgres(conn) = hand else {
        unreachable!("a PostgreSQL connection was just made")
    };
    let pinned = placement::pin(conn).await;
    println!("{label}: {}", pinned.summary);
    pinned
}

/// Before a timed PostgreSQL bulk write: a `CHECKPOINT`, so that each side starts with the
/// WAL of the writes before it (the other side's, the UNNEST table's) already flushed, and no
/// checkpoint the server starts on its own (every 1 GB of WAL) lands inside one side's timing
/// and not the other's. Needs a superuser or `pg_checkpoint`; the first refusal is kept in
/// `refused`, for the run to report. Nothing on SQLite, where each side's file checkpoints its
/// own WAL.
async fn settle(hand: &mut Hand, refused: &mut Option<String>) {
    if let Hand::Postgres(c) = hand
        && let Err(e) = sqlx::raw_sql("CHECKPOINT").execute(&mut *c).await
    {
        refused.get_or_insert(e.to_string());
    }
}

async fn clear(store: &Store) {
    store.drop_table(TABLE).await.unwrap();
    store.create_table(&schema()).await.unwrap();
}

/// Runs every comparison; memtable works on `url`, the hand-written sqlx side on `hand_url`
/// (on SQLite a second file with the same settings, so that each side pays for its own WAL
/// checkpoints; on PostgreSQL the same database). On SQLite, `rusqlite_path` is a third file
/// with the same settings for the hand-written rusqlite side (`None` on PostgreSQL).
/// After the Rust rounds, the TypeScript provider runs on `ts_target` (another SQLite file, or
/// its own table in the same PostgreSQL database).
async fn run(
    label: &str,
    url: &str,
    hand_url: &str,
    rusqlite_path: Option<&str>,
    ts_target: &str,
    ts: &TsProvider,
    settings: &Settings,
) {
    let mut store = Store::connect(url).await.unwrap();
    let hand_store = Store::connect(hand_url).await.unwrap();
    for store in [&store, &hand_store] {
        if store.table_exists(TABLE).await.unwrap() {
            store.drop_table(TABLE).await.unwrap();
        }
        store.create_table(&schema()).await.unwrap();
    }
    let sqlite = rusqlite_path.is_some();
    // On SQLite, the rusqlite side's file gets its table from memtable too (the same DDL), and
    // that store clears it between bulk rounds.
    let rusqlite_store = match rusqlite_path {
        Some(path) => {
            let store = Store::connect(&format!("sqlite://{path}")).await.unwrap();
            store.create_table(&schema()).await.unwrap();
            Some(store)
        }
        None => None,
    };
    let mut rusqlite = rusqlite_path.map(Rusqlite::open);
    let mut hand = match rusqlite_path {
        Some(_) => {
            let options = SqliteConnectOptions::from_str(hand_url)
                .unwrap()
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
                .pragma("cache_size", "-16000");
            Hand::Sqlite(SqliteConnection::connect_with(&options).await.unwrap())
        }
        None => Hand::Postgres(PgConnection::connect(hand_url).await.unwrap()),
    };

    let mut lines = single_row_lines();
    // A warm-up round, not counted: statement caches and the file fill.
    single_row_round(
        &store,
        &mut hand,
        rusqlite.as_mut(),
        99,
        settings.ops / 4 + 1,
        !sqlite,
        &mut lines,
    )
    .await;
    for line in &mut lines {
        line.ours.clear();
        line.theirs.clear();
        line.rusqlite.clear();
        line.ours_each.clear();
        line.theirs_each.clear();
        line.ours_cpu.clear();
        line.theirs_cpu.clear();
    }
    for round in 0..settings.rounds {
        let label = format!("round {round}");
        let _placement = if sqlite {
            None
        } else {
            Some(reconnect(&mut store, &mut hand, url, hand_url, round, &label).await)
        };
        single_row_round(
            &store,
            &mut hand,
            rusqlite.as_mut(),
            round,
            settings.ops,
            !sqlite,
            &mut lines,
        )
        .await;
    }

    let mut bulk = Line::new(
        "insert_many, µs per row",
        if sqlite { "sqlx multi-row" } else { "COPY" },
    )
    .ts("bulk");
    let mut ceiling = Line::new(
        "insert_many vs ceiling, µs per row",
        if sqlite { "rusqlite" } else { "COPY" },
    );
    // On PostgreSQL, the same rows into a table memtable did not create: memtable writes it
    // with `INSERT … SELECT UNNEST(…)` (one array per column) instead of binary COPY, which
    // measures the two bulk paths against each other.
    let mut unnest = Line::new("insert_many via UNNEST, µs per row", "COPY");
    if let Hand::Postgres(c) = &mut hand {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP TABLE IF EXISTS {UNNEST_TABLE}; CREATE TABLE {UNNEST_TABLE} (id TEXT PRIMARY KEY, \
             user_id TEXT NOT NULL, provider TEXT NOT NULL, access_token TEXT NOT NULL, \
             refresh_token TEXT, expires_at BIGINT, scope TEXT, token_data JSONB, \
             created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)"
        )))
        .execute(&mut *c)
        .await
        .unwrap();
    }
    // More rounds than the single-row operations (by default): one bulk insert is a second of
    // work whose time, with PostgreSQL's fsync, checkpoints and WAL segments, varies from one
    // round to the next by more than the margins the targets ask for (BENCHMARKS.md).
    let bulk_rounds = settings.bulk_rounds.max(1);
    let mut not_checkpointed = None;
    for round in 0..bulk_rounds {
        let label = format!("bulk round {round}");
        let _placement = if sqlite {
            None
        } else {
            Some(reconnect(&mut store, &mut hand, url, hand_url, 200 + round, &label).await)
        };
        let rows: Vec<Token> = (0..settings.bulk)
            .map(|i| token(&format!("b{round}"), i))
            .collect();
        // The side that goes first turns with the rounds, as in the single-row rounds.
        let sides = if sqlite { 3 } else { 2 };
        for step in 0..sides {
            let side = (step + round) % sides;
            if side == 0 {
                clear(&store).await;
                let records: Vec<Record> = rows.iter().map(record).collect();
                settle(&mut hand, &mut not_checkpointed).await;
                let ours = time(rows.len(), async {
                    store
                        .insert_many_into_table(TABLE, records)
                        .await
                        .map(drop)
                        .unwrap()
                })
                .await;
                bulk.ours.push(ours);
                ceiling.ours.push(ours);
                // memtable's SQLite driver checkpoints a large commit's WAL in the background;
                // a write now waits for that, so that it does not run while the next side is
                // timed (the hand-written sides checkpoint inside their commits).
                clear(&store).await;
                if let Hand::Postgres(c) = &mut hand {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("TRUNCATE {UNNEST_TABLE}")))
                        .execute(&mut *c)
                        .await
                        .unwrap();
                    let records: Vec<Record> = rows.iter().map(record).collect();
                    settle(&mut hand, &mut not_checkpointed).await;
                    unnest.ours.push(
                        time(rows.len(), async {
                            store
                                .insert_many_into_table(UNNEST_TABLE, records)
                                .await
                                .map(drop)
                                .unwrap()
                        })
                        .await,
                    );
                }
            } else if side == 1 {
                clear(&hand_store).await;
                settle(&mut hand, &mut not_checkpointed).await;
                let theirs = time(rows.len(), hand.bulk(&rows)).await;
                bulk.theirs.push(theirs);
                unnest.theirs.push(theirs);
                if !sqlite {
                    ceiling.theirs.push(theirs);
                }
            } else if let (Some(conn), Some(rusqlite_store)) = (&mut rusqlite, &rusqlite_store) {
                clear(rusqlite_store).await;
                let theirs = time_sync(rows.len(), || conn.bulk(&rows));
                bulk.rusqlite.push(theirs);
                ceiling.theirs.push(theirs);
                ceiling.rusqlite.push(theirs);
            }
        }
    }
    if !sqlite {
        match &not_checkpointed {
            None => println!("bulk rounds: a CHECKPOINT before each timed write"),
            Some(why) => println!("bulk rounds: not checkpointed before each write: {why}"),
        }
    }
    lines.push(bulk);
    if sqlite {
        lines.push(ceiling);
    } else {
        lines.push(unnest);
        if let Hand::Postgres(c) = &mut hand {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE {UNNEST_TABLE}")))
                .execute(&mut *c)
                .await
                .unwrap();
        }
    }
    store.drop_table(TABLE).await.unwrap();

    println!(
        "\n{label}: median of {} rounds of {} operations (bulk: {} rounds of {} rows)",
        settings.rounds, settings.ops, bulk_rounds, settings.bulk
    );
    if sqlite {
        // rusqlite / memtable (time) is memtable's rate as a fraction of rusqlite's.
        println!(
            "| operation | memtable µs | baseline | baseline µs | memtable / baseline (time) \
             | rusqlite µs | memtable's rate / rusqlite's (rusqlite time / memtable time) |"
        );
        println!("|---|---|---|---|---|---|---|");
    } else {
        // The mean operation of a round (median of the rounds), then the median operation of
        // all rounds.
        println!(
            "| operation | memtable µs | baseline | baseline µs | memtable / baseline (time) \
             | memtable median op µs | baseline median op µs | median / median |"
        );
        println!("|---|---|---|---|---|---|---|---|");
    }
    for line in &lines {
        let (ours, theirs) = (median(line.ours.clone()), median(line.theirs.clone()));
        let rusqlite = if !sqlite {
            if line.ours_each.is_empty() || line.theirs_each.is_empty() {
                " | | |".to_owned()
            } else {
                let ours_each = median(line.ours_each.clone());
                let theirs_each = median(line.theirs_each.clone());
                format!(
                    " {ours_each:.1} | {theirs_each:.1} | {:.2} |",
                    ours_each / theirs_each
                )
            }
        } else if line.rusqlite.is_empty() {
            " | | |".to_owned()
        } else {
            let rusqlite = median(line.rusqlite.clone());
            format!(" {rusqlite:.1} | {:.2} |", rusqlite / ours)
        };
        println!(
            "| {} | {ours:.1} | {} | {theirs:.1} | {:.2} |{rusqlite}",
            line.operation,
            line.baseline,
            ours / theirs
        );
    }
    // The bulk rounds one by one: a bulk insert is one long transaction whose time depends on
    // what the server's background work (checkpoints, WAL segments) does meanwhile, and the
    // median of five hides how much that varies.
    if let Some(bulk) = lines.iter().find(|line| line.ts == Some("bulk")) {
        let rounds = |samples: &[f64]| {
            samples
                .iter()
                .map(|s| format!("{s:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "\ninsert_many by round, µs per row: memtable {}; {} {}",
            rounds(&bulk.ours),
            bulk.baseline,
            rounds(&bulk.theirs)
        );
        // The two sides of a round run one after the other, and a run drifts from its first
        // rounds to its last (by a third or more on PostgreSQL, BENCHMARKS.md): a round's own
        // ratio leaves the drift out, where the ratio of the two medians can set a slow round
        // of one side against a fast round of the other.
        let ratios: Vec<f64> = (bulk.ours.iter().zip(&bulk.theirs))
            .map(|(ours, theirs)| ours / theirs)
            .collect();
        if !ratios.is_empty() {
            let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
            println!(
                "insert_many by round, memtable / {} (each round's own): {}; median {:.2}",
                bulk.baseline,
                each.join(", "),
                median(ratios)
            );
        }
    }
    // On PostgreSQL every round has new connections (`reconnect`): each round's ratio shows how
    // far a point select moves from one round to the next (with the processes pinned, little).
    if !sqlite {
        for line in lines
            .iter()
            .filter(|line| line.operation.starts_with("point select"))
        {
            let ratios: Vec<String> = (line.ours.iter().zip(&line.theirs))
                .map(|(ours, theirs)| format!("{:.2}", ours / theirs))
                .collect();
            println!(
                "{} by round, memtable / {} (mean op): {}",
                line.operation,
                line.baseline,
                ratios.join(", ")
            );
        }
        print_cpu_table(&lines);
    }
    let kind = if sqlite { "sqlite" } else { "postgres" };
    if let Some(report) = ts.run(kind, ts_target, settings) {
        print_ts_table(&lines, &report);
    }
}

fn main() {
    // `cargo bench` builds optimized; `cargo test` (which runs this target too) does not, and
    // gets a quick smoke run that proves the benchmark still works.
    let quick = cfg!(debug_assertions);
    let settings = Settings {
        ops: env_usize("MEMTABLE_BENCH_OPS", if quick { 20 } else { 2000 }),
        rounds: env_usize("MEMTABLE_BENCH_ROUNDS", if quick { 1 } else { 5 }),
        bulk_rounds: env_usize("MEMTABLE_BENCH_BULK_ROUNDS", if quick { 1 } else { 11 }),
        bulk: env_usize("MEMTABLE_BENCH_BULK", if quick { 1000 } else { 100_000 }),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ts = TsProvider::detect(quick);
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("memtable.db");
        let theirs = dir.path().join("sqlx.db");
        let theirs = theirs.to_str().unwrap().to_owned();
        let rusqlite = dir.path().join("rusqlite.db");
        let ts_file = dir.path().join("ts-provider.db");
        // `MEMTABLE_BENCH_SKIP_SQLITE=1`: PostgreSQL only.
        if std::env::var_os("MEMTABLE_BENCH_SKIP_SQLITE").is_none() {
            run(
                "SQLite file (WAL, synchronous=NORMAL)",
                &format!("sqlite://{}", ours.display()),
                &format!("sqlite://{theirs}"),
                Some(rusqlite.to_str().unwrap()),
                ts_file.to_str().unwrap(),
                &ts,
                &settings,
            )
            .await;
        }
        // The SQLite files go before PostgreSQL is measured, and what else is written is
        // flushed: their gigabyte or so of pages would otherwise be written back to the disk
        // during the PostgreSQL rounds, under their commits' fsyncs.
        drop(dir);
        let _ = Command::new("sync").status();
        match std::env::var("MEMTABLE_BENCH_POSTGRES_URL") {
            Ok(url) => run("PostgreSQL", &url, &url, None, &url, &ts, &settings).await,
            Err(_) => println!("\nPostgreSQL: set MEMTABLE_BENCH_POSTGRES_URL to include it"),
        }
    });
    if let TsProvider::Skipped(why) = &ts {
        println!("\nTypeScript provider: {why}");
    }
}
