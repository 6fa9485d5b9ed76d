//! `memtable export`, `import` and `copy`: the command-line side of [`crate::transfer`], with
//! a progress bar on stderr when it is a terminal (nothing otherwise).

use std::io::{BufReader, BufWriter, IsTerminal as _};
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{FAILED, OK, USAGE, connect, fail, open_store, say};
use crate::store::Store;
use crate::transfer;

/// A progress bar of `total` rows on stderr, or nothing when stderr is not a terminal.
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new(total: u64, what: &str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} rows ({per_sec}, {eta} left)",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        Progress(Some(bar))
    }

    fn set(&self, rows: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(rows);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// The store that addresses `table` for `plugin`: its scope ([`Store::scoped`]), where a
/// table of another plugin's is missing; the host's store without one.
async fn visible(plugin: &Option<String>, store: Store, table: &str) -> crate::Result<Store> {
    let store = match plugin {
        Some(plugin) => store.scoped(plugin)?,
        None => store,
    };
    store.table_schema(table).await?;
    Ok(store)
}

pub(super) async fn export(
    url: &str,
    plugin: &Option<String>,
    table: &str,
    output: Option<&Path>,
) -> u8 {
    // Inspection: read-only, never creating a database.
    let store = match connect(url, &None, true, None).await {
        Ok(executors) => executors.store().clone(),
        Err(error) => return fail(&error.to_string()),
    };
    let store = match visible(plugin, store, table).await {
        Ok(store) => store,
        Err(error) => return fail(&error.to_string()),
    };
    let total = match store.count(table, None).await {
        Ok(total) => total,
        Err(error) => return fail(&error.to_string()),
    };
    let progress = Progress::new(total, &format!("export {table}"));
    let result = match output {
        Some(path) => {
            let file = match std::fs::File::create(path) {
                Ok(file) => file,
                Err(error) => return fail(&format!("cannot create {}: {error}", path.display())),
            };
            let mut out = BufWriter::new(file);
            let result =
                transfer::export_table(&store, table, &mut out, &mut |rows| progress.set(rows))
                    .await;
            if result.is_err() {
                // A partial export is not an export.
                drop(out);
                let _ = std::fs::remove_file(path);
            }
            result
        }
        None => {
            let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout());
            transfer::export_table(&store, table, &mut out, &mut |rows| progress.set(rows)).await
        }
    };
    drop(progress);
    match result {
        Ok(_) => OK,
        Err(error) => fail(&error.to_string()),
    }
}

pub(super) async fn import(url: &str, plugin: &Option<String>, table: &str, file: &str) -> u8 {
    if let Some(path) = crate::backend::file_to_create(url) {
        return fail(&format!(
            "the SQLite database {} does not exist: import into a table of an existing database",
            path.display()
        ));
    }
    let store = match open_store(url, false).await {
        Ok(store) => store,
        Err(error) => return fail(&error.to_string()),
    };
    let store = match visible(plugin, store, table).await {
        Ok(store) => store,
        Err(error) => return fail(&error.to_string()),
    };
    let result = if file == "-" {
        let progress = Progress(None);
        let stdin = std::io::stdin().lock();
        transfer::import_table(&store, table, stdin, &mut |rows| progress.set(rows)).await
    } else {
        let opened = std::fs::File::open(file);
        let input = match opened {
            Ok(input) => input,
            Err(error) => return fail(&format!("cannot read {file}: {error}")),
        };
        // The file's size in lines is unknown without reading it twice: the bar counts bytes
        // of lines read only once it has them, so it shows rows read, against no total.
        let progress = Progress::new(0, &format!("import {table}"));
        if let Some(bar) = &progress.0 {
            bar.set_length(0);
            if let Ok(style) = ProgressStyle::with_template("{msg} {pos} rows read ({per_sec})") {
                bar.set_style(style);
            }
        }
        transfer::import_table(&store, table, BufReader::new(input), &mut |rows| {
            progress.set(rows)
        })
        .await
    };
    match result {
        Ok(rows) => {
            say(&format!("imported {rows} record(s) into {table}"));
            OK
        }
        Err(error) => fail(&format!("{error}; nothing was imported")),
    }
}

pub(super) async fn copy(url: &str, plugin: &Option<String>, to: &str) -> u8 {
    if plugin.is_some() {
        say("error: copy moves every table with its owner; --plugin does not apply to it");
        return USAGE;
    }
    // The source is only read; the destination is checked by connecting before anything is
    // written (an unknown scheme, an unreachable server).
    let from = match open_store(url, true).await {
        Ok(store) => store,
        Err(error) => return fail(&format!("the source: {error}")),
    };
    let to_store = match open_store(to, false).await {
        Ok(store) => store,
        Err(error) => return fail(&format!("the destination: {error}")),
    };
    let mut total = 0u64;
    match from.list_tables().await {
        Ok(tables) => {
            for table in tables {
                // A table in a plugin's namespace is counted through that plugin's scope.
                let counted =
                    match transfer::addressing(&from, table.namespaced, table.owner.as_deref()) {
                        Ok(store) => store.count(&table.name, None).await,
                        Err(error) => Err(error),
                    };
                match counted {
                    Ok(rows) => total += rows,
                    Err(error) => return fail(&error.to_string()),
                }
            }
        }
        Err(error) => return fail(&error.to_string()),
    }
    let progress = Progress::new(total, "copy");
    let result = transfer::copy_database(&from, &to_store, &mut |rows| progress.set(rows)).await;
    drop(progress);
    match result {
        Ok(report) => {
            for (table, rows) in &report.tables {
                say(&format!("copied {table}: {rows} row(s)"));
            }
            OK
        }
        Err(error) => {
            say(&format!("error: {error}"));
            FAILED
        }
    }
}
