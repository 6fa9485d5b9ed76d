//! `memtable mcp` in a session with a real MCP client (rmcp's own client over the child's
//! stdio): tools carry `outputSchema` and their results match it, each table's schema is a
//! resource, and the instructions follow the mode; in write and read-only mode, on a SQLite
//! file and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Stdio;

use common::{Database, memtable};
use rmcp::ServiceExt as _;
use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams, ResourceContents};
use rmcp::service::{RoleClient, RunningService};
use serde_json::{Value, json};

const NOTES: &str = r#"{"name": "notes", "columns": [
    {"name": "id", "type": "text", "constraints": ["primary_key"]},
    {"name": "body", "type": "text"}, {"name": "doc", "type": "json"}]}"#;

type Client = RunningService<RoleClient, ()>;

/// Starts `memtable --database URL [ARGS...] mcp` and completes the handshake with rmcp's
/// client.
async fn start(url: &str, args: &[&str]) -> (Client, tokio::process::Child) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_memtable"))
        .arg("--database")
        .arg(url)
        .args(args)
        .arg("mcp")
        .env_remove("MEMTABLE_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the memtable binary starts");
    let stdout = child.stdout.take().unwrap();
    let stdin = child.stdin.take().unwrap();
    let client = ().serve((stdout, stdin)).await.expect("the MCP handshake");
    (client, child)
}

async fn call(client: &Client, tool: &str, arguments: Value) -> (bool, Value) {
    let Value::Object(arguments) = arguments else {
        panic!("arguments are an object")
    };
    let result = client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    let structured = result
        .structured_content
        .clone()
        .expect("structured content");
    (result.is_error != Some(true), structured)
}

/// Checks `value` against the few JSON Schema keywords the output schemas use.
fn conforms(schema: &Value, value: &Value) -> bool {
    if let Some(kind) = schema.get("type").and_then(Value::as_str) {
        let ok = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            _ => true,
        };
        if !ok {
            return false;
        }
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        return false;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        return false;
    }
    if let Some(required) = schema.get("required").and_then(Value::as_array)
        && !required
            .iter()
            .all(|key| key.as_str().is_some_and(|key| value.get(key).is_some()))
    {
        return false;
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (key, property) in properties {
            if let Some(inner) = value.get(key)
                && !conforms(property, inner)
            {
                return false;
            }
        }
    }
    if let Some(items) = schema.get("items")
        && let Some(array) = value.as_array()
        && !array.iter().all(|item| conforms(items, item))
    {
        return false;
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array)
        && options
            .iter()
            .filter(|option| conforms(option, value))
            .count()
            != 1
    {
        return false;
    }
    true
}

async fn output_schema(client: &Client, tool: &str) -> Value {
    let tools = client.list_all_tools().await.unwrap();
    let tool = tools.iter().find(|t| t.name == tool).unwrap();
    Value::Object(tool.output_schema.as_deref().cloned().unwrap())
}

async fn session_in_write_mode(db: &Database) {
    let (client, _child) = start(&db.url, &[]).await;
    let info = client.peer_info().expect("the server's initialize result");
    let instructions = info.instructions.clone().unwrap();
    assert!(instructions.contains("create"), "{instructions}");
    assert!(info.capabilities.resources.is_some());

    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), memtable::executor::EXECUTOR_NAMES.len());
    for tool in &tools {
        let schema = tool.output_schema.as_deref().expect("an outputSchema");
        assert_eq!(schema["type"], "object", "{}", tool.name);
        assert_eq!(
            schema["required"],
            json!(["success", "data"]),
            "{}",
            tool.name
        );
    }
    // No table yet: no resource.
    assert!(client.list_all_resources().await.unwrap().is_empty());

    let schema: Value = serde_json::from_str(NOTES).unwrap();
    let (ok, result) = call(&client, "create_table", schema.clone()).await;
    assert!(ok, "{result}");
    assert!(
        conforms(&output_schema(&client, "create_table").await, &result),
        "{result}"
    );
    let (ok, result) = call(
        &client,
        "insert_into_table",
        json!({"tableName": "notes", "data": {"id": "a", "body": "hi", "doc": {"k": [1]}}}),
    )
    .await;
    assert!(ok, "{result}");
    assert_eq!(result["data"]["id"], "a");
    assert!(conforms(
        &output_schema(&client, "insert_into_table").await,
        &result
    ));
    let (ok, result) = call(&client, "query_table", json!({"tableName": "notes"})).await;
    assert!(ok, "{result}");
    assert_eq!(result["data"]["results"][0]["doc"], json!({"k": [1]}));
    let query_schema = output_schema(&client, "query_table").await;
    assert!(conforms(&query_schema, &result), "{result}");
    // A failure matches the schema too, and not as a success.
    let (ok, failure) = call(&client, "query_table", json!({"tableName": "missing"})).await;
    assert!(!ok);
    assert_eq!(failure["data"]["error"]["kind"], "table_not_found");
    assert!(conforms(&query_schema, &failure), "{failure}");
    assert!(!conforms(
        &query_schema,
        &json!({"success": true, "data": failure["data"]})
    ));

    let resources = client.list_all_resources().await.unwrap();
    assert_eq!(resources.len(), 1, "{resources:?}");
    assert_eq!(resources[0].uri, "memtable://tables/notes");
    assert_eq!(resources[0].name, "notes");
    assert_eq!(resources[0].mime_type.as_deref(), Some("application/json"));
    let read = client
        .read_resource(ReadResourceRequestParams::new("memtable://tables/notes"))
        .await
        .unwrap();
    let [
        ResourceContents::TextResourceContents {
            uri,
            mime_type,
            text,
            ..
        },
    ] = read.contents.as_slice()
    else {
        panic!("one text content: {read:?}")
    };
    assert_eq!(uri, "memtable://tables/notes");
    assert_eq!(mime_type.as_deref(), Some("application/json"));
    assert_eq!(serde_json::from_str::<Value>(text).unwrap(), schema);
    for missing in [
        "memtable://tables/missing",
        "memtable://tables/bad name",
        "file:///etc/passwd",
    ] {
        let error = client
            .read_resource(ReadResourceRequestParams::new(missing))
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("no resource"),
            "{missing}: {error}"
        );
    }
    client.cancel().await.unwrap();
}

async fn session_in_read_only_mode(db: &Database) {
    assert_eq!(
        memtable(&db.url, &["exec", "create_table", NOTES], None).status,
        0
    );
    let insert = r#"{"tableName": "notes", "data": {"id": "a", "body": "hi"}}"#;
    assert_eq!(
        memtable(&db.url, &["exec", "insert_into_table", insert], None).status,
        0
    );

    let (client, _child) = start(&db.url, &["--read-only"]).await;
    let instructions = client.peer_info().unwrap().instructions.clone().unwrap();
    for word in [
        "create", "fill", "change", "write", "insert", "update", "delete", "drop",
    ] {
        assert!(
            !instructions.to_lowercase().contains(word),
            "{word:?} in read-only instructions: {instructions}"
        );
    }
    assert!(instructions.contains("query"), "{instructions}");
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    let mut read_only = memtable::executor::READ_ONLY_EXECUTOR_NAMES.to_vec();
    read_only.sort_unstable();
    assert_eq!(names, read_only);
    assert!(tools.iter().all(|t| t.output_schema.is_some()));

    let (ok, result) = call(&client, "query_table", json!({"tableName": "notes"})).await;
    assert!(ok, "{result}");
    assert_eq!(result["data"]["count"], 1);
    assert!(conforms(
        &output_schema(&client, "query_table").await,
        &result
    ));
    let (ok, result) = call(&client, "table_exists", json!({"tableName": "notes"})).await;
    assert!(ok && result["data"]["exists"] == true, "{result}");

    let resources = client.list_all_resources().await.unwrap();
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris, ["memtable://tables/notes"]);
    let read = client
        .read_resource(ReadResourceRequestParams::new("memtable://tables/notes"))
        .await
        .unwrap();
    let ResourceContents::TextResourceContents { text, .. } = &read.contents[0] else {
        panic!("text content")
    };
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        serde_json::from_str::<Value>(NOTES).unwrap()
    );
    client.cancel().await.unwrap();
}

async fn plugin_scope_limits_the_resources(db: &Database) {
    let other = NOTES.replacen("\"notes\"", "\"other\"", 1);
    assert_eq!(
        memtable(&db.url, &["exec", "create_table", &other], None).status,
        0
    );
    let (client, _child) = start(&db.url, &["--plugin", "p1"]).await;
    let (ok, result) = call(
        &client,
        "create_table",
        serde_json::from_str(NOTES).unwrap(),
    )
    .await;
    assert!(ok, "{result}");
    let resources = client.list_all_resources().await.unwrap();
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris, ["memtable://tables/notes"]);
    let error = client
        .read_resource(ReadResourceRequestParams::new("memtable://tables/other"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no resource"), "{error}");
    client.cancel().await.unwrap();
}

/// The runtime a session runs on (the database of a test is made outside it: its helper
/// runs a runtime of its own).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                let db = super::common::Database::sqlite();
                super::runtime().block_on(super::$name(&db));
            }

            #[test]
            fn postgres() {
                let Some(db) = super::common::Database::postgres(stringify!($name)) else {
                    return;
                };
                super::runtime().block_on(super::$name(&db));
            }
        }
    )*};
}

on_both_backends!(
    session_in_write_mode,
    session_in_read_only_mode,
    plugin_scope_limits_the_resources
);
