//! The executors as MCP tools, served over stdio with the official Rust SDK (`rmcp`); feature
//! `mcp`.
//!
//! Each executor of an [`Executors`] set becomes a tool of the same name, with its description,
//! the JSON Schema of its parameters as `inputSchema`, and the `readOnlyHint`,
//! `destructiveHint` and `idempotentHint` annotations. A call returns the executor's result
//! object as structured content (and as JSON text); a failed executor is a tool result with
//! `isError: true`, so that the model reads the failure and can correct its call. Each tool
//! declares an `outputSchema`: the JSON Schema of that result object, `{"success", "data"}`,
//! with the shape of `data` on success where the executor's is known and the failure's
//! (`message`, `error.kind` …) otherwise.
//!
//! The schema of every table the set can see is a resource, `memtable://tables/<name>`
//! (`resources/list`, `resources/read`; `application/json`, the schema JSON `create_table`
//! takes). The set decides what is served: `Executors::for_plugin` scopes the tools and the
//! resources to one plugin's tables, and `Executors::read_only` serves only the executors that
//! never write (`query_table`, `table_exists`, `list_tables`, `describe_table`; give it a store
//! connected with `StoreBuilder::read_only(true)` for the database itself to refuse writes;
//! `memtable --read-only mcp` does), and the server's instructions then say it can only
//! inspect and query.
//!
//! ```no_run
//! use memtable::Store;
//! use memtable::executor::Executors;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::builder("sqlite://agent.db").read_only(true).connect().await?;
//! memtable::mcp::serve_stdio(Executors::for_plugin(store, "notes_plugin").read_only()).await?;
//! # Ok(())
//! # }
//! ```

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};

mod output;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, ListResourcesResult,
    ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt as _};
use serde_json::Value;

use crate::executor::{ExecutorDefinition, Executors};

/// An MCP server handler serving the executors of one [`Executors`] set as tools.
#[derive(Debug, Clone)]
pub struct McpServer {
    executors: Executors,
    tools: Arc<Vec<Tool>>,
    /// The ids (as JSON text) of tool calls whose arguments were nested deeper than the JSON
    /// parser reads: they reach the server without them, and are answered `limit_exceeded`.
    too_deep: Arc<Mutex<HashSet<String>>>,
}

impl McpServer {
    /// A server for `executors`.
    pub fn new(executors: Executors) -> McpServer {
        let tools = executors.definitions().iter().map(tool).collect();
        McpServer {
            executors,
            tools: Arc::new(tools),
            too_deep: Arc::default(),
        }
    }

    /// The tools this server lists.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }
}

/// The MCP tool of an executor.
pub fn tool(definition: &ExecutorDefinition) -> Tool {
    let schema = match &definition.parameters {
        Value::Object(object) => object.clone(),
        _ => serde_json::Map::new(),
    };
    let annotations = ToolAnnotations::with_title(title(definition.name))
        .read_only(definition.read_only)
        .destructive(definition.destructive)
        .idempotent(definition.idempotent)
        .open_world(false);
    Tool::new(definition.name, definition.description, Arc::new(schema))
        .with_annotations(annotations)
        .with_raw_output_schema(Arc::new(output::result_schema(definition.name)))
}

/// The scheme and path before a table's name in its resource URI.
pub const TABLE_RESOURCE_PREFIX: &str = "memtable://tables/";

/// The MIME type of a table's schema resource.
const SCHEMA_MIME_TYPE: &str = "application/json";

/// The resource of `table`'s schema: `memtable://tables/<table>`.
pub fn table_resource(table: &str) -> Resource {
    Resource::new(format!("{TABLE_RESOURCE_PREFIX}{table}"), table)
        .with_title(format!("Schema of table {table}"))
        .with_description(format!(
            "The schema of table {table:?} (columns, types, constraints, indexes) as the JSON \
             create_table takes"
        ))
        .with_mime_type(SCHEMA_MIME_TYPE)
}

/// `query_table` → `Query table`.
fn title(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        let read_only = self.executors.is_read_only();
        let mut instructions = String::from(if read_only {
            "Tables in a database (SQLite or PostgreSQL) that you can inspect and query; this \
             server is read-only."
        } else {
            "Tables in a database (SQLite or PostgreSQL) that you can create, fill, query and \
             change."
        });
        instructions.push_str(
            " Every tool returns {success, data}; on failure data.error.kind says what went \
             wrong (table_not_found, unknown_column, type_mismatch, ...) and data.message how. \
             Each table's schema is the resource memtable://tables/<name>.",
        );
        if let Some(plugin) = self.executors.plugin() {
            instructions.push_str(&if read_only {
                format!(" Only the tables of plugin {plugin:?} are visible.")
            } else {
                format!(
                    " Only the tables of plugin {plugin:?} are visible; tables you create \
                     belong to it."
                )
            });
        }
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(
            Implementation::new("memtable", env!("CARGO_PKG_VERSION")).with_title("memtable"),
        )
        .with_instructions(instructions)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let tables = self
            .executors
            .list_tables()
            .await
            .map_err(|error| ErrorData::internal_error(error.to_string(), None))?;
        Ok(ListResourcesResult::with_all_items(
            tables
                .iter()
                // The host's server lists the tables it addresses by name: not those in a
                // plugin's namespace.
                .filter(|table| self.executors.plugin().is_some() || !table.namespaced)
                .map(|table| table_resource(&table.name))
                .collect(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let not_found = || {
            ErrorData::resource_not_found(
                format!(
                    "no resource {:?}; tables are memtable://tables/<name> (resources/list \
                     lists them)",
                    crate::error::truncate(&request.uri)
                ),
                None,
            )
        };
        let Some(table) = request.uri.strip_prefix(TABLE_RESOURCE_PREFIX) else {
            return Err(not_found());
        };
        let schema = match self.executors.table_schema(table).await {
            Ok(schema) => schema,
            // Invisible (another plugin's) and missing alike: nothing tells one from the other.
            Err(
                crate::Error::TableNotFound { .. }
                | crate::Error::InvalidIdentifier { .. }
                | crate::Error::LimitExceeded { .. },
            ) => return Err(not_found()),
            Err(error) => return Err(ErrorData::internal_error(error.to_string(), None)),
        };
        let text = serde_json::to_string_pretty(&schema.to_json())
            .map_err(|error| ErrorData::internal_error(error.to_string(), None))?;
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text, request.uri.clone()).with_mime_type(SCHEMA_MIME_TYPE),
        ])
        .into())
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if !self.tools.iter().any(|t| t.name == request.name) {
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool {:?}; available: {}",
                    crate::error::truncate(&request.name),
                    self.executors.names().join(", ")
                ),
                None,
            ));
        }
        let too_deep = serde_json::to_string(&context.id).is_ok_and(|id| {
            self.too_deep
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id)
        });
        let result = if too_deep {
            crate::executor::too_deep(&request.name)
        } else {
            let params = request
                .arguments
                .map(Value::Object)
                .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
            self.executors.execute(&request.name, params).await
        };
        let succeeded = result.get("success").and_then(Value::as_bool) == Some(true);
        Ok(if succeeded {
            CallToolResult::structured(result)
        } else {
            CallToolResult::structured_error(result)
        }
        .into())
    }
}

/// Serves `executors` as MCP tools on this process's stdin and stdout until the client closes
/// the connection (or stdin ends).
///
/// A tool call whose arguments are nested deeper than the JSON parser reads (128 levels) is
/// answered like any call past the depth limit, `limit_exceeded`, rather than dropped as
/// unreadable.
pub async fn serve_stdio(executors: Executors) -> std::io::Result<()> {
    let server = McpServer::new(executors);
    let (messages, forwarded) = tokio::io::duplex(64 * 1024);
    let forwarding = tokio::spawn(forward(
        tokio::io::BufReader::new(tokio::io::stdin()),
        forwarded,
        server.too_deep.clone(),
    ));
    let running = server
        .serve((messages, tokio::io::stdout()))
        .await
        .map_err(std::io::Error::other);
    let served = match running {
        Ok(running) => running
            .waiting()
            .await
            .map(drop)
            .map_err(std::io::Error::other),
        Err(error) => Err(error),
    };
    forwarding.abort();
    served
}

/// Copies the client's messages (one a line) to the server, replacing a tool call too deep
/// for the JSON parser by the same call without its arguments, its id noted in `too_deep`.
async fn forward(
    mut input: impl tokio::io::AsyncBufRead + Unpin,
    mut output: impl tokio::io::AsyncWrite + Unpin,
    too_deep: Arc<Mutex<HashSet<String>>>,
) {
    let mut line = String::new();
    loop {
        line.clear();
        match input.read_line(&mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let message = match shallow_call(&line) {
            Some((id, call)) => {
                too_deep
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(id);
                call
            }
            None => std::mem::take(&mut line),
        };
        if output.write_all(message.as_bytes()).await.is_err() {
            break;
        }
    }
    // Dropping `output` ends the server's input: it stops as it would at the end of stdin.
}

/// For a `tools/call` message that the JSON parser refuses for its depth: its id (as JSON
/// text) and the same call without arguments, as a line.
fn shallow_call(line: &str) -> Option<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Call {
        id: Value,
        method: String,
        params: Params,
    }
    #[derive(serde::Deserialize)]
    struct Params {
        name: String,
    }
    let error = serde_json::from_str::<Value>(line).err()?;
    if !crate::executor::is_too_deep(&error) {
        return None;
    }
    // Fields other than these are skipped without recursion, however deep.
    let call: Call = serde_json::from_str(line).ok()?;
    if call.method != "tools/call" {
        return None;
    }
    let id = serde_json::to_string(&call.id).ok()?;
    let message = serde_json::json!({
        "jsonrpc": "2.0",
        "id": call.id,
        "method": "tools/call",
        "params": {"name": call.params.name, "arguments": {}},
    });
    Some((id, format!("{message}\n")))
}
