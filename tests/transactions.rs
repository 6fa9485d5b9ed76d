//! Transactions — `Store::begin`, the operations of a `Transaction`, commit, rollback and
//! rollback on drop, a failed statement inside one, concurrent transactions — and the
//! `transaction` executor, on a SQLite file, on PostgreSQL and through PgBouncer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use memtable::executor::Executors;
use memtable::{
    Column, ColumnType, Constraint, ConstraintKind, Error, ErrorKind, Filter, OrderBy,
    QueryOptions, Record, Store, Table, TableSchema, Value,
};
use memtable_tests::every_backend;
use serde_json::{Value as Json, json};

fn slots(name: &str) -> TableSchema {
    TableSchema::new(
        name,
        vec![
            Column::new("id", ColumnType::Integer).with(Constraint::PrimaryKey),
            Column::new("body", ColumnType::Text).with(Constraint::NotNull),
            Column::new("n", ColumnType::Integer),
        ],
    )
}

fn slot(id: i64, n: i64) -> Record {
    Record::new()
        .with("id", id)
        .with("body", format!("row {id}"))
        .with("n", n)
}

async fn ids(store: &Store, table: &str) -> Vec<i64> {
    store
        .query_table(table, &QueryOptions::new().order_by(OrderBy::asc("id")))
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("id").and_then(Value::as_i64).unwrap())
        .collect()
}

/// Whether a statement that fails inside a transaction aborts it, as PostgreSQL does.
fn aborts_on_failure(backend: &str) -> bool {
    backend != "sqlite"
}

#[derive(Table, Debug, Clone, PartialEq)]
#[memtable(table = "tokens")]
struct Token {
    #[memtable(primary_key)]
    id: String,
    user_id: String,
    refresh_token: String,
    expires_at: i64,
}

fn token(id: &str, user: &str, expires_at: i64) -> Token {
    Token {
        id: id.into(),
        user_id: user.into(),
        refresh_token: format!("refresh-{id}"),
        expires_at,
    }
}

async fn call(agent: &Executors, executor: &str, params: Json) -> Json {
    agent.execute(executor, params).await
}

every_backend! {
    async fn commit_makes_every_write_visible(db, store) {
        store.create_table(&slots("a")).await.unwrap();
        store.insert_into_table("a", slot(0, 0)).await.unwrap();
        let tx = store.begin().await.unwrap();
        for id in 1..=3 {
            tx.insert_into_table("a", slot(id, id)).await.unwrap();
        }
        tx.update_table_record("a", "0", Record::new().with("n", 10)).await.unwrap();
        tx.delete_from_table("a", "3").await.unwrap();
        // Its own writes, seen inside.
        assert_eq!(tx.count("a", None).await.unwrap(), 3);
        let inside = tx.query_table("a", &QueryOptions::new().filter(Filter::eq("id", 0))).await.unwrap();
        assert_eq!(inside[0].get("n").and_then(Value::as_i64), Some(10));
        // Not by another connection until it commits.
        assert_eq!(ids(&store, "a").await, [0]);
        let other = db.connect().await;
        assert_eq!(other.count("a", None).await.unwrap(), 1);
        tx.commit().await.unwrap();
        assert_eq!(ids(&store, "a").await, [0, 1, 2]);
        assert_eq!(ids(&other, "a").await, [0, 1, 2]);
        let zero = other.query_table("a", &QueryOptions::new().filter(Filter::eq("id", 0))).await.unwrap();
        assert_eq!(zero[0].get("n").and_then(Value::as_i64), Some(10));
    }

    async fn rollback_and_drop_undo_every_write(db, store) {
        store.create_table(&slots("a")).await.unwrap();
        store.insert_into_table("a", slot(0, 0)).await.unwrap();

        let tx = store.begin().await.unwrap();
        tx.insert_into_table("a", slot(1, 1)).await.unwrap();
        assert_eq!(tx.update_where("a", &Filter::gte("id", 0), Record::new().with("n", 5)).await.unwrap(), 2);
        assert_eq!(tx.count("a", Some(&Filter::eq("n", 5))).await.unwrap(), 2);
        tx.rollback().await;
        assert_eq!(ids(&store, "a").await, [0]);
        assert_eq!(store.count("a", Some(&Filter::eq("n", 5))).await.unwrap(), 0);

        // Dropped without commit.
        {
            let tx = store.begin().await.unwrap();
            tx.insert_into_table("a", slot(2, 2)).await.unwrap();
            assert_eq!(tx.delete_where("a", &Filter::eq("id", 0)).await.unwrap(), 1);
        }
        assert_eq!(ids(&store, "a").await, [0]);
        // A transaction abandoned in the middle of an operation (its future dropped).
        {
            let tx = store.begin().await.unwrap();
            tx.insert_into_table("a", slot(3, 3)).await.unwrap();
            let pending = tx.insert_many_into_table("a", (4..500).map(|i| slot(i, i)).collect());
            drop(tokio::time::timeout(std::time::Duration::from_micros(1), pending).await);
        }
        assert_eq!(ids(&store, "a").await, [0]);
        // The store goes on as before.
        store.insert_into_table("a", slot(9, 9)).await.unwrap();
        assert_eq!(ids(&db.connect().await, "a").await, [0, 9]);
    }

    async fn a_failed_statement_inside(db, store) {
        store.create_table(&slots("a")).await.unwrap();
        let tx = store.begin().await.unwrap();
        tx.insert_into_table("a", slot(1, 1)).await.unwrap();
        let duplicate = tx.insert_into_table("a", slot(1, 2)).await.unwrap_err();
        assert!(
            matches!(duplicate, Error::ConstraintViolation { kind: ConstraintKind::PrimaryKey, .. }),
            "{duplicate:?}"
        );
        if aborts_on_failure(db.backend) {
            // PostgreSQL aborted the transaction: every later operation, and the commit, say
            // so, and nothing of it is committed.
            let next = tx.insert_into_table("a", slot(2, 2)).await.unwrap_err();
            assert!(matches!(&next, Error::TransactionAborted { table: Some(t) } if t == "a"), "{next:?}");
            assert_eq!(next.kind(), ErrorKind::TransactionAborted);
            assert_eq!(next.kind().as_str(), "transaction_aborted");
            let read = tx.count("a", None).await.unwrap_err();
            assert!(matches!(read, Error::TransactionAborted { .. }), "{read:?}");
            let commit = tx.commit().await.unwrap_err();
            assert!(matches!(commit, Error::TransactionAborted { .. }), "{commit:?}");
            assert_eq!(store.count("a", None).await.unwrap(), 0);
        } else {
            // SQLite failed the statement only: the transaction goes on, and its other writes
            // commit with it.
            tx.insert_into_table("a", slot(2, 2)).await.unwrap();
            assert_eq!(tx.count("a", None).await.unwrap(), 2);
            tx.commit().await.unwrap();
            assert_eq!(ids(&store, "a").await, [1, 2]);
        }
        // Errors that never reach the database leave the transaction usable on every backend.
        let tx = store.begin().await.unwrap();
        tx.insert_into_table("a", slot(10, 10)).await.unwrap();
        let unknown = tx.insert_into_table("a", slot(11, 11).with("nope", 1)).await.unwrap_err();
        assert!(matches!(unknown, Error::UnknownColumn { .. }), "{unknown:?}");
        let missing = tx.delete_from_table("a", "999").await.unwrap_err();
        assert!(matches!(missing, Error::RecordNotFound { .. }), "{missing:?}");
        let empty = tx.delete_where("a", &Filter::all([])).await.unwrap_err();
        assert!(matches!(empty, Error::InvalidQuery { .. }), "{empty:?}");
        tx.insert_into_table("a", slot(12, 12)).await.unwrap();
        tx.commit().await.unwrap();
        assert!(ids(&store, "a").await.ends_with(&[10, 12]));
    }

    async fn a_failed_batch_inside_undoes_only_itself(db, store) {
        // insert_many and upsert_many are all or nothing inside a transaction too (a
        // savepoint), and their failure leaves the transaction usable, on every backend.
        store.create_table(&slots("a")).await.unwrap();
        let tx = store.begin().await.unwrap();
        tx.insert_into_table("a", slot(1, 1)).await.unwrap();
        let batch = tx.insert_many_into_table("a", vec![slot(2, 2), slot(3, 3), slot(1, 9)]).await;
        assert!(matches!(batch, Err(Error::ConstraintViolation { .. })), "{batch:?}");
        assert_eq!(tx.count("a", None).await.unwrap(), 1, "none of the batch's rows stay");
        let bad = tx.upsert_many_into_table("a", vec![slot(4, 4), slot(5, 5).with("body", Value::Null)]).await;
        assert!(bad.is_err(), "{bad:?}");
        assert_eq!(tx.count("a", None).await.unwrap(), 1);
        let written = tx.insert_many_into_table("a", (2..40).map(|i| slot(i, i)).collect()).await.unwrap();
        assert_eq!(written.len(), 38);
        tx.upsert_many_into_table("a", vec![slot(1, 100), slot(40, 40)]).await.unwrap();
        // Nothing is visible outside before the commit, batches included.
        assert_eq!(store.count("a", None).await.unwrap(), 0);
        tx.commit().await.unwrap();
        assert_eq!(store.count("a", None).await.unwrap(), 40);
        let one = store.query_table("a", &QueryOptions::new().filter(Filter::eq("id", 1))).await.unwrap();
        assert_eq!(one[0].get("n").and_then(Value::as_i64), Some(100));
        drop(db);
    }

    async fn typed_and_dynamic_operations_mixed(db, store) {
        store.create_table_for::<Token>().await.unwrap();
        store.create_table(&slots("audit")).await.unwrap();
        store.insert(&token("old", "u1", 100)).await.unwrap();

        let tx = store.begin().await.unwrap();
        // Rotate: the old token goes, the new one comes, an audit row records it.
        let old: Token = tx.find("old").await.unwrap().unwrap();
        tx.delete::<Token>(&old.id).await.unwrap();
        let id = tx.insert(&token("new", "u1", 200)).await.unwrap();
        assert_eq!(id, "new");
        tx.insert_into_table("audit", slot(1, 1).with("body", "rotated old -> new")).await.unwrap();
        tx.insert_many(&[token("t2", "u2", 50), token("t3", "u3", 60)]).await.unwrap();
        let mut renewed = token("t2", "u2", 500);
        renewed.refresh_token = "renewed".into();
        tx.update(&renewed).await.unwrap();
        tx.upsert(&token("t4", "u4", 70)).await.unwrap();
        tx.upsert_many(&[token("t4", "u4", 71), token("t5", "u5", 80)]).await.unwrap();
        assert_eq!(
            tx.select::<Token>().filter(Token::EXPIRES_AT.lt(100)).count().await.unwrap(),
            3
        );
        assert_eq!(
            tx.select::<Token>()
                .filter(Token::EXPIRES_AT.lt(75))
                .update(Record::new().with("expires_at", 75))
                .await
                .unwrap(),
            2
        );
        assert_eq!(tx.select::<Token>().filter(Token::USER_ID.eq("u5")).delete().await.unwrap(), 1);
        let all: Vec<Token> = tx.select::<Token>().order_by(Token::ID.asc()).all().await.unwrap();
        let seen: Vec<(&str, i64)> = all.iter().map(|t| (t.id.as_str(), t.expires_at)).collect();
        assert_eq!(seen, [("new", 200), ("t2", 500), ("t3", 75), ("t4", 75)]);
        assert_eq!(tx.select::<Token>().filter(Token::ID.eq("t2")).one().await.unwrap().unwrap().refresh_token, "renewed");
        // Outside: still the old token only.
        assert_eq!(store.select::<Token>().count().await.unwrap(), 1);
        assert!(store.find::<Token>("old").await.unwrap().is_some());
        tx.commit().await.unwrap();

        assert!(store.find::<Token>("old").await.unwrap().is_none());
        assert_eq!(store.select::<Token>().count().await.unwrap(), 4);
        assert_eq!(store.count("audit", None).await.unwrap(), 1);
        drop(db);
    }

    async fn concurrent_transactions_never_lose_or_double_a_row(db, store) {
        const ROWS: i64 = 24;
        const TASKS: i64 = 8;
        const MOVES: i64 = 12;
        store.create_table(&slots("left_side")).await.unwrap();
        store.create_table(&slots("right_side")).await.unwrap();
        store.insert_many_into_table("left_side", (0..ROWS).map(|i| slot(i, 0)).collect()).await.unwrap();
        let mut tasks = Vec::new();
        for task in 0..TASKS {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let (mut committed, mut failed) = (0_u32, 0_u32);
                for step in 0..MOVES {
                    // Rows shared between tasks: the same row is fought over.
                    let id = (task * 5 + step * 7) % ROWS;
                    let moved = async {
                        let tx = store.begin().await?;
                        let here = Filter::eq("id", id);
                        let (from, to) = if tx.count("left_side", Some(&here)).await? == 1 {
                            ("left_side", "right_side")
                        } else {
                            ("right_side", "left_side")
                        };
                        let row = tx.query_table(from, &QueryOptions::new().filter(here)).await?;
                        let Some(mut row) = row.into_iter().next() else {
                            return Ok::<bool, Error>(false);
                        };
                        let n = row.get("n").and_then(Value::as_i64).unwrap_or(0);
                        // The row as it was read: under PostgreSQL's READ COMMITTED, other
                        // tasks may have moved it away and back since, and a delete by key
                        // alone would then take their row and lose their moves.
                        let read = Filter::eq("id", id).and(Filter::eq("n", n));
                        if tx.delete_where(from, &read).await? != 1 {
                            return Ok(false);
                        }
                        row.insert("n", n + 1);
                        tx.insert_into_table(to, row).await?;
                        tx.commit().await?;
                        Ok(true)
                    }
                    .await;
                    match moved {
                        Ok(true) => committed += 1,
                        // Another task moved it first (the delete found nothing, the insert met
                        // the row there, or PostgreSQL refused a serialization conflict): this
                        // transaction rolled back whole.
                        Ok(false) | Err(_) => failed += 1,
                    }
                }
                (committed, failed)
            }));
        }
        let mut committed = 0;
        for task in tasks {
            committed += task.await.unwrap().0;
        }
        let left: BTreeSet<i64> = ids(&store, "left_side").await.into_iter().collect();
        let right: BTreeSet<i64> = ids(&store, "right_side").await.into_iter().collect();
        assert!(left.is_disjoint(&right), "a row in both tables: {:?}", left.intersection(&right));
        let every: BTreeSet<i64> = left.union(&right).copied().collect();
        assert_eq!(every, (0..ROWS).collect::<BTreeSet<_>>(), "rows lost");
        assert_eq!(store.count("left_side", None).await.unwrap() + store.count("right_side", None).await.unwrap(), ROWS as u64);
        // Each committed move added one to its row's n: the sum counts the commits exactly.
        let mut moves = 0;
        for table in ["left_side", "right_side"] {
            for row in store.query_table(table, &QueryOptions::new()).await.unwrap() {
                moves += row.get("n").and_then(Value::as_i64).unwrap();
            }
        }
        assert_eq!(moves, i64::from(committed), "moves applied != moves committed");
        assert!(committed > 0);
        drop(db);
    }

    async fn transaction_executor_is_all_or_nothing(db, store) {
        let agent = Executors::new(store.clone());
        store.create_table(&slots("a")).await.unwrap();
        store.create_table(&slots("b")).await.unwrap();
        store.insert_into_table("a", slot(1, 1)).await.unwrap();

        let done = call(&agent, "transaction", json!({"operations": [
            {"executor": "delete_from_table", "params": {"tableName": "a", "id": 1}},
            {"executor": "insert_into_table", "params": {"tableName": "b", "data": {"id": 1, "body": "moved", "n": 1}}},
            {"executor": "update_table_record", "params": {"tableName": "b", "where": {"n": {"$gte": 1}}, "data": {"n": 2}}},
            {"executor": "update_table_record", "params": {"tableName": "b", "id": "1", "data": {"body": "moved!"}}},
            {"executor": "query_table", "params": {"tableName": "b", "queryOptions": {"where": {"$or": [{"n": 2}, {"n": 3}]}}}},
            {"executor": "delete_from_table", "params": {"tableName": "a", "where": {"n": {"$lt": 0}}}}
        ]})).await;
        assert_eq!(done["success"], true, "{done}");
        let results = done["data"]["results"].as_array().unwrap();
        assert_eq!(results.len(), 6);
        assert_eq!(results[1]["id"], "1");
        assert_eq!(results[2]["updated"], 1);
        assert_eq!(results[4]["count"], 1, "a query sees the writes before it");
        assert_eq!(results[4]["results"][0]["body"], "moved!");
        assert_eq!(results[5]["deleted"], 0);
        assert!(ids(&store, "a").await.is_empty());
        assert_eq!(ids(&store, "b").await, [1]);

        // Operation 2 fails: neither of the two before it is applied.
        let failed = call(&agent, "transaction", json!({"operations": [
            {"executor": "insert_into_table", "params": {"tableName": "a", "data": {"id": 5, "body": "x"}}},
            {"executor": "update_table_record", "params": {"tableName": "b", "id": 1, "data": {"n": 9}}},
            {"executor": "insert_into_table", "params": {"tableName": "b", "data": {"id": 1, "body": "dup"}}},
            {"executor": "insert_into_table", "params": {"tableName": "a", "data": {"id": 6, "body": "y"}}}
        ]})).await;
        assert_eq!(failed["success"], false, "{failed}");
        let error = &failed["data"]["error"];
        assert_eq!(error["kind"], "constraint_violation", "{failed}");
        assert_eq!(error["operation"], 2, "{failed}");
        let message = failed["data"]["message"].as_str().unwrap();
        assert!(message.contains("operation 2"), "{message}");
        assert!(ids(&store, "a").await.is_empty());
        let b = store.query_table("b", &QueryOptions::new()).await.unwrap();
        assert_eq!(b[0].get("n").and_then(Value::as_i64), Some(2));

        // A record that is not there, by id: record_not_found, nothing applied.
        let missing = call(&agent, "transaction", json!({"operations": [
            {"executor": "insert_into_table", "params": {"tableName": "a", "data": {"id": 7, "body": "x"}}},
            {"executor": "delete_from_table", "params": {"tableName": "a", "id": 8}}
        ]})).await;
        assert_eq!(missing["data"]["error"]["kind"], "record_not_found", "{missing}");
        assert_eq!(missing["data"]["error"]["operation"], 1);
        assert!(ids(&store, "a").await.is_empty());

        // No operations: nothing to do.
        let empty = call(&agent, "transaction", json!({"operations": []})).await;
        assert_eq!(empty["data"]["results"], json!([]), "{empty}");

        // Listed with its schema, not in the read-only set.
        let definition = agent.definition("transaction").unwrap();
        assert!(!definition.read_only);
        assert!(definition.parameters["properties"]["operations"].is_object(), "{}", definition.parameters);
        assert!(agent.clone().read_only().definition("transaction").is_none());
        let refused = call(&agent.clone().read_only(), "transaction", json!({"operations": []})).await;
        assert_eq!(refused["data"]["error"]["kind"], "invalid_params");
        drop(db);
    }

    async fn transaction_executor_refuses_bad_input(db, store) {
        let agent = Executors::new(store.clone());
        store.create_table(&slots("a")).await.unwrap();
        let insert = json!({"executor": "insert_into_table", "params": {"tableName": "a", "data": {"id": 1, "body": "x"}}});
        let with = |bad: Json| json!({"operations": [insert.clone(), bad]});
        let update = |params: Json| json!({"executor": "update_table_record", "params": params});
        let cases: Vec<(&str, Json, Option<u64>, &str)> = vec![
            ("unknown executor", with(json!({"executor": "insert_into_tables", "params": {}})), Some(1), "unknown executor"),
            ("drop_table", with(json!({"executor": "drop_table", "params": {"tableName": "a"}})), Some(1), "cannot run in a transaction"),
            ("create_table", with(json!({"executor": "create_table", "params": {"name": "c", "columns": []}})), Some(1), "cannot run in a transaction"),
            ("nested transaction", with(json!({"executor": "transaction", "params": {"operations": []}})), Some(1), "cannot run in a transaction"),
            ("id and where", with(update(json!({"tableName": "a", "id": 1, "where": {"n": 1}, "data": {"n": 2}}))), Some(1), "not both"),
            ("empty where", with(update(json!({"tableName": "a", "where": {}, "data": {"n": 2}}))), Some(1), "where is empty"),
            ("empty $or", with(update(json!({"tableName": "a", "where": {"$or": []}, "data": {"n": 2}}))), Some(1), "$or"),
            ("$or not a list", with(update(json!({"tableName": "a", "where": {"$or": {"n": 1}}, "data": {"n": 2}}))), Some(1), "$or"),
            ("no params", with(json!({"executor": "query_table"})), Some(1), "missing params"),
            ("an unknown key", with(json!({"executor": "query_table", "params": {"tableName": "a"}, "then": 1})), Some(1), "unknown key"),
            ("not an object", with(json!("query_table")), Some(1), "expected an object"),
            ("101 operations", json!({"operations": vec![insert.clone(); 101]}), None, "more than the 100"),
            ("no operations", json!({"steps": []}), None, "unknown key"),
            ("operations not a list", json!({"operations": {"executor": "query_table"}}), None, "expected a list"),
        ];
        for (what, params, operation, needle) in cases {
            let result = call(&agent, "transaction", params).await;
            assert_eq!(result["success"], false, "{what}: {result}");
            let error = &result["data"]["error"];
            let message = result["data"]["message"].as_str().unwrap();
            assert!(message.contains(needle), "{what}: {message}");
            assert_eq!(error["kind"], "invalid_params", "{what}: {result}");
            match operation {
                Some(index) => assert_eq!(error["operation"], index, "{what}: {result}"),
                None => assert!(error.get("operation").is_none(), "{what}: {result}"),
            }
            assert_eq!(store.count("a", None).await.unwrap(), 0, "{what}: something was written");
        }
        // The same limit of 100, reached exactly: runs.
        let hundred: Vec<Json> = (0..100)
            .map(|i| json!({"executor": "insert_into_table", "params": {"tableName": "a", "data": {"id": i, "body": "x"}}}))
            .collect();
        let done = call(&agent, "transaction", json!({"operations": hundred})).await;
        assert_eq!(done["success"], true, "{done}");
        assert_eq!(store.count("a", None).await.unwrap(), 100);
        drop(db);
    }

    async fn a_plugins_transaction_sees_only_its_tables(db, store) {
        let mine = Executors::for_plugin(store.clone(), "mine");
        let theirs = Executors::for_plugin(store.clone(), "theirs");
        let schema = slots("x").to_json();
        let mut their_schema = schema.clone();
        their_schema["name"] = json!("y");
        assert_eq!(call(&mine, "create_table", schema).await["success"], true);
        assert_eq!(call(&theirs, "create_table", their_schema).await["success"], true);
        let result = call(&mine, "transaction", json!({"operations": [
            {"executor": "insert_into_table", "params": {"tableName": "x", "data": {"id": 1, "body": "a"}}},
            {"executor": "insert_into_table", "params": {"tableName": "y", "data": {"id": 1, "body": "b"}}}
        ]})).await;
        assert_eq!(result["data"]["error"]["kind"], "table_not_found", "{result}");
        assert_eq!(result["data"]["error"]["operation"], 1);
        // Each table lives in its plugin's namespace: the host does not address them.
        let scoped = |plugin: &str| store.scoped(plugin).unwrap();
        assert_eq!(scoped("mine").count("x", None).await.unwrap(), 0);
        assert_eq!(scoped("theirs").count("y", None).await.unwrap(), 0);
        assert!(!store.table_exists("x").await.unwrap());
        drop(db);
    }
}
