// A misspelt attribute key: the message lists the valid ones.
use memtable::Table;

#[derive(Table)]
struct Note {
    #[memtable(primary_key, autoincrement)]
    id: i64,
    body: String,
}

fn main() {}
