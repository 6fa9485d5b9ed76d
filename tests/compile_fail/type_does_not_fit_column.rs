// A `type = "..."` override that the field's type cannot be stored in.
use memtable::Table;

#[derive(Table)]
struct Profile {
    #[memtable(primary_key)]
    id: String,
    #[memtable(type = "integer")]
    nickname: Option<String>,
}

fn main() {}
