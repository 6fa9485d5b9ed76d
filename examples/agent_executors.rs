//! An agent's tool calls, arriving as JSON (as a language model emits them), dispatched to
//! memtable's executors; each result is printed as the model would read it.
//!
//! The agent acts for one plugin, so it sees only that plugin's tables; a second, read-only
//! agent for another plugin shows what scoping hides and what read-only refuses.
//!
//! ```sh
//! cargo run --example agent_executors                     # SQLite in memory
//! MEMTABLE_DATABASE_URL=sqlite://agent.db cargo run --example agent_executors
//! ```

use memtable::Store;
use memtable::executor::Executors;
use serde_json::Value;

/// What a model might send: a stream of tool calls `{"name", "arguments"}`.
const TOOL_CALLS: &str = r#"
{"name": "create_table", "arguments": {"name": "reminders", "columns": [
    {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
    {"name": "text", "type": "text", "constraints": ["not_null"]},
    {"name": "due_at", "type": "bigint"},
    {"name": "done", "type": "boolean"},
    {"name": "details", "type": "json"}]}}
{"name": "insert_into_table", "arguments": {"tableName": "reminders", "data": {"text": "water the plants", "due_at": 1700000000000, "done": false, "details": {"room": "kitchen"}}}}
{"name": "insert_into_table", "arguments": {"tableName": "reminders", "data": {"text": "call mum", "due_at": 1700003600000, "done": false}}}
{"name": "insert_into_table", "arguments": {"tableName": "reminders", "data": {"text": "pay rent", "due_at": "tomorrow"}}}
{"name": "query_table", "arguments": {"tableName": "reminders", "queryOptions": {"where": {"done": false, "due_at": {"$lt": 1700007200000}}, "orderBy": [{"column": "due_at", "direction": "asc"}], "limit": 10}}}
{"name": "update_table_record", "arguments": {"tableName": "reminders", "id": 1, "data": {"done": true}}}
{"name": "query_table", "arguments": {"tableName": "reminders", "queryOptions": {"where": {"details": {"room": "kitchen"}}}}}
{"name": "delete_from_table", "arguments": {"tableName": "reminders", "id": "2"}}
{"name": "delete_from_table", "arguments": {"tableName": "reminders", "id": "2"}}
{"name": "table_exists", "arguments": {"tableName": "reminders"}}
{"name": "send_email", "arguments": {"to": "someone"}}
"#;

/// What the other plugin's read-only agent tries.
const OTHER_AGENT_CALLS: &str = r#"
{"name": "table_exists", "arguments": {"tableName": "reminders"}}
{"name": "query_table", "arguments": {"tableName": "reminders"}}
{"name": "drop_table", "arguments": {"tableName": "reminders"}}
"#;

/// Runs each tool call of `calls` through `agent`, printing the call and its result.
async fn dispatch(agent: &Executors, calls: &str) {
    for call in serde_json::Deserializer::from_str(calls).into_iter::<Value>() {
        let call = match call {
            Ok(call) => call,
            Err(error) => {
                println!("unreadable tool calls: {error}");
                return;
            }
        };
        let name = call["name"].as_str().unwrap_or_default();
        let arguments = call.get("arguments").cloned().unwrap_or(Value::Null);
        let result = agent.execute(name, arguments).await;
        println!("→ {name}");
        println!("  {result}");
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("MEMTABLE_DATABASE_URL").unwrap_or_else(|_| "sqlite::memory:".into());
    let store = Store::connect(&url).await?;

    let agent = Executors::for_plugin(store.clone(), "reminders_plugin");
    println!("tools offered to the model:");
    for definition in agent.definitions() {
        let first_sentence = definition
            .description
            .split(". ")
            .next()
            .unwrap_or_default();
        println!("  {:<20} {first_sentence}.", definition.name);
    }
    println!();
    dispatch(&agent, TOOL_CALLS).await;

    println!();
    println!("another plugin's read-only agent:");
    let other = Executors::for_plugin(store.clone(), "calendar_plugin").read_only();
    dispatch(&other, OTHER_AGENT_CALLS).await;

    // Leave a file database as it was found.
    agent
        .execute("drop_table", serde_json::json!({"tableName": "reminders"}))
        .await;
    Ok(())
}
