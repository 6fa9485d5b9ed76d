//! The `memtable` command line (feature `cli`): executors from a shell, tables and schemas, and
//! the MCP server.
//!
//! ```text
//! memtable [--database URL] [--plugin NAME] [--read-only] [--max-rows N] exec <executor> [PARAMS_JSON | -]
//! memtable [--database URL] [--plugin NAME] tables
//! memtable [--database URL] [--plugin NAME] schema <table>
//! memtable [--read-only] executors
//! memtable [--database URL] [--plugin NAME] [--read-only] mcp
//! memtable [--database URL] [--plugin NAME] export <table> [--output FILE]
//! memtable [--database URL] [--plugin NAME] import <table> <FILE | ->
//! memtable [--database URL] copy --to URL
//! ```
//!
//! `exec` prints the executor's result JSON on one line on stdout and exits 0 when it
//! succeeded, 1 when it failed, 2 on a usage error (an unknown executor, or parameters that are
//! not JSON: those still print a result, of kind `invalid_params`). Messages for people go to
//! stderr. The database defaults to `MEMTABLE_DATABASE_URL`, else `DATABASE_URL`, else
//! `sqlite://memtable.db`.

mod args;
mod moving;

use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use serde_json::Value;

use self::args::{Cli, Command};
use crate::executor::{self, Executors};
use crate::store::Store;

/// The database used when neither `--database` nor the environment names one.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://memtable.db";

/// Exit status of a command that succeeded.
const OK: u8 = 0;
/// Exit status of an executor (or a command) that failed.
const FAILED: u8 = 1;
/// Exit status of a usage error.
const USAGE: u8 = 2;

/// Runs the command line with this process's arguments.
pub fn main() -> ExitCode {
    run(std::env::args_os())
}

/// Runs the command line with `args` (the first being the program's name) and returns the
/// exit status. Never panics: every failure is a message on stderr and a status.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version are "errors" that print to stdout and exit 0.
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(USAGE));
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            say(&format!("error: cannot start the async runtime: {error}"));
            return ExitCode::from(FAILED);
        }
    };
    let status = runtime.block_on(dispatch(cli));
    // A read of stdin still pending (the MCP transport's) must not hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(200));
    ExitCode::from(status)
}

async fn dispatch(cli: Cli) -> u8 {
    let url = database_url(cli.database.as_deref());
    match cli.command {
        Command::Exec { executor, params } => {
            exec(
                &url,
                &cli.plugin,
                cli.read_only,
                cli.max_rows,
                &executor,
                params,
            )
            .await
        }
        // Inspection never creates a database: read-only whatever --read-only says.
        Command::Tables => match connect(&url, &cli.plugin, true, cli.max_rows).await {
            Ok(executors) => match executors.list_tables().await {
                Ok(tables) => {
                    let mut text = String::new();
                    // In a plugin's scope every table is the plugin's; on the host's, a table's
                    // owner follows its name, since two plugins may each have one of that name.
                    let scoped = executors.plugin().is_some();
                    for table in tables {
                        text.push_str(&table.name);
                        if let (false, Some(owner)) = (scoped, &table.owner) {
                            text.push('\t');
                            text.push_str(owner);
                        }
                        text.push('\n');
                    }
                    print(&text)
                }
                Err(error) => fail(&error.to_string()),
            },
            Err(error) => fail(&error.to_string()),
        },
        Command::Schema { table } => match connect(&url, &cli.plugin, true, cli.max_rows).await {
            Ok(executors) => match executors.table_schema(&table).await {
                Ok(schema) => print_json(&schema.to_json(), true),
                Err(error) => fail(&error.to_string()),
            },
            Err(error) => fail(&error.to_string()),
        },
        Command::Executors => {
            let definitions: Vec<Value> = crate::executor::definitions(cli.read_only)
                .iter()
                .map(|d| d.to_json())
                .collect();
            print_json(&Value::Array(definitions), true)
        }
        Command::Export { table, output } => {
            moving::export(&url, &cli.plugin, &table, output.as_deref()).await
        }
        Command::Import { table, file } => moving::import(&url, &cli.plugin, &table, &file).await,
        Command::Copy { to } => moving::copy(&url, &cli.plugin, &to).await,
        Command::Mcp => match connect(&url, &cli.plugin, cli.read_only, cli.max_rows).await {
            Ok(executors) => match crate::mcp::serve_stdio(executors).await {
                Ok(()) => OK,
                Err(error) => fail(&format!("MCP server: {error}")),
            },
            Err(error) => fail(&error.to_string()),
        },
    }
}

async fn exec(
    url: &str,
    plugin: &Option<String>,
    read_only: bool,
    max_rows: Option<u64>,
    name: &str,
    params: Option<String>,
) -> u8 {
    if let Some(result) = executor::unavailable(name, read_only) {
        say(&format!("error: {}", message_of(&result)));
        print_json(&result, false);
        return USAGE;
    }
    let text = match params.as_deref() {
        None => "{}".to_owned(),
        Some("-") => {
            let mut text = String::new();
            if let Err(error) = std::io::stdin().read_to_string(&mut text) {
                let result = executor::malformed_params(
                    name,
                    format!("cannot read the parameters from stdin: {error}"),
                );
                say(&format!("error: {}", message_of(&result)));
                print_json(&result, false);
                return USAGE;
            }
            text
        }
        Some(text) => text.to_owned(),
    };
    let params: Value = if text.trim().is_empty() {
        Value::Object(serde_json::Map::new())
    } else {
        match serde_json::from_str(&text) {
            Ok(params) => params,
            Err(error) if executor::is_too_deep(&error) => {
                let result = executor::too_deep(name);
                say(&format!("error: {}", message_of(&result)));
                print_json(&result, false);
                return FAILED;
            }
            Err(error) => {
                let result = executor::malformed_params(
                    name,
                    format!("the parameters are not JSON: {error}"),
                );
                say(&format!("error: {}", message_of(&result)));
                print_json(&result, false);
                return USAGE;
            }
        }
    };
    let executors = match connect(url, plugin, read_only, max_rows).await {
        Ok(executors) => executors,
        Err(error) => {
            say(&format!("error: {error}"));
            print_json(&executor::failure(&error), false);
            return FAILED;
        }
    };
    let result = executors.execute(name, params).await;
    let status = print_json(&result, false);
    if result.get("success").and_then(Value::as_bool) == Some(true) {
        status
    } else {
        say(&format!("error: {}", message_of(&result)));
        FAILED
    }
}

/// `--database`, else `MEMTABLE_DATABASE_URL`, else `DATABASE_URL`, else the default.
fn database_url(flag: Option<&str>) -> String {
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    flag.map(str::to_owned)
        .or_else(|| from_env("MEMTABLE_DATABASE_URL"))
        .or_else(|| from_env("DATABASE_URL"))
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

async fn connect(
    url: &str,
    plugin: &Option<String>,
    read_only: bool,
    max_rows: Option<u64>,
) -> crate::Result<Executors> {
    let store = open_store(url, read_only).await?;
    let executors = match plugin {
        Some(plugin) => Executors::for_plugin(store, plugin.clone()),
        None => Executors::new(store),
    };
    let executors = match max_rows {
        Some(max) => executors.with_max_rows(max),
        None => executors,
    };
    Ok(if read_only {
        executors.read_only()
    } else {
        executors
    })
}

/// Connects to `url`, read-only (the database refuses writes, nothing is created) or not; a
/// new SQLite file is announced on stderr, so that a mistyped path does not silently give an
/// agent an empty database.
async fn open_store(url: &str, read_only: bool) -> crate::Result<Store> {
    let new_file = if read_only {
        None
    } else {
        crate::backend::file_to_create(url)
    };
    let store = Store::builder(url).read_only(read_only).connect().await?;
    if let Some(path) = new_file
        && path.exists()
    {
        say(&format!(
            "memtable: created a new SQLite database {}",
            path.display()
        ));
    }
    Ok(store)
}

fn message_of(result: &Value) -> &str {
    result
        .pointer("/data/message")
        .and_then(Value::as_str)
        .unwrap_or("the executor failed")
}

/// Writes to stdout; a closed stdout is a failure, not a panic.
fn print(text: &str) -> u8 {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => OK,
        Err(_) => FAILED,
    }
}

fn print_json(value: &Value, pretty: bool) -> u8 {
    if !pretty && let Some(line) = result_line(value) {
        return print(&(line + "\n"));
    }
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    match text {
        Ok(text) => print(&(text + "\n")),
        Err(error) => fail(&format!("cannot print the result: {error}")),
    }
}

/// An executor result on one line with `success` first, for people reading it (JSON objects
/// are otherwise printed with their keys sorted).
fn result_line(result: &Value) -> Option<String> {
    let object = result.as_object()?;
    let success = object.get("success")?.as_bool()?;
    let data = object.get("data")?;
    if object.len() != 2 {
        return None;
    }
    let data = serde_json::to_string(data).ok()?;
    Some(format!("{{\"success\":{success},\"data\":{data}}}"))
}

/// Writes a message for people to stderr.
fn say(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

fn fail(message: &str) -> u8 {
    say(&format!("error: {message}"));
    FAILED
}
