// auto_increment on a text key.
use memtable::Table;

#[derive(Table)]
struct Note {
    #[memtable(primary_key, auto_increment)]
    id: String,
    body: String,
}

fn main() {}
