//! A read-only store's connections refuse writes in the database itself: statements sent past
//! every check of the library, on the store's own connections, fail there. On a SQLite file,
//! SQLite in memory, PostgreSQL, and PostgreSQL through the transaction-mode pooler (whose URLs
//! `scripts/test` exports; without them, outside CI, those cases are skipped).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, ErrorKind};
use crate::schema::TableSchema;
use crate::sql::Statement;
use crate::store::Store;
use crate::value::Record;

fn notes() -> TableSchema {
    TableSchema::from_json_str(
        r#"{"name": "notes", "columns": [
            {"name": "id", "type": "text", "constraints": ["primary_key"]},
            {"name": "body", "type": "text"}]}"#,
    )
    .unwrap()
}

/// Runs `sql` on one of the store's own connections, as no operation of the store would.
async fn raw(store: &Store, sql: &str) -> crate::Result<u64> {
    let mut conn = store.driver().acquire().await?;
    conn.execute(Statement::ddl(sql.to_owned())).await
}

/// Runs `sql` inside a write transaction of the store's own connection.
async fn raw_in_transaction(store: &Store, sql: &str) -> crate::Result<u64> {
    let mut conn = store.driver().acquire().await?;
    conn.begin_write().await?;
    let affected = conn.execute(Statement::ddl(sql.to_owned())).await;
    match affected {
        Ok(n) => conn.commit().await.map(|()| n),
        Err(error) => {
            conn.rollback().await;
            Err(error)
        }
    }
}

fn refused(result: crate::Result<u64>, what: &str) {
    match result {
        Err(error) => assert_eq!(
            error.kind(),
            ErrorKind::PermissionDenied,
            "{what}: {error:?}"
        ),
        Ok(n) => panic!("{what}: the database accepted a write on a read-only store ({n})"),
    }
}

/// Every way of writing that the database must refuse on `reader`, a read-only store on the
/// database `writer` filled; then proof that nothing changed.
async fn the_database_refuses(writer: &Store, reader: &Store) {
    writer.create_table(&notes()).await.unwrap();
    writer
        .insert_into_table("notes", Record::new().with("id", "a").with("body", "kept"))
        .await
        .unwrap();

    refused(
        raw(
            reader,
            "INSERT INTO notes (id, body) VALUES ('b', 'sneaked')",
        )
        .await,
        "insert",
    );
    refused(
        raw(reader, "UPDATE notes SET body = 'changed'").await,
        "update",
    );
    refused(raw(reader, "DELETE FROM notes").await, "delete");
    refused(
        raw(reader, "CREATE TABLE sneaked (x INTEGER)").await,
        "create",
    );
    refused(raw(reader, "DROP TABLE notes").await, "drop");
    refused(
        raw_in_transaction(reader, "INSERT INTO notes (id, body) VALUES ('c', 'x')").await,
        "insert in a transaction",
    );

    // Through the library: the same refusal, naming the table.
    let error = reader
        .insert_into_table("notes", Record::new().with("id", "d"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::PermissionDenied { table: Some(t), .. } if t == "notes"),
        "{error:?}"
    );
    let error = reader.delete_from_table("notes", "a").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error:?}");
    let other = TableSchema::from_json_str(
        r#"{"name": "other", "columns": [{"name": "id", "type": "text", "constraints": ["primary_key"]}]}"#,
    )
    .unwrap();
    let error = reader.create_table(&other).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error:?}");

    // Reads work, and nothing changed.
    let rows = reader
        .query_table("notes", &crate::query::QueryOptions::new())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get("body").and_then(|v| v.as_str()), Some("kept"));
    assert!(!writer.table_exists("sneaked").await.unwrap());
    assert!(!writer.table_exists("other").await.unwrap());
}

/// A read-only store on `url`.
async fn read_only(url: &str) -> Store {
    Store::builder(url).read_only(true).connect().await.unwrap()
}

/// [`the_database_refuses`] on `url`: a store that writes, and a read-only one.
async fn the_database_at_refuses(url: &str) {
    let writer = Store::connect(url).await.unwrap();
    the_database_refuses(&writer, &read_only(url).await).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    the_database_at_refuses(&url).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_in_memory_refuses_even_the_catalog() {
    let reader = read_only("sqlite::memory:").await;
    refused(raw(&reader, "CREATE TABLE t (x INTEGER)").await, "create");
    let error = reader.create_table(&notes()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error:?}");
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_read_only_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("x.db");
    let url = format!("sqlite://{}", path.display());
    let error = Store::builder(url.as_str())
        .read_only(true)
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Connection(e) if e.message().contains(&path.display().to_string())),
        "{error:?}"
    );
    assert!(!dir.path().join("missing").exists());

    // An existing database without a catalog: connecting read-only does not create one.
    let empty = dir.path().join("empty.db");
    let url = format!("sqlite://{}", empty.display());
    Store::connect(&url).await.unwrap().close().await;
    let reader = read_only(&url).await;
    assert!(reader.list_tables().await.unwrap().is_empty());
    let writer = Store::connect(&url).await.unwrap();
    assert!(
        !writer
            .table_exists(crate::schema::CATALOG_TABLE)
            .await
            .unwrap()
    );
}

fn test_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none_or(|v| v.is_empty()),
                "{var} is not set but CI is"
            );
            None
        }
    }
}

fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{}_{:06x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos & 0xFF_FFFF
    )
}

/// Runs `sql` on a connection of its own, outside any store: the database's public schema may
/// hold a catalog of another version.
#[cfg(feature = "postgres")]
async fn admin(url: &str, sql: &str) {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres() {
    let Some(base) = test_url("MEMTABLE_TEST_POSTGRES_URL") else {
        return;
    };
    let schema = unique("ro_lib");
    // A generated identifier, not caller text.
    admin(&base, &format!("CREATE SCHEMA \"{schema}\"")).await;
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    the_database_at_refuses(&url).await;
    admin(&base, &format!("DROP SCHEMA \"{schema}\" CASCADE")).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn pgbouncer() {
    let (Some(pooled), Some(direct)) = (
        test_url("MEMTABLE_TEST_PGBOUNCER_URL"),
        test_url("MEMTABLE_TEST_POSTGRES_URL"),
    ) else {
        return;
    };
    // A database of its own: a search_path does not survive the pooler.
    let name = unique("ro_lib_bouncer");
    admin(&direct, &format!("CREATE DATABASE \"{name}\"")).await;
    let in_database = |url: &str| {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let (server, _) = base.rsplit_once('/').unwrap();
        if query.is_empty() {
            format!("{server}/{name}")
        } else {
            format!("{server}/{name}?{query}")
        }
    };
    the_database_at_refuses(&in_database(&pooled)).await;
}
