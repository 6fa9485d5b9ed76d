// An index naming a field the struct does not have.
use memtable::Table;

#[derive(Table)]
#[memtable(table = "oauth_tokens", index(name = "idx_user_provider", columns(user_id, provder), unique))]
struct OauthToken {
    #[memtable(primary_key)]
    id: String,
    user_id: String,
    provider: String,
}

fn main() {}
