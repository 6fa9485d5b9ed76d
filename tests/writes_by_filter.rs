//! Writes by filter — `Store::update_where`, `Store::delete_where`, their typed forms on
//! `Select`, and the `where` forms of the `update_table_record` and `delete_from_table`
//! executors — on a SQLite file, on PostgreSQL and through PgBouncer, against a model.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use memtable::executor::Executors;
use memtable::{
    Column, ColumnType, Constraint, Error, Filter, OrderBy, QueryOptions, Record, Store, Table,
    TableSchema, Value,
};
use memtable_tests::every_backend;
use serde_json::{Value as Json, json};

fn items() -> TableSchema {
    TableSchema::new(
        "items",
        vec![
            Column::new("id", ColumnType::Bigint).with(Constraint::PrimaryKey),
            Column::new("n", ColumnType::Integer),
            Column::new("tag", ColumnType::Text),
            Column::new("flag", ColumnType::Boolean),
        ],
    )
}

/// One row of `items`, as the test models it.
#[derive(Debug, Clone, PartialEq)]
struct Item {
    id: i64,
    n: i32,
    tag: Option<String>,
    flag: bool,
}

impl Item {
    fn record(&self) -> Record {
        let tag = match &self.tag {
            Some(tag) => Value::Text(tag.clone()),
            None => Value::Null,
        };
        Record::new()
            .with("id", self.id)
            .with("n", self.n)
            .with("tag", tag)
            .with("flag", self.flag)
    }

    fn from_record(record: &Record) -> Item {
        Item {
            id: record.get("id").and_then(Value::as_i64).unwrap(),
            n: i32::try_from(record.get("n").and_then(Value::as_i64).unwrap()).unwrap(),
            tag: record.get("tag").and_then(Value::as_str).map(str::to_owned),
            flag: record.get("flag").and_then(Value::as_bool) == Some(true),
        }
    }
}

fn model() -> Vec<Item> {
    (0..50)
        .map(|i: i64| Item {
            id: i,
            n: i32::try_from(i % 7).unwrap(),
            tag: (i % 5 != 0).then(|| ["a", "b", "c"][usize::try_from(i % 3).unwrap()].to_owned()),
            flag: i % 2 == 0,
        })
        .collect()
}

async fn rows(store: &Store) -> Vec<Item> {
    let options = QueryOptions::new().order_by(OrderBy::asc("id"));
    store
        .query_table("items", &options)
        .await
        .unwrap()
        .iter()
        .map(Item::from_record)
        .collect()
}

async fn seeded(store: &Store) -> Vec<Item> {
    store.create_table(&items()).await.unwrap();
    let model = model();
    store
        .insert_many_into_table("items", model.iter().map(Item::record).collect())
        .await
        .unwrap();
    assert_eq!(rows(store).await, model);
    model
}

/// Applies `set` to the model's rows that `matches`, returning how many.
fn update_model(
    model: &mut [Item],
    matches: impl Fn(&Item) -> bool,
    set: impl Fn(&mut Item),
) -> u64 {
    let mut n = 0;
    for item in model.iter_mut().filter(|item| matches(item)) {
        set(item);
        n += 1;
    }
    n
}

fn delete_model(model: &mut Vec<Item>, matches: impl Fn(&Item) -> bool) -> u64 {
    let before = model.len();
    model.retain(|item| !matches(item));
    (before - model.len()) as u64
}

#[derive(Table, Debug, Clone, PartialEq)]
#[memtable(table = "typed_tasks")]
struct Task {
    #[memtable(primary_key, auto_increment)]
    id: i64,
    title: String,
    priority: i32,
    owner: Option<String>,
    done: bool,
}

every_backend! {
    async fn counts_match_the_model(db, store) {
        let mut model = seeded(&store).await;

        // $or / $in / IS NULL.
        let filter = Filter::any([Filter::is_in("n", [1, 2]), Filter::is_null("tag")]);
        let expected = update_model(
            &mut model,
            |i| [1, 2].contains(&i.n) || i.tag.is_none(),
            |i| i.flag = true,
        );
        let updated = store.update_where("items", &filter, Record::new().with("flag", true)).await.unwrap();
        assert_eq!(updated, expected);
        assert_eq!(rows(&store).await, model);

        // The same shape again (the SQL text rendered before), other values.
        let filter = Filter::any([Filter::is_in("n", [5, 6]), Filter::is_null("tag")]);
        let expected = update_model(
            &mut model,
            |i| [5, 6].contains(&i.n) || i.tag.is_none(),
            |i| i.flag = false,
        );
        let updated = store.update_where("items", &filter, Record::new().with("flag", false)).await.unwrap();
        assert_eq!(updated, expected);
        assert_eq!(rows(&store).await, model);
        // A value of the wrong type is refused before anything is written.
        assert!(store.update_where("items", &filter, Record::new().with("n", "many")).await.is_err());
        assert_eq!(rows(&store).await, model);

        // Equality with NULL is IS NULL; AND of two conditions.
        let expected = update_model(&mut model, |i| i.tag.is_none(), |i| i.tag = Some("z".into()));
        assert!(expected > 0);
        let updated = store
            .update_where("items", &Filter::eq("tag", Value::Null), Record::new().with("tag", "z"))
            .await
            .unwrap();
        assert_eq!(updated, expected);
        let expected = update_model(&mut model, |i| i.tag.as_deref() == Some("a") && i.n >= 4, |i| i.n = 100);
        let updated = store
            .update_where("items", &Filter::eq("tag", "a").and(Filter::gte("n", 4)), Record::new().with("n", 100))
            .await
            .unwrap();
        assert_eq!(updated, expected);
        assert_eq!(rows(&store).await, model);

        // Deletes: AND, NOT IN, $not.
        let expected = delete_model(&mut model, |i| !i.flag && i.n < 3);
        let deleted = store
            .delete_where("items", &Filter::eq("flag", false).and(Filter::lt("n", 3)))
            .await
            .unwrap();
        assert_eq!(deleted, expected);
        let expected = delete_model(&mut model, |i| !matches!(i.tag.as_deref(), Some("a" | "b")));
        let deleted = store.delete_where("items", &Filter::not_in("tag", ["a", "b"])).await.unwrap();
        assert_eq!(deleted, expected);
        let expected = delete_model(&mut model, |i| i.n != 100 && i.id % 4 == 0);
        let ids: Vec<i64> = (0..50).filter(|id| id % 4 == 0).collect();
        let deleted = store
            .delete_where("items", &Filter::eq("n", 100).negate().and(Filter::is_in("id", ids)))
            .await
            .unwrap();
        assert_eq!(deleted, expected);
        // Nothing matches: 0, not an error.
        assert_eq!(store.delete_where("items", &Filter::eq("n", 12_345)).await.unwrap(), 0);
        assert_eq!(store.update_where("items", &Filter::eq("n", 12_345), Record::new().with("n", 1)).await.unwrap(), 0);
        let remaining = rows(&store).await;
        assert_eq!(remaining, model);
        assert!(!remaining.is_empty() && remaining.len() < 50, "{}", remaining.len());
        let _ = &db;
    }

    async fn filters_without_a_condition_are_refused(db, store) {
        let model = seeded(&store).await;
        let everything = [
            Filter::And(vec![]),
            Filter::And(vec![Filter::And(vec![])]),
            Filter::not_in("n", Vec::<i32>::new()),
            Filter::Or(vec![]).negate(),
            Filter::any([Filter::eq("n", 1), Filter::And(vec![])]),
        ];
        for filter in &everything {
            let result = store.delete_where("items", filter).await;
            assert!(matches!(&result, Err(Error::InvalidQuery { reason, .. }) if reason.contains("needs a condition")), "{filter:?}: {result:?}");
            let result = store.update_where("items", filter, Record::new().with("flag", true)).await;
            assert!(matches!(&result, Err(Error::InvalidQuery { .. })), "{filter:?}: {result:?}");
        }
        // Protected tables, unknown columns, values of the wrong type, an empty record.
        for result in [
            store.delete_where("sandbox", &Filter::eq("a", 1)).await,
            store.delete_where("_memtable_catalog", &Filter::eq("table_name", "items")).await,
            store.update_where("_memtable_catalog", &Filter::eq("table_name", "items"), Record::new().with("owner", "x")).await,
        ] {
            assert!(matches!(result, Err(Error::ProtectedTable { .. })), "{result:?}");
        }
        assert!(store.delete_where("items", &Filter::eq("nope", 1)).await.is_err());
        assert!(store.delete_where("items", &Filter::eq("n", "many")).await.is_err());
        assert!(store.update_where("items", &Filter::eq("n", 1), Record::new().with("nope", 1)).await.is_err());
        assert!(store.update_where("items", &Filter::eq("n", 1), Record::new().with("n", "x")).await.is_err());
        assert!(matches!(
            store.update_where("items", &Filter::eq("n", 1), Record::new()).await,
            Err(Error::InvalidRecord { .. })
        ));
        // Nothing was written.
        assert_eq!(rows(&store).await, model);
        let _ = &db;
    }

    async fn typed_writes_by_filter(db, store) {
        store.create_table_for::<Task>().await.unwrap();
        for i in 0..20_i32 {
            let owner = (i % 3 != 0).then(|| format!("u{}", i % 2));
            store
                .insert(&Task { id: 0, title: format!("t{i}"), priority: i % 5, owner, done: false })
                .await
                .unwrap();
        }
        let updated = store
            .select::<Task>()
            .filter(Task::PRIORITY.gte(3))
            .filter(Task::OWNER.is_null())
            .update(Record::new().with("done", true))
            .await
            .unwrap();
        let all: Vec<Task> = store.select::<Task>().all().await.unwrap();
        let expected = all.iter().filter(|t| t.priority >= 3 && t.owner.is_none()).count() as u64;
        assert_eq!(updated, expected);
        assert!(all.iter().all(|t| t.done == (t.priority >= 3 && t.owner.is_none())));

        // A condition whose value is of another type, or a column of another table, does not
        // compile (see tests/compile_fail); no filter, or a limit, is refused.
        assert!(matches!(store.select::<Task>().delete().await, Err(Error::InvalidQuery { .. })));
        assert!(matches!(
            store.select::<Task>().filter(Task::DONE.eq(true)).limit(1).delete().await,
            Err(Error::InvalidQuery { .. })
        ));
        assert!(matches!(
            store.select::<Task>().update(Record::new().with("done", false)).await,
            Err(Error::InvalidQuery { .. })
        ));
        // An auto_increment key cannot be set.
        assert!(matches!(
            store.select::<Task>().filter(Task::PRIORITY.eq(1)).update(Record::new().with("id", 99)).await,
            Err(Error::InvalidRecord { .. })
        ));
        assert_eq!(store.select::<Task>().count().await.unwrap(), 20);

        let deleted = store
            .select::<Task>()
            .filter(Task::DONE.eq(true).and(Task::TITLE.like("t1%")))
            .delete()
            .await
            .unwrap();
        let expected = all
            .iter()
            .filter(|t| t.done && t.title.starts_with("t1"))
            .count() as u64;
        assert_eq!(deleted, expected);
        assert_eq!(store.select::<Task>().count().await.unwrap(), 20 - expected);
        let _ = &db;
    }

    async fn executors_take_where(db, store) {
        let agent = Executors::new(store.clone());
        let seeded = seeded(&store).await;
        let mut model = seeded.clone();
        let run = |name: &'static str, params: Json| {
            let agent = agent.clone();
            async move { agent.execute(name, params).await }
        };

        let result = run("update_table_record", json!({
            "tableName": "items",
            "where": {"$or": [{"n": {"$in": [1, 2]}}, {"tag": null}]},
            "data": {"flag": false},
        })).await;
        let expected = update_model(&mut model, |i| [1, 2].contains(&i.n) || i.tag.is_none(), |i| i.flag = false);
        assert_eq!(result["success"], true, "{result}");
        assert_eq!(result["data"]["updated"], expected, "{result}");
        assert_eq!(rows(&store).await, model);

        let result = run("delete_from_table", json!({
            "tableName": "items",
            "where": {"flag": false, "n": {"$lt": 4}},
        })).await;
        let expected = delete_model(&mut model, |i| !i.flag && i.n < 4);
        assert_eq!(result["success"], true, "{result}");
        assert_eq!(result["data"]["deleted"], expected, "{result}");
        assert_eq!(rows(&store).await, model);

        // By id, as before.
        let id = model[0].id;
        let result = run("delete_from_table", json!({"tableName": "items", "id": id})).await;
        assert_eq!(result["success"], true, "{result}");
        assert!(result["data"].get("deleted").is_none());
        model.remove(0);

        // Both forms, neither, an empty where, a where matching every row by construction:
        // refused, nothing written.
        let refused = [
            ("update_table_record", json!({"tableName": "items", "id": 1, "where": {"n": 1}, "data": {"n": 0}}), "invalid_params"),
            ("update_table_record", json!({"tableName": "items", "data": {"n": 0}}), "invalid_params"),
            ("update_table_record", json!({"tableName": "items", "where": {}, "data": {"n": 0}}), "invalid_params"),
            ("delete_from_table", json!({"tableName": "items", "id": 1, "where": {"n": 1}}), "invalid_params"),
            ("delete_from_table", json!({"tableName": "items"}), "invalid_params"),
            ("delete_from_table", json!({"tableName": "items", "where": {}}), "invalid_params"),
            ("delete_from_table", json!({"tableName": "items", "where": {"n": {"$nin": []}}}), "invalid_params"),
            ("delete_from_table", json!({"tableName": "items", "where": {"nope": 1}}), "unknown_column"),
            ("delete_from_table", json!({"tableName": "sandbox", "where": {"n": 1}}), "protected_table"),
        ];
        for (name, params, kind) in refused {
            let result = run(name, params.clone()).await;
            assert_eq!(result["success"], false, "{name} {params}: {result}");
            let got = result["data"]["error"]["kind"].as_str().unwrap_or_default().to_owned();
            assert_eq!(got, kind, "{name} {params}: {result}");
            if kind == "invalid_params" && params.get("where").is_some() && params.get("id").is_some() {
                let message = result["data"]["message"].as_str().unwrap();
                assert!(message.contains("id") && message.contains("where"), "{message}");
            }
        }
        assert_eq!(rows(&store).await, model);

        // The schemas document both forms.
        for name in ["update_table_record", "delete_from_table"] {
            let definition = agent.definition(name).unwrap();
            let properties = &definition.parameters["properties"];
            assert!(properties.get("id").is_some() && properties.get("where").is_some(), "{name}");
            assert!(definition.description.contains("where"), "{name}");
        }
        let _ = (&db, seeded);
    }
}
