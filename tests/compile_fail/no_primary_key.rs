// No field marked primary_key.
use memtable::Table;

#[derive(Table)]
struct Event {
    name: String,
    at: i64,
}

fn main() {}
