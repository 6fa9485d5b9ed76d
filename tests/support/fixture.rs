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
    /// The same database reached directly, not through the pooler, for tests that change it
    /// from outside memtable.
    pub direct_url: String,
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
            direct_url: url.clone(),
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
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        Some(TestDb {
            backend: "postgres",
            direct_url: url.clone(),
            url,
            _dir: None,
        })
    }

    /// A fresh PostgreSQL database reached through the transaction-mode pooler
    /// (`pgbouncer=true`), or `None` when the pooler is not configured outside CI.
    ///
    /// A database of its own, not a schema: a `search_path` given at connect time does not
    /// survive a pooler that hands each transaction another server connection.
    ///
    /// # Panics
    /// When the server cannot be reached or the database cannot be made.
    pub async fn pgbouncer(test: &str) -> Option<TestDb> {
        let pooled = crate::pgbouncer_url()?;
        let direct = postgres_url()?;
        let name = unique_name(&format!("b_{}", &test[..test.len().min(20)]));
        let mut conn = sqlx::PgConnection::connect(&direct)
            .await
            .expect("the test PostgreSQL server answers");
        // A generated identifier, not caller text.
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .expect("a database for the test");
        let in_database = |url: &str| {
            let (base, query) = url.split_once('?').unwrap_or((url, ""));
            let (server, _) = base.rsplit_once('/').expect("a database in the URL");
            if query.is_empty() {
                format!("{server}/{name}")
            } else {
                format!("{server}/{name}?{query}")
            }
        };
        Some(TestDb {
            backend: "pgbouncer",
            url: in_database(&pooled),
            direct_url: in_database(&direct),
            _dir: None,
        })
    }

    /// The database `backend` (`sqlite`, `postgres` or `pgbouncer`) names, for `test`; `None`
    /// where that server is not configured outside CI.
    ///
    /// # Panics
    /// On another name, and as each constructor does.
    pub async fn named(backend: &str, test: &str) -> Option<TestDb> {
        match backend {
            "sqlite" => Some(TestDb::sqlite(test)),
            "postgres" => TestDb::postgres(test).await,
            "pgbouncer" => TestDb::pgbouncer(test).await,
            other => panic!("no test database of kind {other:?}"),
        }
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

/// Runs each test body on a SQLite file, on PostgreSQL and on PostgreSQL through the
/// transaction-mode pooler, as three tests named `sqlite`, `postgres` and `pgbouncer` in a
/// module named after the test: for the suites every deployment must pass.
#[macro_export]
macro_rules! every_backend {
    ($(async fn $name:ident($db:ident, $store:ident) $body:block)*) => {$(
        $crate::backend_tests!($name, $db, $store, $body, [sqlite, postgres, pgbouncer]);
    )*};
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
        $crate::backend_tests!($name, $db, $store, $body, [sqlite, postgres]);
    )*};
}

/// One test module `$name` with a test per database in the list (see [`TestDb::named`]).
#[doc(hidden)]
#[macro_export]
macro_rules! backend_tests {
    ($name:ident, $db:ident, $store:ident, $body:block, [$($backend:ident),*]) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $backend() {
                    let Some($db) = $crate::fixture::TestDb::named(
                        stringify!($backend),
                        stringify!($name),
                    )
                    .await
                    else {
                        return;
                    };
                    let $store = $db.connect().await;
                    $body
                }
            )*
        }
    };
}
