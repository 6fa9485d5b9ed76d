//! Fuzzes `Executors::execute(name, params)` on an in-memory SQLite store: whatever the bytes,
//! every executor in every kind of set returns a well-formed result object, never panics, and
//! never reports a database error (bad input must be refused before SQL runs).
//!
//! Input: the first byte picks the set (all tables, a plugin's, each read-only) and the
//! executor; the rest is the parameters' JSON text (bytes that are not JSON become a string).
#![no_main]

use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use memtable::Store;
use memtable::executor::{ErrorKind, Executors};
use serde_json::{Value, json};

const NAMES: [&str; 8] = [
    "create_table",
    "insert_into_table",
    "update_table_record",
    "query_table",
    "delete_from_table",
    "table_exists",
    "drop_table",
    "no_such_executor",
];

/// Inputs run on one store before it is replaced by a fresh one (so that tables and rows the
/// fuzzer made do not pile up).
const RUNS_PER_STORE: u64 = 20_000;

struct State {
    runtime: tokio::runtime::Runtime,
    sets: Vec<Executors>,
    runs: u64,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn fresh(runtime: &tokio::runtime::Runtime) -> Vec<Executors> {
    let store = runtime
        .block_on(Store::connect("sqlite::memory:"))
        .expect("an in-memory store");
    let admin = Executors::new(store.clone());
    let plugin = Executors::for_plugin(store, "plugin_x");
    vec![
        admin.clone(),
        plugin.clone(),
        plugin.read_only(),
        admin.read_only(),
    ]
}

/// (Re)creates the tables an input may have dropped; a no-op when they are there.
fn restore(runtime: &tokio::runtime::Runtime, sets: &[Executors]) {
    let every_type = json!({"name": "every_type", "columns": [
        {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
        {"name": "title", "type": "text", "constraints": ["unique"]},
        {"name": "big", "type": "bigint"},
        {"name": "ratio", "type": "real"},
        {"name": "raw", "type": "blob"},
        {"name": "doc", "type": "json"},
        {"name": "flag", "type": "boolean", "constraints": ["not_null"]},
        {"name": "count", "type": "integer"}
    ], "indexes": [{"name": "idx_every_type_big", "columns": ["big", "count"]}]});
    let text_keyed = json!({"name": "text_keyed", "columns": [
        {"name": "id", "type": "text", "constraints": ["primary_key"]},
        {"name": "title", "type": "text"},
        {"name": "doc", "type": "json"}
    ]});
    let owned = json!({"name": "owned", "columns": [
        {"name": "id", "type": "bigint", "constraints": ["primary_key"]},
        {"name": "title", "type": "text"},
        {"name": "flag", "type": "boolean"}
    ]});
    runtime.block_on(async {
        for schema in [every_type, text_keyed] {
            let result = sets[0].execute("create_table", schema).await;
            assert_eq!(result["success"], true, "{result}");
        }
        let result = sets[1].execute("create_table", owned).await;
        assert_eq!(result["success"], true, "{result}");
    });
}

fn check(name: &str, result: &Value) {
    let object = result.as_object().expect("a result object");
    assert_eq!(object.len(), 2, "{name}: {result}");
    let success = object["success"].as_bool().expect("success is a boolean");
    let data = object["data"].as_object().expect("data is an object");
    if !success {
        let message = data["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{name}: {result}");
        let kind = data["error"]["kind"].as_str().unwrap_or_default();
        assert!(
            ErrorKind::ALL.iter().any(|k| k.as_str() == kind),
            "{name}: unknown kind: {result}"
        );
        assert_ne!(
            kind, "database",
            "{name}: a database error from input: {result}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut guard = STATE.lock().unwrap_or_else(|e| e.into_inner());
    let state = guard.get_or_insert_with(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let sets = fresh(&runtime);
        restore(&runtime, &sets);
        State {
            runtime,
            sets,
            runs: 0,
        }
    });
    state.runs += 1;
    if state.runs % RUNS_PER_STORE == 0 {
        state.sets = fresh(&state.runtime);
    }
    let set = &state.sets[usize::from(selector % 4)];
    let name = NAMES[usize::from(selector / 4) % NAMES.len()];
    let params: Value = serde_json::from_slice(rest)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(rest).into_owned()));
    let result = state.runtime.block_on(set.execute(name, params));
    check(name, &result);
    restore(&state.runtime, &state.sets);
});
