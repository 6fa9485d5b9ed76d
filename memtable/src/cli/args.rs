//! The command line's grammar.

use clap::{Parser, Subcommand};

/// Database tables owned by agent plugins, from a shell or an MCP client.
#[derive(Debug, Parser)]
#[command(name = "memtable", version, about, long_about = None)]
pub(crate) struct Cli {
    /// The database: sqlite://path/to/file.db, sqlite::memory: or postgres://… [default: the
    /// MEMTABLE_DATABASE_URL variable, else DATABASE_URL, else sqlite://memtable.db]
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) database: Option<String>,

    /// Scope every command to the tables of plugin NAME (tables created through it belong to
    /// it; others are invisible).
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) plugin: Option<String>,

    /// Only the executors that never write (query_table, table_exists), on connections the
    /// database itself refuses writes on; nothing is created (a missing SQLite file is an
    /// error naming it).
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
    Exec {
        /// The executor: create_table, insert_into_table, update_table_record, query_table,
        /// delete_from_table, table_exists or drop_table.
        executor: String,
        /// Its parameters as JSON; `-` reads them from stdin; none means `{}`.
        params: Option<String>,
    },
    /// List the tables memtable created (in a plugin scope: the plugin's), one per line.
    Tables,
    /// Print a table's schema JSON.
    Schema {
        /// The table.
        table: String,
    },
    /// Print the executors: names, descriptions and JSON Schemas of their parameters.
    Executors,
    /// Serve the executors as MCP tools over stdin/stdout.
    Mcp,
}
