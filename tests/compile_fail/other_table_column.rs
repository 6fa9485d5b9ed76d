// A query on one table filtering on another table's column.
use memtable::{Store, Table};

#[derive(Table)]
#[memtable(table = "oauth_tokens")]
struct OauthToken {
    #[memtable(primary_key)]
    id: String,
    user_id: String,
}

#[derive(Table)]
#[memtable(table = "plugin_x_data")]
struct PluginData {
    #[memtable(primary_key, auto_increment)]
    id: i64,
    user_id: String,
}

async fn tokens(store: &Store) -> memtable::Result<Vec<OauthToken>> {
    store
        .select::<OauthToken>()
        .filter(PluginData::USER_ID.eq("u1"))
        .all()
        .await
}

fn main() {
    let _ = tokens;
}
