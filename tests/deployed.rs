//! PostgreSQL as it is hosted: TLS (`sslmode`, `sslrootcert`), a transaction-mode pooler
//! (PgBouncer, `pgbouncer=true`) and least-privilege roles. `scripts/test` starts each of
//! these and exports where they are; locally, without them, these tests skip, and in CI their
//! absence fails them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;

use memtable::executor::Executors;
use memtable::{Error, ErrorKind, Filter, QueryOptions, Record, Store, TableSchema, Value};
use memtable_tests::{pgbouncer_url, postgres_url, test_url, unique_name};
use sqlx::{AssertSqlSafe, Connection as _};

/// `url` with `params` added to its query string.
fn with_params(url: &str, params: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{params}")
}

fn notes(name: &str) -> TableSchema {
    TableSchema::from_json(serde_json::json!({
        "name": name,
        "columns": [
            { "name": "id", "type": "bigint", "constraints": ["primary_key"] },
            { "name": "owner", "type": "integer", "constraints": ["not_null"] },
            { "name": "body", "type": "text" },
            { "name": "meta", "type": "json" },
            { "name": "done", "type": "boolean" }
        ],
        "indexes": [ { "name": format!("{name}_owner"), "columns": ["owner"] } ]
    }))
    .unwrap()
}

/// Whether the server sees a TLS connection from the application named `app`.
async fn connected_with_tls(app: &str) -> bool {
    let mut admin = sqlx::PgConnection::connect(&postgres_url().unwrap())
        .await
        .unwrap();
    let found: Option<bool> = sqlx::query_scalar(
        "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.application_name = $1",
    )
    .bind(app)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    found.unwrap_or(false)
}

// ---- TLS ---------------------------------------------------------------------------------

#[tokio::test]
async fn verify_full_connects_over_tls() {
    let (Some(url), Some(ca)) = (postgres_url(), test_url("MEMTABLE_TEST_POSTGRES_CA")) else {
        return;
    };
    for host in ["127.0.0.1", "localhost"] {
        let app = unique_name("tls_full");
        let url = with_params(
            &url.replace("127.0.0.1", host),
            &format!("sslmode=verify-full&sslrootcert={ca}&application_name={app}"),
        );
        let store = Store::connect(&url).await.unwrap();
        assert!(!store.table_exists(&unique_name("none")).await.unwrap());
        assert!(connected_with_tls(&app).await, "{host}: not over TLS");
        store.close().await;
    }
}

#[tokio::test]
async fn require_connects_over_tls_without_verifying() {
    let Some(url) = postgres_url() else { return };
    let app = unique_name("tls_require");
    let url = with_params(&url, &format!("sslmode=require&application_name={app}"));
    let store = Store::connect(&url).await.unwrap();
    assert!(!store.table_exists(&unique_name("none")).await.unwrap());
    assert!(connected_with_tls(&app).await);
}

#[tokio::test]
async fn a_wrong_root_certificate_is_a_connection_error_naming_tls() {
    let (Some(url), Some(wrong)) = (postgres_url(), test_url("MEMTABLE_TEST_POSTGRES_WRONG_CA"))
    else {
        return;
    };
    for mode in ["verify-full", "verify-ca"] {
        let url = with_params(&url, &format!("sslmode={mode}&sslrootcert={wrong}"));
        let error = Store::connect(&url).await.unwrap_err();
        assert!(matches!(error, Error::Connection(_)), "{mode}: {error:?}");
        assert_eq!(error.kind(), ErrorKind::Connection);
        assert!(!error.is_transient(), "{error:?}");
        assert!(error.to_string().contains("TLS"), "{error}");
    }
}

#[tokio::test]
async fn require_against_a_server_without_tls_is_a_connection_error() {
    // The pooler's port speaks no TLS to clients.
    let Some(pooled) = pgbouncer_url() else {
        return;
    };
    let plain = pooled.replace("pgbouncer=true", "sslmode=require");
    let error = Store::connect(&plain).await.unwrap_err();
    assert!(matches!(error, Error::Connection(_)), "{error:?}");
    assert!(error.to_string().contains("TLS"), "{error}");
    assert!(!error.is_transient());
}

// ---- the pooler --------------------------------------------------------------------------

#[tokio::test]
async fn a_bad_pgbouncer_parameter_is_refused() {
    let error = Store::connect("postgres://u@127.0.0.1:1/db?pgbouncer=yes")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Connection(_)), "{error:?}");
    assert!(error.to_string().contains("pgbouncer"), "{error}");
}

/// What the rows of one client's table should hold.
type Model = BTreeMap<i64, (Option<String>, bool)>;

/// 8 clients, each a store of its own with 4 connections, through the pooler (which has fewer
/// server connections than that), 500 mixed operations each on one shared table: no error, and
/// exactly the rows a model of the operations predicts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_clients_through_the_pooler_lose_nothing() {
    let Some(db) = memtable_tests::fixture::TestDb::pgbouncer("pooler_load").await else {
        return;
    };
    const CLIENTS: i64 = 8;
    const OPERATIONS: i64 = 500;
    let table = "shared_notes";
    let setup = db.connect().await;
    setup.create_table(&notes(table)).await.unwrap();
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let url = db.url.clone();
        clients.push(tokio::spawn(async move {
            let store = Store::builder(url)
                .max_connections(4)
                .connect()
                .await
                .unwrap();
            let mut model = Model::new();
            let mut state = 0x9E37_79B9_u64.wrapping_mul(client as u64 + 1);
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            for step in 0..OPERATIONS {
                let id = client * 1_000_000 + (next() % 40) as i64;
                let body = format!("c{client} s{step}");
                match next() % 5 {
                    0 | 1 if !model.contains_key(&id) => {
                        let record = Record::new()
                            .with("id", id)
                            .with("owner", client)
                            .with("body", body.as_str())
                            .with("meta", serde_json::json!({"step": step}))
                            .with("done", false);
                        store.insert_into_table(table, record).await.unwrap();
                        model.insert(id, (Some(body), false));
                    }
                    0..=2 if model.contains_key(&id) => {
                        let record = Record::new().with("body", body.as_str()).with("done", true);
                        store
                            .update_table_record(table, &id.to_string(), record)
                            .await
                            .unwrap();
                        model.insert(id, (Some(body), true));
                    }
                    3 if model.contains_key(&id) => {
                        store
                            .delete_from_table(table, &id.to_string())
                            .await
                            .unwrap();
                        model.remove(&id);
                    }
                    _ => {
                        let rows = store
                            .query_table(
                                table,
                                &QueryOptions::new().filter(Filter::eq("owner", client)),
                            )
                            .await
                            .unwrap();
                        assert_eq!(rows.len(), model.len(), "client {client} step {step}");
                    }
                }
            }
            model
        }));
    }
    let mut expected = BTreeMap::new();
    for client in clients {
        expected.extend(client.await.unwrap());
    }
    let rows = setup
        .query_table(table, &QueryOptions::new())
        .await
        .unwrap();
    let found: Model = rows
        .iter()
        .map(|row| {
            let id = row.get("id").and_then(Value::as_i64).unwrap();
            let body = row.get("body").and_then(Value::as_str).map(str::to_owned);
            let done = row.get("done").and_then(Value::as_bool).unwrap();
            (id, (body, done))
        })
        .collect();
    assert_eq!(found, expected);
    assert!(!expected.is_empty());
}

#[tokio::test]
async fn the_builder_switches_to_pooler_statements_too() {
    let Some(db) = memtable_tests::fixture::TestDb::pgbouncer("pooler_builder").await else {
        return;
    };
    let url = db.url.replace("pgbouncer=true", "");
    let url = url.trim_end_matches('?').to_owned();
    let stores = [
        Store::builder(url.clone())
            .transaction_pooled(true)
            .max_connections(6)
            .connect()
            .await
            .unwrap(),
        Store::builder(url)
            .transaction_pooled(true)
            .max_connections(6)
            .connect()
            .await
            .unwrap(),
    ];
    stores[0].create_table(&notes("n")).await.unwrap();
    // Many statements of the same shapes from two stores, interleaved over the pooler's few
    // server connections: named statements would collide or go missing here.
    let mut work = Vec::new();
    for (i, store) in stores.iter().enumerate() {
        for j in 0..40_i64 {
            let store = store.clone();
            let id = (i as i64) * 100 + j;
            work.push(tokio::spawn(async move {
                let record = Record::new()
                    .with("id", id)
                    .with("owner", 1)
                    .with("body", "x");
                store.insert_into_table("n", record).await?;
                store
                    .query_table("n", &QueryOptions::new().filter(Filter::eq("id", id)))
                    .await
            }));
        }
    }
    for task in work {
        assert_eq!(task.await.unwrap().unwrap().len(), 1);
    }
    assert_eq!(stores[1].count("n", None).await.unwrap(), 80);
}

// ---- least privilege ---------------------------------------------------------------------

/// The tables of a schema, as the server lists them.
async fn tables_in(schema: &str) -> Vec<String> {
    let mut admin = sqlx::PgConnection::connect(&postgres_url().unwrap())
        .await
        .unwrap();
    sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 \
         ORDER BY 1",
    )
    .bind(schema)
    .fetch_all(&mut admin)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_role_that_may_only_read_reads_and_is_refused_writes() {
    let (Some(owner_url), Some(reader_url)) = (
        test_url("MEMTABLE_TEST_POSTGRES_OWNER_URL"),
        test_url("MEMTABLE_TEST_POSTGRES_READER_URL"),
    ) else {
        return;
    };
    let table = unique_name("owned_notes");
    let owner = Store::connect(&owner_url).await.unwrap();
    owner.create_table(&notes(&table)).await.unwrap();
    let record = Record::new()
        .with("id", 7)
        .with("owner", 1)
        .with("body", "kept")
        .with("meta", serde_json::json!({"a": [1, 2]}))
        .with("done", true);
    owner.insert_into_table(&table, record).await.unwrap();
    // Tables go into the first schema of the role's search_path.
    let before = tables_in("memtable_owned").await;
    assert!(before.contains(&table), "{before:?}");
    assert!(
        before.contains(&"_memtable_catalog".to_owned()),
        "{before:?}"
    );
    assert!(!tables_in("public").await.contains(&table));

    let reader = Store::connect(&reader_url).await.unwrap();
    assert!(reader.table_exists(&table).await.unwrap());
    let rows = reader
        .query_table(&table, &QueryOptions::new())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    // Decoded by the catalog's logical types: json as JSON, boolean as a boolean.
    assert_eq!(
        rows[0].get("meta"),
        Some(&Value::Json(serde_json::json!({"a": [1, 2]})))
    );
    assert_eq!(rows[0].get("done"), Some(&Value::Bool(true)));
    assert_eq!(reader.table_schema(&table).await.unwrap(), notes(&table));

    let error = reader
        .insert_into_table(&table, Record::new().with("id", 8).with("owner", 1))
        .await
        .unwrap_err();
    match &error {
        Error::PermissionDenied {
            table: Some(t),
            operation,
            code,
            ..
        } => {
            assert_eq!(t, &table);
            assert_eq!(operation, "insert_into_table");
            assert_eq!(code.as_deref(), Some("42501"));
        }
        other => panic!("expected PermissionDenied, got {other:?}"),
    }
    assert!(!error.to_string().contains("at line"), "{error}");
    let error = reader
        .create_table(&notes(&unique_name("reader_made")))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error:?}");
    // Through an executor: the kind, the table and the operation.
    let result = Executors::new(reader.clone())
        .execute(
            "delete_from_table",
            serde_json::json!({"tableName": table, "id": "7"}),
        )
        .await;
    assert_eq!(
        result["data"]["error"]["kind"], "permission_denied",
        "{result}"
    );
    assert_eq!(result["data"]["error"]["table"], table.as_str());
    assert_eq!(result["data"]["error"]["operation"], "delete_from_table");
    assert_eq!(result["data"]["error"]["code"], "42501");
    // The reader created nothing and changed nothing.
    assert_eq!(tables_in("memtable_owned").await, before);
    assert_eq!(owner.count(&table, None).await.unwrap(), 1);
}

/// A role that may only read, on a schema without memtable's catalog (tables made by hand):
/// it connects and reads, typed by the database's own catalog, and creates nothing.
#[tokio::test]
async fn a_reader_without_a_catalog_falls_back_to_the_database_catalog() {
    let (Some(admin_url), Some(reader_url)) = (
        postgres_url(),
        test_url("MEMTABLE_TEST_POSTGRES_READER_URL"),
    ) else {
        return;
    };
    let schema = unique_name("no_catalog");
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    // Generated identifiers, not caller text.
    for ddl in [
        format!("CREATE SCHEMA \"{schema}\""),
        format!(
            "CREATE TABLE \"{schema}\".items (id BIGINT PRIMARY KEY, name TEXT, tags JSONB, \
             ok BOOLEAN)"
        ),
        format!(
            "INSERT INTO \"{schema}\".items VALUES (1, 'one', '[\"a\"]', true), \
             (2, NULL, NULL, false)"
        ),
        format!("GRANT USAGE ON SCHEMA \"{schema}\" TO memtable_reader"),
        format!("GRANT SELECT ON ALL TABLES IN SCHEMA \"{schema}\" TO memtable_reader"),
    ] {
        sqlx::query(AssertSqlSafe(ddl))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let url = with_params(&reader_url, &format!("options=-c%20search_path%3D{schema}"));
    let reader = Store::connect(&url).await.unwrap();
    assert!(reader.table_exists("items").await.unwrap());
    assert!(reader.list_tables().await.unwrap().is_empty());
    let rows = reader
        .query_table(
            "items",
            &QueryOptions::new().order_by(memtable::OrderBy::asc("id")),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].get("tags"),
        Some(&Value::Json(serde_json::json!(["a"])))
    );
    assert_eq!(rows[1].get("ok"), Some(&Value::Bool(false)));
    let error = reader
        .update_table_record("items", "1", Record::new().with("name", "uno"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error:?}");
    assert_eq!(tables_in(&schema).await, vec!["items".to_owned()]);
}

// ---- errors ------------------------------------------------------------------------------

#[tokio::test]
async fn database_errors_carry_the_servers_message_detail_and_code() {
    let Some(db) = memtable_tests::fixture::TestDb::postgres("messages").await else {
        return;
    };
    let store = db.connect().await;
    store.create_table(&notes("n")).await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&db.direct_url).await.unwrap();
    // A trigger that fails with a detail and a hint, as a server-side rule would.
    for ddl in [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         RAISE EXCEPTION 'writes are closed' USING DETAIL = 'maintenance window', \
         HINT = 'try again after 02:00', ERRCODE = 'P0001'; END $$",
        "CREATE TRIGGER refuse BEFORE INSERT ON n FOR EACH ROW EXECUTE FUNCTION refuse()",
    ] {
        sqlx::query(AssertSqlSafe(ddl))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let error = store
        .insert_into_table("n", Record::new().with("id", 1).with("owner", 1))
        .await
        .unwrap_err();
    let Error::Database(db_error) = &error else {
        panic!("expected Database, got {error:?}");
    };
    assert_eq!(db_error.code(), Some("P0001"));
    let message = error.to_string();
    assert!(message.contains("writes are closed"), "{message}");
    assert!(message.contains("maintenance window"), "{message}");
    assert!(message.contains("try again after 02:00"), "{message}");
    assert!(!message.contains("at line"), "{message}");
    let result = memtable::executor::failure(&error);
    assert_eq!(result["data"]["error"]["kind"], "database");
    assert_eq!(result["data"]["error"]["code"], "P0001");
    assert_eq!(result["data"]["error"]["transient"], false);
}
