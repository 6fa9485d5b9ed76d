//! The command line's grammar.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Examples of every command, under `memtable --help`.
const EXAMPLES: &str = r#"Examples:
  memtable exec create_table '{"name": "notes", "columns": [{"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]}, {"name": "body", "type": "text"}]}'
  memtable exec insert_into_table '{"tableName": "notes", "data": {"body": "hello"}}'
  echo '{"tableName": "notes"}' | memtable --read-only exec query_table -
  memtable tables
  memtable schema notes
  memtable executors
  memtable --database sqlite:///home/me/agent.db --plugin my_agent mcp
  memtable export notes --output notes.jsonl
  memtable import notes notes.jsonl
  memtable --database sqlite://agent.db copy --to postgres://user@host/db

Install: cargo install --path memtable --features cli"#;

/// Database tables owned by agent plugins, from a shell or an MCP client.
#[derive(Debug, Parser)]
#[command(name = "memtable", version, about, long_about = None, after_help = EXAMPLES)]
pub(crate) struct Cli {
    /// The database: sqlite://path/to/file.db, sqlite::memory: or postgres://… [default: the
    /// MEMTABLE_DATABASE_URL variable, else DATABASE_URL, else sqlite://memtable.db]
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) database: Option<String>,

    /// Run every command in the namespace of plugin NAME: its tables only, by the names it
    /// gave (tables created through it are its own; other plugins' and the host's are
    /// invisible).
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) plugin: Option<String>,

    /// Only the executors that never write (query_table, table_exists, list_tables,
    /// describe_table), on connections the database itself refuses writes on; nothing is
    /// created (a missing SQLite file is an error naming it).
    #[arg(long, global = true)]
    pub(crate) read_only: bool,

    /// The most rows one query_table call returns (more matching rows are cut off, and the
    /// result says `"truncated": true`) [default: 1000]
    #[arg(long, global = true, value_name = "N")]
    pub(crate) max_rows: Option<u64>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run an executor and print its result JSON on one line (exit 0: success, 1: the executor
    /// failed, 2: usage error).
    #[command(after_help = r#"Example:
  memtable exec query_table '{"tableName": "notes", "queryOptions": {"where": {"body": {"$like": "he%"}}, "limit": 10}}'"#)]
    Exec {
        /// The executor: create_table, insert_into_table, update_table_record, query_table,
        /// delete_from_table, table_exists, drop_table, list_tables or describe_table.
        executor: String,
        /// Its parameters as JSON; `-` reads them from stdin; none means `{}`.
        params: Option<String>,
    },
    /// List the tables memtable created, one per line (on the host's store, an owned table's
    /// owner follows its name after a tab; with --plugin, the plugin's tables only). Opens the
    /// database read-only: never creates one.
    #[command(after_help = "Example:\n  memtable --database sqlite://agent.db tables")]
    Tables,
    /// Print a table's schema JSON. Opens the database read-only.
    #[command(after_help = "Example:\n  memtable schema notes")]
    Schema {
        /// The table.
        table: String,
    },
    /// Print the executors: names, descriptions and JSON Schemas of their parameters.
    #[command(after_help = "Example:\n  memtable --read-only executors")]
    Executors,
    /// Serve the executors as MCP tools over stdin/stdout (and each table's schema as a
    /// resource).
    #[command(
        after_help = "Example:\n  memtable --database sqlite:///home/me/agent.db --plugin my_agent --read-only mcp"
    )]
    Mcp,
    /// Write a table as JSON Lines (one record a line: json as JSON, blob as base64, bigint
    /// exact), read in key order page by page. Opens the database read-only.
    #[command(after_help = "Example:\n  memtable export notes --output notes.jsonl")]
    Export {
        /// The table.
        table: String,
        /// Write to FILE instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Read JSON Lines (as export writes them) into an existing table, all or nothing: a line
    /// that is not JSON or does not fit the table fails with its number, and nothing is
    /// imported.
    #[command(
        after_help = "Example:\n  memtable import notes notes.jsonl\n  memtable export notes | memtable --database postgres://user@host/db import notes -"
    )]
    Import {
        /// The table.
        table: String,
        /// The file; `-` reads stdin.
        file: String,
    },
    /// Copy every table (schema, owner, rows) from --database to another database, e.g. from
    /// the embedded SQLite file to PostgreSQL. Refuses a destination table that already holds
    /// rows, changing nothing.
    #[command(
        after_help = "Example:\n  memtable --database sqlite://agent.db copy --to postgres://user@host/db"
    )]
    Copy {
        /// The destination database: sqlite://path/to/file.db or postgres://…
        #[arg(long, value_name = "URL")]
        to: String,
    },
}
