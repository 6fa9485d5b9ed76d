// A number compared with a String column.
use memtable::Table;

#[derive(Table)]
#[memtable(table = "oauth_tokens")]
struct OauthToken {
    #[memtable(primary_key)]
    id: String,
    user_id: String,
}

fn main() {
    let _ = OauthToken::USER_ID.eq(5);
}
