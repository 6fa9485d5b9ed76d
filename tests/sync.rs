//! Schema evolution on a SQLite file and on PostgreSQL: `Store::sync_table` and
//! `sync_table_for` from v1 to v2 (a nullable column, a column with a default, an index), the
//! refusal of a v3 with every difference named, column defaults through JSON, the derive and
//! the catalog, a store with a stale cache, bad input, and four processes syncing at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::str::FromStr as _;
use std::time::{Duration, Instant};

use memtable::executor::Executors;
use memtable::{
    Column, ColumnType, ConstraintKind, Error, Filter, LimitKind, OrderBy, QueryOptions, Record,
    SchemaProblem, Store, SyncReport, Table, TableSchema, Value,
};
use memtable_tests::both_backends;
use memtable_tests::fixture::TestDb;
use serde_json::json;
use sqlx::Connection as _;

mod v1 {
    #[derive(memtable::Table, Debug, Clone, PartialEq)]
    #[memtable(table = "tasks")]
    pub struct Task {
        #[memtable(primary_key)]
        pub id: String,
        pub title: String,
        pub done: bool,
    }
}

mod v2 {
    #[derive(memtable::Table, Debug, Clone, PartialEq)]
    #[memtable(table = "tasks", index(name = "idx_tasks_priority", columns(priority)))]
    pub struct Task {
        #[memtable(primary_key)]
        pub id: String,
        pub title: String,
        pub done: bool,
        pub note: Option<String>,
        #[memtable(default = 3)]
        pub priority: i64,
    }
}

mod v3 {
    /// v2 without `done`, with `priority` narrowed to 32 bits, and without the index.
    #[derive(memtable::Table, Debug, Clone, PartialEq)]
    #[memtable(table = "tasks")]
    pub struct Task {
        #[memtable(primary_key)]
        pub id: String,
        pub title: String,
        pub note: Option<String>,
        #[memtable(default = 3)]
        pub priority: i32,
    }
}

fn v1_task(id: &str, title: &str) -> v1::Task {
    v1::Task {
        id: id.into(),
        title: title.into(),
        done: false,
    }
}

async fn v2_tasks(store: &Store) -> Vec<v2::Task> {
    store
        .select::<v2::Task>()
        .order_by(v2::Task::ID.asc())
        .all()
        .await
        .unwrap()
}

fn differences(error: Error) -> (String, Vec<String>) {
    match error {
        Error::SchemaMismatch {
            table, differences, ..
        } => (table, differences),
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
}

/// The text a hostile caller would like to see run: as a default it must be stored and read
/// back exactly, never executed.
const HOSTILE: &str = "'); DROP TABLE x; -- \\' \" \\\\ \n\t end";

fn with_defaults() -> TableSchema {
    TableSchema::from_json(json!({
        "name": "defaults",
        "columns": [
            {"name": "id", "type": "text", "constraints": ["primary_key"]},
            {"name": "t", "type": "text", "constraints": ["not_null"], "default": HOSTILE},
            {"name": "i", "type": "integer", "default": -7},
            {"name": "b", "type": "bigint", "constraints": ["not_null"], "default": 1_u64 << 40},
            {"name": "r", "type": "real", "default": 1.5},
            {"name": "raw", "type": "blob", "default": "AAEC/w=="},
            {"name": "doc", "type": "json", "default": {"a": [1, "x'y"], "b": null}},
            {"name": "flag", "type": "boolean", "constraints": ["not_null"], "default": true}
        ]
    }))
    .unwrap()
}

fn assert_defaults(row: &Record) {
    assert_eq!(row.get("t"), Some(&Value::Text(HOSTILE.into())));
    assert_eq!(row.get("i"), Some(&Value::Integer(-7)));
    assert_eq!(row.get("b"), Some(&Value::Integer(1 << 40)));
    assert_eq!(row.get("r"), Some(&Value::Real(1.5)));
    assert_eq!(row.get("raw"), Some(&Value::Blob(vec![0, 1, 2, 255])));
    assert_eq!(
        row.get("doc"),
        Some(&Value::Json(json!({"a": [1, "x'y"], "b": null})))
    );
    assert_eq!(row.get("flag"), Some(&Value::Bool(true)));
}

both_backends! {
    async fn v1_to_v2_to_v3(db, store) {
        let report = store.sync_table_for::<v1::Task>().await.unwrap();
        assert!(report.created, "{report:?}");
        store.insert(&v1_task("a", "first")).await.unwrap();
        store.insert(&v1_task("b", "second")).await.unwrap();

        let report = store.sync_table_for::<v2::Task>().await.unwrap();
        assert!(!report.created);
        assert_eq!(report.added_columns, ["note", "priority"]);
        assert_eq!(report.added_indexes, ["idx_tasks_priority"]);
        let tasks = v2_tasks(&store).await;
        assert_eq!(tasks.len(), 2);
        for (task, (id, title)) in tasks.iter().zip([("a", "first"), ("b", "second")]) {
            assert_eq!(task.id, id);
            assert_eq!(task.title, title);
            assert_eq!(task.note, None);
            assert_eq!(task.priority, 3, "the v1 rows got the default");
        }

        // Again: nothing to do, and create_table with v2 is now the same table.
        let report = store.sync_table_for::<v2::Task>().await.unwrap();
        assert!(report.is_unchanged(), "{report:?}");
        assert_eq!(report, SyncReport::default());
        store.create_table_for::<v2::Task>().await.unwrap();
        let (_, old) = differences(store.create_table_for::<v1::Task>().await.unwrap_err());
        assert_eq!(old, ["column \"note\" is missing", "column \"priority\" is missing", "index \"idx_tasks_priority\" is missing"]);

        // A dynamic insert that leaves the column out gets its default; the index is there.
        store
            .insert_into_table("tasks", Record::new().with("id", "c").with("title", "dynamic").with("done", true))
            .await
            .unwrap();
        let found = store
            .select::<v2::Task>()
            .filter(v2::Task::PRIORITY.eq(3_i64))
            .count()
            .await
            .unwrap();
        assert_eq!(found, 3);

        // v3 drops a field, narrows a type and drops the index: every difference, nothing done.
        let error = store.sync_table_for::<v3::Task>().await.unwrap_err();
        assert_eq!(error.kind().as_str(), "schema_mismatch");
        let message = error.to_string();
        let (table, listed) = differences(error);
        assert_eq!(table, "tasks");
        assert_eq!(
            listed,
            [
                "column \"done\" is missing",
                "column \"priority\" is bigint, not integer",
                "index \"idx_tasks_priority\" is missing",
            ]
        );
        for difference in &listed {
            assert!(message.contains(difference.as_str()), "{message}");
        }
        assert!(store.table_schema("tasks").await.unwrap().differences(&v2::Task::schema()).is_empty());
        let fresh = db.connect().await;
        assert!(fresh.table_schema("tasks").await.unwrap().differences(&v2::Task::schema()).is_empty());
        assert_eq!(v2_tasks(&fresh).await.len(), 3);
    }

    async fn defaults_round_trip(db, store) {
        let schema = with_defaults();
        // JSON.
        assert_eq!(TableSchema::from_json(schema.to_json()).unwrap(), schema);
        assert_eq!(schema.to_json()["columns"][1]["default"], HOSTILE);
        store.create_table(&schema).await.unwrap();
        // create_table stays strict: another default is another schema.
        let mut other = schema.clone();
        other.columns[2] = other.columns[2].clone().with_default(json!(8));
        let (_, listed) = differences(store.create_table(&other).await.unwrap_err());
        assert_eq!(listed, ["column \"i\" has another default than the schema's"]);
        let mut none = schema.clone();
        none.columns[2].default = None;
        let (_, listed) = differences(store.create_table(&none).await.unwrap_err());
        assert_eq!(listed, ["column \"i\" has a default, the schema gives none"]);
        // The same default written another way (1.5 is 1.5; 2^40 as a float) is the same.
        let mut same = schema.clone();
        same.columns[3].default = Some(json!(1_099_511_627_776.0));
        store.create_table(&same).await.unwrap();

        // Omitted columns get the defaults: one row, a batch, an upsert.
        store.insert_into_table("defaults", Record::new().with("id", "one")).await.unwrap();
        store
            .insert_many_into_table(
                "defaults",
                vec![
                    Record::new().with("id", "many1"),
                    Record::new().with("id", "many2").with("i", 1),
                ],
            )
            .await
            .unwrap();
        store.upsert_into_table("defaults", Record::new().with("id", "up")).await.unwrap();
        let rows = store
            .query_table("defaults", &QueryOptions::new().order_by(OrderBy::asc("id")))
            .await
            .unwrap();
        assert_eq!(rows.len(), 4);
        for row in &rows {
            if row.get("id") == Some(&Value::Text("many2".into())) {
                assert_eq!(row.get("i"), Some(&Value::Integer(1)));
            } else {
                assert_defaults(row);
            }
        }
        // An explicit NULL is NULL, not the default.
        store.insert_into_table("defaults", Record::new().with("id", "null").with("i", Value::Null)).await.unwrap();
        let row = store.query_table("defaults", &QueryOptions::new().filter(Filter::eq("id", "null"))).await.unwrap();
        assert_eq!(row[0].get("i"), Some(&Value::Null));

        // The catalog: a new process reads the same defaults back.
        let fresh = db.connect().await;
        assert_eq!(fresh.table_schema("defaults").await.unwrap(), schema);
        assert!(fresh.table_exists("x").await.is_ok());

        // Added by a sync to rows already there: each gets the exact text.
        let mut grown = schema.clone();
        grown.columns.push(Column::new("added", ColumnType::Text).with(memtable::Constraint::NotNull).with_default(HOSTILE));
        let report = fresh.sync_table(&grown).await.unwrap();
        assert_eq!(report.added_columns, ["added"]);
        let rows = fresh.query_table("defaults", &QueryOptions::new()).await.unwrap();
        assert_eq!(rows.len(), 5);
        assert!(rows.iter().all(|row| row.get("added") == Some(&Value::Text(HOSTILE.into()))));
    }

    async fn derived_defaults(db, store) {
        #[derive(memtable::Table, Debug, PartialEq)]
        #[memtable(table = "derived_defaults")]
        struct Defaults {
            #[memtable(primary_key, auto_increment)]
            id: i64,
            #[memtable(default = "it's")]
            text: String,
            #[memtable(default = -2)]
            small: i32,
            #[memtable(default = 2.5)]
            real: f64,
            #[memtable(default = 4)]
            whole_real: Option<f64>,
            #[memtable(default = false)]
            flag: bool,
            #[memtable(json, default = "doc")]
            doc: serde_json::Value,
        }
        let schema = Defaults::schema();
        let default = |name: &str| schema.column(name).unwrap().default.clone();
        assert_eq!(default("text"), Some(json!("it's")));
        assert_eq!(default("small"), Some(json!(-2)));
        assert_eq!(default("real"), Some(json!(2.5)));
        assert_eq!(default("whole_real"), Some(json!(4)));
        assert_eq!(default("flag"), Some(json!(false)));
        assert_eq!(default("doc"), Some(json!("doc")));
        assert_eq!(default("id"), None);
        store.create_table_for::<Defaults>().await.unwrap();
        let id = store.insert_into_table("derived_defaults", Record::new()).await.unwrap();
        let row: Defaults = store.find(&id).await.unwrap().unwrap();
        assert_eq!(
            row,
            Defaults { id: 1, text: "it's".into(), small: -2, real: 2.5, whole_real: Some(4.0), flag: false, doc: json!("doc") }
        );
        let fresh = db.connect().await;
        assert_eq!(fresh.table_schema("derived_defaults").await.unwrap(), schema);
    }

    async fn a_stale_cache_picks_up_the_new_columns(db, store) {
        store.sync_table_for::<v1::Task>().await.unwrap();
        store.insert(&v1_task("a", "first")).await.unwrap();
        // Other stores (other processes) that know v1.
        let stale = db.connect().await;
        let stale_executors = Executors::new(db.connect().await);
        let stale_query = db.connect().await;
        let stale_batch = db.connect().await;
        for other in [&stale, stale_executors.store(), &stale_query, &stale_batch] {
            assert_eq!(other.table_schema("tasks").await.unwrap(), v1::Task::schema());
        }

        store.sync_table_for::<v2::Task>().await.unwrap();

        // Typed insert and read of v2 through a store whose cache is v1.
        let task = v2::Task { id: "b".into(), title: "second".into(), done: true, note: Some("n".into()), priority: 9 };
        stale.insert(&task).await.unwrap();
        assert_eq!(stale.find::<v2::Task>("b").await.unwrap(), Some(task));
        // A filter on a new column, from a store that never wrote.
        let rows = stale_query
            .query_table("tasks", &QueryOptions::new().filter(Filter::eq("priority", 3)))
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get("id"), Some(&Value::Text("a".into())));
        // And through the executors.
        let inserted = stale_executors
            .execute("insert_into_table", json!({"tableName": "tasks", "data": {"id": "c", "title": "third", "done": false, "note": "x"}}))
            .await;
        assert_eq!(inserted["success"], true, "{inserted}");
        let updated = stale_executors
            .execute("update_table_record", json!({"tableName": "tasks", "where": {"priority": 3}, "data": {"note": "y"}}))
            .await;
        assert_eq!(updated["data"]["updated"], 2, "{updated}");
        // A batch large enough that PostgreSQL's COPY checks the names while it writes, with
        // the new column named only by its last record; then one with a column in no version,
        // refused whole.
        let batch = |last: &str| {
            (0..2_000)
                .map(|i| {
                    let record = Record::new().with("id", format!("many{i}")).with("title", "t").with("done", false);
                    if i == 1_999 { record.with(last, "late") } else { record }
                })
                .collect::<Vec<_>>()
        };
        let ids = stale_batch.insert_many_into_table("tasks", batch("note")).await.unwrap();
        assert_eq!(ids.len(), 2_000);
        assert_eq!(ids[1_999], "many1999");
        let rows = stale_batch
            .query_table("tasks", &QueryOptions::new().filter(Filter::eq("note", "late")))
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get("id"), Some(&Value::Text("many1999".into())));
        assert_eq!(rows[0].get("priority"), Some(&Value::Integer(3)));
        assert_eq!(stale_batch.query_table("tasks", &QueryOptions::new()).await.unwrap().len(), 2_003);
        let unknown = stale_batch.insert_many_into_table("tasks", batch("nope")).await.unwrap_err();
        assert!(matches!(unknown, Error::UnknownColumn { ref table, ref column } if table == "tasks" && column == "nope"), "{unknown:?}");
        assert_eq!(stale_batch.query_table("tasks", &QueryOptions::new()).await.unwrap().len(), 2_003);

        // A column that is in no version is still refused, after one look at the catalog.
        let unknown = stale
            .insert_into_table("tasks", Record::new().with("id", "d").with("title", "t").with("done", true).with("nope", 1))
            .await
            .unwrap_err();
        assert!(matches!(unknown, Error::UnknownColumn { ref table, ref column } if table == "tasks" && column == "nope"), "{unknown:?}");
        let unknown = stale_executors
            .execute("query_table", json!({"tableName": "tasks", "queryOptions": {"where": {"nope": 1}}}))
            .await;
        assert_eq!(unknown["data"]["error"]["kind"], "unknown_column", "{unknown}");
    }

    async fn bad_input_is_refused_and_changes_nothing(db, store) {
        store.sync_table_for::<v1::Task>().await.unwrap();
        store.insert(&v1_task("a", "first")).await.unwrap();
        store.insert(&v1_task("b", "first")).await.unwrap();
        let unchanged = |store: Store| async move {
            assert_eq!(store.table_schema("tasks").await.unwrap(), v1::Task::schema());
            let rows = store.query_table("tasks", &QueryOptions::new()).await.unwrap();
            assert_eq!(rows.len(), 2);
            assert!(rows.iter().all(|row| row.len() == 3), "{rows:?}");
        };
        let grown = |column: serde_json::Value| {
            let mut schema = v1::Task::schema().to_json();
            schema["columns"].as_array_mut().unwrap().push(column);
            schema
        };

        // A default that does not fit its column.
        for (column, default) in [("integer", json!("x")), ("integer", json!(1_u64 << 40)), ("boolean", json!(1)), ("text", json!(5)), ("blob", json!("not base64!"))] {
            let error = TableSchema::from_json(grown(json!({"name": "extra", "type": column, "default": default}))).unwrap_err();
            match error {
                Error::InvalidSchema { table, problem: SchemaProblem::InvalidDefault { column, .. } } => {
                    assert_eq!((table.as_str(), column.as_str()), ("tasks", "extra"));
                }
                other => panic!("expected InvalidDefault, got {other:?}"),
            }
        }
        // Built in Rust, the same refusal comes from the store.
        let mut schema = v1::Task::schema();
        schema.columns.push(Column::new("extra", ColumnType::Integer).with_default(json!("x")));
        let error = store.sync_table(&schema).await.unwrap_err();
        assert!(matches!(error, Error::InvalidSchema { ref table, problem: SchemaProblem::InvalidDefault { ref column, .. } } if table == "tasks" && column == "extra"), "{error:?}");
        // A primary key cannot have one.
        let mut keyed = v1::Task::schema();
        keyed.columns[0].default = Some(json!("k"));
        assert!(matches!(store.sync_table(&keyed).await.unwrap_err(), Error::InvalidSchema { problem: SchemaProblem::InvalidDefault { ref column, .. }, .. } if column == "id"));

        // An index on a missing column.
        let mut indexed = v1::Task::schema();
        indexed.indexes.push(memtable::Index::new("idx_missing", ["missing"], false));
        let error = store.sync_table(&indexed).await.unwrap_err();
        assert!(matches!(error, Error::InvalidSchema { ref table, problem: SchemaProblem::UnknownIndexColumn { ref index, ref column } } if table == "tasks" && index == "idx_missing" && column == "missing"), "{error:?}");

        // A protected name.
        let mut protected = v1::Task::schema();
        protected.name = "memories".into();
        assert!(matches!(store.sync_table(&protected).await.unwrap_err(), Error::ProtectedTable { ref table } if table == "memories"));
        assert!(!store.table_exists("memories").await.unwrap());

        // A schema over a limit.
        let mut wide = v1::Task::schema();
        for i in 0..store.limits().max_columns() {
            wide.columns.push(Column::new(format!("c{i}"), ColumnType::Text));
        }
        let error = store.sync_table(&wide).await.unwrap_err();
        assert!(matches!(error, Error::LimitExceeded { limit: LimitKind::Columns, ref table, .. } if table == "tasks"), "{error:?}");

        // A new NOT NULL column without a default, beside a valid addition: neither is made.
        let error = store.sync_table(&TableSchema::from_json(grown(json!({"name": "required", "type": "text", "constraints": ["not_null"]}))).unwrap()).await.unwrap_err();
        let (table, listed) = differences(error);
        assert_eq!(table, "tasks");
        assert_eq!(listed.len(), 1);
        assert!(listed[0].contains("\"required\""), "{listed:?}");

        // A new unique index the rows already there violate (both titles are "first"), with a
        // new column in the same sync: a constraint violation, and neither is there after.
        let mut unique = TableSchema::from_json(grown(json!({"name": "extra", "type": "text"}))).unwrap();
        unique.indexes.push(memtable::Index::new("idx_tasks_title", ["title"], true));
        let error = store.sync_table(&unique).await.unwrap_err();
        assert!(matches!(error, Error::ConstraintViolation { kind: ConstraintKind::Unique, .. }), "{error:?}");
        assert!(matches!(
            store.query_table("tasks", &QueryOptions::new().filter(Filter::eq("extra", "x"))).await.unwrap_err(),
            Error::UnknownColumn { .. }
        ));

        // A table owned by a plugin is not another's, nor the host's, to sync.
        let mut owned = v1::Task::schema();
        owned.name = "owned_tasks".into();
        store.create_owned_table(&owned, "plugin_a").await.unwrap();
        let mut owned_v2 = v2::Task::schema();
        owned_v2.name = "owned_tasks".into();
        for result in [store.sync_owned_table(&owned_v2, "plugin_b").await, store.sync_table(&owned_v2).await] {
            let (table, listed) = differences(result.unwrap_err());
            assert_eq!(table, "owned_tasks");
            assert_eq!(listed, ["the table exists under another owner"]);
        }
        assert_eq!(store.table_schema("owned_tasks").await.unwrap(), owned);
        let report = store.sync_owned_table(&owned_v2, "plugin_a").await.unwrap();
        assert_eq!(report.added_columns, ["note", "priority"]);
        assert_eq!(store.table_owner("owned_tasks").await.unwrap().as_deref(), Some("plugin_a"));

        unchanged(store.clone()).await;
        unchanged(db.connect().await).await;
    }

    async fn the_sync_executor(db, store) {
        let executors = Executors::new(store.clone());
        let v1 = v1::Task::schema().to_json();
        let created = executors.execute("sync_table", v1.clone()).await;
        assert_eq!(created["data"]["created"], true, "{created}");
        assert_eq!(created["data"]["tableName"], "tasks");
        let v2 = v2::Task::schema().to_json();
        let synced = executors.execute("sync_table", v2.clone()).await;
        assert_eq!(synced["success"], true, "{synced}");
        assert_eq!(synced["data"]["created"], false);
        assert_eq!(synced["data"]["addedColumns"], json!(["note", "priority"]));
        assert_eq!(synced["data"]["addedIndexes"], json!(["idx_tasks_priority"]));
        let again = executors.execute("sync_table", v2).await;
        assert_eq!(again["data"]["addedColumns"], json!([]), "{again}");
        let refused = executors.execute("sync_table", v3::Task::schema().to_json()).await;
        assert_eq!(refused["success"], false);
        let error = &refused["data"]["error"];
        assert_eq!(error["kind"], "schema_mismatch");
        assert_eq!(error["table"], "tasks");
        assert_eq!(error["differences"].as_array().unwrap().len(), 3, "{error}");
        assert!(executors.read_only().definition("sync_table").is_none());
        assert!(Executors::new(store.clone()).definition("sync_table").is_some_and(|d| !d.read_only));

        // In a plugin's scope: its own table syncs, in the plugin's namespace.
        let plugin = Executors::for_plugin(db.connect().await, "plugin_a");
        let mut notes = v1::Task::schema().to_json();
        notes["name"] = json!("plugin_notes");
        assert_eq!(plugin.execute("sync_table", notes.clone()).await["data"]["created"], true);
        let mut notes_v2 = v2::Task::schema().to_json();
        notes_v2["name"] = json!("plugin_notes");
        // Index names are one namespace per database.
        notes_v2["indexes"][0]["name"] = json!("idx_plugin_notes_priority");
        let synced = plugin.execute("sync_table", notes_v2.clone()).await;
        assert_eq!(synced["data"]["addedColumns"], json!(["note", "priority"]), "{synced}");
        // Another plugin's sync of the same names makes tables of its own namespace, and
        // learns nothing of the first plugin's.
        let other = Executors::for_plugin(db.connect().await, "plugin_b");
        let own = other.execute("sync_table", notes_v2.clone()).await;
        assert_eq!(own["data"]["created"], true, "{own}");
        let own = other.execute("sync_table", v1).await;
        assert_eq!(own["data"]["created"], true, "{own}");
        assert_eq!(store.table_owner("tasks").await.unwrap(), None);
        assert!(!store.table_exists("plugin_notes").await.unwrap());
        let plugin_notes = store.scoped("plugin_a").unwrap().table_schema("plugin_notes").await.unwrap();
        assert_eq!(plugin_notes.columns.len(), notes_v2["columns"].as_array().unwrap().len());
    }
}

// ---- four processes at once ---------------------------------------------------------------

const CHILD_URL: &str = "MEMTABLE_SYNC_CHILD_URL";
const CHILD_GO: &str = "MEMTABLE_SYNC_CHILD_GO";

/// Not a test of its own: the body of the child processes `four_processes_sync_at_once`
/// starts. Without its environment variable it does nothing.
#[test]
fn child() {
    let Ok(url) = std::env::var(CHILD_URL) else {
        return;
    };
    let go = std::env::var(CHILD_GO).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        // The v1 cache of a process that started before the upgrade (when there is a table).
        let _ = store.table_schema("tasks").await;
        println!("CHILD ready");
        let started = Instant::now();
        while !std::path::Path::new(&go).exists() {
            assert!(started.elapsed() < Duration::from_secs(60), "no go");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        match store.sync_table_for::<v2::Task>().await {
            Ok(report) => println!(
                "CHILD ok created={} added={}",
                report.created,
                report.added_columns.len()
            ),
            Err(error) => println!("CHILD err {error}"),
        }
    });
}

fn four_processes(db: &TestDb) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let exe = std::env::current_exe().unwrap();
    let mut children = Vec::new();
    for _ in 0..4 {
        let mut process = Command::new(&exe)
            .args(["--exact", "child", "--nocapture", "--test-threads=1"])
            .env(CHILD_URL, &db.url)
            .env(CHILD_GO, &go)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(process.stdout.take().unwrap());
        children.push((process, stdout.lines()));
    }
    let next = |lines: &mut std::io::Lines<BufReader<std::process::ChildStdout>>| loop {
        let line = lines.next().expect("the child said something").unwrap();
        if let Some(at) = line.find("CHILD ") {
            return line[at + 6..].to_owned();
        }
    };
    for (_, lines) in &mut children {
        assert_eq!(next(lines), "ready");
    }
    std::fs::write(&go, b"go").unwrap();
    let mut outcomes = Vec::new();
    for (mut process, mut lines) in children {
        outcomes.push(next(&mut lines));
        assert!(process.wait().unwrap().success());
    }
    outcomes
}

/// How many columns named `name` the table `tasks` has, as the database itself says.
async fn columns_named(db: &TestDb, name: &str) -> i64 {
    if let Some(path) = db.sqlite_path() {
        let options =
            sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{path}")).unwrap();
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        sqlx::query_scalar("SELECT count(*) FROM pragma_table_info('tasks') WHERE name = ?")
            .bind(name)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    } else {
        let options = sqlx::postgres::PgConnectOptions::from_str(&db.direct_url).unwrap();
        let mut conn = sqlx::PgConnection::connect_with(&options).await.unwrap();
        sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'tasks' AND column_name = $1",
        )
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .unwrap()
    }
}

both_backends! {
    async fn four_processes_sync_at_once(db, store) {
        store.sync_table_for::<v1::Task>().await.unwrap();
        store.insert(&v1_task("a", "first")).await.unwrap();
        let (mut outcomes, db) = tokio::task::spawn_blocking(move || (four_processes(&db), db))
            .await
            .unwrap();
        outcomes.sort();
        assert_eq!(
            outcomes,
            ["ok created=false added=0", "ok created=false added=0", "ok created=false added=0", "ok created=false added=2"],
            "one process made the change, the others found it made"
        );
        for column in ["note", "priority"] {
            assert_eq!(columns_named(&db, column).await, 1, "{column}");
        }
        let fresh = db.connect().await;
        assert!(fresh.table_schema("tasks").await.unwrap().differences(&v2::Task::schema()).is_empty());
        assert_eq!(v2_tasks(&fresh).await[0].priority, 3);
    }
}

both_backends! {
    async fn four_processes_create_at_once(db, store) {
        assert!(!store.table_exists("tasks").await.unwrap());
        let (mut outcomes, db) = tokio::task::spawn_blocking(move || (four_processes(&db), db))
            .await
            .unwrap();
        outcomes.sort();
        assert_eq!(
            outcomes,
            ["ok created=false added=0", "ok created=false added=0", "ok created=false added=0", "ok created=true added=0"],
            "one process created the table, the others found it made"
        );
        assert_eq!(columns_named(&db, "priority").await, 1);
        let fresh = db.connect().await;
        assert!(fresh.table_schema("tasks").await.unwrap().differences(&v2::Task::schema()).is_empty());
    }

    async fn defaults_are_held_to_the_limits(db, store) {
        let limited = Store::builder(&db.url)
            .limits(memtable::Limits::default().with_max_record_bytes(1_000))
            .connect()
            .await
            .unwrap();
        let mut schema = v1::Task::schema();
        schema.columns.push(Column::new("big", ColumnType::Text).with_default("x".repeat(2_000)));
        let error = limited.sync_table(&schema).await.unwrap_err();
        assert!(matches!(error, Error::LimitExceeded { limit: LimitKind::RecordSize, ref table, .. } if table == "tasks"), "{error:?}");
        assert!(!store.table_exists("tasks").await.unwrap());
    }
}
