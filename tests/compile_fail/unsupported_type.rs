// A field whose type has no column type, without #[memtable(json)].
use memtable::Table;

struct Settings {
    theme: String,
}

#[derive(Table)]
struct Space {
    #[memtable(primary_key)]
    id: String,
    settings: Settings,
}

fn main() {}
