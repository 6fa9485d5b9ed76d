// A table name that is not an identifier.
use memtable::Table;

#[derive(Table)]
#[memtable(table = "oauth-tokens")]
struct OauthToken {
    #[memtable(primary_key)]
    id: String,
}

fn main() {}
