//! The seven table operations, the catalog and the error taxonomy, on a SQLite file and on
//! PostgreSQL: every test body runs on both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use memtable::{
    Column, ColumnType, ConstraintKind, Error, Filter, IdentifierKind, OrderBy, QueryOptions,
    Record, SchemaProblem, Store, TableSchema, Value,
};
use memtable_tests::every_backend;
use serde_json::json;

fn oauth_tokens() -> TableSchema {
    TableSchema::from_json(json!({
        "name": "oauth_tokens",
        "columns": [
            { "name": "id", "type": "text", "constraints": ["primary_key"] },
            { "name": "user_id", "type": "text", "constraints": ["not_null"] },
            { "name": "provider", "type": "text", "constraints": ["not_null"] },
            { "name": "access_token", "type": "text", "constraints": ["not_null"] },
            { "name": "refresh_token", "type": "text" },
            { "name": "expires_at", "type": "bigint" },
            { "name": "token_data", "type": "json" },
            { "name": "created_at", "type": "bigint", "constraints": ["not_null"] }
        ],
        "indexes": [ { "name": "idx_user_provider", "columns": ["user_id", "provider"], "unique": true } ]
    }))
    .unwrap()
}

/// Every logical type, an auto-increment key, and reserved words as column names.
fn every_type() -> TableSchema {
    TableSchema::from_json(json!({
        "name": "every_type",
        "columns": [
            { "name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"] },
            { "name": "order", "type": "text" },
            { "name": "select", "type": "integer" },
            { "name": "big", "type": "bigint" },
            { "name": "ratio", "type": "real" },
            { "name": "raw", "type": "blob" },
            { "name": "doc", "type": "json" },
            { "name": "flag", "type": "boolean" }
        ]
    }))
    .unwrap()
}

fn token(user: &str, provider: &str, created_at: i64) -> Record {
    Record::new()
        .with("user_id", user)
        .with("provider", provider)
        .with("access_token", format!("at-{user}-{provider}"))
        .with("created_at", created_at)
}

async fn all_rows(store: &Store, table: &str) -> Vec<Record> {
    store
        .query_table(table, &QueryOptions::new().order_by(OrderBy::asc("id")))
        .await
        .unwrap()
}

every_backend! {
    async fn create_table_is_idempotent_and_strict(db, store) {
        let schema = oauth_tokens();
        assert!(!store.table_exists("oauth_tokens").await.unwrap());
        store.create_table(&schema).await.unwrap();
        store.create_table(&schema).await.unwrap();
        assert!(store.table_exists("oauth_tokens").await.unwrap());

        // A second process (a new store) sees the same table and the same rule.
        let other = db.connect().await;
        other.create_table(&schema).await.unwrap();
        let mut changed = schema.clone();
        changed.columns[5].column_type = ColumnType::Integer;
        match other.create_table(&changed).await {
            Err(Error::SchemaMismatch {
                table, difference, ..
            }) => {
                assert_eq!(table, "oauth_tokens");
                assert!(difference.contains("expires_at"), "{difference}");
            }
            other => panic!("expected SchemaMismatch, got {other:?}"),
        }
        assert_eq!(store.list_tables().await.unwrap(), vec!["oauth_tokens".to_owned()]);
        assert_eq!(other.table_schema("oauth_tokens").await.unwrap(), schema);
    }

    async fn table_exists_refuses_invalid_names(db, store) {
        assert!(!store.table_exists("nope").await.unwrap());
        assert!(matches!(
            store.table_exists("x; DROP TABLE y").await,
            Err(Error::InvalidIdentifier { kind: IdentifierKind::Table, .. })
        ));
        // The catalog comes with the first table, not with the connection.
        assert!(!store.table_exists("_memtable_catalog").await.unwrap());
        store.create_table(&oauth_tokens()).await.unwrap();
        assert!(store.table_exists("_memtable_catalog").await.unwrap());
    }

    async fn drop_table_removes_table_and_catalog_entry(db, store) {
        store.create_table(&oauth_tokens()).await.unwrap();
        store.insert_into_table("oauth_tokens", token("u1", "github", 1)).await.unwrap();
        store.drop_table("oauth_tokens").await.unwrap();
        assert!(!store.table_exists("oauth_tokens").await.unwrap());
        assert!(store.list_tables().await.unwrap().is_empty());
        assert!(matches!(
            store.drop_table("oauth_tokens").await,
            Err(Error::TableNotFound { ref table }) if table == "oauth_tokens"
        ));
        assert!(matches!(
            store.query_table("oauth_tokens", &QueryOptions::new()).await,
            Err(Error::TableNotFound { .. })
        ));
        // Created again, with another schema, after the drop.
        let mut other = oauth_tokens();
        other.columns.pop();
        store.create_table(&other).await.unwrap();
        assert_eq!(db.connect().await.table_schema("oauth_tokens").await.unwrap(), other);
    }

    async fn protected_tables_are_read_only(db, store) {
        let mut memories = oauth_tokens();
        memories.name = "memories".into();
        for result in [
            store.create_table(&memories).await,
            store.drop_table("memories").await,
            store.drop_table("_memtable_catalog").await,
            store.insert_into_table("_memtable_catalog", Record::new().with("table_name", "x")).await.map(drop),
            store.update_table_record("sandbox", "1", Record::new().with("a", 1)).await,
            store.delete_from_table("_memtable_catalog", "x").await,
        ] {
            assert!(matches!(result, Err(Error::ProtectedTable { .. })), "{result:?}");
        }
        // Reads are allowed.
        store.create_table(&oauth_tokens()).await.unwrap();
        let catalog = store.query_table("_memtable_catalog", &QueryOptions::new()).await.unwrap();
        assert_eq!(catalog.len(), 1);
        assert_eq!(catalog[0].get("table_name"), Some(&Value::Text("oauth_tokens".into())));
    }

    async fn insert_returns_the_id_by_the_id_rules(db, store) {
        store.create_table(&oauth_tokens()).await.unwrap();
        store.create_table(&every_type()).await.unwrap();

        // Given key.
        let given = store
            .insert_into_table("oauth_tokens", token("u1", "github", 1).with("id", "tok-1"))
            .await
            .unwrap();
        assert_eq!(given, "tok-1");
        // Text key, none given: a UUID v7.
        let generated = store.insert_into_table("oauth_tokens", token("u2", "github", 2)).await.unwrap();
        let uuid = uuid::Uuid::parse_str(&generated).unwrap();
        assert_eq!(uuid.get_version_num(), 7);
        // auto_increment: the database's, in decimal.
        let first = store.insert_into_table("every_type", Record::new().with("order", "a")).await.unwrap();
        let second = store.insert_into_table("every_type", Record::new()).await.unwrap();
        assert_eq!(first, "1");
        assert_eq!(second, "2");
        // A value for an auto_increment key is refused.
        assert!(matches!(
            store.insert_into_table("every_type", Record::new().with("id", 9)).await,
            Err(Error::InvalidRecord { .. })
        ));
    }

    async fn update_by_id(db, store) {
        store.create_table(&oauth_tokens()).await.unwrap();
        store.create_table(&every_type()).await.unwrap();
        let id = store.insert_into_table("oauth_tokens", token("u1", "github", 1)).await.unwrap();
        store
            .update_table_record("oauth_tokens", &id, Record::new().with("access_token", "new").with("expires_at", 99))
            .await
            .unwrap();
        let rows = all_rows(&store, "oauth_tokens").await;
        assert_eq!(rows[0].get("access_token"), Some(&Value::Text("new".into())));
        assert_eq!(rows[0].get("expires_at"), Some(&Value::Integer(99)));

        assert!(matches!(
            store.update_table_record("oauth_tokens", "missing", Record::new().with("access_token", "x")).await,
            Err(Error::RecordNotFound { ref table, ref id }) if table == "oauth_tokens" && id == "missing"
        ));
        assert!(matches!(
            store.update_table_record("oauth_tokens", &id, Record::new()).await,
            Err(Error::InvalidRecord { .. })
        ));
        let auto = store.insert_into_table("every_type", Record::new()).await.unwrap();
        assert!(matches!(
            store.update_table_record("every_type", &auto, Record::new().with("id", 5)).await,
            Err(Error::InvalidRecord { .. })
        ));
        assert!(matches!(
            store.update_table_record("every_type", "not-a-number", Record::new().with("order", "x")).await,
            Err(Error::TypeMismatch { ref column, .. }) if column == "id"
        ));
    }

    async fn delete_by_id(db, store) {
        store.create_table(&every_type()).await.unwrap();
        let id = store.insert_into_table("every_type", Record::new().with("order", "x")).await.unwrap();
        store.delete_from_table("every_type", &id).await.unwrap();
        assert!(all_rows(&store, "every_type").await.is_empty());
        assert!(matches!(
            store.delete_from_table("every_type", &id).await,
            Err(Error::RecordNotFound { .. })
        ));
    }

    async fn query_where_order_limit_offset(db, store) {
        store.create_table(&oauth_tokens()).await.unwrap();
        for (i, (user, provider)) in [("u1", "github"), ("u1", "google"), ("u2", "github"), ("u3", "gitlab")]
            .into_iter()
            .enumerate()
        {
            let mut record = token(user, provider, i as i64).with("id", format!("t{i}"));
            if user != "u3" {
                record.insert("expires_at", 1000 + i as i64);
            }
            store.insert_into_table("oauth_tokens", record).await.unwrap();
        }
        let ids = |rows: Vec<Record>| -> Vec<String> {
            rows.iter().map(|r| r.get("id").and_then(Value::as_str).unwrap().to_owned()).collect()
        };
        let run = |options: QueryOptions| {
            let store = store.clone();
            async move { ids(store.query_table("oauth_tokens", &options).await.unwrap()) }
        };
        let by_id = || QueryOptions::new().order_by(OrderBy::asc("id"));

        assert_eq!(run(by_id()).await, ["t0", "t1", "t2", "t3"]);
        assert_eq!(run(by_id().filter(Filter::eq("user_id", "u1"))).await, ["t0", "t1"]);
        assert_eq!(run(by_id().filter(Filter::eq("expires_at", Value::Null))).await, ["t3"]);
        assert_eq!(run(by_id().filter(Filter::ne("expires_at", Value::Null))).await, ["t0", "t1", "t2"]);
        assert_eq!(run(by_id().filter(Filter::gte("expires_at", 1001)).filter(Filter::lt("expires_at", 1002))).await, ["t1"]);
        assert_eq!(run(by_id().filter(Filter::is_in("provider", ["gitlab", "google"]))).await, ["t1", "t3"]);
        assert_eq!(run(by_id().filter(Filter::not_in("provider", ["github"]))).await, ["t1", "t3"]);
        assert!(run(by_id().filter(Filter::is_in("provider", Vec::<String>::new()))).await.is_empty());
        assert_eq!(run(by_id().filter(Filter::like("provider", "git%"))).await, ["t0", "t2", "t3"]);
        assert_eq!(run(QueryOptions::new().order_by(OrderBy::desc("created_at"))).await, ["t3", "t2", "t1", "t0"]);
        assert_eq!(run(by_id().limit(2)).await, ["t0", "t1"]);
        assert_eq!(run(by_id().offset(3)).await, ["t3"]);
        assert_eq!(run(by_id().limit(1).offset(1)).await, ["t1"]);
        assert!(run(by_id().offset(10)).await.is_empty());
        assert_eq!(
            run(QueryOptions::new().order_by(OrderBy::asc("user_id")).order_by(OrderBy::desc("provider"))).await,
            ["t1", "t0", "t2", "t3"]
        );

        // The JSON form of the seed.
        let schema = store.table_schema("oauth_tokens").await.unwrap();
        let options = QueryOptions::from_json(&schema, &json!({
            "where": {"user_id": "u1", "expires_at": {"$lt": 1001}},
            "orderBy": [{"column": "created_at", "direction": "desc"}],
            "limit": 5
        }))
        .unwrap();
        assert_eq!(run(options).await, ["t0"]);
    }

    async fn values_round_trip_after_reopening(db, store) {
        store.create_table(&every_type()).await.unwrap();
        let doc = json!({
            "nested": {"list": [1, 2.5, null, true, {"deep": ["x"]}]},
            "unicode": "héllo wörld ✓ 日本語 🎉",
            "quotes": "it's \"quoted\" \\ back`tick`",
            "big": 9007199254740993_i64
        });
        let big = (1_i64 << 53) + 1;
        let raw: Vec<u8> = (0..=255).collect();
        let id = store
            .insert_into_table(
                "every_type",
                Record::new()
                    .with("order", "o")
                    .with("select", i32::MIN)
                    .with("big", big)
                    .with("ratio", 0.1)
                    .with("raw", raw.clone())
                    .with("doc", doc.clone())
                    .with("flag", true),
            )
            .await
            .unwrap();
        store.insert_into_table("every_type", Record::new().with("flag", false).with("big", i64::MIN)).await.unwrap();
        store.close().await;

        let reopened = db.connect().await;
        let rows = all_rows(&reopened, "every_type").await;
        assert_eq!(rows.len(), 2);
        let row = &rows[0];
        assert_eq!(row.get("id"), Some(&Value::Integer(id.parse().unwrap())));
        assert_eq!(row.get("order"), Some(&Value::Text("o".into())));
        assert_eq!(row.get("select"), Some(&Value::Integer(i32::MIN.into())));
        assert_eq!(row.get("big"), Some(&Value::Integer(big)));
        assert_eq!(row.get("ratio"), Some(&Value::Real(0.1)));
        assert_eq!(row.get("raw"), Some(&Value::Blob(raw)));
        assert_eq!(row.get("doc"), Some(&Value::Json(doc.clone())));
        assert_eq!(row.get("flag"), Some(&Value::Bool(true)));
        assert_eq!(rows[1].get("flag"), Some(&Value::Bool(false)));
        assert_eq!(rows[1].get("big"), Some(&Value::Integer(i64::MIN)));
        assert_eq!(rows[1].get("doc"), Some(&Value::Null));
        assert_eq!(row.to_json()["doc"], doc);
        assert_eq!(row.to_json()["flag"], json!(true));

        // Equality on a json column and on a boolean column.
        let found = reopened
            .query_table("every_type", &QueryOptions::new().filter(Filter::eq("doc", doc)))
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        let found = reopened
            .query_table("every_type", &QueryOptions::new().filter(Filter::eq("flag", false)))
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
    }

    async fn mixed_case_table_and_reserved_word_columns(db, store) {
        let schema = TableSchema::from_json(json!({
            "name": "OAuthTokens",
            "columns": [
                { "name": "Id", "type": "text", "constraints": ["primary_key"] },
                { "name": "group", "type": "text" },
                { "name": "from", "type": "integer" }
            ],
            "indexes": [ { "name": "Idx_Group", "columns": ["group", "from"] } ]
        }))
        .unwrap();
        store.create_table(&schema).await.unwrap();
        assert!(store.table_exists("OAuthTokens").await.unwrap());
        let id = store
            .insert_into_table("OAuthTokens", Record::new().with("group", "g").with("from", 3))
            .await
            .unwrap();
        store.update_table_record("OAuthTokens", &id, Record::new().with("from", 4)).await.unwrap();
        let rows = store
            .query_table("OAuthTokens", &QueryOptions::new().filter(Filter::eq("group", "g")).order_by(OrderBy::desc("from")))
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get("from"), Some(&Value::Integer(4)));
        assert_eq!(db.connect().await.table_schema("OAuthTokens").await.unwrap(), schema);
        store.delete_from_table("OAuthTokens", &id).await.unwrap();
        store.drop_table("OAuthTokens").await.unwrap();
    }

    async fn sql_metacharacters_in_values_are_stored_verbatim(db, store) {
        store.create_table(&every_type()).await.unwrap();
        let nasty = [
            "'; DROP TABLE every_type; --",
            "\" OR 1=1 --",
            "Robert'); DELETE FROM _memtable_catalog;--",
            "$1 ? ?1 :name @p1",
            "back\\slash\\' and `tick`",
            "line\nbreak\r\ttab",
            "%_ wildcard",
            "\u{202e}right-to-left\u{200f}",
        ];
        for (i, text) in nasty.iter().enumerate() {
            let id = store
                .insert_into_table("every_type", Record::new().with("order", *text).with("doc", json!({"k": text})))
                .await
                .unwrap();
            assert_eq!(id, (i + 1).to_string());
            let found = store
                .query_table("every_type", &QueryOptions::new().filter(Filter::eq("order", *text)))
                .await
                .unwrap();
            assert_eq!(found.len(), 1, "{text:?}");
            assert_eq!(found[0].get("order"), Some(&Value::Text((*text).to_owned())));
        }
        assert_eq!(all_rows(&store, "every_type").await.len(), nasty.len());
        assert_eq!(store.list_tables().await.unwrap(), vec!["every_type".to_owned()]);
    }

    async fn injection_through_identifiers_is_refused_before_sql(db, store) {
        store.create_table(&every_type()).await.unwrap();
        let evil_table = "every_type\"; DROP TABLE every_type; --";
        assert!(matches!(store.query_table(evil_table, &QueryOptions::new()).await, Err(Error::InvalidIdentifier { .. })));
        assert!(matches!(store.insert_into_table(evil_table, Record::new()).await, Err(Error::InvalidIdentifier { .. })));
        assert!(matches!(store.drop_table(evil_table).await, Err(Error::InvalidIdentifier { .. })));
        assert!(matches!(store.delete_from_table(evil_table, "1").await, Err(Error::InvalidIdentifier { .. })));
        assert!(matches!(
            store.insert_into_table("every_type", Record::new().with("order\" TEXT); DROP TABLE every_type; --", "x")).await,
            Err(Error::UnknownColumn { .. })
        ));
        assert!(matches!(
            store.query_table("every_type", &QueryOptions::new().filter(Filter::eq("1=1 OR order", "x"))).await,
            Err(Error::UnknownColumn { .. })
        ));
        assert!(matches!(
            store.query_table("every_type", &QueryOptions::new().order_by(OrderBy::asc("id; DROP TABLE every_type"))).await,
            Err(Error::UnknownColumn { .. })
        ));
        let schema = store.table_schema("every_type").await.unwrap();
        assert!(matches!(
            QueryOptions::from_json(&schema, &json!({"orderBy": [{"column": "id", "direction": "asc; DROP TABLE every_type"}]})),
            Err(Error::InvalidQuery { .. })
        ));
        let bad_schema = TableSchema::new("t", vec![Column::new("a\"b", ColumnType::Text)]);
        assert!(matches!(store.create_table(&bad_schema).await, Err(Error::InvalidIdentifier { .. })));
        assert!(store.table_exists("every_type").await.unwrap());
        assert_eq!(store.list_tables().await.unwrap(), vec!["every_type".to_owned()]);
    }

    async fn constraint_violations_are_classified(db, store) {
        store.create_table(&oauth_tokens()).await.unwrap();
        store.insert_into_table("oauth_tokens", token("u1", "github", 1).with("id", "a")).await.unwrap();

        match store.insert_into_table("oauth_tokens", token("u9", "x", 1).with("id", "a")).await {
            Err(Error::ConstraintViolation { kind: ConstraintKind::PrimaryKey, table, column, .. }) => {
                assert_eq!(table.as_deref(), Some("oauth_tokens"));
                assert_eq!(column.as_deref(), Some("id"));
            }
            other => panic!("expected a primary key violation, got {other:?}"),
        }
        match store.insert_into_table("oauth_tokens", token("u1", "github", 2)).await {
            Err(Error::ConstraintViolation { kind: ConstraintKind::Unique, table, column, constraint, .. }) => {
                assert_eq!(table.as_deref(), Some("oauth_tokens"));
                assert_eq!(column.as_deref(), Some("user_id, provider"));
                assert_eq!(constraint.as_deref(), Some("idx_user_provider"));
            }
            other => panic!("expected a unique violation, got {other:?}"),
        }
        match store.insert_into_table("oauth_tokens", Record::new().with("user_id", "u5").with("provider", "p").with("created_at", 1)).await {
            Err(Error::ConstraintViolation { kind: ConstraintKind::NotNull, column, .. }) => {
                assert_eq!(column.as_deref(), Some("access_token"));
            }
            other => panic!("expected a not-null violation, got {other:?}"),
        }
        match store.update_table_record("oauth_tokens", "a", Record::new().with("user_id", Value::Null)).await {
            Err(Error::ConstraintViolation { kind: ConstraintKind::NotNull, .. }) => {}
            other => panic!("expected a not-null violation, got {other:?}"),
        }
        let error = store.insert_into_table("oauth_tokens", token("u1", "github", 2)).await.unwrap_err();
        assert!(!error.is_transient());
        assert_eq!(all_rows(&store, "oauth_tokens").await.len(), 1);
    }

    async fn request_errors_name_what_is_wrong(db, store) {
        store.create_table(&every_type()).await.unwrap();
        assert!(matches!(
            store.insert_into_table("every_type", Record::new().with("select", "five")).await,
            Err(Error::TypeMismatch { ref table, ref column, expected: ColumnType::Integer, .. })
                if table == "every_type" && column == "select"
        ));
        assert!(matches!(
            store.insert_into_table("every_type", Record::new().with("select", 1_i64 << 40)).await,
            Err(Error::TypeMismatch { .. })
        ));
        assert!(matches!(
            store.insert_into_table("every_type", Record::new().with("flag", 1.5)).await,
            Err(Error::TypeMismatch { .. })
        ));
        assert!(matches!(
            store.insert_into_table("every_type", Record::new().with("nope", 1)).await,
            Err(Error::UnknownColumn { ref column, .. }) if column == "nope"
        ));
        assert!(matches!(
            store.insert_into_table("missing_table", Record::new()).await,
            Err(Error::TableNotFound { ref table }) if table == "missing_table"
        ));
        assert!(matches!(
            store.create_table(&TableSchema::new("t", vec![Column::new("a", ColumnType::Text)])).await,
            Err(Error::InvalidSchema { problem: SchemaProblem::NoPrimaryKey, .. })
        ));
        assert!(matches!(
            store.query_table("every_type", &QueryOptions::new().filter(Filter::like("select", "1%"))).await,
            Err(Error::InvalidQuery { .. })
        ));
        assert!(all_rows(&store, "every_type").await.is_empty());
    }
}

mod foreign_tables {
    use super::*;
    use memtable_tests::fixture::TestDb;
    use sqlx::{AssertSqlSafe, Connection as _};

    /// A table memtable did not create is usable, typed from the database's own catalog.
    async fn check(db: TestDb, ddl: &str) {
        match db.backend {
            "sqlite" => {
                let mut conn = sqlx::SqliteConnection::connect(&format!("{}?mode=rwc", db.url))
                    .await
                    .unwrap();
                sqlx::query(AssertSqlSafe(ddl))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            _ => {
                let mut conn = sqlx::PgConnection::connect(&db.direct_url).await.unwrap();
                sqlx::query(AssertSqlSafe(ddl))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        }
        let store = db.connect().await;
        let schema = store.table_schema("legacy").await.unwrap();
        assert_eq!(schema.primary_key().unwrap().name, "id");
        assert!(store.list_tables().await.unwrap().is_empty());
        let id = store
            .insert_into_table(
                "legacy",
                Record::new()
                    .with("id", 7)
                    .with("name", "n")
                    .with("score", 1.5),
            )
            .await
            .unwrap();
        assert_eq!(id, "7");
        let rows = store
            .query_table("legacy", &QueryOptions::new())
            .await
            .unwrap();
        assert_eq!(rows[0].get("name"), Some(&Value::Text("n".into())));
        assert_eq!(rows[0].get("score"), Some(&Value::Real(1.5)));
        store.delete_from_table("legacy", "7").await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        check(
            TestDb::sqlite("foreign"),
            "CREATE TABLE legacy (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL, score DOUBLE)",
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(db) = TestDb::postgres("foreign").await else {
            return;
        };
        check(db, "CREATE TABLE legacy (id BIGINT PRIMARY KEY, name VARCHAR(20) NOT NULL, score DOUBLE PRECISION)").await;
    }

    /// Tables memtable did not create with no key, or a key of two columns: read (query and
    /// count), while operations by id are refused with `NoPrimaryKey`, never run on part of a
    /// key.
    async fn check_keyless(db: TestDb, statements: &[&str]) {
        match db.backend {
            "sqlite" => {
                let mut conn = sqlx::SqliteConnection::connect(&format!("{}?mode=rwc", db.url))
                    .await
                    .unwrap();
                for sql in statements {
                    sqlx::query(AssertSqlSafe(*sql))
                        .execute(&mut conn)
                        .await
                        .unwrap();
                }
            }
            _ => {
                let mut conn = sqlx::PgConnection::connect(&db.direct_url).await.unwrap();
                for sql in statements {
                    sqlx::query(AssertSqlSafe(*sql))
                        .execute(&mut conn)
                        .await
                        .unwrap();
                }
            }
        }
        let store = db.connect().await;
        for table in ["events", "pairs"] {
            let schema = store.table_schema(table).await.unwrap();
            assert!(schema.primary_key().is_none(), "{schema:?}");
            let rows = store
                .query_table(
                    table,
                    &QueryOptions::new()
                        .filter(Filter::eq("a", 1))
                        .order_by(OrderBy::asc("b")),
                )
                .await
                .unwrap();
            let seen: Vec<_> = rows
                .iter()
                .map(|r| r.get("b").and_then(Value::as_str).unwrap().to_owned())
                .collect();
            assert_eq!(seen, ["x", "y"], "{table}");
            assert_eq!(store.count(table, None).await.unwrap(), 3);
            let no_key = |result: Result<(), Error>| {
                assert!(
                    matches!(
                        result,
                        Err(Error::InvalidSchema {
                            problem: SchemaProblem::NoPrimaryKey,
                            ..
                        })
                    ),
                    "{result:?}"
                );
            };
            no_key(
                store
                    .update_table_record(table, "1", Record::new().with("b", "z"))
                    .await,
            );
            no_key(store.delete_from_table(table, "1").await);
            no_key(
                store
                    .insert_into_table(table, Record::new().with("a", 9).with("b", "w"))
                    .await
                    .map(drop),
            );
            assert_eq!(
                store.count(table, None).await.unwrap(),
                3,
                "nothing written"
            );
        }
    }

    const KEYLESS: [&str; 4] = [
        "CREATE TABLE events (a INTEGER NOT NULL, b TEXT NOT NULL)",
        "INSERT INTO events (a, b) VALUES (1, 'y'), (1, 'x'), (2, 'z')",
        "CREATE TABLE pairs (a INTEGER NOT NULL, b TEXT NOT NULL, PRIMARY KEY (a, b))",
        "INSERT INTO pairs (a, b) VALUES (1, 'y'), (1, 'x'), (2, 'z')",
    ];

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_keyless_tables_are_read() {
        check_keyless(TestDb::sqlite("keyless"), &KEYLESS).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_keyless_tables_are_read() {
        let Some(db) = TestDb::postgres("keyless").await else {
            return;
        };
        check_keyless(db, &KEYLESS).await;
    }

    /// A batch into a table memtable did not create, whose types are not the ones memtable
    /// declares (`json`, not `jsonb`; `varchar`): written by statements that cast, not by
    /// binary COPY, which would hand `json` a `jsonb` value.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_batch_into_json_and_varchar() {
        let Some(db) = TestDb::postgres("foreign_json").await else {
            return;
        };
        let mut conn = sqlx::PgConnection::connect(&db.direct_url).await.unwrap();
        sqlx::query("CREATE TABLE legacy_docs (id TEXT PRIMARY KEY, doc JSON, name VARCHAR(20))")
            .execute(&mut conn)
            .await
            .unwrap();
        let store = db.connect().await;
        let records: Vec<Record> = (0..3)
            .map(|i| {
                Record::new()
                    .with("id", format!("d{i}"))
                    .with("doc", json!({"n": i, "ключ": "値"}))
                    .with("name", format!("n{i}"))
            })
            .collect();
        let ids = store
            .insert_many_into_table("legacy_docs", records.clone())
            .await
            .unwrap();
        assert_eq!(ids, ["d0", "d1", "d2"]);
        let rows = all_rows(&store, "legacy_docs").await;
        assert_eq!(rows, records);
    }
}

/// Eight tasks writing to one SQLite file at once: no error, no lost row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_on_one_sqlite_file() {
    let db = memtable_tests::fixture::TestDb::sqlite("concurrent");
    let store = db.connect().await;
    store.create_table(&every_type()).await.unwrap();
    let mut tasks = Vec::new();
    for task in 0..8 {
        // Half share the store's pool, half open stores of their own, as separate plugins would.
        let store = if task % 2 == 0 {
            store.clone()
        } else {
            db.connect().await
        };
        tasks.push(tokio::spawn(async move {
            for i in 0..500 {
                store
                    .insert_into_table(
                        "every_type",
                        Record::new().with("select", task).with("big", i),
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let rows = all_rows(&store, "every_type").await;
    assert_eq!(rows.len(), 4000);
    for task in 0..8 {
        let count = rows
            .iter()
            .filter(|r| r.get("select") == Some(&Value::Integer(task)))
            .count();
        assert_eq!(count, 500, "task {task}");
    }
}

/// `sqlite::memory:` works and keeps its data across operations.
#[tokio::test]
async fn sqlite_in_memory() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.create_table(&every_type()).await.unwrap();
    store
        .insert_into_table("every_type", Record::new().with("order", "x"))
        .await
        .unwrap();
    assert_eq!(all_rows(&store, "every_type").await.len(), 1);
}

/// A SQLite URL whose directories do not exist yet.
#[tokio::test]
async fn sqlite_file_and_directories_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/c/store.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.create_table(&every_type()).await.unwrap();
    assert!(path.exists());
}

/// A server that does not answer is a connection error, and a transient one.
#[tokio::test]
async fn unreachable_postgres_is_a_transient_error() {
    let error = Store::builder("postgres://nobody@127.0.0.1:1/none")
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Connection(_)), "{error:?}");
    assert_eq!(error.kind(), memtable::ErrorKind::Connection);
    assert!(error.is_transient(), "{error:?}");
}

/// A text-keyed table of every type: on PostgreSQL its batches are written by binary COPY.
fn kinds() -> TableSchema {
    TableSchema::from_json(json!({
        "name": "kinds",
        "columns": [
            { "name": "id", "type": "text", "constraints": ["primary_key"] },
            { "name": "t", "type": "text", "constraints": ["unique"] },
            { "name": "i", "type": "integer" },
            { "name": "b", "type": "bigint" },
            { "name": "r", "type": "real" },
            { "name": "raw", "type": "blob" },
            { "name": "doc", "type": "json" },
            { "name": "flag", "type": "boolean" },
            { "name": "must", "type": "text", "constraints": ["not_null"] }
        ]
    }))
    .unwrap()
}

/// Row `i` of a batch of [`kinds`]: every type, unicode, extremes, NULLs given or left out,
/// and the columns in differing orders.
fn kind_row(i: i64) -> Record {
    let nulls = i % 5 == 3;
    let record = Record::new()
        .with("id", format!("k{i:05}"))
        .with("must", format!("m{i}"));
    if i % 7 == 1 {
        // The other columns left out: written as NULL.
        return record.with("t", format!("only-{i}"));
    }
    let text = format!("héllo ✓ 𝄞 \\ \"{i}\"\t\n");
    let doc = json!({"ключ": ["値", {"deep": [1, 2.5, null, true, "🦀"]}], "i": i, "big": (1_i64 << 53) + 1});
    let pick = |choices: [Value; 3]| {
        if nulls {
            Value::Null
        } else {
            choices[(i % 3) as usize].clone()
        }
    };
    let fields = vec![
        ("t", Value::Text(text)),
        (
            "i",
            pick([
                Value::Integer(i32::MIN.into()),
                Value::Integer(i32::MAX.into()),
                Value::Integer(-i),
            ]),
        ),
        (
            "b",
            pick([
                Value::Integer(i64::MIN),
                Value::Integer(i64::MAX),
                Value::Integer((1 << 53) + 1),
            ]),
        ),
        (
            "r",
            pick([
                Value::Real(0.1),
                Value::Real(-1e308),
                Value::Real(f64::MIN_POSITIVE),
            ]),
        ),
        (
            "raw",
            pick([
                Value::Blob((0..=255_u8).rev().chain([0, i as u8]).collect()),
                Value::Blob(Vec::new()),
                Value::Blob(vec![0]),
            ]),
        ),
        (
            "doc",
            pick([
                Value::Json(doc),
                Value::Json(json!("")),
                Value::Json(json!([])),
            ]),
        ),
        (
            "flag",
            pick([
                Value::Bool(i % 2 == 0),
                Value::Bool(true),
                Value::Bool(false),
            ]),
        ),
    ];
    if i % 2 == 0 {
        record
            .into_iter()
            .chain(fields.into_iter().map(|(c, v)| (c.to_owned(), v)))
            .collect()
    } else {
        fields
            .into_iter()
            .rev()
            .map(|(c, v)| (c.to_owned(), v))
            .chain(record)
            .collect()
    }
}

every_backend! {
    async fn insert_many_round_trips_every_type(db, store) {
        store.create_table(&kinds()).await.unwrap();
        // More rows than one statement holds on SQLite.
        let records: Vec<Record> = (0..1234).map(kind_row).collect();
        let ids = store.insert_many_into_table("kinds", records.clone()).await.unwrap();
        assert_eq!(ids, (0..1234).map(|i| format!("k{i:05}")).collect::<Vec<_>>());
        let rows = all_rows(&store, "kinds").await;
        assert_eq!(rows.len(), records.len());
        for (row, record) in rows.iter().zip(&records) {
            for column in kinds().columns {
                let expected = record.get(&column.name).cloned().unwrap_or(Value::Null);
                assert_eq!(row.get(&column.name), Some(&expected), "{} of {:?}", column.name, record.get("id"));
            }
        }
        // Through a store that reads the table from the catalog.
        let reopened = db.connect().await;
        reopened.insert_many_into_table("kinds", vec![kind_row(5000)]).await.unwrap();
        assert_eq!(store.count("kinds", None).await.unwrap(), 1235);
    }

    async fn insert_many_violation_mid_batch_writes_nothing(db, store) {
        store.create_table(&kinds()).await.unwrap();
        store.insert_many_into_table("kinds", (0..10).map(kind_row).collect()).await.unwrap();
        // 1,200 rows, one of them changed.
        let batch = |bad: i64, change: &dyn Fn(Record) -> Record| -> Vec<Record> {
            (100..1300).map(|i| if i == bad { change(kind_row(i)) } else { kind_row(i) }).collect()
        };

        // NULL in a NOT NULL column.
        match store.insert_many_into_table("kinds", batch(800, &|r| r.with("must", Value::Null))).await {
            Err(Error::ConstraintViolation { kind: ConstraintKind::NotNull, table, column, .. }) => {
                assert_eq!(table.as_deref(), Some("kinds"));
                assert_eq!(column.as_deref(), Some("must"));
            }
            other => panic!("expected a NOT NULL violation, got {other:?}"),
        }
        assert_eq!(store.count("kinds", None).await.unwrap(), 10);

        // A unique column colliding with a row already there.
        let existing = kind_row(2).get("t").cloned().unwrap();
        match store.insert_many_into_table("kinds", batch(1000, &|r| r.with("t", existing.clone()))).await {
            Err(Error::ConstraintViolation { kind: ConstraintKind::Unique, table, column, .. }) => {
                assert_eq!(table.as_deref(), Some("kinds"));
                assert_eq!(column.as_deref(), Some("t"));
            }
            other => panic!("expected a unique violation, got {other:?}"),
        }

        // Two rows of the batch with one key.
        match store.insert_many_into_table("kinds", batch(1200, &|r| r.with("id", "k00150"))).await {
            Err(Error::ConstraintViolation { kind: ConstraintKind::PrimaryKey, table, column, .. }) => {
                assert_eq!(table.as_deref(), Some("kinds"));
                assert_eq!(column.as_deref(), Some("id"));
            }
            other => panic!("expected a key violation, got {other:?}"),
        }

        // Refused before the database sees them: NUL in text, an integer beyond 32 bits.
        assert!(matches!(
            store.insert_many_into_table("kinds", batch(900, &|r| r.with("t", "a\0b"))).await,
            Err(Error::TypeMismatch { ref column, .. }) if column == "t"
        ));
        assert!(matches!(
            store.insert_many_into_table("kinds", batch(900, &|r| r.with("i", 1_i64 << 40))).await,
            Err(Error::TypeMismatch { ref column, .. }) if column == "i"
        ));
        assert_eq!(store.count("kinds", None).await.unwrap(), 10);

        // The store is still usable.
        store.insert_many_into_table("kinds", batch(-1, &|r| r)).await.unwrap();
        assert_eq!(store.count("kinds", None).await.unwrap(), 1210);
    }

    async fn insert_many_errors_come_in_the_order_of_checking_everything_first(db, store) {
        store.create_table(&kinds()).await.unwrap();
        store.insert_many_into_table("kinds", (0..10).map(kind_row).collect()).await.unwrap();
        let limited = memtable::Store::builder(db.url.clone())
            .limits(memtable::Limits::default().with_max_record_bytes(10_000))
            .connect()
            .await
            .unwrap();
        let batch = |changes: &[(i64, &dyn Fn(Record) -> Record)]| -> Vec<Record> {
            (100..1300)
                .map(|i| match changes.iter().find(|(at, _)| *at == i) {
                    Some((_, change)) => change(kind_row(i)),
                    None => kind_row(i),
                })
                .collect()
        };
        let too_big: &dyn Fn(Record) -> Record = &|r| r.with("must", "x".repeat(20_000));
        let not_text: &dyn Fn(Record) -> Record = &|r| r.with("t", 5);
        let duplicate: &dyn Fn(Record) -> Record = &|r| r.with("id", "k00001");

        // A record past the limits, last in the batch, wins over a value that does not fit.
        let error = limited.insert_many_into_table("kinds", batch(&[(150, not_text), (1299, too_big)])).await;
        assert!(matches!(error, Err(Error::LimitExceeded { .. })), "{error:?}");
        // … and over a missing table.
        let error = limited.insert_many_into_table("no_such_table", batch(&[(1299, too_big)])).await;
        assert!(matches!(error, Err(Error::LimitExceeded { .. })), "{error:?}");
        let error = limited.insert_many_into_table("no_such_table", batch(&[])).await;
        assert!(matches!(error, Err(Error::TableNotFound { .. })), "{error:?}");
        // A value that does not fit, last in the batch, wins over a key violation in the first
        // statement.
        let error = store.insert_many_into_table("kinds", batch(&[(100, duplicate), (1299, not_text)])).await;
        assert!(matches!(error, Err(Error::TypeMismatch { ref column, .. }) if column == "t"), "{error:?}");
        // A record past the limits, last in the batch, wins over a key violation too.
        let error = limited.insert_many_into_table("kinds", batch(&[(100, duplicate), (1299, too_big)])).await;
        assert!(matches!(error, Err(Error::LimitExceeded { .. })), "{error:?}");
        // The key violation alone.
        let error = store.insert_many_into_table("kinds", batch(&[(100, duplicate)])).await;
        assert!(matches!(error, Err(Error::ConstraintViolation { kind: ConstraintKind::PrimaryKey, .. })), "{error:?}");
        assert_eq!(store.count("kinds", None).await.unwrap(), 10);
    }
}

every_backend! {
    async fn insert_many_is_all_or_nothing(db, store) {
        store.create_table(&every_type()).await.unwrap();
        store.create_table(&oauth_tokens()).await.unwrap();
        // More rows than one statement holds, so that several statements share the transaction.
        let records: Vec<Record> = (0..2500).map(|i| Record::new().with("big", i).with("flag", i % 2 == 0)).collect();
        let ids = store.insert_many_into_table("every_type", records).await.unwrap();
        assert_eq!(ids.len(), 2500);
        assert_eq!(ids.first().map(String::as_str), Some("1"));
        assert_eq!(ids.last().map(String::as_str), Some("2500"));
        let rows = all_rows(&store, "every_type").await;
        assert!(rows.iter().zip(&ids).enumerate().all(|(i, (row, id))| {
            row.get("id").map(Value::to_id).as_deref() == Some(id.as_str()) && row.get("big") == Some(&Value::Integer(i as i64))
        }));

        // Text keys: given ones kept, missing ones generated, in order.
        let ids = store
            .insert_many_into_table("oauth_tokens", vec![token("a", "p", 1).with("id", "given"), token("b", "p", 2)])
            .await
            .unwrap();
        assert_eq!(ids[0], "given");
        assert_eq!(uuid::Uuid::parse_str(&ids[1]).unwrap().get_version_num(), 7);

        // A duplicate in the middle of a batch: nothing of the batch is written.
        let batch: Vec<Record> = (0..600)
            .map(|i| token(&format!("u{i}"), if i == 599 { "p" } else { "q" }, i).with("id", if i == 599 { "given".to_owned() } else { format!("n{i}") }))
            .collect();
        assert!(matches!(
            store.insert_many_into_table("oauth_tokens", batch).await,
            Err(Error::ConstraintViolation { kind: ConstraintKind::PrimaryKey, .. })
        ));
        assert_eq!(store.count("oauth_tokens", None).await.unwrap(), 2);
        assert!(store.insert_many_into_table("oauth_tokens", Vec::new()).await.unwrap().is_empty());
    }

    async fn upsert_inserts_or_updates_atomically(db, store) {
        store.create_table(&oauth_tokens()).await.unwrap();
        // No key given: the conflict is on the unique index (user_id, provider).
        let first = store.upsert_into_table("oauth_tokens", token("u1", "github", 1)).await.unwrap();
        let again = store
            .upsert_into_table("oauth_tokens", token("u1", "github", 2).with("access_token", "refreshed"))
            .await
            .unwrap();
        assert_eq!(first, again, "the existing row keeps its id");
        let rows = all_rows(&store, "oauth_tokens").await;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get("access_token"), Some(&Value::Text("refreshed".into())));
        assert_eq!(rows[0].get("created_at"), Some(&Value::Integer(2)));
        // Key given: the conflict is on the key.
        let by_key = store
            .upsert_into_table("oauth_tokens", token("u1", "github", 3).with("id", first.as_str()).with("expires_at", 7))
            .await
            .unwrap();
        assert_eq!(by_key, first);
        assert_eq!(all_rows(&store, "oauth_tokens").await[0].get("expires_at"), Some(&Value::Integer(7)));
        // Explicit target.
        let other = store
            .upsert_into_table_on("oauth_tokens", token("u2", "github", 4), &["user_id", "provider"])
            .await
            .unwrap();
        assert_ne!(other, first);
        assert_eq!(store.count("oauth_tokens", None).await.unwrap(), 2);
        assert!(matches!(
            store.upsert_into_table_on("oauth_tokens", token("u2", "github", 4), &["access_token"]).await,
            Err(Error::InvalidRecord { .. })
        ));
        assert!(matches!(
            store.upsert_into_table("oauth_tokens", Record::new().with("access_token", "x")).await,
            Err(Error::InvalidRecord { .. })
        ));
    }

    async fn count_with_and_without_filter(db, store) {
        store.create_table(&every_type()).await.unwrap();
        assert_eq!(store.count("every_type", None).await.unwrap(), 0);
        store
            .insert_many_into_table("every_type", (0..10).map(|i| Record::new().with("big", i)).collect())
            .await
            .unwrap();
        assert_eq!(store.count("every_type", None).await.unwrap(), 10);
        assert_eq!(store.count("every_type", Some(&Filter::lt("big", 4))).await.unwrap(), 4);
    }

    async fn owners_are_recorded_in_the_catalog(db, store) {
        let mut mine = every_type();
        mine.name = "plugin_x_data".into();
        store.create_owned_table(&mine, "plugin_x").await.unwrap();
        store.create_owned_table(&mine, "plugin_x").await.unwrap();
        store.create_table(&oauth_tokens()).await.unwrap();
        assert!(matches!(
            store.create_owned_table(&mine, "plugin_y").await,
            Err(Error::SchemaMismatch { .. })
        ));
        assert!(matches!(store.create_table(&mine).await, Err(Error::SchemaMismatch { .. })));
        let reopened = db.connect().await;
        assert_eq!(reopened.table_owner("plugin_x_data").await.unwrap().as_deref(), Some("plugin_x"));
        assert_eq!(reopened.table_owner("oauth_tokens").await.unwrap(), None);
        assert_eq!(reopened.list_owned_tables("plugin_x").await.unwrap(), vec!["plugin_x_data".to_owned()]);
        assert!(reopened.list_owned_tables("plugin_y").await.unwrap().is_empty());
        assert_eq!(reopened.list_tables().await.unwrap(), vec!["oauth_tokens".to_owned(), "plugin_x_data".to_owned()]);
    }
}

every_backend! {
    async fn like_is_case_sensitive_with_backslash_escapes(db, store) {
        store.create_table(&every_type()).await.unwrap();
        for text in ["User_1", "user_1", "userX1", "100%", "a\\b"] {
            store.insert_into_table("every_type", Record::new().with("order", text)).await.unwrap();
        }
        let like = |pattern: &'static str| {
            let store = store.clone();
            async move {
                let rows = store
                    .query_table("every_type", &QueryOptions::new().filter(Filter::like("order", pattern)).order_by(OrderBy::asc("id")))
                    .await
                    .unwrap();
                rows.iter().map(|r| r.get("order").and_then(Value::as_str).unwrap().to_owned()).collect::<Vec<_>>()
            }
        };
        assert_eq!(like("user%").await, ["user_1", "userX1"]);
        assert_eq!(like("user\\_1").await, ["user_1"]);
        assert_eq!(like("100\\%").await, ["100%"]);
        assert_eq!(like("a\\\\b").await, ["a\\b"]);
        assert_eq!(like("%1").await, ["User_1", "user_1", "userX1"]);
    }

    async fn nul_characters_are_refused_before_the_database(db, store) {
        store.create_table(&every_type()).await.unwrap();
        for record in [Record::new().with("order", "a\0b"), Record::new().with("doc", json!({"k": "\0"}))] {
            assert!(matches!(
                store.insert_into_table("every_type", record).await,
                Err(Error::TypeMismatch { .. })
            ));
        }
        let id = store.insert_into_table("every_type", Record::new().with("raw", vec![0_u8, 0, 1])).await.unwrap();
        assert_eq!(all_rows(&store, "every_type").await[0].get("raw"), Some(&Value::Blob(vec![0, 0, 1])));
        store.delete_from_table("every_type", &id).await.unwrap();
    }

    async fn table_names_are_case_sensitive(db, store) {
        store.create_table(&every_type()).await.unwrap();
        assert!(!store.table_exists("Every_Type").await.unwrap());
        assert!(matches!(
            store.query_table("Every_Type", &QueryOptions::new()).await,
            Err(Error::TableNotFound { .. })
        ));
    }

    async fn protected_names_are_refused_in_any_case(db, store) {
        let mut memories = oauth_tokens();
        memories.name = "Memories".into();
        for result in [
            store.create_table(&memories).await,
            store.drop_table("MEMORIES").await,
            store.drop_table("Sandbox").await,
            store.drop_table("_MEMTABLE_CATALOG").await,
            store.insert_into_table("_Memtable_Catalog", Record::new().with("table_name", "x")).await.map(drop),
        ] {
            assert!(matches!(result, Err(Error::ProtectedTable { .. })), "{result:?}");
        }
        assert!(store.is_protected("SANDBOX"));
        assert!(!store.is_protected("sandboxes"));
    }

    async fn drop_table_drops_exactly_the_name_given(db, store) {
        store.create_table(&every_type()).await.unwrap();
        // On SQLite `DROP TABLE "Every_Type"` would drop `every_type`: memtable refuses first.
        assert!(matches!(
            store.drop_table("Every_Type").await,
            Err(Error::TableNotFound { table }) if table == "Every_Type"
        ));
        assert!(store.table_exists("every_type").await.unwrap());
        assert_eq!(store.list_tables().await.unwrap(), vec!["every_type".to_owned()]);
        store.insert_into_table("every_type", Record::new().with("big", 1)).await.unwrap();
        store.drop_table("every_type").await.unwrap();
        assert!(!store.table_exists("every_type").await.unwrap());
        assert!(matches!(store.drop_table("every_type").await, Err(Error::TableNotFound { .. })));
    }

    async fn constraint_kinds_survive_names_postgresql_shortens(db, store) {
        // PostgreSQL cuts the names it gives constraints (`<table>_pkey`, `<table>_<column>_key`)
        // to 63 bytes: the kind and column must still be found for the longest table names.
        let name = format!("t{}", "x".repeat(62));
        let schema = TableSchema::from_json(json!({
            "name": name,
            "columns": [
                { "name": "id", "type": "text", "constraints": ["primary_key"] },
                { "name": "email", "type": "text", "constraints": ["unique"] }
            ]
        }))
        .unwrap();
        store.create_table(&schema).await.unwrap();
        let row = |id: &str, email: &str| Record::new().with("id", id).with("email", email);
        store.insert_into_table(&name, row("a", "a@x")).await.unwrap();
        match store.insert_into_table(&name, row("a", "b@x")).await {
            Err(Error::ConstraintViolation { kind: ConstraintKind::PrimaryKey, column, .. }) => {
                assert!(column.is_none() || column.as_deref() == Some("id"), "{column:?}");
            }
            other => panic!("expected a primary key violation, got {other:?}"),
        }
        match store.insert_into_table(&name, row("b", "a@x")).await {
            Err(Error::ConstraintViolation { kind: ConstraintKind::Unique, column, .. }) => {
                assert_eq!(column.as_deref(), Some("email"));
            }
            other => panic!("expected a unique violation, got {other:?}"),
        }
    }

    async fn upsert_many_applies_every_record_in_order_in_one_transaction(db, store) {
        store.create_table(&oauth_tokens()).await.unwrap();
        let existing = store.insert_into_table("oauth_tokens", token("u1", "github", 1)).await.unwrap();
        let ids = store
            .upsert_many_into_table(
                "oauth_tokens",
                vec![
                    token("u1", "github", 2).with("access_token", "refreshed"), // the unique index
                    token("u2", "github", 3),                                  // new
                    token("u2", "github", 4).with("access_token", "twice"),     // the row just made
                    token("u3", "gitlab", 5).with("id", "given"),              // the key
                ],
            )
            .await
            .unwrap();
        assert_eq!(ids.len(), 4);
        assert_eq!(ids[0], existing);
        assert_eq!(ids[1], ids[2], "a second record for the same row updates it");
        assert_eq!(ids[3], "given");
        let rows = store
            .query_table("oauth_tokens", &QueryOptions::new().order_by(OrderBy::asc("created_at")))
            .await
            .unwrap();
        let seen: Vec<(&str, &str, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r.get("user_id").and_then(Value::as_str).unwrap(),
                    r.get("access_token").and_then(Value::as_str).unwrap(),
                    r.get("created_at").and_then(Value::as_i64).unwrap(),
                )
            })
            .collect();
        assert_eq!(seen, [("u1", "refreshed", 2), ("u2", "twice", 4), ("u3", "at-u3-gitlab", 5)]);
        assert_eq!(store.upsert_many_into_table("oauth_tokens", Vec::new()).await.unwrap(), Vec::<String>::new());

        // All or nothing: a record the database refuses (NOT NULL) undoes the ones before it,
        // and so does one that does not fit its column.
        for bad in [
            Record::new().with("user_id", "u9").with("provider", "x").with("created_at", 9),
            token("u9", "x", 9).with("expires_at", "soon"),
        ] {
            let result = store
                .upsert_many_into_table("oauth_tokens", vec![token("u1", "github", 8), token("u8", "x", 8), bad])
                .await;
            assert!(
                matches!(result, Err(Error::ConstraintViolation { kind: ConstraintKind::NotNull, .. } | Error::TypeMismatch { .. })),
                "{result:?}"
            );
            assert_eq!(store.count("oauth_tokens", None).await.unwrap(), 3);
            let u1 = store
                .query_table("oauth_tokens", &QueryOptions::new().filter(Filter::eq("user_id", "u1")))
                .await
                .unwrap();
            assert_eq!(u1[0].get("created_at"), Some(&Value::Integer(2)));
        }
        assert!(matches!(
            store.upsert_many_into_table("memories", vec![token("u1", "github", 1)]).await,
            Err(Error::ProtectedTable { .. })
        ));
    }

    async fn an_index_name_taken_by_another_table_is_a_schema_mismatch(db, store) {
        store.create_table(&oauth_tokens()).await.unwrap();
        let mut other = oauth_tokens();
        other.name = "other_tokens".into();
        match store.create_table(&other).await {
            Err(Error::SchemaMismatch {
                table, difference, ..
            }) => {
                assert_eq!(table, "other_tokens");
                assert!(difference.contains("idx_user_provider"), "{difference}");
            }
            other => panic!("expected SchemaMismatch, got {other:?}"),
        }
        // Nothing of the failed create is left behind.
        assert!(!store.table_exists("other_tokens").await.unwrap());
        assert_eq!(store.list_tables().await.unwrap(), vec!["oauth_tokens".to_owned()]);
    }
}

// ---- StoreBuilder::protected_tables and SQLite's journal mode ----

fn billing() -> TableSchema {
    TableSchema::from_json(json!({
        "name": "billing",
        "columns": [
            { "name": "id", "type": "text", "constraints": ["primary_key"] },
            { "name": "amount", "type": "bigint" }
        ]
    }))
    .unwrap()
}

fn assert_protected<T: std::fmt::Debug>(result: memtable::Result<T>, what: &str) {
    match result {
        Err(Error::ProtectedTable { table }) => assert_eq!(table, "billing", "{what}"),
        other => panic!("{what}: expected ProtectedTable, got {other:?}"),
    }
}

every_backend! {
    async fn protected_tables_replace_the_defaults(db, store) {
        // With the defaults, "billing" is an ordinary table and "memories" is protected.
        assert!(!store.is_protected("billing"));
        assert!(store.is_protected("memories"));
        store.create_table(&billing()).await.unwrap();
        store.insert_into_table("billing", Record::new().with("id", "b1").with("amount", 100)).await.unwrap();
        let mut memories = billing();
        memories.name = "memories".into();
        assert!(matches!(store.create_table(&memories).await, Err(Error::ProtectedTable { .. })));

        let guarded = Store::builder(db.url.clone()).protected_tables(["billing"]).connect().await.unwrap();
        assert!(guarded.is_protected("billing"));
        assert!(!guarded.is_protected("memories"));
        assert!(!guarded.is_protected("sandbox"));
        assert!(guarded.is_protected("_memtable_catalog"), "the catalog stays protected");

        // Creating, writing and dropping "billing" is refused...
        assert_protected(guarded.create_table(&billing()).await, "create_table");
        assert_protected(
            guarded.insert_into_table("billing", Record::new().with("id", "b2").with("amount", 1)).await,
            "insert_into_table",
        );
        assert_protected(
            guarded.insert_many_into_table("billing", vec![Record::new().with("id", "b3").with("amount", 1)]).await,
            "insert_many_into_table",
        );
        assert_protected(
            guarded.upsert_into_table("billing", Record::new().with("id", "b1").with("amount", 1)).await,
            "upsert_into_table",
        );
        assert_protected(
            guarded.update_table_record("billing", "b1", Record::new().with("amount", 1)).await,
            "update_table_record",
        );
        assert_protected(guarded.delete_from_table("billing", "b1").await, "delete_from_table");
        assert_protected(guarded.drop_table("billing").await, "drop_table");

        // ...and nothing changed: reads are allowed and see the row as it was.
        assert!(guarded.table_exists("billing").await.unwrap());
        let rows = guarded.query_table("billing", &QueryOptions::new()).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get("id"), Some(&Value::Text("b1".into())));
        assert_eq!(rows[0].get("amount"), Some(&Value::Integer(100)));
        assert_eq!(guarded.count("billing", None).await.unwrap(), 1);

        // The defaults are replaced, not extended: "memories" is an ordinary table now.
        guarded.create_table(&memories).await.unwrap();
        let id = guarded.insert_into_table("memories", Record::new().with("id", "m1").with("amount", 7)).await.unwrap();
        assert_eq!(id, "m1");
        guarded.update_table_record("memories", "m1", Record::new().with("amount", 8)).await.unwrap();
        assert_eq!(guarded.count("memories", None).await.unwrap(), 1);
        guarded.drop_table("memories").await.unwrap();
        assert!(!guarded.table_exists("memories").await.unwrap());
        // The catalog cannot be written through the table API either way.
        assert!(matches!(guarded.drop_table("_memtable_catalog").await, Err(Error::ProtectedTable { .. })));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_is_in_wal_mode_for_other_connections() {
    use sqlx::Connection as _;
    use std::str::FromStr as _;

    let db = memtable_tests::fixture::TestDb::sqlite("wal_mode");
    let store = db.connect().await;
    store.create_table(&billing()).await.unwrap();
    // A plain connection of its own, not the store's: WAL is a property of the file.
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&db.url).unwrap();
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode.to_ascii_lowercase(), "wal");
    conn.close().await.unwrap();
    let path = db.sqlite_path().unwrap();
    assert!(
        std::path::Path::new(&format!("{path}-wal")).exists(),
        "no -wal file next to {path}"
    );
}
