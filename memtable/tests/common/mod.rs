//! Helpers of the tests that run the `memtable` binary: running it, and a database per test (a
//! SQLite file in a temporary directory, or a PostgreSQL schema of its own).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly; each test binary uses some of them"
)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::str::FromStr as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection as _};

/// The environment variable holding the PostgreSQL test database URL (set by scripts/test).
pub const POSTGRES_URL_VAR: &str = "MEMTABLE_TEST_POSTGRES_URL";

/// What a run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The exit status (-1 when killed by a signal).
    pub status: i32,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
}

impl Run {
    /// The result JSON an `exec` printed: exactly one line on stdout.
    pub fn json(&self) -> Value {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "exec prints one line: {self:?}");
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// Runs `memtable --database URL ARGS...`, with `stdin` (if any) as its input, and without the
/// database variables of this environment.
pub fn memtable(url: &str, args: &[&str], stdin: Option<&str>) -> Run {
    let dir = std::env::temp_dir();
    memtable_in(&dir, Some(url), &[], args, stdin)
}

/// Runs the binary in `dir` with only the database variables in `env`, and `--database` when
/// `database` is given.
pub fn memtable_in(
    dir: &Path,
    database: Option<&str>,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: Option<&str>,
) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_memtable"));
    command
        .current_dir(dir)
        .env_remove("MEMTABLE_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = database {
        command.arg("--database").arg(url);
    }
    command.args(args);
    let mut child = command.spawn().expect("the memtable binary starts");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A database a test owns.
pub struct Database {
    /// The URL to pass as `--database`.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Database {
    /// A fresh SQLite file in a temporary directory.
    pub fn sqlite() -> Database {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        Database {
            url,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL schema (the URL's `search_path` points at it), or `None` when
    /// PostgreSQL is not configured and `CI` is not set. In CI a missing URL fails the test.
    pub fn postgres(test: &str) -> Option<Database> {
        let base = match std::env::var(POSTGRES_URL_VAR) {
            Ok(url) if !url.is_empty() => url,
            _ => {
                if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
                    panic!("{POSTGRES_URL_VAR} is not set but CI is: PostgreSQL tests must run");
                }
                eprintln!("note: {POSTGRES_URL_VAR} is not set; skipping the PostgreSQL test");
                return None;
            }
        };
        let schema = unique_schema(test);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let options = sqlx::postgres::PgConnectOptions::from_str(&base).unwrap();
            let mut conn = sqlx::PgConnection::connect_with(&options)
                .await
                .expect("the test PostgreSQL server answers");
            // A generated identifier, not caller text.
            sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
                .execute(&mut conn)
                .await
                .unwrap();
        });
        let separator = if base.contains('?') { '&' } else { '?' };
        Some(Database {
            url: format!("{base}{separator}options=-c%20search_path%3D{schema}"),
            _dir: None,
        })
    }
}

/// `bin_<test>_<pid>_<n>_<noise>`, a plain identifier of at most 63 bytes.
fn unique_schema(test: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let noise = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default()
        & 0xFF_FFFF;
    let suffix = format!("_{}_{count}_{noise:06x}", std::process::id());
    let mut name: String = format!("bin_{test}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    name.truncate(63 - suffix.len());
    name + &suffix
}
