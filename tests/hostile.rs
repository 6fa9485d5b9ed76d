//! The hostile corpus (`tests/corpus/hostile.json`) through every executor, on a SQLite file and
//! on PostgreSQL: hostile names are refused (`invalid_identifier`, or `unknown_column` as keys),
//! SQL keywords work as names, hostile values round-trip byte for byte (NUL in text and json is
//! `type_mismatch`), and the tables, their schemas and a bystander table's rows are the same
//! after the run as before it. Then every limit of `memtable::Limits`, at the limit and just
//! past it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use base64::Engine as _;
use memtable::executor::Executors;
use memtable::{
    Column, ColumnType, Constraint, Error, Filter, Index, LimitKind, Limits, QueryOptions, Record,
    Store, TableSchema,
};
use memtable_tests::both_backends;
use memtable_tests::fixture::TestDb;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection as _, Row as _};

/// The corpus, with `{"repeat", "times"}` entries expanded.
struct Corpus {
    invalid_identifiers: Vec<String>,
    keywords: Vec<String>,
    text_values: Vec<String>,
    nul_values: Vec<String>,
    json_values: Vec<Value>,
    /// Documents nested past the default json depth limit.
    json_too_deep: Vec<Value>,
}

fn corpus() -> Corpus {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/hostile.json");
    let text = std::fs::read_to_string(path).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let strings = |key: &str| -> Vec<String> {
        doc[key]
            .as_array()
            .unwrap_or_else(|| panic!("corpus.{key}"))
            .iter()
            .map(|entry| match entry {
                Value::String(s) => s.clone(),
                other => other["repeat"]
                    .as_str()
                    .unwrap()
                    .repeat(other["times"].as_u64().unwrap() as usize),
            })
            .collect()
    };
    let corpus = Corpus {
        invalid_identifiers: strings("invalid_identifiers"),
        keywords: strings("keywords"),
        text_values: strings("text_values"),
        nul_values: strings("nul_values"),
        json_values: doc["json_values"].as_array().unwrap().clone(),
        json_too_deep: doc["json_too_deep"].as_array().unwrap().clone(),
    };
    let size = corpus.invalid_identifiers.len()
        + corpus.keywords.len()
        + corpus.text_values.len()
        + corpus.nul_values.len()
        + corpus.json_values.len();
    assert!(size >= 200, "the corpus has {size} entries");
    corpus
}

/// Every text value to round-trip: the values, and the invalid names without a NUL.
fn round_trip_values(corpus: &Corpus) -> Vec<String> {
    let mut seen = BTreeSet::new();
    corpus
        .text_values
        .iter()
        .chain(&corpus.invalid_identifiers)
        .filter(|v| !v.contains('\0'))
        .filter(|v| seen.insert((*v).clone()))
        .cloned()
        .collect()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `value` as a LIKE pattern matching exactly itself.
fn like_exactly(value: &str) -> String {
    let mut pattern = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 300 {
        format!(
            "{}… ({} bytes)",
            &text[..text.floor_char_boundary(300)],
            text.len()
        )
    } else {
        text
    }
}

/// Executor calls made by this process (for the figures: run with `--test-threads=1`).
static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn calls_so_far() -> usize {
    CALLS.load(std::sync::atomic::Ordering::Relaxed)
}

async fn call(set: &Executors, name: &str, params: Value) -> Value {
    CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let result = set.execute(name, params.clone()).await;
    let message = result["data"]["message"].as_str().unwrap_or_default();
    assert!(
        message.len() < 2_000,
        "{name}: a message stays short whatever the input ({} bytes)",
        message.len()
    );
    result
}

async fn ok(set: &Executors, name: &str, params: Value) -> Value {
    let result = call(set, name, params.clone()).await;
    assert_eq!(
        result["success"],
        true,
        "{name} {} should succeed, got {}",
        short(&params),
        short(&result)
    );
    result["data"].clone()
}

async fn fails(set: &Executors, name: &str, params: Value, kinds: &[&str]) -> Value {
    let result = call(set, name, params.clone()).await;
    let kind = result["data"]["error"]["kind"].as_str().unwrap_or_default();
    assert!(
        result["success"] == false && kinds.contains(&kind),
        "{name} {} should fail with {kinds:?}, got {}",
        short(&params),
        short(&result)
    );
    result["data"]["error"].clone()
}

/// What must not change: the tables memtable lists and their schemas, every relation the
/// database has, and the bystander table's rows.
#[derive(Debug, PartialEq)]
struct Snapshot {
    tables: Vec<String>,
    schemas: Vec<Value>,
    relations: Vec<String>,
    bystander: Value,
}

async fn snapshot(db: &TestDb, store: &Store) -> Snapshot {
    let tables: Vec<String> = store
        .list_tables()
        .await
        .unwrap()
        .into_iter()
        .map(|table| table.name)
        .collect();
    let mut schemas = Vec::new();
    for table in &tables {
        schemas.push(store.table_schema(table).await.unwrap().to_json());
    }
    let relations = match db.backend {
        "sqlite" => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            // SQLite's own (sqlite_sequence appears with the first AUTOINCREMENT table) aside.
            sqlx::query(
                "SELECT type, name, tbl_name, sql FROM sqlite_master \
                 WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|row| {
                format!(
                    "{} {} {} {:?}",
                    row.get::<String, _>(0),
                    row.get::<String, _>(1),
                    row.get::<String, _>(2),
                    row.get::<Option<String>, _>(3)
                )
            })
            .collect()
        }
        _ => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query(AssertSqlSafe(
                "SELECT n.nspname || '.' || c.relname || ' ' || c.relkind::text \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
                 ORDER BY 1",
            ))
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>(0))
            .collect::<Vec<String>>()
            .into_iter()
            // Other tests' schemas come and go on the shared server: only this test's own.
            .filter(|relation| relation.starts_with(&format!("{}.", search_path(&db.url))))
            .collect()
        }
    };
    let admin = Executors::new(store.clone());
    let bystander = ok(
        &admin,
        "query_table",
        json!({"tableName": "bystander", "queryOptions": {"orderBy": [{"column": "id"}]}}),
    )
    .await;
    Snapshot {
        tables,
        schemas,
        relations,
        bystander,
    }
}

fn search_path(url: &str) -> String {
    url.rsplit_once("search_path%3D")
        .map(|(_, schema)| schema.to_owned())
        .unwrap_or_else(|| "public".to_owned())
}

/// A table that must come out of the run untouched, with rows in it.
async fn bystander(store: &Store) {
    let admin = Executors::new(store.clone());
    ok(
        &admin,
        "create_table",
        json!({"name": "bystander", "columns": [
            {"name": "id", "type": "text", "constraints": ["primary_key"]},
            {"name": "body", "type": "text"},
            {"name": "doc", "type": "json"},
            {"name": "raw", "type": "blob"},
            {"name": "n", "type": "bigint"}
        ], "indexes": [{"name": "idx_bystander_body", "columns": ["body"]}]}),
    )
    .await;
    for i in 0..5 {
        ok(
            &admin,
            "insert_into_table",
            json!({"tableName": "bystander", "data": {
                "id": format!("row{i}"), "body": format!("body {i}"), "doc": {"i": i},
                "raw": b64(&[i as u8, 0, 255]), "n": i
            }}),
        )
        .await;
    }
}

const INVALID: &[&str] = &["invalid_identifier"];
const UNKNOWN: &[&str] = &["unknown_column"];
const INVALID_QUERY: &[&str] = &["invalid_params"];

both_backends! {
    async fn invalid_identifiers_are_refused_everywhere(db, store) {
        let corpus = corpus();
        let calls_before = calls_so_far();
        bystander(&store).await;
        let before = snapshot(&db, &store).await;
        let admin = Executors::new(store.clone());
        let plugin = Executors::for_plugin(store.clone(), "hostile_plugin");
        let reader = admin.clone().read_only();
        ok(&plugin, "create_table", json!({"name": "plugin_owned", "columns": [
            {"name": "id", "type": "text", "constraints": ["primary_key"]}]})).await;
        let mut calls = 0_usize;
        for name in &corpus.invalid_identifiers {
            for set in [&admin, &plugin] {
                let as_table = json!({"name": name, "columns": [
                    {"name": "id", "type": "text", "constraints": ["primary_key"]}]});
                let as_column = json!({"name": "hostile_t", "columns": [
                    {"name": "id", "type": "text", "constraints": ["primary_key"]},
                    {"name": name, "type": "text"}]});
                let as_index = json!({"name": "hostile_t", "columns": [
                    {"name": "id", "type": "text", "constraints": ["primary_key"]}],
                    "indexes": [{"name": name, "columns": ["id"]}]});
                for schema in [as_table, as_column, as_index] {
                    let error = fails(set, "create_table", schema, INVALID).await;
                    assert!(error["name"].as_str().unwrap().len() <= 204, "{error}");
                }
                fails(set, "insert_into_table", json!({"tableName": name, "data": {"id": "x"}}), INVALID).await;
                fails(set, "update_table_record",
                    json!({"tableName": name, "id": "row1", "data": {"body": "x"}}), INVALID).await;
                fails(set, "query_table", json!({"tableName": name}), INVALID).await;
                fails(set, "delete_from_table", json!({"tableName": name, "id": "row1"}), INVALID).await;
                fails(set, "table_exists", json!({"tableName": name}), INVALID).await;
                fails(set, "drop_table", json!({"tableName": name}), INVALID).await;
                calls += 9;
            }
            fails(&reader, "query_table", json!({"tableName": name}), INVALID).await;
            fails(&reader, "table_exists", json!({"tableName": name}), INVALID).await;
            // As keys of a record or a query on a real table.
            for (set, table) in [(&admin, "bystander"), (&plugin, "plugin_owned")] {
                fails(set, "insert_into_table",
                    json!({"tableName": table, "data": {"id": "new", name: "x"}}), UNKNOWN).await;
                fails(set, "update_table_record",
                    json!({"tableName": table, "id": "row1", "data": {name: "x"}}), UNKNOWN).await;
                // A `$` key of a where object is `$and`, `$or`, `$not` or refused as such.
                let where_key = if name.starts_with('$') { INVALID_QUERY } else { UNKNOWN };
                fails(set, "query_table",
                    json!({"tableName": table, "queryOptions": {"where": {name: "x"}}}), where_key).await;
                fails(set, "query_table", json!({"tableName": table, "queryOptions":
                    {"where": {name: {"$in": ["x"]}}}}), where_key).await;
                fails(set, "query_table", json!({"tableName": table, "queryOptions":
                    {"orderBy": [{"column": name}]}}), UNKNOWN).await;
            }
            calls += 12;
        }
        assert!(calls > 4_000);
        ok(&plugin, "drop_table", json!({"tableName": "plugin_owned"})).await;
        assert_eq!(snapshot(&db, &store).await, before);
        eprintln!("figures: {}: {} executor calls, tables and schemas unchanged", db.backend,
            calls_so_far() - calls_before);
    }

    async fn keywords_work_as_quoted_names(db, store) {
        let corpus = corpus();
        let calls_before = calls_so_far();
        bystander(&store).await;
        let before = snapshot(&db, &store).await;
        let admin = Executors::new(store.clone());
        // Each keyword as a table and a column name, through every executor; four at a time.
        let chunks: Vec<Vec<String>> =
            corpus.keywords.chunks(corpus.keywords.len().div_ceil(4)).map(<[String]>::to_vec).collect();
        let mut workers = Vec::new();
        for chunk in chunks {
            let admin = admin.clone();
            workers.push(tokio::spawn(async move {
                for k in &chunk {
                    keyword_table(&admin, k).await;
                }
            }));
        }
        for worker in workers {
            worker.await.unwrap();
        }
        // Every keyword as a column (and some as index names) of wide tables.
        for (n, chunk) in corpus.keywords.chunks(200).enumerate() {
            keyword_columns(&admin, &format!("kw_cols_{n}"), chunk).await;
        }
        assert_eq!(snapshot(&db, &store).await, before);
        eprintln!("figures: {}: {} executor calls, tables and schemas unchanged", db.backend,
            calls_so_far() - calls_before);
    }

    async fn text_values_round_trip_byte_for_byte(db, store) {
        let corpus = corpus();
        let calls_before = calls_so_far();
        bystander(&store).await;
        let before = snapshot(&db, &store).await;
        let admin = Executors::new(store.clone());
        let plugin = Executors::for_plugin(store.clone(), "hostile_plugin");
        let values = round_trip_values(&corpus);
        assert!(values.len() > 200, "{}", values.len());
        let schema = |name: &str| json!({"name": name, "columns": [
            {"name": "id", "type": "text", "constraints": ["primary_key"]},
            {"name": "body", "type": "text"},
            {"name": "doc", "type": "json"},
            {"name": "raw", "type": "blob"},
            {"name": "note", "type": "text"}
        ], "indexes": [{"name": format!("idx_{name}_body"), "columns": ["body"]}]});
        ok(&admin, "create_table", schema("hostile_values")).await;
        ok(&plugin, "create_table", schema("plugin_values")).await;
        for (set, table) in [(&admin, "hostile_values"), (&plugin, "plugin_values")] {
            for value in &values {
                value_round_trip(set, table, value).await;
            }
            for value in &corpus.nul_values {
                nul_value_refused(set, table, value).await;
            }
            // Every byte, as a blob.
            let bytes: Vec<u8> = (0..=255).collect();
            let id = ok(set, "insert_into_table",
                json!({"tableName": table, "data": {"raw": b64(&bytes)}})).await["id"].clone();
            let rows = ok(set, "query_table",
                json!({"tableName": table, "queryOptions": {"where": {"id": id}}})).await;
            assert_eq!(rows["results"][0]["raw"], b64(&bytes));
            ok(set, "delete_from_table", json!({"tableName": table, "id": id})).await;
        }
        ok(&admin, "drop_table", json!({"tableName": "hostile_values"})).await;
        ok(&plugin, "drop_table", json!({"tableName": "plugin_values"})).await;
        assert_eq!(snapshot(&db, &store).await, before);
        eprintln!("figures: {}: {} executor calls, tables and schemas unchanged", db.backend,
            calls_so_far() - calls_before);
    }

    async fn json_values_round_trip(db, store) {
        let corpus = corpus();
        let calls_before = calls_so_far();
        bystander(&store).await;
        let before = snapshot(&db, &store).await;
        let admin = Executors::new(store.clone());
        ok(&admin, "create_table", json!({"name": "hostile_json", "columns": [
            {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
            {"name": "doc", "type": "json"}]})).await;
        let mut docs = corpus.json_values.clone();
        for value in round_trip_values(&corpus) {
            docs.push(json!({ value.clone(): [value.clone(), {"nested": value}] }));
        }
        let depth = store.limits().max_json_depth();
        // The checked-in corpus covers deep nesting itself: 20, 40 and exactly the limit.
        let depths: BTreeSet<usize> = corpus.json_values.iter().map(json_depth).collect();
        for wanted in [20, 40, depth] {
            assert!(depths.contains(&wanted), "no corpus document {wanted} deep: {depths:?}");
        }
        assert_eq!(depths.last(), Some(&depth), "corpus json_values within the limit");
        assert!(!corpus.json_too_deep.is_empty());
        docs.push(nested_arrays(depth));
        docs.push(nested_objects(depth, "'\"\\; --"));
        docs.push(Value::Array((0..10_000).map(Value::from).collect()));
        docs.push(Value::Object((0..1_000).map(|i| (format!("k{i}"), Value::from(i))).collect()));
        for doc in &docs {
            let id: i64 = ok(&admin, "insert_into_table",
                json!({"tableName": "hostile_json", "data": {"doc": doc}})).await["id"]
                .as_str().unwrap().parse().unwrap();
            let rows = ok(&admin, "query_table",
                json!({"tableName": "hostile_json", "queryOptions": {"where": {"id": id}}})).await;
            assert_eq!(&rows["results"][0]["doc"], doc, "{}", short(doc));
            // PostgreSQL's jsonb numbers have no negative zero: -0.0 reads back as 0.0 (an
            // equal JSON value, differently spelt). Every other document reads back as written.
            if !(db.backend == "postgres" && doc.as_f64() == Some(0.0)) {
                assert_eq!(
                    rows["results"][0]["doc"].to_string(), doc.to_string(),
                    "byte for byte: {}", short(doc)
                );
            }
            let found = ok(&admin, "query_table", json!({"tableName": "hostile_json",
                "queryOptions": {"where": {"doc": {"$eq": doc}, "id": id}}})).await;
            assert_eq!(found["count"], 1, "equality with {}", short(doc));
            ok(&admin, "delete_from_table", json!({"tableName": "hostile_json", "id": id})).await;
        }
        for doc in corpus.json_too_deep.iter().cloned().chain([nested_arrays(depth + 1), nested_objects(depth + 1, "k")]) {
            assert!(json_depth(&doc) > depth, "{}", short(&doc));
            let error = fails(&admin, "insert_into_table",
                json!({"tableName": "hostile_json", "data": {"doc": doc}}), &["limit_exceeded"]).await;
            assert_eq!(error["limit"], "json_depth");
        }
        for value in &corpus.nul_values {
            fails(&admin, "insert_into_table", json!({"tableName": "hostile_json",
                "data": {"doc": {"k": value}}}), &["type_mismatch"]).await;
            fails(&admin, "insert_into_table", json!({"tableName": "hostile_json",
                "data": {"doc": {value: 1}}}), &["type_mismatch"]).await;
        }
        numbers(&admin).await;
        ok(&admin, "drop_table", json!({"tableName": "hostile_json"})).await;
        assert_eq!(snapshot(&db, &store).await, before);
        eprintln!("figures: {}: {} executor calls, tables and schemas unchanged", db.backend,
            calls_so_far() - calls_before);
    }
}

/// How deeply `doc` nests, as the limit counts it: a scalar is 0, `[]` is 1, `[[]]` is 2.
fn json_depth(doc: &Value) -> usize {
    match doc {
        Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn nested_arrays(depth: usize) -> Value {
    let mut doc = json!("bottom");
    for _ in 0..depth {
        doc = json!([doc]);
    }
    doc
}

fn nested_objects(depth: usize, key: &str) -> Value {
    let mut doc = json!(null);
    for _ in 0..depth {
        doc = json!({ key: doc });
    }
    doc
}

/// A table named `k` with a column named `k`, through every executor.
async fn keyword_table(admin: &Executors, k: &str) {
    let data = ok(
        admin,
        "create_table",
        json!({"name": k, "columns": [
            {"name": "pk_col", "type": "text", "constraints": ["primary_key"]},
            {"name": k, "type": "text", "constraints": ["not_null"]}
        ], "indexes": [{"name": format!("i_{k}"), "columns": [k], "unique": true}]}),
    )
    .await;
    assert_eq!(data["tableName"], k);
    let data = ok(
        admin,
        "insert_into_table",
        json!({"tableName": k, "data": {"pk_col": k, k: k}}),
    )
    .await;
    assert_eq!(data["id"], k);
    let rows = ok(
        admin,
        "query_table",
        json!({"tableName": k, "queryOptions": {"where": {k: k, "pk_col": {"$like": like_exactly(k)}},
            "orderBy": [{"column": k, "direction": "desc"}], "limit": 5}}),
    )
    .await;
    assert_eq!(rows["results"], json!([{"pk_col": k, k: k}]), "{k}");
    ok(
        admin,
        "update_table_record",
        json!({"tableName": k, "id": k, "data": {k: format!("{k}!")}}),
    )
    .await;
    let rows = ok(
        admin,
        "query_table",
        json!({"tableName": k, "queryOptions": {"where": {k: format!("{k}!")}}}),
    )
    .await;
    assert_eq!(rows["count"], 1, "{k}");
    assert_eq!(
        ok(admin, "table_exists", json!({"tableName": k})).await["exists"],
        true
    );
    ok(admin, "delete_from_table", json!({"tableName": k, "id": k})).await;
    ok(admin, "drop_table", json!({"tableName": k})).await;
    assert_eq!(
        ok(admin, "table_exists", json!({"tableName": k})).await["exists"],
        false
    );
}

/// A table whose columns are keywords, some of them also index names.
async fn keyword_columns(admin: &Executors, table: &str, keywords: &[String]) {
    let keywords: Vec<&String> = keywords.iter().filter(|k| *k != "pk_col").collect();
    let mut columns =
        vec![json!({"name": "pk_col", "type": "text", "constraints": ["primary_key"]})];
    columns.extend(keywords.iter().map(|k| json!({"name": k, "type": "text"})));
    let indexes: Vec<Value> = keywords
        .iter()
        .take(30)
        .map(|k| json!({"name": k, "columns": [k]}))
        .collect();
    ok(
        admin,
        "create_table",
        json!({"name": table, "columns": columns, "indexes": indexes}),
    )
    .await;
    let row: serde_json::Map<String, Value> = keywords
        .iter()
        .map(|k| ((*k).clone(), Value::from(k.as_str())))
        .chain([("pk_col".to_owned(), Value::from("one"))])
        .collect();
    ok(
        admin,
        "insert_into_table",
        json!({"tableName": table, "data": row}),
    )
    .await;
    let order: Vec<Value> = keywords
        .iter()
        .take(10)
        .map(|k| json!({"column": k}))
        .collect();
    let rows = ok(
        admin,
        "query_table",
        json!({"tableName": table, "queryOptions": {"where": row, "orderBy": order}}),
    )
    .await;
    assert_eq!(rows["results"], json!([row]));
    let upper: serde_json::Map<String, Value> = keywords
        .iter()
        .map(|k| ((*k).clone(), Value::from(k.to_uppercase())))
        .collect();
    ok(
        admin,
        "update_table_record",
        json!({"tableName": table, "id": "one", "data": upper}),
    )
    .await;
    let rows = ok(
        admin,
        "query_table",
        json!({"tableName": table, "queryOptions": {"where": upper}}),
    )
    .await;
    assert_eq!(rows["count"], 1);
    ok(
        admin,
        "delete_from_table",
        json!({"tableName": table, "id": "one"}),
    )
    .await;
    ok(admin, "drop_table", json!({"tableName": table})).await;
}

/// One hostile text value as an id, a text, a json string and a blob: written, found by
/// equality, IN and LIKE, updated, deleted.
async fn value_round_trip(set: &Executors, table: &str, value: &str) {
    let raw = b64(value.as_bytes());
    let data = ok(
        set,
        "insert_into_table",
        json!({"tableName": table, "data": {"id": value, "body": value, "doc": value, "raw": raw}}),
    )
    .await;
    assert_eq!(data["id"], value);
    let expected = json!([{"id": value, "body": value, "doc": value, "raw": raw, "note": null}]);
    let pattern = like_exactly(value);
    let mut queries = vec![
        json!({"where": {"id": value}}),
        json!({"where": {"body": value}}),
        json!({"where": {"body": {"$in": [value]}, "doc": value}}),
        json!({"where": {"raw": raw, "id": {"$eq": value}}}),
    ];
    if pattern.len() <= memtable::query::MAX_LIKE_PATTERN_LEN {
        queries.push(json!({"where": {"body": {"$like": pattern}}}));
    } else {
        fails(
            set,
            "query_table",
            json!({"tableName": table, "queryOptions":
            {"where": {"body": {"$like": pattern}}}}),
            &["invalid_params"],
        )
        .await;
    }
    for query in queries {
        let rows = ok(
            set,
            "query_table",
            json!({"tableName": table, "queryOptions": query}),
        )
        .await;
        assert_eq!(rows["results"], expected, "{}", short(&query));
        // Byte for byte, not only equal as JSON values.
        assert_eq!(
            rows["results"][0]["body"].as_str().map(str::as_bytes),
            Some(value.as_bytes())
        );
    }
    // The value as a raw LIKE pattern: rows or a clear refusal, never a database error.
    let result = call(
        set,
        "query_table",
        json!({"tableName": table, "queryOptions": {"where": {"body": {"$like": value}}}}),
    )
    .await;
    if result["success"] != true {
        assert_eq!(
            result["data"]["error"]["kind"],
            "invalid_params",
            "{}",
            short(&result)
        );
    }
    ok(
        set,
        "update_table_record",
        json!({"tableName": table, "id": value, "data": {"note": value}}),
    )
    .await;
    let rows = ok(
        set,
        "query_table",
        json!({"tableName": table, "queryOptions": {"where": {"note": value}}}),
    )
    .await;
    assert_eq!(rows["results"][0]["note"], value);
    ok(
        set,
        "delete_from_table",
        json!({"tableName": table, "id": value}),
    )
    .await;
    let error = fails(
        set,
        "delete_from_table",
        json!({"tableName": table, "id": value}),
        &["record_not_found"],
    )
    .await;
    assert!(error["id"].as_str().unwrap().len() <= 204);
    let rows = ok(
        set,
        "query_table",
        json!({"tableName": table, "queryOptions": {"where": {"body": value}}}),
    )
    .await;
    assert_eq!(rows["count"], 0);
}

/// A value with a NUL: refused as text, json and id; stored as a blob.
async fn nul_value_refused(set: &Executors, table: &str, value: &str) {
    const MISMATCH: &[&str] = &["type_mismatch"];
    for data in [
        json!({"id": value}),
        json!({"body": value}),
        json!({"doc": value}),
        json!({"doc": {"k": [value]}}),
    ] {
        fails(
            set,
            "insert_into_table",
            json!({"tableName": table, "data": data}),
            MISMATCH,
        )
        .await;
    }
    for query in [
        json!({"where": {"body": value}}),
        json!({"where": {"id": {"$in": [value]}}}),
        json!({"where": {"body": {"$like": value}}}),
    ] {
        fails(
            set,
            "query_table",
            json!({"tableName": table, "queryOptions": query}),
            MISMATCH,
        )
        .await;
    }
    fails(
        set,
        "update_table_record",
        json!({"tableName": table, "id": value, "data": {"note": "x"}}),
        MISMATCH,
    )
    .await;
    fails(
        set,
        "delete_from_table",
        json!({"tableName": table, "id": value}),
        MISMATCH,
    )
    .await;
    let raw = b64(value.as_bytes());
    let id = ok(
        set,
        "insert_into_table",
        json!({"tableName": table, "data": {"raw": raw}}),
    )
    .await["id"]
        .clone();
    let rows = ok(
        set,
        "query_table",
        json!({"tableName": table, "queryOptions": {"where": {"raw": raw}}}),
    )
    .await;
    assert_eq!(rows["results"][0]["raw"], raw);
    ok(
        set,
        "delete_from_table",
        json!({"tableName": table, "id": id}),
    )
    .await;
}

/// The extremes of every numeric type: stored exactly, or refused with `type_mismatch`.
async fn numbers(admin: &Executors) {
    ok(
        admin,
        "create_table",
        json!({"name": "hostile_numbers", "columns": [
            {"name": "id", "type": "bigint", "constraints": ["primary_key"]},
            {"name": "i", "type": "integer"},
            {"name": "r", "type": "real"}
        ]}),
    )
    .await;
    let rows = [
        json!({"id": i64::MAX, "i": i32::MAX, "r": f64::MAX}),
        json!({"id": i64::MIN, "i": i32::MIN, "r": f64::MIN}),
        json!({"id": 0, "i": 0, "r": 5e-324}),
        json!({"id": -1, "i": -1, "r": 2.2250738585072014e-308}),
        json!({"id": 9_007_199_254_740_993_i64, "i": 1, "r": 0.1}),
    ];
    for row in &rows {
        ok(
            admin,
            "insert_into_table",
            json!({"tableName": "hostile_numbers", "data": row}),
        )
        .await;
        let found = ok(
            admin,
            "query_table",
            json!({"tableName": "hostile_numbers", "queryOptions": {"where": {"id": row["id"]}}}),
        )
        .await;
        assert_eq!(found["results"], json!([row]));
        assert_eq!(found["results"][0].to_string(), row.to_string());
    }
    for data in [
        json!({"id": 1, "i": 2_147_483_648_i64}),
        json!({"id": u64::MAX}),
        json!({"id": 1.5}),
        json!({"id": 1, "i": "1"}),
        json!({"id": 1, "r": "NaN"}),
    ] {
        fails(
            admin,
            "insert_into_table",
            json!({"tableName": "hostile_numbers", "data": data}),
            &["type_mismatch"],
        )
        .await;
    }
    ok(admin, "drop_table", json!({"tableName": "hostile_numbers"})).await;
}

// ---- limits: each at the limit and just past it ----

fn limit_of(result: memtable::Result<impl std::fmt::Debug>) -> (LimitKind, usize, usize) {
    match result {
        Err(Error::LimitExceeded {
            limit, max, actual, ..
        }) => (limit, max, actual),
        other => panic!("expected LimitExceeded, got {other:?}"),
    }
}

/// A schema with `columns` text columns (the first the key), `indexes` indexes of
/// `index_columns` columns each, and names `name_len` bytes long.
fn wide_schema(
    columns: usize,
    indexes: usize,
    index_columns: usize,
    name_len: usize,
) -> TableSchema {
    let name = |prefix: &str, i: usize| {
        let base = format!("{prefix}{i}_");
        format!("{base}{}", "x".repeat(name_len.saturating_sub(base.len())))
    };
    let mut schema = TableSchema::new(
        name("t", 0),
        (0..columns)
            .map(|i| {
                let column = Column::new(name("c", i), ColumnType::Text);
                if i == 0 {
                    column.with(Constraint::PrimaryKey)
                } else {
                    column
                }
            })
            .collect(),
    );
    for i in 0..indexes {
        schema = schema.with_index(Index::new(
            name("i", i),
            (0..index_columns).map(|c| name("c", c)),
            false,
        ));
    }
    schema
}

fn deep_filter(depth: usize) -> Filter {
    let mut filter = Filter::eq("n", 1);
    for _ in 1..depth {
        filter = Filter::And(vec![filter]);
    }
    filter
}

/// Drops a deep filter one level at a time (dropping it whole would recurse once per level).
fn dismantle(filter: Filter) {
    let mut pending = vec![filter];
    while let Some(filter) = pending.pop() {
        if let Filter::And(children) = filter {
            pending.extend(children);
        }
    }
}

fn nested_json(depth: usize) -> Value {
    nested_arrays(depth)
}

both_backends! {
    async fn schema_limits_at_and_past(db, store) {
        let limits = *store.limits();
        assert_eq!(limits, Limits::default());
        // Names: 63 bytes is PostgreSQL's maximum and the default.
        store.create_table(&wide_schema(3, 1, 1, 63)).await.unwrap();
        assert!(matches!(
            store.create_table(&wide_schema(3, 1, 1, 64)).await,
            Err(Error::InvalidIdentifier { .. })
        ));
        let short = Store::builder(&db.url)
            .limits(Limits::default().with_max_identifier_len(20))
            .connect()
            .await
            .unwrap();
        let mut at = wide_schema(3, 1, 1, 20);
        at.name = "t_short_names_at_20x".into();
        short.create_table(&at).await.unwrap();
        let mut past = wide_schema(3, 1, 1, 21);
        past.name = "t_short_names_past_x".into();
        assert_eq!(
            limit_of(short.create_table(&past).await),
            (LimitKind::IdentifierLength, 20, 21)
        );
        // Columns, indexes, columns per index.
        let mut at = wide_schema(256, 32, 32, 10);
        at.name = "t_wide_at".into();
        store.create_table(&at).await.unwrap();
        let mut record = Record::new();
        for column in &at.columns {
            record.insert(column.name.clone(), "v");
        }
        store.insert_into_table("t_wide_at", record).await.unwrap();
        for (columns, indexes, index_columns, expected) in [
            (257, 0, 1, (LimitKind::Columns, 256, 257)),
            (40, 33, 1, (LimitKind::Indexes, 32, 33)),
            (40, 1, 33, (LimitKind::IndexColumns, 32, 33)),
        ] {
            let mut past = wide_schema(columns, indexes, index_columns, 10);
            past.name = "t_wide_past".into();
            assert_eq!(limit_of(store.create_table(&past).await), expected);
            assert!(!store.table_exists("t_wide_past").await.unwrap());
        }
        // The same through an executor.
        let agent = Executors::new(store.clone());
        let mut past = wide_schema(257, 0, 1, 10);
        past.name = "t_wide_past".into();
        let error = fails(&agent, "create_table", past.to_json(), &["limit_exceeded"]).await;
        assert_eq!(error, json!({"kind": "limit_exceeded", "limit": "columns",
            "table": "t_wide_past", "max": 256, "actual": 257}));
    }

    async fn record_size_at_and_past(db, store) {
        const MAX: usize = 1024 * 1024;
        store.create_table(&TableSchema::from_json(json!({"name": "big", "columns": [
            {"name": "id", "type": "integer", "constraints": ["primary_key"]},
            {"name": "body", "type": "text"}, {"name": "raw", "type": "blob"},
            {"name": "doc", "type": "json"}]})).unwrap()).await.unwrap();
        // MAX - 9 + 5 + 4 (the JSON text "12", quotes included) bytes.
        let at = || Record::new().with("id", 1).with("body", "a".repeat(MAX - 9))
            .with("raw", vec![0_u8; 5]).with("doc", json!("12"));
        let past = || at().with("doc", json!("123"));
        store.insert_into_table("big", at()).await.unwrap();
        assert_eq!(
            limit_of(store.insert_into_table("big", past().with("id", 2)).await),
            (LimitKind::RecordSize, MAX, MAX + 1)
        );
        store.update_table_record("big", "1", at().with("body", "b".repeat(MAX - 9))).await.unwrap();
        assert_eq!(
            limit_of(store.update_table_record("big", "1", past()).await),
            (LimitKind::RecordSize, MAX, MAX + 1)
        );
        store.upsert_into_table("big", at()).await.unwrap();
        assert_eq!(
            limit_of(store.upsert_into_table("big", past()).await),
            (LimitKind::RecordSize, MAX, MAX + 1)
        );
        // One record past the limit refuses the whole batch.
        assert_eq!(
            limit_of(store.insert_many_into_table("big", vec![
                at().with("id", 10), past().with("id", 11)]).await),
            (LimitKind::RecordSize, MAX, MAX + 1)
        );
        assert_eq!(store.count("big", None).await.unwrap(), 1);
        let rows = store.query_table("big", &QueryOptions::new()).await.unwrap();
        assert_eq!(rows[0].get("body").and_then(memtable::Value::as_str).map(str::len), Some(MAX - 9));
        // Through an executor, with the limit named.
        let agent = Executors::new(store.clone());
        let error = fails(&agent, "insert_into_table", json!({"tableName": "big", "data": {
            "id": 3, "body": "a".repeat(MAX + 1)}}), &["limit_exceeded"]).await;
        assert_eq!(error, json!({"kind": "limit_exceeded", "limit": "record_size",
            "table": "big", "max": MAX, "actual": MAX + 1}));
        // A lower limit.
        let small = Store::builder(&db.url)
            .limits(Limits::default().with_max_record_bytes(100))
            .connect().await.unwrap();
        small.insert_into_table("big", Record::new().with("id", 4).with("body", "a".repeat(100)))
            .await.unwrap();
        assert_eq!(
            limit_of(small.insert_into_table("big",
                Record::new().with("id", 5).with("body", "a".repeat(101))).await),
            (LimitKind::RecordSize, 100, 101)
        );
    }

    async fn executor_row_cap_at_and_past(db, store) {
        store.create_table(&TableSchema::from_json(json!({"name": "many", "columns": [
            {"name": "id", "type": "integer", "constraints": ["primary_key"]}]})).unwrap())
            .await.unwrap();
        let rows = |range: std::ops::Range<i64>| range.map(|i| Record::new().with("id", i)).collect();
        store.insert_many_into_table("many", rows(0..1_000)).await.unwrap();
        let agent = Executors::new(store.clone());
        assert_eq!(agent.max_rows(), 1_000);
        let all = json!({"tableName": "many"});
        // At the cap: every row, nothing said.
        let data = ok(&agent, "query_table", all.clone()).await;
        assert_eq!(data["count"], 1_000);
        assert!(data.get("truncated").is_none(), "{}", short(&data));
        // Past it: the first 1,000, and truncated.
        store.insert_many_into_table("many", rows(1_000..1_001)).await.unwrap();
        for params in [all.clone(), json!({"tableName": "many", "queryOptions": {"limit": 5_000}})] {
            let data = ok(&agent, "query_table", params).await;
            assert_eq!(data["count"], 1_000);
            assert_eq!(data["truncated"], true);
            assert_eq!(data["limit"], 1_000);
            assert!(data["message"].as_str().unwrap().contains("offset"));
        }
        // A limit under the cap is the caller's own: not truncated.
        let data = ok(&agent, "query_table",
            json!({"tableName": "many", "queryOptions": {"limit": 1_000}})).await;
        assert_eq!(data["count"], 1_000);
        assert!(data.get("truncated").is_none());
        // The next page.
        let data = ok(&agent, "query_table", json!({"tableName": "many",
            "queryOptions": {"orderBy": [{"column": "id"}], "offset": 1_000}})).await;
        assert_eq!(data["results"], json!([{"id": 1_000}]));
        // Another cap, for the set or for the store.
        let data = ok(&agent.clone().with_max_rows(10), "query_table", all.clone()).await;
        assert_eq!((data["count"].as_u64(), data["truncated"].as_bool()), (Some(10), Some(true)));
        let capped = Store::builder(&db.url).limits(Limits::default().with_max_rows(1_001))
            .connect().await.unwrap();
        let data = ok(&Executors::new(capped), "query_table", json!({"tableName": "many"})).await;
        assert_eq!(data["count"], 1_001);
        assert!(data.get("truncated").is_none());
        // The store's own query_table is not capped.
        assert_eq!(store.query_table("many", &QueryOptions::new()).await.unwrap().len(), 1_001);
    }

    async fn filter_limits_at_and_past(db, store) {
        let mut columns = vec![json!({"name": "id", "type": "integer", "constraints": ["primary_key"]}),
            json!({"name": "n", "type": "integer"}), json!({"name": "doc", "type": "json"})];
        columns.extend((0..30).map(|i| json!({"name": format!("c{i}"), "type": "integer"})));
        store.create_table(&TableSchema::from_json(json!({"name": "f", "columns": columns})).unwrap())
            .await.unwrap();
        store.insert_into_table("f", Record::new().with("id", 1).with("n", 1)).await.unwrap();
        // Depth: 32 levels, then 33, then 100,000 (refused without walking it recursively).
        let query = |filter| QueryOptions::new().filter(filter);
        assert_eq!(store.query_table("f", &query(deep_filter(32))).await.unwrap().len(), 1);
        assert_eq!(store.count("f", Some(&deep_filter(32))).await.unwrap(), 1);
        assert_eq!(limit_of(store.query_table("f", &query(deep_filter(33))).await),
            (LimitKind::FilterDepth, 32, 33));
        let deep = query(deep_filter(100_000));
        assert_eq!(limit_of(store.query_table("f", &deep).await).0, LimitKind::FilterDepth);
        assert_eq!(limit_of(store.count("f", deep.filter.as_ref()).await).0, LimitKind::FilterDepth);
        dismantle(deep.filter.unwrap());
        // Conditions: 256, then 257, then 100,000 (which SQLite alone would refuse, and whose
        // rendering would exhaust the stack).
        let wide = |n: usize| Filter::And((0..n).map(|i| Filter::ne("n", i as i64 + 2)).collect());
        assert_eq!(store.query_table("f", &query(wide(256))).await.unwrap().len(), 1);
        assert_eq!(limit_of(store.query_table("f", &query(wide(257))).await),
            (LimitKind::FilterConditions, 256, 257));
        assert_eq!(limit_of(store.query_table("f", &query(wide(100_000))).await).0,
            LimitKind::FilterConditions);
        // JSON documents in a filter: 64 levels, then 65.
        store.query_table("f", &query(Filter::eq("doc", nested_json(64)))).await.unwrap();
        assert_eq!(limit_of(store.query_table("f", &query(Filter::eq("doc", nested_json(65)))).await),
            (LimitKind::JsonDepth, 64, 65));
        // The JSON form: conditions on 30 columns, 9 operators each = 270 conditions.
        let agent = Executors::new(store.clone());
        let ops = ["$ne", "$lt", "$lte", "$gt", "$gte", "$nin", "$in", "$null", "$eq"];
        let condition = |op: &str| match op {
            "$in" | "$nin" => json!([5, 6]),
            "$null" => json!(true),
            "$lt" | "$lte" => json!(100),
            _ => json!(-100),
        };
        let mut at = serde_json::Map::new();
        let mut past = serde_json::Map::new();
        let mut conditions = 0;
        for i in 0..30 {
            let ops_here: serde_json::Map<String, Value> =
                ops.iter().map(|op| ((*op).to_owned(), condition(op))).collect();
            past.insert(format!("c{i}"), Value::Object(ops_here.clone()));
            // 28 columns of 9 and one of 4: 256 conditions.
            if conditions < 256 {
                let take = (256 - conditions).min(9);
                at.insert(format!("c{i}"), Value::Object(ops_here.into_iter().take(take).collect()));
                conditions += take;
            }
        }
        ok(&agent, "query_table", json!({"tableName": "f", "queryOptions": {"where": at}})).await;
        let error = fails(&agent, "query_table",
            json!({"tableName": "f", "queryOptions": {"where": past}}), &["limit_exceeded"]).await;
        assert_eq!((error["limit"].as_str(), error["max"].as_u64()), (Some("filter_conditions"), Some(256)));
        // Parameters nested far deeper than any value may be: refused whole, not walked.
        // (Built and handed over without a copy: cloning, printing or dropping a document this
        // deep recurses once per level, in the caller as anywhere.)
        let mut deep_params = json!(1);
        for _ in 0..100_000 {
            deep_params = Value::Array(vec![deep_params]);
        }
        let mut params = json!({"tableName": "f", "queryOptions": {"where": {"doc": null}}});
        params["queryOptions"]["where"]["doc"] = deep_params;
        let deep_params = params;
        let result = agent.execute("query_table", deep_params).await;
        assert_eq!(result["data"]["error"], json!({"kind": "limit_exceeded", "limit": "json_depth",
            "table": "f", "max": 68, "actual": 100_003}));
        let _ = db;
    }
}
