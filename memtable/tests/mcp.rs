//! `memtable mcp` end to end: the real binary spawned, speaking JSON-RPC over its stdin and
//! stdout — initialize, notifications/initialized, tools/list, tools/call — as an MCP client
//! does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(20);

/// A client talking to a `memtable mcp` process.
struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    next_id: u64,
}

impl Client {
    /// Starts `memtable --database URL [ARGS...] mcp` and performs the handshake; returns the
    /// client and the `initialize` result.
    fn start(url: &str, args: &[&str]) -> (Client, Value) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_memtable"))
            .arg("--database")
            .arg(url)
            .args(args)
            .arg("mcp")
            .env_remove("MEMTABLE_DATABASE_URL")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the memtable binary starts");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut client = Client {
            child,
            stdin,
            lines,
            next_id: 1,
        };
        let initialized = client.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "memtable-test", "version": "0.0.0"}
            }),
        );
        client.notify("notifications/initialized");
        (client, initialized["result"].clone())
    }

    fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str) {
        self.send(&json!({"jsonrpc": "2.0", "method": method}));
    }

    /// Sends a request and returns the response with its id (skipping anything else the
    /// server sends meanwhile, such as log notifications).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.request_line(&message.to_string(), id)
    }

    /// Sends `line` as it is, a request with `id`, and returns the response with that id.
    fn request_line(&mut self, line: &str, id: u64) -> Value {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let message: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("stdout carries only JSON-RPC ({e}): {line}"));
                    if message["id"] == id {
                        assert_eq!(message["jsonrpc"], "2.0");
                        return message;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no answer to request {id} in {TIMEOUT:?}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the server exited during request {id}")
                }
            }
        }
    }

    /// `tools/call`; returns the `result`.
    fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let response = self.request("tools/call", json!({"name": tool, "arguments": arguments}));
        assert!(response.get("error").is_none(), "{response}");
        let result = response["result"].clone();
        // The executor's result, as structured content and as JSON text.
        let text = result["content"][0]["text"].as_str().unwrap();
        let from_text: Value = serde_json::from_str(text).unwrap();
        assert_eq!(from_text, result["structuredContent"]);
        assert_eq!(
            result["isError"],
            result["structuredContent"]["success"] == false,
            "{result}"
        );
        result
    }

    fn tool_names(&mut self) -> Vec<String> {
        let response = self.request("tools/list", json!({}));
        response["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Closes stdin and waits for the server to exit by itself.
    fn finish(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "memtable mcp exited with {status}");
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("memtable mcp did not exit when its stdin closed");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn serves_every_executor(db: &common::Database) {
    let (mut client, info) = Client::start(&db.url, &[]);
    assert_eq!(info["serverInfo"]["name"], "memtable");
    assert!(info["capabilities"]["tools"].is_object(), "{info}");
    assert_eq!(info["protocolVersion"], "2025-06-18");

    let response = client.request("tools/list", json!({}));
    let tools = response["result"]["tools"].as_array().unwrap().clone();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, memtable::executor::EXECUTOR_NAMES);
    for tool in &tools {
        assert!(tool["description"].as_str().unwrap().len() > 40);
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert!(tool["annotations"]["readOnlyHint"].is_boolean(), "{tool}");
        assert!(
            tool["annotations"]["destructiveHint"].is_boolean(),
            "{tool}"
        );
    }
    let tool = |name: &str| tools.iter().find(|t| t["name"] == name).unwrap().clone();
    assert_eq!(tool("query_table")["annotations"]["readOnlyHint"], true);
    assert_eq!(tool("drop_table")["annotations"]["readOnlyHint"], false);
    assert_eq!(tool("drop_table")["annotations"]["destructiveHint"], true);
    assert_eq!(
        tool("insert_into_table")["annotations"]["destructiveHint"],
        false
    );
    assert_eq!(tool("transaction")["annotations"]["readOnlyHint"], false);
    assert_eq!(
        tool("transaction")["inputSchema"]["properties"]["operations"]["type"],
        "array",
        "{}",
        tool("transaction")
    );

    let result = client.call(
        "create_table",
        json!({"name": "notes", "columns": [
            {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
            {"name": "body", "type": "text"},
            {"name": "doc", "type": "json"}
        ]}),
    );
    assert_eq!(result["isError"], false);
    assert_eq!(result["structuredContent"]["data"]["tableName"], "notes");
    let result = client.call(
        "insert_into_table",
        json!({"tableName": "notes", "data": {"body": "over MCP", "doc": {"a": 1}}}),
    );
    assert_eq!(result["structuredContent"]["data"]["id"], "1");
    let result = client.call(
        "query_table",
        json!({"tableName": "notes", "queryOptions": {"where": {"doc": {"a": 1}}}}),
    );
    assert_eq!(
        result["structuredContent"],
        json!({"success": true, "data": {"count": 1, "results": [
            {"id": 1, "body": "over MCP", "doc": {"a": 1}}
        ]}})
    );
    client.call(
        "update_table_record",
        json!({"tableName": "notes", "id": 1, "data": {"body": "edited"}}),
    );
    let result = client.call("table_exists", json!({"tableName": "notes"}));
    assert_eq!(result["structuredContent"]["data"]["exists"], true);

    // Writes by filter, and a transaction: all of it, or nothing and the failing index.
    client.call(
        "insert_into_table",
        json!({"tableName": "notes", "data": {"body": "second"}}),
    );
    let result = client.call(
        "update_table_record",
        json!({"tableName": "notes", "where": {"$or": [{"id": 1}, {"id": 2}]}, "data": {"doc": [1]}}),
    );
    assert_eq!(
        result["structuredContent"]["data"]["updated"], 2,
        "{result}"
    );
    let result = client.call(
        "transaction",
        json!({"operations": [
            {"executor": "delete_from_table", "params": {"tableName": "notes", "where": {"id": 2}}},
            {"executor": "insert_into_table", "params": {"tableName": "notes", "data": {"body": "third"}}}
        ]}),
    );
    assert_eq!(result["isError"], false, "{result}");
    let results = &result["structuredContent"]["data"]["results"];
    assert_eq!(results[0]["deleted"], 1, "{result}");
    assert_eq!(results[1]["id"], "3", "{result}");
    let result = client.call(
        "transaction",
        json!({"operations": [
            {"executor": "delete_from_table", "params": {"tableName": "notes", "id": 3}},
            {"executor": "insert_into_table", "params": {"tableName": "notes", "data": {"nope": 1}}}
        ]}),
    );
    assert_eq!(result["isError"], true, "{result}");
    let error = &result["structuredContent"]["data"]["error"];
    assert_eq!(error["kind"], "unknown_column", "{result}");
    assert_eq!(error["operation"], 1, "{result}");
    let result = client.call(
        "delete_from_table",
        json!({"tableName": "notes", "where": {"$or": []}}),
    );
    assert_eq!(result["isError"], true, "{result}");
    let result = client.call("query_table", json!({"tableName": "notes"}));
    assert_eq!(result["structuredContent"]["data"]["count"], 2, "{result}");
    client.call(
        "delete_from_table",
        json!({"tableName": "notes", "id": "3"}),
    );

    // A failed executor is a tool error the model can read.
    let result = client.call("query_table", json!({"tableName": "missing"}));
    assert_eq!(result["isError"], true);
    assert_eq!(
        result["structuredContent"]["data"]["error"]["kind"],
        "table_not_found"
    );
    let result = client.call("insert_into_table", json!({"tableName": "notes"}));
    assert_eq!(
        result["structuredContent"]["data"]["error"]["kind"],
        "invalid_params"
    );
    // No arguments at all.
    let response = client.request("tools/call", json!({"name": "table_exists"}));
    assert_eq!(response["result"]["isError"], true, "{response}");
    // An unknown tool is a protocol error.
    let response = client.request("tools/call", json!({"name": "nope", "arguments": {}}));
    assert!(response["error"]["code"].is_i64(), "{response}");

    client.call(
        "delete_from_table",
        json!({"tableName": "notes", "id": "1"}),
    );
    client.call("drop_table", json!({"tableName": "notes"}));
    let result = client.call("table_exists", json!({"tableName": "notes"}));
    assert_eq!(result["structuredContent"]["data"]["exists"], false);
    client.finish();
}

fn scoped_read_only_server(db: &common::Database) {
    // plugin_x creates a table; plugin_y's read-only server cannot see it.
    let (mut owner, _) = Client::start(&db.url, &["--plugin", "plugin_x"]);
    owner.call(
        "create_table",
        json!({"name": "x_notes", "columns": [
            {"name": "id", "type": "text", "constraints": ["primary_key"]},
            {"name": "body", "type": "text"}
        ]}),
    );
    owner.call(
        "insert_into_table",
        json!({"tableName": "x_notes", "data": {"id": "a", "body": "secret"}}),
    );
    owner.finish();

    let (mut reader, info) = Client::start(&db.url, &["--plugin", "plugin_x", "--read-only"]);
    assert!(
        info["instructions"].as_str().unwrap().contains("read-only"),
        "{info}"
    );
    assert_eq!(
        reader.tool_names(),
        memtable::executor::READ_ONLY_EXECUTOR_NAMES
    );
    let result = reader.call("query_table", json!({"tableName": "x_notes"}));
    assert_eq!(
        result["structuredContent"]["data"]["results"][0]["body"],
        "secret"
    );
    let response = reader.request(
        "tools/call",
        json!({"name": "drop_table", "arguments": {"tableName": "x_notes"}}),
    );
    assert!(response["error"].is_object(), "{response}");
    reader.finish();

    let (mut other, _) = Client::start(&db.url, &["--plugin", "plugin_y", "--read-only"]);
    let result = other.call("query_table", json!({"tableName": "x_notes"}));
    assert_eq!(
        result["structuredContent"]["data"]["error"]["kind"],
        "table_not_found"
    );
    let result = other.call("table_exists", json!({"tableName": "x_notes"}));
    assert_eq!(result["structuredContent"]["data"]["exists"], false);
    other.finish();

    let (mut intruder, _) = Client::start(&db.url, &["--plugin", "plugin_y"]);
    for (tool, arguments) in [
        ("drop_table", json!({"tableName": "x_notes"})),
        (
            "delete_from_table",
            json!({"tableName": "x_notes", "id": "a"}),
        ),
        (
            "update_table_record",
            json!({"tableName": "x_notes", "id": "a", "data": {"body": "mine"}}),
        ),
    ] {
        let result = intruder.call(tool, arguments);
        assert_eq!(
            result["structuredContent"]["data"]["error"]["kind"], "table_not_found",
            "{tool}"
        );
    }
    intruder.finish();
}

/// Two plugins' servers, each with a table `settings` of its own; list_tables and
/// describe_table as tools.
fn two_plugins_servers(db: &common::Database) {
    let (mut crm, _) = Client::start(&db.url, &["--plugin", "crm"]);
    let (mut mail, _) = Client::start(&db.url, &["--plugin", "mail"]);
    let created = crm.call(
        "create_table",
        json!({"name": "settings", "columns": [
            {"name": "key", "type": "text", "constraints": ["primary_key"]},
            {"name": "value", "type": "json"}]}),
    );
    assert_eq!(created["isError"], false, "{created}");
    let mail_schema = json!({"name": "settings", "columns": [
        {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
        {"name": "signature", "type": "text", "constraints": ["not_null"]},
        {"name": "raw", "type": "blob"}]});
    assert_eq!(
        mail.call("create_table", mail_schema.clone())["isError"],
        false
    );
    crm.call(
        "insert_into_table",
        json!({"tableName": "settings", "data": {"key": "theme", "value": 1}}),
    );
    mail.call(
        "insert_into_table",
        json!({"tableName": "settings", "data": {"signature": "regards"}}),
    );
    let rows = crm.call("query_table", json!({"tableName": "settings"}));
    assert_eq!(
        rows["structuredContent"]["data"]["results"],
        json!([{"key": "theme", "value": 1}])
    );
    let rows = mail.call("query_table", json!({"tableName": "settings"}));
    assert_eq!(
        rows["structuredContent"]["data"]["results"],
        json!([{"id": 1, "signature": "regards", "raw": null}])
    );
    let failed = crm.call(
        "insert_into_table",
        json!({"tableName": "settings", "data": {"key": "theme"}}),
    );
    assert_eq!(failed["isError"], true);
    let text = failed.to_string();
    assert!(!text.contains("_mtns_") && !text.contains("mail"), "{text}");

    assert!(mail.tool_names().iter().any(|t| t == "describe_table"));
    let listed = mail.call("list_tables", json!({}));
    assert_eq!(
        listed["structuredContent"]["data"]["tables"],
        json!([{"name": "settings", "columns": 3, "owner": "mail"}])
    );
    let described = mail.call("describe_table", json!({"tableName": "settings"}));
    let data = &described["structuredContent"]["data"];
    assert_eq!(data["schema"], mail_schema);
    assert_eq!(data["recordSchema"]["required"], json!(["signature"]));
    assert_eq!(
        data["recordSchema"]["properties"]["raw"]["contentEncoding"],
        "base64"
    );
    crm.finish();
    mail.finish();

    let (mut host, _) = Client::start(&db.url, &["--read-only"]);
    let listed = host.call("list_tables", json!({}));
    assert_eq!(
        listed["structuredContent"]["data"]["tables"],
        json!([
            {"name": "settings", "columns": 2, "owner": "crm"},
            {"name": "settings", "columns": 3, "owner": "mail"}
        ])
    );
    host.finish();
    let (mut spy, _) = Client::start(&db.url, &["--plugin", "spy", "--read-only"]);
    let listed = spy.call("list_tables", json!({}));
    assert_eq!(listed["structuredContent"]["data"]["tables"], json!([]));
    let described = spy.call("describe_table", json!({"tableName": "settings"}));
    assert_eq!(
        described["structuredContent"]["data"]["error"]["kind"],
        "table_not_found"
    );
    spy.finish();
}

#[test]
fn two_plugins_servers_on_sqlite() {
    two_plugins_servers(&common::Database::sqlite());
}

#[test]
fn two_plugins_servers_on_postgres() {
    if let Some(db) = common::Database::postgres("mcp_two_plugins") {
        two_plugins_servers(&db);
    }
}

/// `sync_table` as an MCP tool: writable, and its refusal lists every difference.
fn serves_sync_table(db: &common::Database) {
    let (mut client, _) = Client::start(&db.url, &[]);
    let response = client.request("tools/list", json!({}));
    let tools = response["result"]["tools"].as_array().unwrap().clone();
    let sync = tools.iter().find(|t| t["name"] == "sync_table").unwrap();
    assert_eq!(sync["annotations"]["readOnlyHint"], false, "{sync}");
    assert_eq!(sync["inputSchema"]["type"], "object", "{sync}");
    assert!(sync["description"].as_str().unwrap().contains("default"));
    let v1 = json!({"name": "notes", "columns": [
        {"name": "id", "type": "text", "constraints": ["primary_key"]},
        {"name": "body", "type": "text"}]});
    let result = client.call("sync_table", v1.clone());
    assert_eq!(
        result["structuredContent"]["data"]["created"], true,
        "{result}"
    );
    let mut v2 = v1.clone();
    v2["columns"].as_array_mut().unwrap().push(
        json!({"name": "done", "type": "boolean", "constraints": ["not_null"], "default": false}),
    );
    let result = client.call("sync_table", v2);
    assert_eq!(
        result["structuredContent"]["data"]["addedColumns"],
        json!(["done"]),
        "{result}"
    );
    let result = client.call(
        "sync_table",
        json!({"name": "notes", "columns": [
        {"name": "id", "type": "text", "constraints": ["primary_key"]}]}),
    );
    assert_eq!(result["isError"], true, "{result}");
    let error = &result["structuredContent"]["data"]["error"];
    assert_eq!(error["kind"], "schema_mismatch");
    assert_eq!(
        error["differences"],
        json!(["column \"body\" is missing", "column \"done\" is missing"])
    );
    client.finish();

    let (mut reader, _) = Client::start(&db.url, &["--read-only"]);
    assert!(!reader.tool_names().contains(&"sync_table".to_owned()));
    reader.finish();
}

#[test]
fn serves_sync_table_on_sqlite() {
    serves_sync_table(&common::Database::sqlite());
}

#[test]
fn serves_sync_table_on_postgres() {
    if let Some(db) = common::Database::postgres("mcp_sync") {
        serves_sync_table(&db);
    }
}

#[test]
fn serves_every_executor_on_sqlite() {
    serves_every_executor(&common::Database::sqlite());
}

#[test]
fn serves_every_executor_on_postgres() {
    if let Some(db) = common::Database::postgres("mcp_serves") {
        serves_every_executor(&db);
    }
}

#[test]
fn scoped_read_only_server_on_sqlite() {
    scoped_read_only_server(&common::Database::sqlite());
}

#[test]
fn scoped_read_only_server_on_postgres() {
    if let Some(db) = common::Database::postgres("mcp_scoped") {
        scoped_read_only_server(&db);
    }
}

#[test]
fn a_client_that_sends_garbage_gets_errors_not_a_crash() {
    let db = common::Database::sqlite();
    let (mut client, _) = Client::start(&db.url, &[]);
    let response = client.request("no/such/method", json!({}));
    assert!(response["error"].is_object(), "{response}");
    let response = client.request("tools/call", json!({"name": 5}));
    assert!(response["error"].is_object(), "{response}");
    // Arguments deeper than the JSON parser reads: limit_exceeded, as for any document past
    // the depth limit, and the server goes on.
    for depth in [100_u64, 5_000] {
        let levels = usize::try_from(depth).unwrap();
        let doc = format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        let line = format!(
            r#"{{"jsonrpc": "2.0", "id": {depth}, "method": "tools/call", "params": {{"name": "insert_into_table", "arguments": {{"tableName": "t", "data": {{"doc": {doc}}}}}}}}}"#
        );
        let response = client.request_line(&line, depth);
        let error = &response["result"]["structuredContent"]["data"]["error"];
        assert_eq!(error["kind"], "limit_exceeded", "{depth}: {response}");
        assert_eq!(error["limit"], "json_depth", "{depth}: {response}");
        assert_eq!(response["result"]["isError"], true);
    }
    // Still serving.
    assert_eq!(
        client.tool_names().len(),
        memtable::executor::EXECUTOR_NAMES.len()
    );
    client.finish();
}
