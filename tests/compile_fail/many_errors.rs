// Every mistake of one struct is reported at once, each at its token.
use memtable::Table;

#[derive(Table)]
#[memtable(table = "sqlite_stats", index(name = "1st", columns(nope)), shard = 3)]
struct Stats {
    #[memtable(primary_key, rename = "my id")]
    id: String,
    #[memtable(auto_increment, type = "varchar")]
    count: i64,
}

fn main() {}
