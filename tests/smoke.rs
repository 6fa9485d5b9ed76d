//! Smoke test: the test setup reaches both databases through sqlx.
//!
//! Checks that a SQLite file can be created in a temporary directory and that
//! the PostgreSQL server started by `scripts/test` answers. The PostgreSQL
//! half skips only when [`memtable_tests::postgres_url`] returns `None`
//! (locally, without `MEMTABLE_TEST_POSTGRES_URL`; never in CI).

use std::error::Error;
use std::str::FromStr;

use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

type TestResult = Result<(), Box<dyn Error>>;

#[tokio::test]
async fn smoke_sqlite_select_one() -> TestResult {
    let dir = tempfile::tempdir()?;
    let url = memtable_tests::sqlite_url(&dir, "smoke");
    let mut conn: SqliteConnection = SqliteConnectOptions::from_str(&url)?
        .create_if_missing(true)
        .connect()
        .await?;
    let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await?;
    assert_eq!(one, 1);
    conn.close().await?;
    assert!(
        dir.path().join("smoke.db").exists(),
        "SQLite file not created"
    );
    Ok(())
}

#[tokio::test]
async fn smoke_postgres_select_one() -> TestResult {
    let Some(url) = memtable_tests::postgres_url() else {
        return Ok(());
    };
    let mut conn = PgConnection::connect(&url).await?;
    let one: i32 = sqlx::query_scalar("SELECT 1::int4")
        .fetch_one(&mut conn)
        .await?;
    assert_eq!(one, 1);
    conn.close().await?;
    Ok(())
}
