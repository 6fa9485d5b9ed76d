//! The `memtable` command: executors from a shell, tables and schemas, and an MCP server.
//! See `memtable --help` and [`memtable::cli`].

fn main() -> std::process::ExitCode {
    memtable::cli::main()
}
