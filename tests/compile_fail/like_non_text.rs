// `like` on a bigint column.
use memtable::Table;

#[derive(Table)]
#[memtable(table = "oauth_tokens")]
struct OauthToken {
    #[memtable(primary_key)]
    id: String,
    expires_at: Option<i64>,
}

fn main() {
    let _ = OauthToken::EXPIRES_AT.like("17%");
}
