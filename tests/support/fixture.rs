//! One isolated database per test, on either backend, and the macro that runs a test body on
//! both.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test fixtures fail loudly"
)]

use std::str::FromStr as _;

use memtable::Store;
use sqlx::{AssertSqlSafe, Connection as _};

use crate::{postgres_url, unique_name};

/// A database a test owns: a SQLite file in its own temporary directory, or a PostgreSQL
/// schema of its own (the store's `search_path` points at it, so its catalog is private too).
pub struct TestDb {
    /// The backend's name, for messages.
    pub backend: &'static str,
    /// The URL a [`Store`] connects to.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A fresh SQLite file.
    ///
    /// # Panics
    /// When no temporary directory can be made.
    pub fn sqlite(test: &str) -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = crate::sqlite_url(&dir, test);
        TestDb {
            backend: "sqlite",
            url,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL schema, or `None` when PostgreSQL is not configured outside CI.
    ///
    /// # Panics
    /// When the server cannot be reached or the schema cannot be made.
    pub async fn postgres(test: &str) -> Option<TestDb> {
        let base = postgres_url()?;
        let schema = unique_name(&format!("t_{}", &test[..test.len().min(20)]));
        let options = sqlx::postgres::PgConnectOptions::from_str(&base).expect("a PostgreSQL URL");
        let mut conn = sqlx::PgConnection::connect_with(&options)
            .await
            .expect("the test PostgreSQL server answers");
        // A generated identifier, not caller text.
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
            .execute(&mut conn)
            .await
            .expect("a schema for the test");
        let separator = if base.contains('?') { '&' } else { '?' };
        Some(TestDb {
            backend: "postgres",
            url: format!("{base}{separator}options=-c%20search_path%3D{schema}"),
            _dir: None,
        })
    }

    /// A store on this database.
    ///
    /// # Panics
    /// When the store cannot connect.
    pub async fn connect(&self) -> Store {
        Store::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connecting to {} ({}): {e}", self.backend, self.url))
    }

    /// The path of the SQLite file, for tests that write to it from outside memtable.
    pub fn sqlite_path(&self) -> Option<String> {
        self.url.strip_prefix("sqlite://").map(str::to_owned)
    }
}

/// Runs each test body on a SQLite file and on PostgreSQL, as two tests named `sqlite` and
/// `postgres` in a module named after the test.
///
/// ```text
/// both_backends! {
///     async fn creates_tables(db, store) {
///         assert!(!store.table_exists("t").await.unwrap());
///     }
/// }
/// ```
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($db:ident, $store:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $db = $crate::fixture::TestDb::sqlite(stringify!($name));
                let $store = $db.connect().await;
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($db) = $crate::fixture::TestDb::postgres(stringify!($name)).await else {
                    return;
                };
                let $store = $db.connect().await;
                $body
            }
        }
    )*};
}
