// Attribute errors and field-type errors of one struct are reported in the same compile.
use memtable::Table;

struct Settings {
    theme: String,
}

#[derive(Table)]
#[memtable(table = "sqlite_spaces", shard = 3)]
struct Space {
    #[memtable(primary_key, auto_increment)]
    id: String,
    #[memtable(rename = "display name")]
    name: String,
    settings: Settings,
    #[memtable(type = "integer")]
    owner: Option<String>,
    #[memtable(type = "varchar")]
    skipped: Settings,
}

fn main() {}
