//! A plugin's table across releases: v1 of the plugin creates its table and writes rows; v2
//! adds an optional field, a field with a default and an index, syncs the table at start-up
//! and reads the v1 rows back; a v3 that drops a field is refused, with every difference
//! listed, and the table is left as v2 made it.
//!
//! ```sh
//! cargo run --example plugin_upgrade                       # an embedded SQLite file, memtable.db
//! MEMTABLE_DATABASE_URL=postgres://… cargo run --example plugin_upgrade
//! ```

use memtable::{Error, Store, Table};

/// The plugin's first release.
mod v1 {
    #[derive(memtable::Table, Debug, Clone)]
    #[memtable(table = "upgrade_demo_tasks")]
    pub struct Task {
        #[memtable(primary_key)]
        pub id: String,
        pub title: String,
        pub done: bool,
    }
}

/// The second release: one `Option` field (NULL in the rows v1 wrote), one field with a
/// default (the rows v1 wrote get it), and an index on it.
mod v2 {
    #[derive(memtable::Table, Debug, Clone)]
    #[memtable(
        table = "upgrade_demo_tasks",
        index(name = "idx_upgrade_demo_tasks_priority", columns(priority))
    )]
    pub struct Task {
        #[memtable(primary_key)]
        pub id: String,
        pub title: String,
        pub done: bool,
        pub due_at: Option<i64>,
        #[memtable(default = 2)]
        pub priority: i32,
    }
}

/// A third release that drops `done`: not an additive change, so it is refused.
mod v3 {
    #[derive(memtable::Table, Debug, Clone)]
    #[memtable(
        table = "upgrade_demo_tasks",
        index(name = "idx_upgrade_demo_tasks_priority", columns(priority))
    )]
    pub struct Task {
        #[memtable(primary_key)]
        pub id: String,
        pub title: String,
        pub due_at: Option<i64>,
        #[memtable(default = 2)]
        pub priority: i32,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("MEMTABLE_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "sqlite://memtable.db".to_owned());
    let store = Store::connect(&url).await?;
    println!("connected to {:?} ({url})", store.backend());

    // A previous run left the table at v2: replay the plugin's history from the start.
    if store.table_exists(v1::Task::TABLE_NAME).await? {
        store.drop_table(v1::Task::TABLE_NAME).await?;
    }

    // ---- v1 ----
    let report = store.sync_table_for::<v1::Task>().await?;
    println!("v1: table created: {}", report.created);
    for (id, title) in [("t1", "write the plugin"), ("t2", "ship v1")] {
        let task = v1::Task {
            id: id.into(),
            title: title.into(),
            done: id == "t1",
        };
        store.insert(&task).await?;
    }
    println!("v1: wrote 2 tasks");

    // ---- v2: at start-up, the plugin syncs its table ----
    let report = store.sync_table_for::<v2::Task>().await?;
    println!(
        "v2: added columns {:?} and indexes {:?}",
        report.added_columns, report.added_indexes
    );
    let tasks = store
        .select::<v2::Task>()
        .order_by(v2::Task::ID.asc())
        .all()
        .await?;
    for task in &tasks {
        println!(
            "v2 reads a v1 row: {} {:?} done={} due_at={:?} priority={}",
            task.id, task.title, task.done, task.due_at, task.priority
        );
    }
    store
        .insert(&v2::Task {
            id: "t3".into(),
            title: "plan v3".into(),
            done: false,
            due_at: Some(1_900_000_000_000),
            priority: 1,
        })
        .await?;
    let urgent = store
        .select::<v2::Task>()
        .filter(v2::Task::PRIORITY.lt(2))
        .count()
        .await?;
    println!("v2: {urgent} urgent task(s), found through the new index");

    // Every later start of v2 costs nothing: the schema is already there.
    let again = store.sync_table_for::<v2::Task>().await?;
    println!("v2 again: unchanged: {}", again.is_unchanged());

    // ---- v3 drops a field: refused, nothing changes ----
    match store.sync_table_for::<v3::Task>().await {
        Err(Error::SchemaMismatch {
            table, differences, ..
        }) => {
            println!("v3 refused for table {table:?}:");
            for difference in &differences {
                println!("  - {difference}");
            }
        }
        Ok(report) => return Err(format!("v3 was not refused: {report:?}").into()),
        Err(other) => return Err(other.into()),
    }
    let still = store.table_schema(v2::Task::TABLE_NAME).await?;
    println!(
        "the table still has the v2 schema: {}",
        still.differences(&v2::Task::schema()).is_empty()
    );
    Ok(())
}
