//! Plugin namespaces — `Store::scoped`, `Executors::for_plugin` on it, the host's
//! `list_tables`, `list_tables` / `describe_table` executors — on a SQLite file and on
//! PostgreSQL; and databases written by memtable before namespaces (tests/fixtures).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use memtable::executor::Executors;
use memtable::{
    ConstraintKind, Error, IdentifierKind, IdentifierProblem, QueryOptions, Record, Table,
    TableSchema, Value,
};
use memtable_tests::both_backends;
use memtable_tests::fixture::TestDb;
use serde_json::{Value as Json, json};
use sqlx::Connection as _;

/// Plugin `crm`'s settings: by key, with a unique index.
#[derive(Table, Debug, Clone, PartialEq)]
#[memtable(
    table = "settings",
    index(name = "idx_settings_rank", columns(rank), unique)
)]
struct CrmSetting {
    #[memtable(primary_key)]
    key: String,
    #[memtable(json)]
    value: Option<serde_json::Value>,
    rank: i64,
}

/// Plugin `mail`'s settings: another table called `settings`, with other columns.
#[derive(Table, Debug, Clone, PartialEq)]
#[memtable(table = "settings")]
struct MailSetting {
    #[memtable(primary_key, auto_increment)]
    id: i64,
    signature: String,
    enabled: bool,
}

fn crm_setting(key: &str, rank: i64) -> CrmSetting {
    CrmSetting {
        key: key.to_owned(),
        value: Some(json!({"key": key})),
        rank,
    }
}

fn mail_setting(signature: &str) -> MailSetting {
    MailSetting {
        id: 0,
        signature: signature.to_owned(),
        enabled: true,
    }
}

/// Every physical name the namespaces use starts with this; nothing a plugin receives has it.
const PHYSICAL: &str = "_mtns_";

/// Asserts that `text` (an error message, a result) names nothing of another plugin's and no
/// physical name.
fn reveals_nothing(text: &str, other: &str) {
    assert!(!text.contains(PHYSICAL), "a physical name leaked: {text}");
    assert!(!text.contains(other), "plugin {other:?} leaked: {text}");
}

both_backends! {
    async fn two_plugins_each_have_their_own_settings(db, store) {
        let crm = store.scoped("crm").unwrap();
        let mail = store.scoped("mail").unwrap();
        assert_eq!(crm.plugin(), Some("crm"));
        assert_eq!(store.plugin(), None);
        crm.create_table_for::<CrmSetting>().await.unwrap();
        mail.create_table_for::<MailSetting>().await.unwrap();
        // Idempotent in each namespace.
        crm.create_table_for::<CrmSetting>().await.unwrap();
        mail.create_table_for::<MailSetting>().await.unwrap();

        // Typed.
        crm.insert(&crm_setting("theme", 1)).await.unwrap();
        crm.insert(&crm_setting("lang", 2)).await.unwrap();
        let id = mail.insert(&mail_setting("regards")).await.unwrap();
        assert_eq!(id, "1");
        let crm_rows = crm
            .select::<CrmSetting>()
            .order_by(CrmSetting::RANK.asc())
            .all()
            .await
            .unwrap();
        assert_eq!(crm_rows, [crm_setting("theme", 1), crm_setting("lang", 2)]);
        let mail_rows = mail.select::<MailSetting>().all().await.unwrap();
        assert_eq!(mail_rows.len(), 1);
        assert_eq!(mail_rows[0].signature, "regards");

        // Dynamic: each schema, each set of rows.
        assert_eq!(crm.table_schema("settings").await.unwrap(), CrmSetting::schema());
        assert_eq!(mail.table_schema("settings").await.unwrap(), MailSetting::schema());
        assert_eq!(crm.count("settings", None).await.unwrap(), 2);
        assert_eq!(mail.count("settings", None).await.unwrap(), 1);
        let rows = mail.query_table("settings", &QueryOptions::new()).await.unwrap();
        assert_eq!(rows[0].get("enabled"), Some(&Value::Bool(true)));
        assert_eq!(crm.table_owner("settings").await.unwrap().as_deref(), Some("crm"));
        mail.update_table_record("settings", "1", Record::new().with("signature", "cheers"))
            .await
            .unwrap();
        assert_eq!(crm.count("settings", None).await.unwrap(), 2);

        // The host addresses unscoped tables only, and lists every table with its owner.
        assert!(crm.table_exists("settings").await.unwrap());
        assert!(mail.table_exists("settings").await.unwrap());
        assert!(!store.table_exists("settings").await.unwrap());
        assert!(matches!(
            store.query_table("settings", &QueryOptions::new()).await,
            Err(Error::TableNotFound { .. })
        ));
        let listed = store.list_tables().await.unwrap();
        let listed: Vec<(&str, Option<&str>, usize)> = listed
            .iter()
            .map(|t| (t.name.as_str(), t.owner.as_deref(), t.columns))
            .collect();
        assert_eq!(listed, [("settings", Some("crm"), 3), ("settings", Some("mail"), 3)]);
        assert_eq!(crm.list_tables().await.unwrap(), ["settings"]);
        assert_eq!(crm.list_tables().await.unwrap()[0].owner.as_deref(), Some("crm"));
        assert_eq!(store.list_owned_tables("mail").await.unwrap(), ["settings"]);
        assert!(crm.list_owned_tables("mail").await.unwrap().is_empty());

        // A new process sees the same from the catalog.
        let again = db.connect().await;
        let crm_again = again.scoped("crm").unwrap();
        assert_eq!(crm_again.table_schema("settings").await.unwrap(), CrmSetting::schema());
        assert_eq!(crm_again.count("settings", None).await.unwrap(), 2);
        let mail_again = again.scoped("mail").unwrap();
        assert_eq!(
            mail_again.find::<MailSetting>("1").await.unwrap().unwrap().signature,
            "cheers"
        );

        // A third plugin sees neither, and can have a settings table of its own.
        let spy = store.scoped("spy").unwrap();
        assert!(!spy.table_exists("settings").await.unwrap());
        assert!(spy.list_tables().await.unwrap().is_empty());
        for error in [
            spy.query_table("settings", &QueryOptions::new()).await.unwrap_err(),
            spy.drop_table("settings").await.unwrap_err(),
            spy.delete_from_table("settings", "1").await.unwrap_err(),
            spy.table_schema("settings").await.unwrap_err(),
        ] {
            assert!(matches!(&error, Error::TableNotFound { table } if table == "settings"), "{error}");
        }
        spy.create_table(&TableSchema::from_json_str(
            r#"{"name": "settings", "columns": [{"name": "id", "type": "text", "constraints": ["primary_key"]}]}"#,
        ).unwrap()).await.unwrap();

        // Dropping one plugin's table leaves the other's.
        crm.drop_table("settings").await.unwrap();
        assert!(!crm.table_exists("settings").await.unwrap());
        assert_eq!(mail.count("settings", None).await.unwrap(), 1);
        assert!(matches!(
            crm.count("settings", None).await,
            Err(Error::TableNotFound { .. })
        ));
        assert_eq!(again.scoped("mail").unwrap().count("settings", None).await.unwrap(), 1);
    }

    async fn errors_name_only_the_plugins_own_names(db, store) {
        let crm = store.scoped("crm").unwrap();
        let mail = store.scoped("mail").unwrap();
        crm.create_table_for::<CrmSetting>().await.unwrap();
        mail.create_table_for::<MailSetting>().await.unwrap();
        crm.insert(&crm_setting("theme", 1)).await.unwrap();

        // A primary key taken, a unique index taken: constraint violations naming the
        // plugin's table and index, as it named them.
        let error = crm.insert(&crm_setting("theme", 5)).await.unwrap_err();
        assert!(matches!(
            &error,
            Error::ConstraintViolation { kind: ConstraintKind::PrimaryKey, table: Some(t), .. } if t == "settings"
        ), "{error:?}");
        reveals_nothing(&error.to_string(), "mail");
        let error = crm.insert(&crm_setting("lang", 1)).await.unwrap_err();
        match &error {
            Error::ConstraintViolation { kind, table, column, constraint, message } => {
                assert_eq!(*kind, ConstraintKind::Unique);
                assert_eq!(table.as_deref(), Some("settings"));
                assert_eq!(column.as_deref(), Some("rank"));
                if db.backend == "postgres" {
                    assert_eq!(constraint.as_deref(), Some("idx_settings_rank"));
                }
                reveals_nothing(message, "mail");
            }
            other => panic!("expected a unique violation, got {other:?}"),
        }
        reveals_nothing(&format!("{error} {error:?}"), "mail");

        // A value of the wrong type, an unknown column, a NOT NULL column left out.
        let error = crm
            .insert_into_table("settings", Record::new().with("key", "k").with("rank", "high"))
            .await
            .unwrap_err();
        assert!(matches!(&error, Error::TypeMismatch { table, .. } if table == "settings"), "{error:?}");
        let error = crm
            .insert_into_table("settings", Record::new().with("key", "k").with("nope", 1))
            .await
            .unwrap_err();
        assert!(matches!(&error, Error::UnknownColumn { table, .. } if table == "settings"), "{error:?}");
        let error = crm
            .insert_into_table("settings", Record::new().with("key", "k"))
            .await
            .unwrap_err();
        assert!(matches!(&error, Error::ConstraintViolation { kind: ConstraintKind::NotNull, .. }), "{error:?}");
        reveals_nothing(&format!("{error} {error:?}"), "mail");
        let error = crm.delete_from_table("settings", "absent").await.unwrap_err();
        assert!(matches!(&error, Error::RecordNotFound { table, .. } if table == "settings"));

        // Creating the other plugin's schema under the same name in its own namespace: the
        // plugin's own table differs, and only its own is described.
        let error = crm.create_table_for::<MailSetting>().await.unwrap_err();
        assert!(matches!(&error, Error::SchemaMismatch { table, .. } if table == "settings"));
        reveals_nothing(&format!("{error} {error:?}"), "mail");

        // The same through executors: every failure as JSON.
        let crm_x = Executors::for_plugin(store.clone(), "crm");
        let failures = [
            crm_x.execute("insert_into_table", json!({"tableName": "settings", "data": {"key": "theme", "rank": 9}})).await,
            crm_x.execute("insert_into_table", json!({"tableName": "settings", "data": {"key": "other", "rank": 1}})).await,
            crm_x.execute("insert_into_table", json!({"tableName": "settings", "data": {"key": "other"}})).await,
            crm_x.execute("query_table", json!({"tableName": "missing"})).await,
            crm_x.execute("describe_table", json!({"tableName": "missing"})).await,
        ];
        for failure in &failures {
            assert_eq!(failure["success"], false, "{failure}");
            reveals_nothing(&failure.to_string(), "mail");
        }
        assert_eq!(failures[0]["data"]["error"]["kind"], "constraint_violation");
        assert_eq!(failures[1]["data"]["error"]["table"], "settings");
        assert_eq!(failures[3]["data"]["error"]["kind"], "table_not_found");
        assert_eq!(failures[3]["data"]["error"]["table"], "missing");

        // A table dropped behind the store's back: missing, by the plugin's name.
        let physical = memtable_physical(&db, "settings").await;
        drop_behind_the_back(&db, &physical).await;
        let error = crm
            .query_table("settings", &QueryOptions::new())
            .await
            .unwrap_err();
        assert!(matches!(&error, Error::TableNotFound { table } if table == "settings"), "{error:?}");
        reveals_nothing(&format!("{error} {error:?}"), "mail");
    }

    async fn executors_are_scoped_stores(db, store) {
        let crm = Executors::for_plugin(store.clone(), "crm");
        let mail = Executors::for_plugin(store.clone(), "mail");
        assert_eq!(crm.plugin(), Some("crm"));
        assert_eq!(crm.store().plugin(), Some("crm"));
        let crm_schema = json!({"name": "settings", "columns": [
            {"name": "key", "type": "text", "constraints": ["primary_key"]},
            {"name": "value", "type": "json"}]});
        let mail_schema = json!({"name": "settings", "columns": [
            {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
            {"name": "signature", "type": "text", "constraints": ["not_null"]},
            {"name": "raw", "type": "blob"}]});
        assert_eq!(crm.execute("create_table", crm_schema.clone()).await["success"], true);
        assert_eq!(mail.execute("create_table", mail_schema.clone()).await["success"], true);
        let inserted = crm
            .execute("insert_into_table", json!({"tableName": "settings", "data": {"key": "k", "value": [1]}}))
            .await;
        assert_eq!(inserted["data"]["id"], "k", "{inserted}");
        let inserted = mail
            .execute("insert_into_table", json!({"tableName": "settings", "data": {"signature": "s", "raw": "AAE="}}))
            .await;
        assert_eq!(inserted["data"]["id"], "1", "{inserted}");
        let rows = crm.execute("query_table", json!({"tableName": "settings"})).await;
        assert_eq!(rows["data"]["results"], json!([{"key": "k", "value": [1]}]));
        let rows = mail.execute("query_table", json!({"tableName": "settings"})).await;
        assert_eq!(rows["data"]["results"], json!([{"id": 1, "signature": "s", "raw": "AAE="}]));

        // list_tables and describe_table: each its own.
        let listed = crm.execute("list_tables", json!({})).await;
        assert_eq!(listed, json!({"success": true, "data": {"tables": [
            {"name": "settings", "columns": 2, "owner": "crm"}]}}));
        let described = mail.execute("describe_table", json!({"tableName": "settings"})).await;
        assert_eq!(described["data"]["schema"], mail_schema);
        assert_eq!(described["data"]["recordSchema"]["required"], json!(["signature"]));
        assert_eq!(
            described["data"]["recordSchema"]["properties"]["raw"],
            json!({"type": ["string", "null"], "contentEncoding": "base64"})
        );
        let host = Executors::new(store.clone());
        let listed = host.execute("list_tables", json!({})).await;
        assert_eq!(listed["data"]["tables"], json!([
            {"name": "settings", "columns": 2, "owner": "crm"},
            {"name": "settings", "columns": 3, "owner": "mail"}]));
        assert_eq!(host.execute("table_exists", json!({"tableName": "settings"})).await["data"]["exists"], false);
        assert_eq!(
            host.execute("list_tables", json!({"extra": 1})).await["data"]["error"]["kind"],
            "invalid_params"
        );

        // The read-only set keeps them.
        let reader = Executors::for_plugin(store.clone(), "mail").read_only();
        assert_eq!(reader.names(), ["query_table", "table_exists", "list_tables", "describe_table"]);
        assert_eq!(reader.execute("list_tables", json!({})).await["data"]["tables"][0]["owner"], "mail");
        let definitions: Vec<&str> = reader.definitions().iter().map(|d| d.name).collect();
        assert_eq!(definitions, reader.names());

        // Another plugin: nothing, and every write looks like a missing table.
        let spy = Executors::for_plugin(store.clone(), "spy");
        assert_eq!(spy.execute("list_tables", json!({})).await["data"]["tables"], json!([]));
        for (executor, params) in [
            ("query_table", json!({"tableName": "settings"})),
            ("describe_table", json!({"tableName": "settings"})),
            ("insert_into_table", json!({"tableName": "settings", "data": {"key": "x"}})),
            ("update_table_record", json!({"tableName": "settings", "id": "k", "data": {"value": 1}})),
            ("delete_from_table", json!({"tableName": "settings", "id": "k"})),
            ("drop_table", json!({"tableName": "settings"})),
        ] {
            let result = spy.execute(executor, params).await;
            assert_eq!(result["data"]["error"]["kind"], "table_not_found", "{executor}: {result}");
            reveals_nothing(&result.to_string(), "crm");
            reveals_nothing(&result.to_string(), "mail");
        }
        assert_eq!(spy.execute("table_exists", json!({"tableName": "settings"})).await["data"]["exists"], false);
        // Its own settings, with a third schema: no collision, nothing said of the others.
        let created = spy
            .execute("create_table", json!({"name": "settings", "columns": [
                {"name": "n", "type": "bigint", "constraints": ["primary_key"]}]}))
            .await;
        assert_eq!(created["success"], true, "{created}");
        assert_eq!(crm.execute("query_table", json!({"tableName": "settings"})).await["data"]["count"], 1);

        // A name that is not an identifier: every call refused, naming the plugin.
        let bad = Executors::for_plugin(store.clone(), "no such plugin");
        let result = bad.execute("list_tables", json!({})).await;
        assert_eq!(result["data"]["error"]["kind"], "invalid_identifier", "{result}");
        assert!(bad.list_tables().await.is_err());
        let _ = db;
    }

    async fn protected_and_reserved_names_in_every_scope(db, store) {
        let crm = store.scoped("crm").unwrap();
        let schema = |name: &str| {
            TableSchema::from_json_str(&format!(
                r#"{{"name": "{name}", "columns": [{{"name": "id", "type": "text", "constraints": ["primary_key"]}}]}}"#
            ))
            .unwrap()
        };
        for name in ["memories", "sandbox", "Memories", memtable::CATALOG_TABLE] {
            assert!(matches!(
                crm.create_table(&schema(name)).await,
                Err(Error::ProtectedTable { .. })
            ), "{name}");
            assert!(matches!(
                crm.insert_into_table(name, Record::new().with("id", "x")).await,
                Err(Error::ProtectedTable { .. })
            ), "{name}");
            assert!(matches!(crm.drop_table(name).await, Err(Error::ProtectedTable { .. })), "{name}");
        }
        let protected = Executors::for_plugin(store.clone(), "crm")
            .execute("create_table", json!({"name": "memories", "columns": [
                {"name": "id", "type": "text", "constraints": ["primary_key"]}]}))
            .await;
        assert_eq!(protected["data"]["error"]["kind"], "protected_table");
        // The catalog is the host's: a plugin cannot read it.
        store.create_table(&schema("host_table")).await.unwrap();
        assert!(matches!(
            crm.query_table(memtable::CATALOG_TABLE, &QueryOptions::new()).await,
            Err(Error::TableNotFound { .. })
        ));
        assert!(!crm.table_exists(memtable::CATALOG_TABLE).await.unwrap());
        assert!(matches!(
            crm.query_table("host_table", &QueryOptions::new()).await,
            Err(Error::TableNotFound { .. })
        ));

        // Physical names cannot be given, by a plugin or by the host.
        crm.create_table(&schema("notes")).await.unwrap();
        let physical = memtable_physical(&db, "notes").await;
        assert!(physical.starts_with(PHYSICAL), "{physical}");
        for scope in [&store, &crm] {
            for error in [
                scope.query_table(&physical, &QueryOptions::new()).await.unwrap_err(),
                scope.create_table(&schema(&physical)).await.unwrap_err(),
                scope.drop_table(&physical).await.unwrap_err(),
                scope.table_exists(&physical).await.unwrap_err(),
            ] {
                assert!(matches!(
                    error,
                    Error::InvalidIdentifier { reason: IdentifierProblem::Namespaced, .. }
                ), "{error:?}");
            }
        }
        let mut indexed = schema("indexed");
        indexed.indexes.push(memtable::Index::new("_MTNS_idx", ["id"], false));
        assert!(matches!(
            crm.create_table(&indexed).await,
            Err(Error::InvalidIdentifier { kind: IdentifierKind::Index, reason: IdentifierProblem::Namespaced, .. })
        ));

        // Plugin names are identifiers; a plugin's store stays in its namespace.
        for name in ["", "two words", "1st", "sqlite_x", &"p".repeat(64)] {
            assert!(matches!(
                store.scoped(name),
                Err(Error::InvalidIdentifier { kind: IdentifierKind::Plugin, .. })
            ), "{name:?}");
        }
        assert_eq!(crm.scoped("crm").unwrap().plugin(), Some("crm"));
        assert!(matches!(crm.scoped("mail"), Err(Error::PermissionDenied { .. })));
        assert!(matches!(
            crm.create_owned_table(&schema("other"), "mail").await,
            Err(Error::PermissionDenied { .. })
        ));
        // Case matters: `Crm` is another plugin, even on SQLite, whose table names do not.
        let upper = store.scoped("Crm").unwrap();
        assert!(!upper.table_exists("notes").await.unwrap());
        upper.create_table(&schema("notes")).await.unwrap();
        upper.insert_into_table("notes", Record::new().with("id", "upper")).await.unwrap();
        assert_eq!(crm.count("notes", None).await.unwrap(), 0);
        // Long names fit: a 63-byte plugin with a 63-byte table.
        let long = store.scoped(&"p".repeat(63)).unwrap();
        let table = "t".repeat(63);
        long.create_table(&schema(&table)).await.unwrap();
        long.insert_into_table(&table, Record::new().with("id", "x")).await.unwrap();
        assert_eq!(long.count(&table, None).await.unwrap(), 1);
        assert_eq!(long.list_tables().await.unwrap(), [table.as_str()]);
    }

    async fn tables_written_before_namespaces_keep_working(db, store) {
        store.close().await;
        drop(store);
        load_fixture(&db).await;
        let host = db.connect().await;
        let crm = host.scoped("crm").unwrap();

        // The host lists both, with their owners; both it and the owner see the owned one.
        let listed: Vec<(String, Option<String>)> = host
            .list_tables()
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.name, t.owner))
            .collect();
        assert_eq!(listed, [("notes".to_owned(), None), ("settings".to_owned(), Some("crm".to_owned()))]);
        assert_eq!(crm.list_tables().await.unwrap(), ["settings"]);
        let theme = json!({"key": "theme", "value": {"mode": "dark"}, "updated_at": 1_700_000_000_000_i64});
        for scope in [&host, &crm] {
            let rows = scope.query_table("settings", &QueryOptions::new()).await.unwrap();
            assert_eq!(rows.iter().map(Record::to_json).collect::<Vec<_>>(), vec![theme.clone()]);
            assert!(scope.table_exists("settings").await.unwrap());
            assert_eq!(scope.table_owner("settings").await.unwrap().as_deref(), Some("crm"));
        }
        let notes = host.query_table("notes", &QueryOptions::new()).await.unwrap();
        assert_eq!(
            notes.iter().map(Record::to_json).collect::<Vec<_>>(),
            [json!({"id": 1, "body": "written by 0.1", "raw": "AAEC", "done": true})]
        );
        // The host's unowned table is not the plugin's.
        assert!(!crm.table_exists("notes").await.unwrap());
        assert!(matches!(crm.count("notes", None).await, Err(Error::TableNotFound { .. })));

        // Both write the owned table; the owner's create is idempotent; its index holds.
        let settings_schema = host.table_schema("settings").await.unwrap();
        crm.create_table(&settings_schema).await.unwrap();
        host.create_owned_table(&settings_schema, "crm").await.unwrap();
        crm.insert_into_table("settings", Record::new().with("key", "lang").with("updated_at", 2_i64))
            .await
            .unwrap();
        host.insert_into_table("settings", Record::new().with("key", "tz").with("updated_at", 3_i64))
            .await
            .unwrap();
        crm.update_table_record("settings", "tz", Record::new().with("value", json!("UTC")))
            .await
            .unwrap();
        let error = crm
            .insert_into_table("settings", Record::new().with("key", "dup").with("updated_at", 2_i64))
            .await
            .unwrap_err();
        assert!(matches!(error, Error::ConstraintViolation { kind: ConstraintKind::Unique, .. }), "{error:?}");
        assert_eq!(host.count("settings", None).await.unwrap(), 3);
        let id = host.insert_into_table("notes", Record::new().with("body", "written now")).await.unwrap();
        assert_eq!(id, "2");

        // Another plugin gets a settings table of its own beside it.
        let mail = host.scoped("mail").unwrap();
        mail.create_table_for::<MailSetting>().await.unwrap();
        mail.insert(&mail_setting("regards")).await.unwrap();
        assert_eq!(crm.count("settings", None).await.unwrap(), 3);
        assert_eq!(mail.count("settings", None).await.unwrap(), 1);
        assert_eq!(host.count("settings", None).await.unwrap(), 3);

        // A new process reads the mixed catalog the same way.
        let again = db.connect().await;
        assert_eq!(again.scoped("crm").unwrap().count("settings", None).await.unwrap(), 3);
        assert_eq!(again.scoped("mail").unwrap().count("settings", None).await.unwrap(), 1);
        assert_eq!(again.list_tables().await.unwrap().len(), 3);
    }

    async fn describe_table_record_schema_validates_what_the_example_inserts(db, store) {
        let agent = Executors::for_plugin(store.clone(), "oauth");
        let schema: Json = serde_json::from_str(oauth_tokens_schema()).unwrap();
        assert_eq!(agent.execute("create_table", schema.clone()).await["success"], true);
        let described = agent.execute("describe_table", json!({"tableName": "oauth_tokens"})).await;
        assert_eq!(described["data"]["schema"], schema);
        let record_schema = described["data"]["recordSchema"].clone();
        let validator = jsonschema::validator_for(&record_schema).unwrap();

        // The record examples/oauth_tokens.rs inserts.
        let token = json!({
            "user_id": "user123", "provider": "github", "access_token": "gho_first",
            "refresh_token": "ghr_refresh", "expires_at": 1_700_003_600_000_i64,
            "scope": "repo read:user",
            "token_data": {"token_type": "bearer", "scopes": ["repo", "read:user"]},
            "created_at": 1_700_000_000_000_i64, "updated_at": 1_700_000_000_000_i64,
        });
        assert!(validator.is_valid(&token), "{record_schema}");
        let inserted = agent
            .execute("insert_into_table", json!({"tableName": "oauth_tokens", "data": token}))
            .await;
        assert_eq!(inserted["success"], true, "{inserted}");

        // Without user_id: refused by the schema, and by the database.
        let mut without = token.clone();
        without.as_object_mut().unwrap().remove("user_id");
        without["provider"] = json!("gitlab");
        assert!(!validator.is_valid(&without));
        let refused = agent
            .execute("insert_into_table", json!({"tableName": "oauth_tokens", "data": without}))
            .await;
        assert_eq!(refused["data"]["error"]["kind"], "constraint_violation", "{refused}");
        // An unknown column, a number for a text, null for a NOT NULL column.
        for bad in [
            json!({"user_id": "u", "provider": "p", "access_token": "a", "created_at": 1, "updated_at": 1, "nope": 1}),
            json!({"user_id": 7, "provider": "p", "access_token": "a", "created_at": 1, "updated_at": 1}),
            json!({"user_id": null, "provider": "p", "access_token": "a", "created_at": 1, "updated_at": 1}),
        ] {
            assert!(!validator.is_valid(&bad), "{bad}");
            let result = agent
                .execute("insert_into_table", json!({"tableName": "oauth_tokens", "data": bad}))
                .await;
            assert_eq!(result["success"], false, "{result}");
        }
        // Nullable columns take null; the text key may be given.
        let nulls = json!({"id": "t2", "user_id": "u", "provider": "p", "access_token": "a",
            "refresh_token": null, "expires_at": null, "token_data": null,
            "created_at": 1, "updated_at": 1});
        assert!(validator.is_valid(&nulls));
        assert_eq!(agent.execute("insert_into_table", json!({"tableName": "oauth_tokens", "data": nulls})).await["success"], true);

        // Every type, at its bounds: the schema and the executors agree.
        let every = json!({"name": "every_type", "columns": [
            {"name": "id", "type": "bigint", "constraints": ["primary_key"]},
            {"name": "i", "type": "integer", "constraints": ["not_null"]},
            {"name": "r", "type": "real"},
            {"name": "b", "type": "blob"},
            {"name": "j", "type": "json", "constraints": ["not_null"]},
            {"name": "f", "type": "boolean"},
            {"name": "t", "type": "text"}]});
        assert_eq!(agent.execute("create_table", every).await["success"], true);
        let described = agent.execute("describe_table", json!({"tableName": "every_type"})).await;
        let record_schema = described["data"]["recordSchema"].clone();
        assert_eq!(record_schema["required"], json!(["id", "i", "j"]));
        assert_eq!(record_schema["additionalProperties"], false);
        let validator = jsonschema::validator_for(&record_schema).unwrap();
        let cases = [
            (json!({"id": i64::MAX, "i": i32::MAX, "j": {"a": 1}, "b": "AAE=", "f": true, "r": 1.5, "t": "x"}), true),
            (json!({"id": (1_i64 << 53) + 1, "i": i32::MIN, "j": [1]}), true),
            (json!({"id": 1, "i": 1_i64 << 40, "j": 1}), false),
            (json!({"id": 1.5, "i": 1, "j": 1}), false),
            (json!({"id": 2, "i": 1, "j": null}), false),
            (json!({"id": 3, "i": 1, "j": "text", "f": 1}), false),
        ];
        for (record, valid) in cases {
            assert_eq!(validator.is_valid(&record), valid, "{record}");
            let result = agent
                .execute("insert_into_table", json!({"tableName": "every_type", "data": record}))
                .await;
            assert_eq!(result["success"], valid, "{record}: {result}");
        }
        let exact = agent
            .execute("query_table", json!({"tableName": "every_type", "queryOptions": {"where": {"id": (1_i64 << 53) + 1}}}))
            .await;
        assert_eq!(exact["data"]["count"], 1, "{exact}");
        let _ = db;
    }
}

/// The schema examples/oauth_tokens.rs creates, as it writes it.
fn oauth_tokens_schema() -> &'static str {
    let source = include_str!("../examples/oauth_tokens.rs");
    let start = source.find("r#\"").expect("the example's schema") + 3;
    let end = start + source[start..].find("\"#").expect("the end of the schema");
    &source[start..end]
}

/// The name `table` of plugin `crm` has in the database, as the catalog records it.
async fn memtable_physical(db: &TestDb, table: &str) -> String {
    let store = db.connect().await;
    let rows = store
        .query_table(memtable::CATALOG_TABLE, &QueryOptions::new())
        .await
        .unwrap();
    rows.iter()
        .find(|row| {
            row.get("owner").and_then(Value::as_str) == Some("crm")
                && row
                    .get("schema")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.contains(&format!("\"name\":\"{table}\"")))
        })
        .and_then(|row| row.get("table_name").and_then(Value::as_str))
        .expect("the table in the catalog")
        .to_owned()
}

/// Drops `physical` from outside memtable.
async fn drop_behind_the_back(db: &TestDb, physical: &str) {
    let sql = format!("DROP TABLE \"{physical}\"");
    if db.backend == "sqlite" {
        let mut conn = sqlx::SqliteConnection::connect(&db.direct_url)
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.direct_url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

/// Puts the database memtable 0.1 (commit d2d1e06) wrote in place of `db`'s (see
/// tests/fixtures/README.md).
async fn load_fixture(db: &TestDb) {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    if db.backend == "sqlite" {
        let path = db.sqlite_path().unwrap();
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
        std::fs::copy(format!("{fixtures}/before_namespaces.db"), &path).unwrap();
    } else {
        let dump =
            std::fs::read_to_string(format!("{fixtures}/before_namespaces.postgres.sql")).unwrap();
        let mut conn = sqlx::PgConnection::connect(&db.direct_url).await.unwrap();
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        // A generated schema name, not caller text.
        let sql = dump.replace("__SCHEMA__", &schema);
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap();
    }
}
