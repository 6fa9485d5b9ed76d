//! The typed API (`#[derive(Table)]` structs) against the dynamic `Record` API on the same
//! tables, on a SQLite file and on PostgreSQL: every test body runs on both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use memtable::{
    ColumnType, ConstraintKind, Error, Filter, OrderBy, QueryOptions, Record, Table, TableSchema,
    Value,
};
use memtable_tests::every_backend;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Table, Debug, Clone, PartialEq)]
#[memtable(
    table = "oauth_tokens",
    index(name = "idx_user_provider", columns(user_id, provider), unique)
)]
struct OauthToken {
    #[memtable(primary_key)]
    id: String,
    user_id: String,
    provider: String,
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<i64>,
    #[memtable(json)]
    token_data: Option<serde_json::Value>,
    created_at: i64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Setting {
    enabled: bool,
    level: u8,
}

/// A plugin's per-space key/value table, with one column of every other type.
#[derive(Table, Debug, Clone, PartialEq)]
#[memtable(
    table = "plugin_x_data",
    index(name = "idx_space_key", columns(space_id, key), unique)
)]
struct PluginData {
    #[memtable(primary_key, auto_increment)]
    id: i64,
    space_id: String,
    key: String,
    #[memtable(json)]
    value: Setting,
    enabled: Option<bool>,
    payload: Option<Vec<u8>>,
    score: Option<f64>,
    owner: Option<uuid::Uuid>,
}

/// Small and unsigned integer columns, filtered with bare literals.
#[derive(Table, Debug, Clone, PartialEq)]
struct Reading {
    #[memtable(primary_key, auto_increment)]
    id: i32,
    sensor: i16,
    channel: u16,
    ticks: u32,
    level: Option<u8>,
}

fn token(user: &str, provider: &str, created_at: i64) -> OauthToken {
    OauthToken {
        id: String::new(),
        user_id: user.into(),
        provider: provider.into(),
        access_token: format!("at-{user}-{provider}"),
        refresh_token: None,
        expires_at: Some(created_at * 10),
        token_data: Some(json!({"scope": ["repo"], "n": created_at})),
        created_at,
    }
}

fn data(space: &str, key: &str, level: u8) -> PluginData {
    PluginData {
        id: 0,
        space_id: space.into(),
        key: key.into(),
        value: Setting {
            enabled: level > 0,
            level,
        },
        enabled: Some(level.is_multiple_of(2)),
        payload: Some(vec![0, level, 255]),
        score: Some(f64::from(level) / 4.0),
        owner: Some(uuid::Uuid::now_v7()),
    }
}

every_backend! {
    async fn typed_rows_read_back_through_the_dynamic_api(db, store) {
        store.create_table_for::<OauthToken>().await.unwrap();
        let mut row = token("u1", "github", 5);
        row.refresh_token = Some("rt".into());
        let id = store.insert(&row).await.unwrap();
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);

        let records = store.query_table("oauth_tokens", &QueryOptions::new()).await.unwrap();
        assert_eq!(records.len(), 1);
        let record = &records[0];
        assert_eq!(record.get("id"), Some(&Value::Text(id.clone())));
        assert_eq!(record.get("user_id"), Some(&Value::Text("u1".into())));
        assert_eq!(record.get("refresh_token"), Some(&Value::Text("rt".into())));
        assert_eq!(record.get("expires_at"), Some(&Value::Integer(50)));
        assert_eq!(
            record.get("token_data"),
            Some(&Value::Json(json!({"scope": ["repo"], "n": 5})))
        );
        assert_eq!(record.get("created_at"), Some(&Value::Integer(5)));

        // A new process reads the same row, typed.
        let other = db.connect().await;
        row.id = id.clone();
        assert_eq!(other.find::<OauthToken>(&id).await.unwrap(), Some(row));
    }

    async fn a_table_whose_columns_differ_from_the_struct_reads_typed_by_name(db, store) {
        // The struct's columns in another order, and one more it does not have.
        store.create_table(&TableSchema::from_json(json!({
            "name": "oauth_tokens",
            "columns": [
                { "name": "created_at", "type": "bigint", "constraints": ["not_null"] },
                { "name": "note", "type": "text" },
                { "name": "token_data", "type": "json" },
                { "name": "expires_at", "type": "bigint" },
                { "name": "refresh_token", "type": "text" },
                { "name": "access_token", "type": "text", "constraints": ["not_null"] },
                { "name": "provider", "type": "text", "constraints": ["not_null"] },
                { "name": "user_id", "type": "text", "constraints": ["not_null"] },
                { "name": "id", "type": "text", "constraints": ["primary_key"] }
            ]
        })).unwrap()).await.unwrap();
        let id = store.insert_into_table("oauth_tokens", Record::new()
            .with("user_id", "u1")
            .with("provider", "github")
            .with("access_token", "at")
            .with("expires_at", 3_i64)
            .with("note", "not a field")
            .with("created_at", 7_i64)).await.unwrap();
        let expected = OauthToken {
            id: id.clone(),
            user_id: "u1".into(),
            provider: "github".into(),
            access_token: "at".into(),
            refresh_token: None,
            expires_at: Some(3),
            token_data: None,
            created_at: 7,
        };
        let one = store.select::<OauthToken>().filter(OauthToken::USER_ID.eq("u1")).one().await;
        assert_eq!(one.unwrap(), Some(expected.clone()));
        assert_eq!(store.find::<OauthToken>(&id).await.unwrap(), Some(expected.clone()));
        assert_eq!(store.select::<OauthToken>().all().await.unwrap(), vec![expected]);
    }

    async fn dynamic_rows_read_back_through_the_typed_api(db, store) {
        // The table is created from its JSON form; the derived schema is the same table.
        store.create_table(&TableSchema::from_json(json!({
            "name": "oauth_tokens",
            "columns": [
                { "name": "id", "type": "text", "constraints": ["primary_key"] },
                { "name": "user_id", "type": "text", "constraints": ["not_null"] },
                { "name": "provider", "type": "text", "constraints": ["not_null"] },
                { "name": "access_token", "type": "text", "constraints": ["not_null"] },
                { "name": "refresh_token", "type": "text" },
                { "name": "expires_at", "type": "bigint" },
                { "name": "token_data", "type": "json" },
                { "name": "created_at", "type": "bigint", "constraints": ["not_null"] }
            ],
            "indexes": [ { "name": "idx_user_provider", "columns": ["user_id", "provider"], "unique": true } ]
        })).unwrap()).await.unwrap();
        store.create_table_for::<OauthToken>().await.unwrap();

        let id = store.insert_into_table("oauth_tokens", Record::new()
            .with("user_id", "u1")
            .with("provider", "github")
            .with("access_token", "at")
            .with("token_data", json!({"scopes": ["repo", "user"]}))
            .with("created_at", 7_i64)).await.unwrap();
        let found: OauthToken = store.find(&id).await.unwrap().unwrap();
        assert_eq!(found, OauthToken {
            id: id.clone(),
            user_id: "u1".into(),
            provider: "github".into(),
            access_token: "at".into(),
            refresh_token: None,
            expires_at: None,
            token_data: Some(json!({"scopes": ["repo", "user"]})),
            created_at: 7,
        });
        let by_user = store
            .select::<OauthToken>()
            .filter(OauthToken::USER_ID.eq("u1"))
            .filter(OauthToken::EXPIRES_AT.is_null())
            .one()
            .await
            .unwrap();
        assert_eq!(by_user.map(|t| t.id), Some(id.clone()));

        // A dynamic update is seen typed, a typed update dynamically.
        store.update_table_record("oauth_tokens", &id, Record::new().with("expires_at", 99_i64)).await.unwrap();
        let mut found: OauthToken = store.find(&id).await.unwrap().unwrap();
        assert_eq!(found.expires_at, Some(99));
        found.access_token = "at2".into();
        found.token_data = None;
        store.update(&found).await.unwrap();
        let record = store
            .query_table("oauth_tokens", &QueryOptions::new().filter(Filter::eq("id", id.as_str())))
            .await
            .unwrap()
            .remove(0);
        assert_eq!(record.get("access_token"), Some(&Value::Text("at2".into())));
        assert_eq!(record.get("token_data"), Some(&Value::Null));
    }

    async fn every_type_round_trips_between_the_apis(db, store) {
        store.create_table_for::<PluginData>().await.unwrap();
        let row = data("s1", "theme", 3);
        let id = store.insert(&row).await.unwrap();
        assert_eq!(id, "1");
        let record = store
            .query_table("plugin_x_data", &QueryOptions::new())
            .await
            .unwrap()
            .remove(0);
        assert_eq!(record.get("id"), Some(&Value::Integer(1)));
        assert_eq!(record.get("value"), Some(&Value::Json(json!({"enabled": true, "level": 3}))));
        assert_eq!(record.get("enabled"), Some(&Value::Bool(false)));
        assert_eq!(record.get("payload"), Some(&Value::Blob(vec![0, 3, 255])));
        assert_eq!(record.get("score"), Some(&Value::Real(0.75)));
        assert_eq!(
            record.get("owner"),
            Some(&Value::Text(row.owner.unwrap().to_string()))
        );

        // The record written back dynamically, under another key, reads back typed.
        let mut copy = record.clone();
        copy.remove("id");
        copy.insert("key", "copy");
        let copy_id = store.insert_into_table("plugin_x_data", copy).await.unwrap();
        let copied: PluginData = store.find(&copy_id).await.unwrap().unwrap();
        assert_eq!(copied, PluginData { id: 2, key: "copy".into(), ..row.clone() });

        // NULLs in nullable columns are None.
        store.insert_into_table("plugin_x_data", Record::new()
            .with("space_id", "s1")
            .with("key", "bare")
            .with("value", json!({"enabled": false, "level": 0}))).await.unwrap();
        let bare = store
            .select::<PluginData>()
            .filter(PluginData::KEY.eq("bare"))
            .one()
            .await
            .unwrap()
            .unwrap();
        assert_eq!((bare.enabled, bare.payload, bare.score, bare.owner), (None, None, None, None));
    }

    async fn select_filters_orders_pages_and_counts(db, store) {
        store.create_table_for::<OauthToken>().await.unwrap();
        for (i, provider) in ["github", "gitlab", "google", "slack", "linear"].iter().enumerate() {
            store.insert(&token("u1", provider, i as i64 + 1)).await.unwrap();
        }
        store.insert(&token("u2", "github", 100)).await.unwrap();

        let newest = store
            .select::<OauthToken>()
            .filter(OauthToken::USER_ID.eq("u1"))
            .order_by(OauthToken::CREATED_AT.desc())
            .limit(2)
            .all()
            .await
            .unwrap();
        assert_eq!(newest.iter().map(|t| t.created_at).collect::<Vec<_>>(), [5, 4]);

        let paged = store
            .select::<OauthToken>()
            .order_by(OauthToken::CREATED_AT.asc())
            .offset(4)
            .all()
            .await
            .unwrap();
        assert_eq!(paged.iter().map(|t| t.created_at).collect::<Vec<_>>(), [5, 100]);

        let user = String::from("u1");
        let expiring = store
            .select::<OauthToken>()
            .filter(OauthToken::USER_ID.eq(&user).and(OauthToken::EXPIRES_AT.gt(15)))
            .filter(OauthToken::EXPIRES_AT.lte(40))
            .order_by(OauthToken::PROVIDER.asc())
            .all()
            .await
            .unwrap();
        assert_eq!(
            expiring.iter().map(|t| t.provider.as_str()).collect::<Vec<_>>(),
            ["gitlab", "google", "slack"]
        );

        let git = store.select::<OauthToken>().filter(OauthToken::PROVIDER.like("git%"));
        assert_eq!(git.count().await.unwrap(), 3);
        let listed = store
            .select::<OauthToken>()
            .filter(OauthToken::PROVIDER.is_in(["slack", "linear"]))
            .filter(OauthToken::CREATED_AT.ne(4))
            .all()
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].provider, "linear");
        assert_eq!(store.select::<OauthToken>().count().await.unwrap(), 6);
        assert_eq!(
            store.select::<OauthToken>().filter(OauthToken::REFRESH_TOKEN.is_not_null()).count().await.unwrap(),
            0
        );
        assert_eq!(
            store.select::<OauthToken>().filter(OauthToken::USER_ID.eq("nobody")).one().await.unwrap(),
            None
        );
        // The same query through the dynamic API agrees.
        let dynamic = store
            .query_table("oauth_tokens", &QueryOptions::new()
                .filter(Filter::eq("user_id", "u1"))
                .order_by(OrderBy::desc("created_at"))
                .limit(2))
            .await
            .unwrap();
        let typed: Vec<OauthToken> = dynamic.into_iter().map(|r| OauthToken::from_record(r).unwrap()).collect();
        assert_eq!(typed, newest);
    }

    async fn find_update_and_delete_by_primary_key(db, store) {
        store.create_table_for::<PluginData>().await.unwrap();
        let id = store.insert(&data("s1", "a", 1)).await.unwrap();
        let mut row: PluginData = store.find(&id).await.unwrap().unwrap();
        assert_eq!(row.id.to_string(), id);

        row.value.level = 9;
        row.payload = None;
        store.update(&row).await.unwrap();
        assert_eq!(store.find::<PluginData>(&id).await.unwrap(), Some(row.clone()));

        assert_eq!(store.find::<PluginData>("999").await.unwrap(), None);
        assert!(matches!(
            store.find::<PluginData>("abc").await,
            Err(Error::TypeMismatch { ref column, expected: ColumnType::Bigint, .. }) if column == "id"
        ));
        let mut ghost = row.clone();
        ghost.id = 999;
        assert!(matches!(
            store.update(&ghost).await,
            Err(Error::RecordNotFound { ref table, ref id }) if table == "plugin_x_data" && id == "999"
        ));

        store.delete::<PluginData>(&id).await.unwrap();
        assert_eq!(store.find::<PluginData>(&id).await.unwrap(), None);
        assert!(matches!(
            store.delete::<PluginData>(&id).await,
            Err(Error::RecordNotFound { .. })
        ));
        // A row deleted dynamically is gone for the typed API too.
        let id = store.insert(&data("s1", "b", 2)).await.unwrap();
        store.delete_from_table("plugin_x_data", &id).await.unwrap();
        assert_eq!(store.select::<PluginData>().count().await.unwrap(), 0);
    }

    async fn upsert_updates_on_a_unique_index_or_the_key(db, store) {
        store.create_table_for::<PluginData>().await.unwrap();
        // A per-space key/value: the auto-increment key is generated, the conflict is on
        // (space_id, key).
        let first = store.upsert(&data("s1", "theme", 1)).await.unwrap();
        let second = store.upsert(&data("s1", "theme", 2)).await.unwrap();
        let other_space = store.upsert(&data("s2", "theme", 3)).await.unwrap();
        assert_eq!(first, second);
        assert_ne!(first, other_space);
        let theme: PluginData = store.find(&first).await.unwrap().unwrap();
        assert_eq!(theme.value.level, 2);
        assert_eq!(store.select::<PluginData>().count().await.unwrap(), 2);

        // The OAuth refresh: an empty text key is generated on insert, the row found by
        // (user_id, provider) on conflict.
        store.create_table_for::<OauthToken>().await.unwrap();
        let id = store.upsert(&token("u1", "github", 1)).await.unwrap();
        let mut refreshed = token("u1", "github", 2);
        refreshed.access_token = "new".into();
        assert_eq!(store.upsert(&refreshed).await.unwrap(), id);
        let row: OauthToken = store.find(&id).await.unwrap().unwrap();
        assert_eq!((row.access_token.as_str(), row.created_at), ("new", 2));
        // With the key given, the conflict is on the key.
        let mut by_key = row.clone();
        by_key.expires_at = None;
        assert_eq!(store.upsert(&by_key).await.unwrap(), id);
        assert_eq!(store.find::<OauthToken>(&id).await.unwrap(), Some(by_key));
        assert_eq!(store.select::<OauthToken>().count().await.unwrap(), 1);
    }

    async fn upsert_many_upserts_every_row_in_order(db, store) {
        store.create_table_for::<PluginData>().await.unwrap();
        let first = store.upsert(&data("s1", "theme", 1)).await.unwrap();
        let ids = store
            .upsert_many(&[data("s1", "theme", 2), data("s1", "lang", 3), data("s1", "lang", 4)])
            .await
            .unwrap();
        assert_eq!(ids[0], first);
        assert_eq!(ids[1], ids[2]);
        assert_ne!(ids[1], first);
        let rows = store.select::<PluginData>().order_by(PluginData::ID.asc()).all().await.unwrap();
        let levels: Vec<(&str, i64)> = rows.iter().map(|r| (r.key.as_str(), i64::from(r.value.level))).collect();
        assert_eq!(levels, [("theme", 2), ("lang", 4)]);
    }

    async fn insert_many_is_all_or_nothing(db, store) {
        store.create_table_for::<PluginData>().await.unwrap();
        let rows: Vec<PluginData> = (0..5).map(|i| data("s1", &format!("k{i}"), i)).collect();
        let ids = store.insert_many(&rows).await.unwrap();
        assert_eq!(ids, ["1", "2", "3", "4", "5"]);
        let read = store
            .select::<PluginData>()
            .order_by(PluginData::ID.asc())
            .all()
            .await
            .unwrap();
        assert_eq!(read.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["k0", "k1", "k2", "k3", "k4"]);

        // One duplicate (space_id, key) in the batch: nothing of it is written.
        let batch = vec![data("s2", "a", 1), data("s2", "b", 2), data("s2", "a", 3)];
        assert!(matches!(
            store.insert_many(&batch).await,
            Err(Error::ConstraintViolation { kind: ConstraintKind::Unique, .. })
        ));
        assert_eq!(
            store.select::<PluginData>().filter(PluginData::SPACE_ID.eq("s2")).count().await.unwrap(),
            0
        );
        assert!(store.insert_many::<PluginData>(&[]).await.unwrap().is_empty());

        // Text keys: empty ones are generated, given ones kept.
        store.create_table_for::<OauthToken>().await.unwrap();
        let mut given = token("u1", "github", 1);
        given.id = "tok-1".into();
        let ids = store.insert_many(&[given, token("u1", "gitlab", 2)]).await.unwrap();
        assert_eq!(ids[0], "tok-1");
        assert!(uuid::Uuid::parse_str(&ids[1]).is_ok());
    }

    async fn rows_that_do_not_fit_the_struct_are_errors_not_panics(db, store) {
        // A table whose `created_at` is nullable, read as a struct whose field is not.
        let mut schema = OauthToken::schema();
        schema.name = "loose_tokens".into();
        schema.indexes.clear();
        for column in &mut schema.columns {
            column.constraints.retain(|c| *c == memtable::Constraint::PrimaryKey);
        }
        store.create_table(&schema).await.unwrap();
        let id = store.insert_into_table("loose_tokens", Record::new()
            .with("user_id", "u1")
            .with("provider", "github")
            .with("access_token", "at")).await.unwrap();
        let rows = store.query_table("loose_tokens", &QueryOptions::new()).await.unwrap();
        match OauthToken::from_record(rows[0].clone()) {
            Err(Error::TypeMismatch { table, column, found, .. }) => {
                assert_eq!((table.as_str(), column.as_str(), found.as_str()), ("oauth_tokens", "created_at", "null"));
            }
            other => panic!("expected TypeMismatch, got {other:?}"),
        }
        assert!(!id.is_empty());

        // The typed API on a table that was never created.
        assert!(matches!(
            store.find::<OauthToken>("x").await,
            Err(Error::TableNotFound { ref table }) if table == "oauth_tokens"
        ));
    }

    async fn lt_gte_and_not_in_filter_rows(db, store) {
        store.create_table_for::<OauthToken>().await.unwrap();
        for (i, provider) in ["github", "gitlab", "google", "slack", "linear"].iter().enumerate() {
            store.insert(&token("u1", provider, i as i64 + 1)).await.unwrap();
        }
        let created = |rows: Vec<OauthToken>| rows.iter().map(|t| t.created_at).collect::<Vec<_>>();
        let by_created = || store.select::<OauthToken>().order_by(OauthToken::CREATED_AT.asc());

        assert_eq!(created(by_created().filter(OauthToken::CREATED_AT.lt(3)).all().await.unwrap()), [1, 2]);
        assert_eq!(created(by_created().filter(OauthToken::CREATED_AT.gte(4)).all().await.unwrap()), [4, 5]);
        assert_eq!(
            created(by_created().filter(OauthToken::PROVIDER.not_in(["github", "slack"])).all().await.unwrap()),
            [2, 3, 5]
        );
        // Together, and on a nullable column (expires_at is created_at * 10).
        assert_eq!(
            created(by_created()
                .filter(OauthToken::EXPIRES_AT.gte(20).and(OauthToken::EXPIRES_AT.lt(50)))
                .filter(OauthToken::CREATED_AT.not_in([3]))
                .all()
                .await
                .unwrap()),
            [2, 4]
        );
        // An empty NOT IN matches every row.
        assert_eq!(
            store.select::<OauthToken>().filter(OauthToken::USER_ID.not_in(Vec::<String>::new())).count().await.unwrap(),
            5
        );
    }

    async fn integer_literals_filter_small_and_unsigned_columns(db, store) {
        store.create_table_for::<Reading>().await.unwrap();
        let rows = [
            Reading { id: 0, sensor: -3, channel: 1, ticks: 10, level: Some(0) },
            Reading { id: 0, sensor: 7, channel: 65_535, ticks: 4_000_000_000, level: None },
            Reading { id: 0, sensor: 300, channel: 2, ticks: 3_000_000_000, level: Some(255) },
        ];
        store.insert_many(&rows).await.unwrap();
        macro_rules! ids {
            ($condition:expr) => {
                store
                    .select::<Reading>()
                    .filter($condition)
                    .order_by(Reading::ID.asc())
                    .all()
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.id)
                    .collect::<Vec<_>>()
            };
        }
        assert_eq!(ids!(Reading::SENSOR.eq(7)), [2]);
        assert_eq!(ids!(Reading::SENSOR.lt(0)), [1]);
        assert_eq!(ids!(Reading::SENSOR.is_in([7, 300])), [2, 3]);
        assert_eq!(ids!(Reading::CHANNEL.gte(65_535)), [2]);
        assert_eq!(ids!(Reading::TICKS.gt(3_000_000_000)), [2]);
        assert_eq!(ids!(Reading::TICKS.not_in([10])), [2, 3]);
        assert_eq!(ids!(Reading::LEVEL.eq(255)), [3]);
        let found: Reading = store.find("3").await.unwrap().unwrap();
        assert_eq!(found, Reading { id: 3, ..rows[2].clone() });
    }
}
