//! Idempotency keys on the write executors and the `transaction` executor, and
//! `Store::begin_idempotent` under them: a repeated call replays the first call's data without
//! writing again, the same key with other parameters is `invalid_params`, keys are per plugin,
//! concurrent calls with one key write once, and a failed write records no key; on a SQLite
//! file, on PostgreSQL and through PgBouncer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use memtable::executor::Executors;
use memtable::{Error, IDEMPOTENCY_TABLE, Idempotency, Record, TableSchema};
use memtable_tests::every_backend;
use serde_json::{Value as Json, json};

/// A table whose text key is generated (a UUID) when left out, with a unique column.
fn notes() -> Json {
    json!({"name": "notes", "columns": [
        {"name": "id", "type": "text", "constraints": ["primary_key"]},
        {"name": "body", "type": "text", "constraints": ["not_null", "unique"]}
    ]})
}

async fn ready(agent: &Executors) {
    let created = agent.execute("create_table", notes()).await;
    assert_eq!(created["success"], true, "{created}");
}

async fn rows(agent: &Executors) -> Vec<Json> {
    let found = agent
        .execute("query_table", json!({"tableName": "notes"}))
        .await;
    assert_eq!(found["success"], true, "{found}");
    found["data"]["results"].as_array().unwrap().clone()
}

fn insert(body: &str, key: &str) -> Json {
    json!({"tableName": "notes", "data": {"body": body}, "idempotencyKey": key})
}

fn assert_invalid_params(result: &Json, mentions: &str) {
    assert_eq!(result["success"], false, "{result}");
    assert_eq!(
        result["data"]["error"]["kind"], "invalid_params",
        "{result}"
    );
    let message = result["data"]["message"].as_str().unwrap();
    assert!(
        message.contains(mentions),
        "{message:?} should mention {mentions:?}"
    );
}

every_backend! {
    async fn a_repeated_insert_writes_one_row_and_returns_the_same_id(db, store) {
        let agent = Executors::new(store.clone());
        ready(&agent).await;
        assert!(!store.table_exists(IDEMPOTENCY_TABLE).await.unwrap(), "created on first use only");
        let first = agent.execute("insert_into_table", insert("hello", "k-1")).await;
        assert_eq!(first["success"], true, "{first}");
        let second = agent.execute("insert_into_table", insert("hello", "k-1")).await;
        assert_eq!(second, first, "the repeat returns the first call's data");
        assert_eq!(rows(&agent).await.len(), 1);
        // The key outlives the process: a new store replays it too.
        let restarted = Executors::new(db.connect().await);
        let third = restarted.execute("insert_into_table", insert("hello", "k-1")).await;
        assert_eq!(third, first);
        assert_eq!(rows(&agent).await.len(), 1);
        // Without a key, the same call writes (and here meets the unique body).
        let unkeyed = agent
            .execute("insert_into_table", json!({"tableName": "notes", "data": {"body": "other"}}))
            .await;
        assert_eq!(unkeyed["success"], true, "{unkeyed}");
        assert_eq!(rows(&agent).await.len(), 2);
    }

    async fn many_inserts_each_sent_twice_leave_one_row_each(db, store) {
        let agent = Executors::new(store.clone());
        ready(&agent).await;
        let mut ids = Vec::new();
        for i in 0..1_000 {
            let params = insert(&format!("note {i}"), &format!("key-{i}"));
            let first = agent.execute("insert_into_table", params.clone()).await;
            let again = agent.execute("insert_into_table", params).await;
            assert_eq!(first["success"], true, "{first}");
            assert_eq!(again["data"]["id"], first["data"]["id"]);
            ids.push(first["data"]["id"].clone());
        }
        assert_eq!(store.count("notes", None).await.unwrap(), 1_000);
        // After a restart (a store of its own), every repeat still returns the first id.
        let restarted = Executors::new(db.connect().await);
        for (i, id) in ids.iter().enumerate() {
            let params = insert(&format!("note {i}"), &format!("key-{i}"));
            let again = restarted.execute("insert_into_table", params).await;
            assert_eq!(&again["data"]["id"], id, "{again}");
        }
        assert_eq!(store.count("notes", None).await.unwrap(), 1_000);
    }

    async fn the_same_key_with_other_parameters_is_invalid_params(db, store) {
        let agent = Executors::new(store.clone());
        ready(&agent).await;
        let first = agent.execute("insert_into_table", insert("hello", "k")).await;
        assert_eq!(first["success"], true, "{first}");
        let other = agent.execute("insert_into_table", insert("goodbye", "k")).await;
        assert_invalid_params(&other, "idempotencyKey");
        assert!(other["data"]["message"].as_str().unwrap().contains("other parameters"));
        // Another executor with the same key is other parameters too.
        let id = first["data"]["id"].clone();
        let delete = agent
            .execute("delete_from_table", json!({"tableName": "notes", "id": id, "idempotencyKey": "k"}))
            .await;
        assert_invalid_params(&delete, "idempotencyKey");
        let left = rows(&agent).await;
        assert_eq!(left.len(), 1, "nothing written, nothing deleted");
        assert_eq!(left[0]["body"], "hello");
        // The same parameters with their keys in another order are the same parameters.
        let reordered = json!({"idempotencyKey": "k", "data": {"body": "hello"}, "tableName": "notes"});
        assert_eq!(agent.execute("insert_into_table", reordered).await, first);
    }

    async fn a_key_too_long_or_not_a_string_is_invalid_params(db, store) {
        let agent = Executors::new(store.clone());
        ready(&agent).await;
        let long = "k".repeat(129);
        assert_invalid_params(&agent.execute("insert_into_table", insert("a", &long)).await, "idempotencyKey");
        assert_invalid_params(&agent.execute("insert_into_table", insert("a", "")).await, "idempotencyKey");
        for key in [json!(42), json!(null), json!(["k"]), json!({"k": 1})] {
            let params = json!({"tableName": "notes", "data": {"body": "a"}, "idempotencyKey": key});
            assert_invalid_params(&agent.execute("insert_into_table", params).await, "idempotencyKey");
            let update = json!({"tableName": "notes", "id": "x", "data": {"body": "b"}, "idempotencyKey": key});
            assert_invalid_params(&agent.execute("update_table_record", update).await, "idempotencyKey");
            let tx = json!({"operations": [], "idempotencyKey": key});
            assert_invalid_params(&agent.execute("transaction", tx).await, "idempotencyKey");
        }
        assert!(rows(&agent).await.is_empty(), "nothing written");
        // 128 bytes, multi-byte characters counted in bytes, is a key.
        let key = "é".repeat(64);
        assert_eq!(key.len(), 128);
        let ok = agent.execute("insert_into_table", insert("a", &key)).await;
        assert_eq!(ok["success"], true, "{ok}");
        assert_eq!(agent.execute("insert_into_table", insert("a", &key)).await, ok);
        let too_long = format!("{key}x");
        assert_invalid_params(&agent.execute("insert_into_table", insert("a", &too_long)).await, "129 bytes");
        // Executors that are idempotent by nature take no key.
        let drop = agent.execute("drop_table", json!({"tableName": "notes", "idempotencyKey": "d"})).await;
        assert_eq!(drop["success"], false);
        assert_eq!(drop["data"]["error"]["kind"], "invalid_params");
        assert!(store.table_exists("notes").await.unwrap());
    }

    async fn updates_and_deletes_with_a_key_apply_once(db, store) {
        let agent = Executors::new(store.clone());
        ready(&agent).await;
        for body in ["a", "b", "c"] {
            let inserted = agent
                .execute("insert_into_table", json!({"tableName": "notes", "data": {"id": body, "body": body}}))
                .await;
            assert_eq!(inserted["success"], true, "{inserted}");
        }
        let update = json!({"tableName": "notes", "where": {"body": {"$in": ["a", "b"]}},
            "data": {"body": "z"}, "idempotencyKey": "u"});
        // Setting "z" on two rows breaks the unique body: a failure, and no key recorded.
        let failed = agent.execute("update_table_record", update.clone()).await;
        assert_eq!(failed["data"]["error"]["kind"], "constraint_violation", "{failed}");
        let update = json!({"tableName": "notes", "where": {"body": "a"}, "data": {"body": "z"},
            "idempotencyKey": "u2"});
        let first = agent.execute("update_table_record", update.clone()).await;
        assert_eq!(first["data"]["updated"], 1, "{first}");
        // Replayed: had it run again it would have matched no row and said 0.
        assert_eq!(agent.execute("update_table_record", update).await, first);
        let delete = json!({"tableName": "notes", "id": "b", "idempotencyKey": "d"});
        let deleted = agent.execute("delete_from_table", delete.clone()).await;
        assert_eq!(deleted["success"], true, "{deleted}");
        // Run again, a delete by id of a gone record would fail with record_not_found.
        assert_eq!(agent.execute("delete_from_table", delete).await, deleted);
        assert_eq!(rows(&agent).await.len(), 2);
    }

    async fn a_transaction_with_a_key_repeated_applies_once(db, store) {
        let agent = Executors::new(store.clone());
        ready(&agent).await;
        let params = json!({"idempotencyKey": "batch-1", "operations": [
            {"executor": "insert_into_table", "params": {"tableName": "notes", "data": {"body": "one"}}},
            {"executor": "insert_into_table", "params": {"tableName": "notes", "data": {"body": "two"}}},
            {"executor": "query_table", "params": {"tableName": "notes"}}
        ]});
        let first = agent.execute("transaction", params.clone()).await;
        assert_eq!(first["success"], true, "{first}");
        assert_eq!(first["data"]["results"].as_array().unwrap().len(), 3);
        let second = agent.execute("transaction", params).await;
        assert_eq!(second, first);
        assert_eq!(rows(&agent).await.len(), 2);
        // A key inside an operation is refused: it goes on the transaction.
        let inner = json!({"operations": [
            {"executor": "insert_into_table", "params": insert("three", "inner")}
        ]});
        assert_invalid_params(&agent.execute("transaction", inner).await, "idempotencyKey");
        assert_eq!(rows(&agent).await.len(), 2);
    }

    async fn two_plugins_using_the_same_key_are_independent(db, store) {
        let (crm, mail) = (Executors::for_plugin(store.clone(), "crm"), Executors::for_plugin(store.clone(), "mail"));
        ready(&crm).await;
        ready(&mail).await;
        let a = crm.execute("insert_into_table", insert("from crm", "same")).await;
        let b = mail.execute("insert_into_table", insert("from mail", "same")).await;
        assert_eq!(a["success"], true, "{a}");
        assert_eq!(b["success"], true, "a key of another plugin is not this plugin's: {b}");
        assert_ne!(a["data"]["id"], b["data"]["id"]);
        assert_eq!(rows(&crm).await.len(), 1);
        assert_eq!(rows(&mail).await.len(), 1);
        assert_eq!(crm.execute("insert_into_table", insert("from crm", "same")).await, a);
        // The host has keys of its own as well.
        let host = Executors::new(store.clone());
        let created = host.execute("create_table", notes()).await;
        assert_eq!(created["success"], true);
        let h = host.execute("insert_into_table", insert("from host", "same")).await;
        assert_eq!(h["success"], true, "{h}");
        assert_eq!(rows(&crm).await.len(), 1);
    }

    async fn concurrent_calls_with_one_key_write_exactly_once(db, store) {
        let agent = Executors::new(store.clone());
        ready(&agent).await;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let agent = agent.clone();
            tasks.push(tokio::spawn(async move {
                agent.execute("insert_into_table", insert("raced", "race")).await
            }));
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        for result in &results {
            assert_eq!(result["success"], true, "{result}");
            assert_eq!(result, &results[0], "every call returns the winner's data");
        }
        assert_eq!(rows(&agent).await.len(), 1);
    }

    async fn a_failed_write_records_no_key_and_its_retry_runs_again(db, store) {
        let agent = Executors::new(store.clone());
        ready(&agent).await;
        let taken = agent
            .execute("insert_into_table", json!({"tableName": "notes", "data": {"id": "x", "body": "taken"}}))
            .await;
        assert_eq!(taken["success"], true);
        let params = json!({"tableName": "notes", "data": {"body": "taken"}, "idempotencyKey": "retry"});
        let failed = agent.execute("insert_into_table", params.clone()).await;
        assert_eq!(failed["data"]["error"]["kind"], "constraint_violation", "{failed}");
        // The cause fixed, the same call runs (a failure is not replayed).
        let gone = agent.execute("delete_from_table", json!({"tableName": "notes", "id": "x"})).await;
        assert_eq!(gone["success"], true);
        let retried = agent.execute("insert_into_table", params.clone()).await;
        assert_eq!(retried["success"], true, "{retried}");
        assert_eq!(agent.execute("insert_into_table", params).await, retried);
        let left = rows(&agent).await;
        assert_eq!(left.len(), 1);
        assert_eq!(left[0]["id"], retried["data"]["id"]);
        // A failed transaction records no key either.
        let tx = json!({"idempotencyKey": "tx", "operations": [
            {"executor": "insert_into_table", "params": {"tableName": "notes", "data": {"body": "new"}}},
            {"executor": "delete_from_table", "params": {"tableName": "notes", "id": "missing"}}
        ]});
        let failed = agent.execute("transaction", tx.clone()).await;
        assert_eq!(failed["data"]["error"]["kind"], "record_not_found", "{failed}");
        assert_eq!(rows(&agent).await.len(), 1);
        let fixed = agent
            .execute("insert_into_table", json!({"tableName": "notes", "data": {"id": "missing", "body": "m"}}))
            .await;
        assert_eq!(fixed["success"], true);
        let ran = agent.execute("transaction", tx).await;
        assert_eq!(ran["success"], true, "{ran}");
        assert_eq!(rows(&agent).await.len(), 2);
    }

    async fn the_key_table_is_protected_and_the_store_api_replays(db, store) {
        store
            .create_table(&TableSchema::from_json(notes()).unwrap())
            .await
            .unwrap();
        let request = json!({"insert": "hello"});
        let Idempotency::Fresh(tx) = store.begin_idempotent("api", &request).await.unwrap() else {
            panic!("a new key is fresh");
        };
        let id = tx.insert_into_table("notes", Record::new().with("body", "hello")).await.unwrap();
        tx.commit_idempotent(&json!({"id": id})).await.unwrap();
        match store.begin_idempotent("api", &request).await.unwrap() {
            Idempotency::Replay(data) => assert_eq!(data, json!({"id": id})),
            other => panic!("expected a replay, got {other:?}"),
        }
        assert!(matches!(
            store.begin_idempotent("api", &json!({"insert": "other"})).await.unwrap(),
            Idempotency::Conflict
        ));
        // A dropped transaction leaves no key.
        let Idempotency::Fresh(tx) = store.begin_idempotent("dropped", &request).await.unwrap() else {
            panic!("a new key is fresh");
        };
        drop(tx);
        let Idempotency::Fresh(tx) = store.begin_idempotent("dropped", &request).await.unwrap() else {
            panic!("a dropped claim is no claim");
        };
        tx.rollback().await;
        assert!(store.is_protected(IDEMPOTENCY_TABLE));
        let write = store
            .insert_into_table(IDEMPOTENCY_TABLE, Record::new().with("id", "forged"))
            .await;
        assert!(matches!(write, Err(Error::ProtectedTable { .. })), "{write:?}");
        let dropped = store.drop_table(IDEMPOTENCY_TABLE).await;
        assert!(matches!(dropped, Err(Error::ProtectedTable { .. })), "{dropped:?}");
        assert!(store.begin_idempotent(&"k".repeat(129), &request).await.is_err());
    }
}
