//! The JSON executors on a SQLite file and on PostgreSQL: every executor's success, every
//! failure kind, plugin scopes and read-only sets, all through `Executors::execute`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use memtable::executor::{ErrorKind, Executors, READ_ONLY_EXECUTOR_NAMES};
use memtable_tests::every_backend;
use memtable_tests::fixture::TestDb;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection as _};

/// Runs an executor that must succeed and returns its `data`.
async fn ok(executors: &Executors, name: &str, params: Value) -> Value {
    let result = executors.execute(name, params.clone()).await;
    assert_eq!(
        result["success"], true,
        "{name} {params} should succeed, got {result}"
    );
    assert!(result["data"].is_object(), "{result}");
    result["data"].clone()
}

/// Runs an executor that must fail with `kind` and returns the `error` object.
async fn fails(executors: &Executors, name: &str, params: Value, kind: &str) -> Value {
    let result = executors.execute(name, params.clone()).await;
    assert_eq!(
        result["success"], false,
        "{name} {params} should fail, got {result}"
    );
    let message = result["data"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "a failure has a message: {result}");
    let error = result["data"]["error"].clone();
    assert_eq!(
        error["kind"], kind,
        "{name} {params} should fail with {kind}, got {result}"
    );
    error
}

fn notes_schema(name: &str) -> Value {
    json!({
        "name": name,
        "columns": [
            { "name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"] },
            { "name": "title", "type": "text", "constraints": ["not_null"] },
            { "name": "slug", "type": "text", "constraints": ["unique"] },
            { "name": "views", "type": "bigint" },
            { "name": "score", "type": "real" },
            { "name": "raw", "type": "blob" },
            { "name": "doc", "type": "json" },
            { "name": "done", "type": "boolean" }
        ],
        "indexes": [ { "name": format!("idx_{name}_title"), "columns": ["title"] } ]
    })
}

fn tokens_schema() -> Value {
    json!({
        "name": "oauth_tokens",
        "columns": [
            { "name": "id", "type": "text", "constraints": ["primary_key"] },
            { "name": "user_id", "type": "text", "constraints": ["not_null"] },
            { "name": "provider", "type": "text", "constraints": ["not_null"] },
            { "name": "expires_at", "type": "bigint" }
        ],
        "indexes": [ { "name": "idx_user_provider", "columns": ["user_id", "provider"], "unique": true } ]
    })
}

/// Runs DDL on the test database outside memtable.
async fn raw(db: &TestDb, ddl: &str) {
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
}

every_backend! {
    async fn create_table_exists_and_drop(db, store) {
        let agent = Executors::new(store.clone());
        let data = ok(&agent, "table_exists", json!({"tableName": "notes"})).await;
        assert_eq!(data, json!({"exists": false, "tableName": "notes"}));

        let data = ok(&agent, "create_table", notes_schema("notes")).await;
        assert_eq!(data["tableName"], "notes");
        assert!(data["message"].as_str().unwrap().contains("notes"));
        // Idempotent with the same schema.
        ok(&agent, "create_table", notes_schema("notes")).await;
        let data = ok(&agent, "table_exists", json!({"tableName": "notes"})).await;
        assert_eq!(data, json!({"exists": true, "tableName": "notes"}));

        let data = ok(&agent, "drop_table", json!({"tableName": "notes"})).await;
        assert_eq!(data["tableName"], "notes");
        assert!(data["message"].is_string());
        let data = ok(&agent, "table_exists", json!({"tableName": "notes"})).await;
        assert_eq!(data["exists"], false);
        assert!(!store.table_exists("notes").await.unwrap());
    }

    async fn insert_query_update_delete_round_trip(db, store) {
        let agent = Executors::new(store);
        ok(&agent, "create_table", notes_schema("notes")).await;

        let first = ok(&agent, "insert_into_table", json!({"tableName": "notes", "data": {
            "title": "first", "slug": "a", "views": 9_007_199_254_740_993_i64, "score": 1.5,
            "raw": "AAEC/w==", "doc": {"tags": ["x", "y"], "n": null}, "done": false
        }})).await;
        assert_eq!(first["id"], "1");
        assert!(first["message"].is_string());
        let second = ok(&agent, "insert_into_table", json!({"tableName": "notes", "data": {
            "title": "second", "slug": "b", "views": 2, "done": true, "doc": [1, 2]
        }})).await;
        assert_eq!(second["id"], "2");
        ok(&agent, "insert_into_table", json!({"tableName": "notes", "data": {"title": "third"}})).await;

        // Every row, every type as its JSON form.
        let data = ok(&agent, "query_table", json!({"tableName": "notes",
            "queryOptions": {"orderBy": [{"column": "id"}]}})).await;
        assert_eq!(data["count"], 3);
        assert_eq!(data["results"][0], json!({
            "id": 1, "title": "first", "slug": "a", "views": 9_007_199_254_740_993_i64,
            "score": 1.5, "raw": "AAEC/w==", "doc": {"tags": ["x", "y"], "n": null},
            "done": false
        }));
        assert_eq!(data["results"][1]["doc"], json!([1, 2]));
        assert_eq!(data["results"][1]["done"], true);
        assert_eq!(data["results"][2]["slug"], Value::Null);

        // No queryOptions at all: every row.
        let data = ok(&agent, "query_table", json!({"tableName": "notes"})).await;
        assert_eq!(data["count"], 3);

        // where (equality, operators, null, a json document), orderBy, limit, offset.
        let data = ok(&agent, "query_table", json!({"tableName": "notes", "queryOptions": {
            "where": {"views": {"$gte": 2}}, "orderBy": [{"column": "views", "direction": "desc"}]
        }})).await;
        let titles: Vec<&str> = data["results"].as_array().unwrap().iter()
            .map(|r| r["title"].as_str().unwrap()).collect();
        assert_eq!(titles, ["first", "second"]);
        let data = ok(&agent, "query_table", json!({"tableName": "notes",
            "queryOptions": {"where": {"slug": null}}})).await;
        assert_eq!(data["results"][0]["title"], "third");
        let data = ok(&agent, "query_table", json!({"tableName": "notes",
            "queryOptions": {"where": {"doc": [1, 2], "done": true}}})).await;
        assert_eq!(data["count"], 1);
        assert_eq!(data["results"][0]["title"], "second");
        let data = ok(&agent, "query_table", json!({"tableName": "notes", "queryOptions": {
            "where": {"title": {"$in": ["first", "third"]}},
            "orderBy": [{"column": "id", "direction": "asc"}], "limit": 1, "offset": 1
        }})).await;
        assert_eq!(data["count"], 1);
        assert_eq!(data["results"][0]["title"], "third");
        let data = ok(&agent, "query_table", json!({"tableName": "notes",
            "queryOptions": {"where": {"raw": "AAEC/w=="}}})).await;
        assert_eq!(data["results"][0]["id"], 1);

        // Update and delete by id, given as a number or as a string.
        let data = ok(&agent, "update_table_record", json!({"tableName": "notes", "id": 2,
            "data": {"title": "second, edited", "doc": {"k": "v"}}})).await;
        assert!(data["message"].is_string());
        ok(&agent, "update_table_record", json!({"tableName": "notes", "id": "1",
            "data": {"done": true}})).await;
        let data = ok(&agent, "query_table", json!({"tableName": "notes",
            "queryOptions": {"where": {"done": true}, "orderBy": [{"column": "id"}]}})).await;
        assert_eq!(data["count"], 2);
        assert_eq!(data["results"][1]["title"], "second, edited");
        assert_eq!(data["results"][1]["doc"], json!({"k": "v"}));

        let data = ok(&agent, "delete_from_table", json!({"tableName": "notes", "id": 1})).await;
        assert!(data["message"].is_string());
        ok(&agent, "delete_from_table", json!({"tableName": "notes", "id": "3"})).await;
        let data = ok(&agent, "query_table", json!({"tableName": "notes"})).await;
        assert_eq!(data["count"], 1);
        assert_eq!(data["results"][0]["id"], 2);
    }

    async fn where_combines_with_or_and_not(db, store) {
        let agent = Executors::new(store.clone());
        ok(&agent, "create_table", notes_schema("notes")).await;
        for (title, views, done) in [
            ("a", json!(1), json!(false)),
            ("b", json!(5), json!(true)),
            ("c", json!(null), json!(true)),
            ("d", json!(9), json!(null)),
        ] {
            ok(&agent, "insert_into_table", json!({"tableName": "notes",
                "data": {"title": title, "views": views, "done": done}})).await;
        }
        let titles = |data: &Value| -> Vec<String> {
            data["results"].as_array().unwrap().iter()
                .map(|r| r["title"].as_str().unwrap().to_owned()).collect()
        };
        let query = |query_options: Value| {
            let agent = agent.clone();
            async move {
                let data = ok(&agent, "query_table",
                    json!({"tableName": "notes", "queryOptions": query_options})).await;
                titles(&data)
            }
        };
        // $or, beside a plain column key (ANDed with it), and every orderBy form.
        assert_eq!(query(json!({"where": {"$or": [{"views": {"$gte": 5}}, {"title": "a"}]},
            "orderBy": "title"})).await, ["a", "b", "d"]);
        assert_eq!(query(json!({"where": {"done": true, "$or": [{"views": {"$gte": 5}},
            {"views": null}]}, "orderBy": {"column": "title", "direction": "desc"}})).await,
            ["c", "b"]);
        assert_eq!(query(json!({"where": {"$and": [{"views": {"$gt": 0}}, {"views": {"$lt": 9}}]},
            "orderBy": [{"column": "views", "direction": "desc"}]})).await, ["b", "a"]);
        // $not is every row its condition does not match, NULLs included.
        assert_eq!(query(json!({"where": {"$not": {"done": true}}, "orderBy": "title"})).await,
            ["a", "d"]);
        assert_eq!(query(json!({"where": {"$not": {"$or": [{"title": "a"}, {"views": {"$gt": 4}}]}},
            "orderBy": "title"})).await, ["c"]);
        // A repeated shape with other values (the SQL text is reused).
        assert_eq!(query(json!({"where": {"$or": [{"views": {"$gte": 9}}, {"title": "c"}]},
            "orderBy": "title"})).await, ["c", "d"]);

        // Bad input: a failed result naming the problem, nothing returned.
        for (query_options, words) in [
            (json!({"where": {"$or": []}}), vec!["$or", "at least one"]),
            (json!({"where": {"$and": []}}), vec!["$and", "at least one"]),
            (json!({"where": {"$or": {"title": "a"}}}), vec!["$or", "list of where objects"]),
            (json!({"where": {"$not": "a"}}), vec!["$not", "where object"]),
            (json!({"where": {"$nor": [{"title": "a"}]}}), vec!["$nor", "$and", "$or", "$not", "$gt"]),
            (json!({"where": {"$or": [{"nope": 1}]}}), vec!["nope"]),
            (json!({"orderBy": 7}), vec!["orderBy", "column name", "list"]),
            (json!({"orderBy": ["title"]}), vec!["orderBy", "column name", "list"]),
            (json!({"orderBy": {"column": "title", "dir": "asc"}}), vec!["orderBy", "dir"]),
        ] {
            let result = agent.execute("query_table",
                json!({"tableName": "notes", "queryOptions": query_options.clone()})).await;
            assert_eq!(result["success"], false, "{query_options}: {result}");
            assert!(result["data"].get("results").is_none(), "{result}");
            let kind = result["data"]["error"]["kind"].as_str().unwrap();
            assert!(matches!(kind, "invalid_params" | "unknown_column"), "{result}");
            let message = result["data"]["message"].as_str().unwrap();
            for word in words {
                assert!(message.contains(word), "{word:?} not in {message:?}");
            }
            assert!(!message.contains("untagged") && !message.contains("did not match"),
                "{message}");
        }
        // Past the depth limit, as for nested $and.
        let mut deep = json!({"title": "a"});
        for _ in 0..40 {
            deep = json!({"$not": deep});
        }
        fails(&agent, "query_table", json!({"tableName": "notes",
            "queryOptions": {"where": deep}}), "limit_exceeded").await;
        // The typed API: the same filters.
        use memtable::{Filter, QueryOptions};
        let rows = store.query_table("notes", &QueryOptions::new()
            .filter(Filter::eq("title", "a").or(Filter::is_null("views")).negate())).await.unwrap();
        let mut titles: Vec<_> = rows.iter().map(|r| r.get("title").unwrap().to_json()).collect();
        titles.sort_by_key(|t| t.to_string());
        assert_eq!(titles, [json!("b"), json!("d")]);
        assert_eq!(store.count("notes", Some(&Filter::any([]))).await.unwrap(), 0);
        assert_eq!(store.count("notes", Some(&Filter::all([]))).await.unwrap(), 4);
    }

    async fn text_keys_are_generated_or_given(db, store) {
        let agent = Executors::new(store);
        ok(&agent, "create_table", tokens_schema()).await;
        let data = ok(&agent, "insert_into_table", json!({"tableName": "oauth_tokens",
            "data": {"user_id": "u1", "provider": "github"}})).await;
        let generated = data["id"].as_str().unwrap().to_owned();
        assert_eq!(generated.len(), 36, "a UUID: {generated}");
        let data = ok(&agent, "insert_into_table", json!({"tableName": "oauth_tokens",
            "data": {"id": "given", "user_id": "u2", "provider": "github"}})).await;
        assert_eq!(data["id"], "given");
        ok(&agent, "update_table_record", json!({"tableName": "oauth_tokens", "id": generated,
            "data": {"expires_at": 1_700_000_000_000_i64}})).await;
        let data = ok(&agent, "query_table", json!({"tableName": "oauth_tokens",
            "queryOptions": {"where": {"expires_at": {"$lt": 1_800_000_000_000_i64}}}})).await;
        assert_eq!(data["results"][0]["id"], generated.as_str());
    }

    async fn request_failures_have_their_kind(db, store) {
        let agent = Executors::new(store);
        ok(&agent, "create_table", notes_schema("notes")).await;
        ok(&agent, "insert_into_table", json!({"tableName": "notes",
            "data": {"title": "t", "slug": "s"}})).await;

        // invalid_identifier
        let error = fails(&agent, "table_exists", json!({"tableName": "bad name"}),
            "invalid_identifier").await;
        assert_eq!(error["identifier"], "table");
        assert_eq!(error["name"], "bad name");
        fails(&agent, "query_table", json!({"tableName": "x\"; DROP TABLE notes; --"}),
            "invalid_identifier").await;
        fails(&agent, "create_table", json!({"name": "t", "columns": [
            {"name": "bad-name", "type": "text", "constraints": ["primary_key"]}]}),
            "invalid_identifier").await;

        // invalid_schema
        let error = fails(&agent, "create_table", json!({"name": "t", "columns": [
            {"name": "a", "type": "text"}]}), "invalid_schema").await;
        assert_eq!(error["table"], "t");
        let error = fails(&agent, "create_table", json!({"name": "t", "columns": [
            {"name": "id", "type": "text", "constraints": ["primary_key", "auto_increment"]}]}),
            "invalid_schema").await;
        assert_eq!(error["column"], "id");
        fails(&agent, "create_table", json!({"name": "t", "columns": "nope"}), "invalid_schema").await;
        fails(&agent, "create_table", json!({"name": "t", "columns": [
            {"name": "id", "type": "varchar", "constraints": ["primary_key"]}]}),
            "invalid_schema").await;

        // protected_table
        let memories = json!({"name": "memories", "columns": [
            {"name": "id", "type": "text", "constraints": ["primary_key"]}]});
        let error = fails(&agent, "create_table", memories, "protected_table").await;
        assert_eq!(error["table"], "memories");
        fails(&agent, "drop_table", json!({"tableName": "memories"}), "protected_table").await;
        fails(&agent, "insert_into_table", json!({"tableName": "memories", "data": {"id": "x"}}),
            "protected_table").await;
        fails(&agent, "drop_table", json!({"tableName": "_memtable_catalog"}), "protected_table").await;
        fails(&agent, "delete_from_table", json!({"tableName": "_memtable_catalog", "id": "notes"}),
            "protected_table").await;

        // table_not_found
        for (name, params) in [
            ("query_table", json!({"tableName": "missing"})),
            ("insert_into_table", json!({"tableName": "missing", "data": {"a": 1}})),
            ("update_table_record", json!({"tableName": "missing", "id": 1, "data": {"a": 1}})),
            ("delete_from_table", json!({"tableName": "missing", "id": 1})),
            ("drop_table", json!({"tableName": "missing"})),
        ] {
            let error = fails(&agent, name, params, "table_not_found").await;
            assert_eq!(error["table"], "missing");
        }

        // schema_mismatch
        let mut changed = notes_schema("notes");
        changed["columns"][3]["type"] = json!("integer");
        let error = fails(&agent, "create_table", changed, "schema_mismatch").await;
        assert_eq!(error["table"], "notes");
        assert!(error["difference"].as_str().unwrap().contains("views"), "{error}");

        // unknown_column
        let error = fails(&agent, "insert_into_table", json!({"tableName": "notes",
            "data": {"title": "t", "nope": 1}}), "unknown_column").await;
        assert_eq!(error["table"], "notes");
        assert_eq!(error["column"], "nope");
        fails(&agent, "query_table", json!({"tableName": "notes",
            "queryOptions": {"where": {"nope": 1}}}), "unknown_column").await;
        fails(&agent, "query_table", json!({"tableName": "notes",
            "queryOptions": {"orderBy": [{"column": "nope"}]}}), "unknown_column").await;
        fails(&agent, "update_table_record", json!({"tableName": "notes", "id": 1,
            "data": {"nope": 1}}), "unknown_column").await;

        // type_mismatch, naming the column and the types, never the value
        let error = fails(&agent, "insert_into_table", json!({"tableName": "notes",
            "data": {"title": "t", "views": "secret-value"}}), "type_mismatch").await;
        assert_eq!(error["column"], "views");
        assert_eq!(error["expected"], "bigint");
        assert!(error["found"].is_string());
        assert!(!error.to_string().contains("secret-value"));
        fails(&agent, "insert_into_table", json!({"tableName": "notes",
            "data": {"title": "t", "done": 1.5}}), "type_mismatch").await;
        fails(&agent, "insert_into_table", json!({"tableName": "notes",
            "data": {"title": "t", "raw": "not base64!"}}), "type_mismatch").await;
        fails(&agent, "query_table", json!({"tableName": "notes",
            "queryOptions": {"where": {"views": {"$gt": "x"}}}}), "type_mismatch").await;
        let error = fails(&agent, "delete_from_table", json!({"tableName": "notes", "id": "abc"}),
            "type_mismatch").await;
        assert_eq!(error["column"], "id");

        // record_not_found
        let error = fails(&agent, "update_table_record", json!({"tableName": "notes", "id": 999,
            "data": {"title": "x"}}), "record_not_found").await;
        assert_eq!(error["table"], "notes");
        assert_eq!(error["id"], "999");
        fails(&agent, "delete_from_table", json!({"tableName": "notes", "id": "999"}),
            "record_not_found").await;

        // invalid_params: the shape of the parameters, bad queries and records
        for (name, params) in [
            ("query_table", json!({})),
            ("query_table", json!({"tablename": "notes"})),
            ("query_table", json!({"tableName": 5})),
            ("query_table", json!({"tableName": "notes", "queryOptions": {"limit": -1}})),
            ("query_table", json!({"tableName": "notes", "queryOptions": {"limit": "ten"}})),
            ("query_table", json!({"tableName": "notes", "queryOptions": {"top": 1}})),
            ("query_table", json!({"tableName": "notes", "queryOptions": {"orderBy": [{"column": "id", "direction": "up"}]}})),
            ("query_table", json!({"tableName": "notes", "queryOptions": {"where": [1]}})),
            ("insert_into_table", json!({"tableName": "notes"})),
            ("insert_into_table", json!({"tableName": "notes", "data": [1, 2]})),
            ("update_table_record", json!({"tableName": "notes", "data": {"title": "x"}})),
            ("update_table_record", json!({"tableName": "notes", "id": true, "data": {"title": "x"}})),
            ("delete_from_table", json!({"tableName": "notes", "id": null})),
            ("table_exists", json!("notes")),
            ("drop_table", json!([])),
            ("create_table", json!("notes")),
        ] {
            let error = fails(&agent, name, params, "invalid_params").await;
            assert_eq!(error["executor"], name);
        }
        // No parameters at all are an empty object: here, a schema without a name.
        fails(&agent, "create_table", json!(null), "invalid_schema").await;
        fails(&agent, "table_exists", json!(null), "invalid_params").await;
        // ... that the store reports (InvalidQuery, InvalidRecord), naming the table
        let error = fails(&agent, "query_table", json!({"tableName": "notes",
            "queryOptions": {"where": {"views": {"$between": [1, 2]}}}}), "invalid_params").await;
        assert_eq!(error["table"], "notes");
        fails(&agent, "query_table", json!({"tableName": "notes",
            "queryOptions": {"orderBy": [{"column": "doc"}]}}), "invalid_params").await;
        fails(&agent, "update_table_record", json!({"tableName": "notes", "id": 1, "data": {}}),
            "invalid_params").await;
        fails(&agent, "update_table_record", json!({"tableName": "notes", "id": 1,
            "data": {"id": 5}}), "invalid_params").await;
        // ... and executors that do not exist
        let error = fails(&agent, "truncate_table", json!({"tableName": "notes"}), "invalid_params").await;
        assert_eq!(error["executor"], "truncate_table");

        // Nothing above changed the one row.
        let data = ok(&agent, "query_table", json!({"tableName": "notes"})).await;
        assert_eq!(data["count"], 1);
        assert_eq!(data["results"][0]["title"], "t");
    }

    async fn constraint_violations_carry_their_constraint(db, store) {
        let agent = Executors::new(store.clone());
        ok(&agent, "create_table", tokens_schema()).await;
        ok(&agent, "insert_into_table", json!({"tableName": "oauth_tokens",
            "data": {"id": "a", "user_id": "u1", "provider": "github"}})).await;

        let error = fails(&agent, "insert_into_table", json!({"tableName": "oauth_tokens",
            "data": {"id": "a", "user_id": "u9", "provider": "x"}}), "constraint_violation").await;
        assert_eq!(error["constraint"], "primary_key");
        assert_eq!(error["table"], "oauth_tokens");
        assert_eq!(error["column"], "id");

        let error = fails(&agent, "insert_into_table", json!({"tableName": "oauth_tokens",
            "data": {"user_id": "u1", "provider": "github"}}), "constraint_violation").await;
        assert_eq!(error["constraint"], "unique");
        assert_eq!(error["constraintName"], "idx_user_provider");

        let error = fails(&agent, "insert_into_table", json!({"tableName": "oauth_tokens",
            "data": {"user_id": "u5"}}), "constraint_violation").await;
        assert_eq!(error["constraint"], "not_null");
        assert_eq!(error["column"], "provider");
        let error = fails(&agent, "update_table_record", json!({"tableName": "oauth_tokens",
            "id": "a", "data": {"user_id": null}}), "constraint_violation").await;
        assert_eq!(error["constraint"], "not_null");

        // CHECK and FOREIGN KEY constraints come from tables memtable did not create.
        raw(&db, "CREATE TABLE parents (id INTEGER PRIMARY KEY)").await;
        raw(&db, "CREATE TABLE children (id INTEGER PRIMARY KEY, \
            parent_id INTEGER REFERENCES parents (id), qty INTEGER CHECK (qty > 0))").await;
        let fresh = Executors::new(db.connect().await);
        ok(&fresh, "insert_into_table", json!({"tableName": "parents", "data": {"id": 1}})).await;
        ok(&fresh, "insert_into_table", json!({"tableName": "children",
            "data": {"id": 1, "parent_id": 1, "qty": 2}})).await;
        let error = fails(&fresh, "insert_into_table", json!({"tableName": "children",
            "data": {"id": 2, "parent_id": 1, "qty": 0}}), "constraint_violation").await;
        assert_eq!(error["constraint"], "check");
        let error = fails(&fresh, "insert_into_table", json!({"tableName": "children",
            "data": {"id": 3, "parent_id": 99, "qty": 1}}), "constraint_violation").await;
        assert_eq!(error["constraint"], "foreign_key");
        let error = fails(&fresh, "delete_from_table", json!({"tableName": "parents", "id": 1}),
            "constraint_violation").await;
        assert_eq!(error["constraint"], "foreign_key");
    }

    async fn a_closed_store_is_a_database_failure(db, store) {
        let agent = Executors::new(store.clone());
        ok(&agent, "create_table", tokens_schema()).await;
        store.close().await;
        for (name, params) in [
            ("query_table", json!({"tableName": "oauth_tokens"})),
            ("insert_into_table", json!({"tableName": "oauth_tokens", "data": {"user_id": "u", "provider": "p"}})),
            ("table_exists", json!({"tableName": "oauth_tokens"})),
        ] {
            let error = fails(&agent, name, params, "database").await;
            assert!(error["transient"].is_boolean(), "{error}");
        }
    }

    async fn a_plugin_sees_only_its_own_tables(db, store) {
        let admin = Executors::new(store.clone());
        let plugin_x = Executors::for_plugin(store.clone(), "plugin_x");
        let plugin_y = Executors::for_plugin(store.clone(), "plugin_y");
        assert_eq!(plugin_x.plugin(), Some("plugin_x"));

        ok(&plugin_x, "create_table", notes_schema("x_notes")).await;
        ok(&plugin_x, "create_table", notes_schema("x_notes")).await;
        ok(&plugin_x, "insert_into_table", json!({"tableName": "x_notes",
            "data": {"title": "private"}})).await;
        ok(&admin, "create_table", tokens_schema()).await;
        let x_store = store.scoped("plugin_x").unwrap();
        assert_eq!(x_store.table_owner("x_notes").await.unwrap().as_deref(), Some("plugin_x"));
        // The table is in plugin_x's namespace: the host's store does not address it.
        assert!(!store.table_exists("x_notes").await.unwrap());

        // plugin_x works on its table as usual ...
        let data = ok(&plugin_x, "table_exists", json!({"tableName": "x_notes"})).await;
        assert_eq!(data["exists"], true);
        let data = ok(&plugin_x, "query_table", json!({"tableName": "x_notes"})).await;
        assert_eq!(data["results"][0]["title"], "private");
        ok(&plugin_x, "update_table_record", json!({"tableName": "x_notes", "id": 1,
            "data": {"views": 1}})).await;
        assert_eq!(plugin_x.list_tables().await.unwrap(), ["x_notes"]);
        assert_eq!(plugin_x.table_schema("x_notes").await.unwrap().name, "x_notes");

        // ... and another plugin's table, or one without an owner, looks exactly missing.
        for (agent, table) in [(&plugin_y, "x_notes"), (&plugin_x, "oauth_tokens"),
                               (&plugin_y, "oauth_tokens"), (&plugin_y, "never_created")] {
            let data = ok(agent, "table_exists", json!({"tableName": table})).await;
            assert_eq!(data, json!({"exists": false, "tableName": table}));
            for (name, params) in [
                ("query_table", json!({"tableName": table})),
                ("insert_into_table", json!({"tableName": table, "data": {"title": "intruder"}})),
                ("update_table_record", json!({"tableName": table, "id": 1, "data": {"title": "intruder"}})),
                ("delete_from_table", json!({"tableName": table, "id": 1})),
                ("drop_table", json!({"tableName": table})),
            ] {
                let result = agent.execute(name, params).await;
                assert_eq!(result, json!({"success": false, "data": {
                    "message": format!("table {table:?} does not exist"),
                    "error": {"kind": "table_not_found", "table": table},
                }}), "{name} on {table}");
            }
            assert!(agent.table_schema(table).await.is_err());
        }
        // The catalog is not the plugin's either; protected names are refused in every scope.
        fails(&plugin_x, "query_table", json!({"tableName": "_memtable_catalog"}), "table_not_found").await;
        fails(&plugin_x, "drop_table", json!({"tableName": "memories"}), "protected_table").await;
        // Invalid names are still invalid.
        fails(&plugin_y, "table_exists", json!({"tableName": "no such"}), "invalid_identifier").await;

        // Nothing of plugin_x's was touched; plugin_y sees no table.
        assert!(plugin_y.list_tables().await.unwrap().is_empty());
        let data = ok(&plugin_x, "query_table", json!({"tableName": "x_notes"})).await;
        assert_eq!(data["count"], 1);
        assert_eq!(data["results"][0]["title"], "private");
        assert_eq!(data["results"][0]["views"], 1);

        // A name taken in another namespace (or the host's) is free in plugin_y's.
        let mut other = notes_schema("x_notes");
        other["indexes"] = json!([]);
        ok(&plugin_y, "create_table", other).await;
        ok(&plugin_y, "create_table", tokens_schema()).await;
        let data = ok(&plugin_y, "query_table", json!({"tableName": "x_notes"})).await;
        assert_eq!(data["count"], 0);
        let error = fails(&plugin_y, "create_table", notes_schema("x_notes"), "schema_mismatch").await;
        assert_eq!(error["table"], "x_notes");
        ok(&plugin_y, "drop_table", json!({"tableName": "x_notes"})).await;
        ok(&plugin_y, "drop_table", json!({"tableName": "oauth_tokens"})).await;
        let data = ok(&admin, "table_exists", json!({"tableName": "oauth_tokens"})).await;
        assert_eq!(data["exists"], true);

        // A new store (a new process) knows the owners from the catalog.
        let reopened = Executors::for_plugin(db.connect().await, "plugin_y");
        fails(&reopened, "drop_table", json!({"tableName": "x_notes"}), "table_not_found").await;
        let reopened_x = Executors::for_plugin(db.connect().await, "plugin_x");
        ok(&reopened_x, "drop_table", json!({"tableName": "x_notes"})).await;
        assert!(!x_store.table_exists("x_notes").await.unwrap());
    }

    async fn read_only_sets_only_read(db, store) {
        let admin = Executors::new(store.clone());
        ok(&admin, "create_table", tokens_schema()).await;
        ok(&admin, "insert_into_table", json!({"tableName": "oauth_tokens",
            "data": {"id": "a", "user_id": "u", "provider": "p"}})).await;

        let reader = Executors::new(store.clone()).read_only();
        assert!(reader.is_read_only());
        assert_eq!(reader.names(), READ_ONLY_EXECUTOR_NAMES);
        let names: Vec<&str> = reader.definitions().iter().map(|d| d.name).collect();
        assert_eq!(names, READ_ONLY_EXECUTOR_NAMES);
        assert!(reader.definitions().iter().all(|d| d.read_only));
        assert!(reader.definition("drop_table").is_none());

        let data = ok(&reader, "query_table", json!({"tableName": "oauth_tokens"})).await;
        assert_eq!(data["count"], 1);
        let data = ok(&reader, "table_exists", json!({"tableName": "oauth_tokens"})).await;
        assert_eq!(data["exists"], true);
        for (name, params) in [
            ("create_table", tokens_schema()),
            ("insert_into_table", json!({"tableName": "oauth_tokens", "data": {"user_id": "v", "provider": "p"}})),
            ("update_table_record", json!({"tableName": "oauth_tokens", "id": "a", "data": {"user_id": "v"}})),
            ("delete_from_table", json!({"tableName": "oauth_tokens", "id": "a"})),
            ("drop_table", json!({"tableName": "oauth_tokens"})),
        ] {
            let error = fails(&reader, name, params, "invalid_params").await;
            assert_eq!(error["executor"], name);
        }
        let data = ok(&admin, "query_table", json!({"tableName": "oauth_tokens"})).await;
        assert_eq!(data["results"], json!([{"id": "a", "user_id": "u", "provider": "p", "expires_at": null}]));

        // Scoped and read-only at once.
        let plugin = Executors::for_plugin(store.clone(), "plugin_x");
        ok(&plugin, "create_table", notes_schema("x_notes")).await;
        let scoped_reader = plugin.clone().read_only();
        ok(&scoped_reader, "query_table", json!({"tableName": "x_notes"})).await;
        fails(&scoped_reader, "query_table", json!({"tableName": "oauth_tokens"}), "table_not_found").await;
        fails(&scoped_reader, "drop_table", json!({"tableName": "x_notes"}), "invalid_params").await;
        assert!(plugin.store().table_exists("x_notes").await.unwrap());
    }
}

#[tokio::test]
async fn the_registry_describes_every_executor() {
    let store = memtable::Store::connect("sqlite::memory:").await.unwrap();
    let all = Executors::new(store);
    let definitions = all.definitions();
    let names: Vec<&str> = definitions.iter().map(|d| d.name).collect();
    assert_eq!(names, memtable::executor::EXECUTOR_NAMES);
    for definition in &definitions {
        assert!(definition.description.len() > 40, "{}", definition.name);
        let schema = &definition.parameters;
        assert_eq!(schema["type"], "object", "{}", definition.name);
        assert!(schema.get("title").is_none());
        assert!(
            !schema.to_string().contains("$ref"),
            "self-contained: {schema}"
        );
        let json = definition.to_json();
        assert_eq!(json["name"], definition.name);
        assert_eq!(json["readOnly"], definition.read_only);
        assert_eq!(json["destructive"], definition.destructive);
    }
    let by_name = |name: &str| all.definition(name).unwrap();
    assert_eq!(
        by_name("create_table").parameters["required"],
        json!(["name", "columns"])
    );
    assert_eq!(
        by_name("query_table").parameters["required"],
        json!(["tableName"])
    );
    assert_eq!(
        by_name("update_table_record").parameters["required"],
        json!(["tableName", "data"])
    );
    let query = by_name("query_table").parameters;
    let options = &query["properties"]["queryOptions"]["properties"];
    for key in ["where", "orderBy", "limit", "offset"] {
        assert!(options.get(key).is_some(), "queryOptions.{key}");
    }
    // orderBy takes three forms; where names its combinators.
    let order_by = options["orderBy"].to_string();
    for form in ["\"array\"", "\"object\"", "\"string\""] {
        assert!(order_by.contains(form), "{order_by}");
    }
    let where_ = options["where"]["description"].as_str().unwrap();
    let description = by_name("query_table").description;
    for key in ["$or", "$and", "$not"] {
        assert!(where_.contains(key) && description.contains(key), "{key}");
    }
    let types = by_name("create_table").parameters["properties"]["columns"]["items"]["properties"]
        ["type"]
        .to_string();
    for column_type in [
        "text", "integer", "bigint", "real", "blob", "json", "boolean",
    ] {
        assert!(types.contains(&format!("\"{column_type}\"")), "{types}");
    }
    assert!(by_name("drop_table").destructive && !by_name("drop_table").read_only);
    assert!(by_name("delete_from_table").destructive);
    assert!(by_name("query_table").read_only && by_name("table_exists").read_only);
    assert!(!by_name("insert_into_table").destructive);
    // transaction: a list of {executor, params}, the executor one of the row executors.
    let transaction = by_name("transaction");
    assert!(!transaction.read_only && transaction.destructive && !transaction.idempotent);
    assert_eq!(transaction.parameters["required"], json!(["operations"]));
    let operation = &transaction.parameters["properties"]["operations"]["items"];
    assert_eq!(
        operation["required"],
        json!(["executor", "params"]),
        "{operation}"
    );
    let executors = operation["properties"]["executor"].to_string();
    for name in [
        "insert_into_table",
        "update_table_record",
        "delete_from_table",
        "query_table",
    ] {
        assert!(executors.contains(&format!("\"{name}\"")), "{executors}");
    }
    for name in [
        "drop_table",
        "create_table",
        "table_exists",
        "\"transaction\"",
    ] {
        assert!(!executors.contains(name), "{executors}");
    }
    assert!(transaction.description.contains("100"));
    assert_eq!(ErrorKind::ALL.len(), 15);
}
