//! A plugin's own table, from the plugin crate's point of view: derive it from a struct, insert
//! and query it with the typed API, keep a per-space key/value with `upsert`, and fall back
//! to dynamic maps (JSON, as an agent would send) on the same table.
//!
//! ```sh
//! cargo run --example plugin_data                       # an embedded SQLite file, memtable.db
//! MEMTABLE_DATABASE_URL=postgres://… cargo run --example plugin_data
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use memtable::{Filter, QueryOptions, Record, Store, Table};
use serde_json::json;

/// The plugin's data: one value per (space, key). The id is assigned by the database.
#[derive(Table, Debug, Clone)]
#[memtable(
    table = "plugin_x_data",
    index(name = "idx_space_key", columns(space_id, key), unique)
)]
struct PluginData {
    #[memtable(primary_key, auto_increment)]
    id: i64,
    space_id: String,
    key: String,
    #[memtable(json)]
    value: serde_json::Value,
    pinned: bool,
    updated_at: i64,
}

const SPACE: &str = "space-demo";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn entry(key: &str, value: serde_json::Value, pinned: bool) -> PluginData {
    PluginData {
        id: 0, // auto_increment: the database assigns it
        space_id: SPACE.into(),
        key: key.into(),
        value,
        pinned,
        updated_at: now_ms(),
    }
}

/// What a generic handler (an agent's tool call, a CLI) does with the same table: no Rust
/// type, just the table's name and a JSON object, read against the table's schema.
async fn save_from_json(
    store: &Store,
    table: &str,
    data: serde_json::Value,
) -> memtable::Result<String> {
    let schema = store.table_schema(table).await?;
    let record = Record::from_json(&schema, &data)?;
    store.upsert_into_table(table, record).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("MEMTABLE_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "sqlite://memtable.db".to_owned());
    let store = Store::connect(&url).await?;
    println!("connected to {:?} ({url})", store.backend());

    store.create_table_for::<PluginData>().await?;
    println!("table {} is ready", PluginData::TABLE_NAME);

    // A previous run left its rows behind: start the demo space afresh.
    let stale = store
        .select::<PluginData>()
        .filter(PluginData::SPACE_ID.eq(SPACE))
        .all()
        .await?;
    for row in &stale {
        store.delete::<PluginData>(&row.id.to_string()).await?;
    }

    // Typed inserts, in one transaction.
    let ids = store
        .insert_many(&[
            entry("greeting", json!("hello"), true),
            entry("limits", json!({"daily": 100, "burst": 10}), false),
            entry("models", json!(["small", "large"]), false),
        ])
        .await?;
    println!("inserted {} entries, ids {ids:?}", ids.len());

    // Typed queries: the columns and value types are checked by the compiler.
    let pinned = store
        .select::<PluginData>()
        .filter(PluginData::SPACE_ID.eq(SPACE))
        .filter(PluginData::PINNED.eq(true))
        .order_by(PluginData::KEY.asc())
        .all()
        .await?;
    for row in &pinned {
        println!("pinned: {} = {}", row.key, row.value);
    }

    // A per-space setting: insert the first time, update in place afterwards, atomically.
    let first = store.upsert(&entry("theme", json!("light"), false)).await?;
    let second = store.upsert(&entry("theme", json!("dark"), false)).await?;
    let theme: PluginData = store
        .find(&second)
        .await?
        .ok_or("the theme just saved is missing")?;
    println!(
        "upserted theme twice: same row ({first} == {second}: {}), value now {}",
        first == second,
        theme.value
    );

    // The dynamic fallback on the same table: a JSON map in, records out.
    save_from_json(
        &store,
        "plugin_x_data",
        json!({"space_id": SPACE, "key": "limits", "value": {"daily": 500}, "pinned": true, "updated_at": now_ms()}),
    )
    .await?;
    let records = store
        .query_table(
            "plugin_x_data",
            &QueryOptions::new()
                .filter(Filter::eq("space_id", SPACE).and(Filter::eq("key", "limits"))),
        )
        .await?;
    for record in &records {
        println!("dynamic read: {}", record.to_json());
    }
    let limits = store
        .select::<PluginData>()
        .filter(PluginData::SPACE_ID.eq(SPACE))
        .filter(PluginData::KEY.eq("limits"))
        .one()
        .await?
        .ok_or("the limits entry is missing")?;
    println!(
        "typed read of the dynamic write: limits = {} (pinned: {})",
        limits.value, limits.pinned
    );

    let count = store
        .select::<PluginData>()
        .filter(PluginData::SPACE_ID.eq(SPACE))
        .count()
        .await?;
    println!("{count} entries in {SPACE}");
    Ok(())
}
