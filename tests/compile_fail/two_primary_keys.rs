// Two fields marked primary_key.
use memtable::Table;

#[derive(Table)]
struct Session {
    #[memtable(primary_key)]
    id: String,
    #[memtable(primary_key)]
    token: String,
}

fn main() {}
