//! The OAuth-token flow of an agent plugin, with memtable's dynamic API: create the table if
//! needed, purge stale tokens in one statement, store a token, look it up by (user_id,
//! provider), refresh it, rotate its refresh token inside a transaction, delete it.
//!
//! ```sh
//! cargo run --example oauth_tokens                       # an embedded SQLite file, memtable.db
//! MEMTABLE_DATABASE_URL=postgres://… cargo run --example oauth_tokens
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use memtable::{Filter, QueryOptions, Record, Store, TableSchema, Value};
use serde_json::json;

const SCHEMA: &str = r#"{
  "name": "oauth_tokens",
  "columns": [
    { "name": "id", "type": "text", "constraints": ["primary_key"] },
    { "name": "user_id", "type": "text", "constraints": ["not_null"] },
    { "name": "provider", "type": "text", "constraints": ["not_null"] },
    { "name": "access_token", "type": "text", "constraints": ["not_null"] },
    { "name": "refresh_token", "type": "text" },
    { "name": "expires_at", "type": "bigint" },
    { "name": "scope", "type": "text" },
    { "name": "token_data", "type": "json" },
    { "name": "created_at", "type": "bigint", "constraints": ["not_null"] },
    { "name": "updated_at", "type": "bigint", "constraints": ["not_null"] }
  ],
  "indexes": [ { "name": "idx_user_provider", "columns": ["user_id", "provider"], "unique": true } ]
}"#;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn find_token(store: &Store, user: &str, provider: &str) -> memtable::Result<Option<Record>> {
    let options = QueryOptions::new()
        .filter(Filter::eq("user_id", user).and(Filter::eq("provider", provider)))
        .limit(1);
    Ok(store
        .query_table("oauth_tokens", &options)
        .await?
        .into_iter()
        .next())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("MEMTABLE_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "sqlite://memtable.db".to_owned());
    let store = Store::connect(&url).await?;
    println!("connected to {:?} ({url})", store.backend());

    let schema = TableSchema::from_json_str(SCHEMA)?;
    store.create_table(&schema).await?;
    println!("table oauth_tokens is ready");

    // Purge stale tokens in one statement: every expired one, and the one a previous run that
    // stopped half-way may have left behind ({"$or": [...]} in an executor's where).
    let purged = store
        .delete_where(
            "oauth_tokens",
            &Filter::any([
                Filter::lt("expires_at", now_ms()),
                Filter::eq("user_id", "user123").and(Filter::eq("provider", "github")),
            ]),
        )
        .await?;
    println!("purged {purged} stale token(s)");

    let created = now_ms();
    let token = Record::new()
        .with("user_id", "user123")
        .with("provider", "github")
        .with("access_token", "gho_first")
        .with("refresh_token", "ghr_refresh")
        .with("expires_at", created + 3_600_000)
        .with("scope", "repo read:user")
        .with(
            "token_data",
            json!({"token_type": "bearer", "scopes": ["repo", "read:user"]}),
        )
        .with("created_at", created)
        .with("updated_at", created);
    let id = store.insert_into_table("oauth_tokens", token).await?;
    println!("stored token {id}");

    let found = find_token(&store, "user123", "github")
        .await?
        .ok_or("the token just stored is missing")?;
    println!("found by (user_id, provider): {}", found.to_json());

    let refreshed = now_ms();
    store
        .update_table_record(
            "oauth_tokens",
            &id,
            Record::new()
                .with("access_token", "gho_second")
                .with("expires_at", refreshed + 3_600_000)
                .with("updated_at", refreshed),
        )
        .await?;
    let after = find_token(&store, "user123", "github")
        .await?
        .ok_or("the refreshed token is missing")?;
    println!(
        "refreshed: access_token is now {}",
        after
            .get("access_token")
            .and_then(Value::as_str)
            .unwrap_or_default()
    );

    // Rotate the refresh token: the old row goes and a new one (a new id) comes, both or
    // neither. Until the commit, other connections still see the old token.
    let rotated = now_ms();
    let tx = store.begin().await?;
    let mut next = after.clone();
    tx.delete_from_table("oauth_tokens", &id).await?;
    next.insert("id", Value::Null);
    next.insert("refresh_token", "ghr_rotated");
    next.insert("updated_at", rotated);
    let new_id = tx.insert_into_table("oauth_tokens", next).await?;
    tx.commit().await?;
    let current = find_token(&store, "user123", "github")
        .await?
        .ok_or("the rotated token is missing")?;
    println!(
        "rotated in a transaction: token {id} replaced by {new_id}, refresh_token {}",
        current
            .get("refresh_token")
            .and_then(Value::as_str)
            .unwrap_or_default()
    );

    store.delete_from_table("oauth_tokens", &new_id).await?;
    let gone = find_token(&store, "user123", "github").await?.is_none();
    println!(
        "deleted token {new_id}: {}",
        if gone { "gone" } else { "still there!" }
    );
    Ok(())
}
