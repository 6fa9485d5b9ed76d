use memtable::Table;

#[derive(Table)]
struct Settings {
    #[memtable(primary_key)]
    id: String,
    #[memtable(default = "three")]
    retries: i64,
    #[memtable(default = 1.5)]
    enabled: bool,
    #[memtable(default = 5)]
    label: Option<String>,
}

#[derive(Table)]
struct Keyed {
    #[memtable(primary_key, default = "k")]
    id: String,
    #[memtable(default = some_function())]
    other: String,
}

fn main() {}
