//! Property test of the executors: whatever JSON arrives as parameters — arbitrary nested
//! documents, or documents shaped like the real parameters with arbitrary values — every
//! executor (and an unknown one), in every kind of set (all tables, a plugin's, read-only),
//! returns a well-formed result object and never panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use memtable::Store;
use memtable::executor::{ErrorKind, Executors};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

const NAMES: [&str; 9] = [
    "create_table",
    "insert_into_table",
    "update_table_record",
    "query_table",
    "delete_from_table",
    "table_exists",
    "drop_table",
    "no_such_executor",
    "",
];

const KEYS: [&str; 17] = [
    "tableName",
    "id",
    "data",
    "queryOptions",
    "where",
    "orderBy",
    "limit",
    "offset",
    "column",
    "direction",
    "name",
    "columns",
    "type",
    "constraints",
    "indexes",
    "unique",
    "$in",
];

const TABLES: [&str; 8] = [
    "every_type",
    "text_keyed",
    "owned",
    "memories",
    "_memtable_catalog",
    "missing",
    "bad name",
    "",
];

const COLUMNS: [&str; 9] = [
    "id", "title", "big", "ratio", "raw", "doc", "flag", "count", "nope",
];

const OPERATORS: [&str; 11] = [
    "$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$nin", "$like", "$null", "$bogus",
];

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        "[a-z_]{0,8}",
        any::<String>(),
        Just("a\u{0}b".to_owned()),
        Just("x\"; DROP TABLE every_type; --".to_owned()),
        Just("é".repeat(70)),
    ]
    .boxed()
}

fn key() -> BoxedStrategy<String> {
    prop_oneof![
        prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned),
        prop::sample::select(COLUMNS.to_vec()).prop_map(str::to_owned),
        prop::sample::select(OPERATORS.to_vec()).prop_map(str::to_owned),
        text(),
    ]
    .boxed()
}

fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-3_i64..5).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
        prop::sample::select(TABLES.to_vec()).prop_map(Value::from),
        "[A-Za-z0-9+/]{0,8}={0,2}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Sometimes left out, else the value.
fn maybe(strategy: BoxedStrategy<Value>) -> BoxedStrategy<Option<Value>> {
    prop::option::weighted(0.8, strategy).boxed()
}

fn object(entries: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        entries
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .collect(),
    )
}

fn condition() -> BoxedStrategy<Value> {
    prop_oneof![
        any_json(),
        prop::collection::vec(
            (
                prop::sample::select(OPERATORS.to_vec()).prop_map(str::to_owned),
                any_json()
            ),
            1..3
        )
        .prop_map(|entries| Value::Object(entries.into_iter().collect())),
    ]
    .boxed()
}

fn query_options() -> BoxedStrategy<Value> {
    let filter = prop::collection::vec(
        (
            prop::sample::select(COLUMNS.to_vec()).prop_map(str::to_owned),
            condition(),
        ),
        0..3,
    )
    .prop_map(|entries| Value::Object(entries.into_iter().collect()));
    // Where objects combined by `$and`, `$or`, `$not` (or a misspelling), beside a column key.
    let filter = filter.prop_recursive(3, 12, 3, |inner| {
        (
            prop::sample::select(vec!["$and", "$or", "$not", "$nor"]),
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                inner,
                any_json(),
            ],
            prop::option::of((prop::sample::select(COLUMNS.to_vec()), condition())),
        )
            .prop_map(|(key, operand, column)| {
                let mut object = serde_json::Map::new();
                object.insert(key.to_owned(), operand);
                if let Some((column, condition)) = column {
                    object.insert(column.to_owned(), condition);
                }
                Value::Object(object)
            })
    });
    let order = prop::collection::vec(
        (
            prop::sample::select(COLUMNS.to_vec()),
            prop_oneof![Just(json!("asc")), Just(json!("desc")), any_json()],
        )
            .prop_map(|(column, direction)| json!({"column": column, "direction": direction})),
        0..3,
    )
    .prop_map(Value::Array);
    let bound = prop_oneof![(0_u64..5).prop_map(Value::from), any_json()];
    (
        maybe(filter.boxed()),
        maybe(
            prop_oneof![
                order,
                prop::sample::select(COLUMNS.to_vec()).prop_map(Value::from),
                any_json()
            ]
            .boxed(),
        ),
        maybe(bound.clone().boxed()),
        maybe(bound.boxed()),
    )
        .prop_map(|(filter, order, limit, offset)| {
            object(vec![
                ("where", filter),
                ("orderBy", order),
                ("limit", limit),
                ("offset", offset),
            ])
        })
        .boxed()
}

/// The parts of parameters shaped like the real ones, with arbitrary values.
#[derive(Debug, Clone)]
struct Parts {
    table: Option<Value>,
    id: Option<Value>,
    data: Option<Value>,
    options: Option<Value>,
    schema: Value,
    extra: Option<(String, Value)>,
}

impl Parts {
    /// The parameters of executor `name` built from these parts.
    fn params(&self, name: &str) -> Value {
        let mut params = match name {
            "create_table" => self.schema.clone(),
            "insert_into_table" => object(vec![
                ("tableName", self.table.clone()),
                ("data", self.data.clone()),
            ]),
            "update_table_record" => object(vec![
                ("tableName", self.table.clone()),
                ("id", self.id.clone()),
                ("data", self.data.clone()),
            ]),
            "query_table" => object(vec![
                ("tableName", self.table.clone()),
                ("queryOptions", self.options.clone()),
            ]),
            "delete_from_table" => object(vec![
                ("tableName", self.table.clone()),
                ("id", self.id.clone()),
            ]),
            _ => object(vec![("tableName", self.table.clone())]),
        };
        if let (Some((key, value)), Value::Object(object)) = (&self.extra, &mut params) {
            object.insert(key.clone(), value.clone());
        }
        params
    }
}

fn plausible_value() -> BoxedStrategy<Value> {
    prop_oneof![
        2 => any_json(),
        2 => (-3_i64..5).prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
        1 => "[a-z]{0,6}".prop_map(Value::from),
        1 => "[A-Za-z0-9+/]{0,8}={0,2}".prop_map(Value::from),
        1 => Just(json!({"k": [1, "two", null]})),
    ]
    .boxed()
}

fn shaped_parts() -> BoxedStrategy<Parts> {
    let table = prop_oneof![
        4 => prop::sample::select(TABLES.to_vec()).prop_map(Value::from),
        1 => any_json(),
    ];
    let id = prop_oneof![
        (0_i64..4).prop_map(Value::from),
        (0_i64..4).prop_map(|i| Value::from(i.to_string())),
        any_json(),
    ];
    let data = prop_oneof![
        4 => prop::collection::vec(
            (prop::sample::select(COLUMNS.to_vec()).prop_map(str::to_owned), plausible_value()),
            0..4,
        )
        .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        1 => any_json(),
    ];
    let column = (
        prop::sample::select(COLUMNS.to_vec()),
        prop_oneof![
            4 => prop::sample::select(vec![
                "text", "integer", "bigint", "real", "blob", "json", "boolean", "varchar",
            ])
            .prop_map(Value::from),
            1 => any_json(),
        ],
        prop::collection::vec(
            prop::sample::select(vec![
                "primary_key",
                "unique",
                "not_null",
                "auto_increment",
                "check",
            ]),
            0..3,
        ),
    )
        .prop_map(|(name, kind, constraints)| {
            json!({"name": name, "type": kind, "constraints": constraints})
        });
    let schema = (
        prop_oneof![
            prop::sample::select(vec!["every_type", "fresh_table", "owned", "memories"])
                .prop_map(Value::from),
            any_json()
        ],
        prop::collection::vec(column, 0..4),
        maybe(any_json()),
    )
        .prop_map(|(name, columns, indexes)| {
            object(vec![
                ("name", Some(name)),
                ("columns", Some(Value::Array(columns))),
                ("indexes", indexes),
            ])
        });
    let extra = prop::option::weighted(0.1, (key(), any_json()));
    (
        prop::option::weighted(0.95, table),
        maybe(id.boxed()),
        maybe(data.boxed()),
        maybe(prop_oneof![4 => query_options(), 1 => any_json()].boxed()),
        prop_oneof![4 => schema.boxed(), 1 => any_json()],
        extra,
    )
        .prop_map(|(table, id, data, options, schema, extra)| Parts {
            table,
            id,
            data,
            options,
            schema,
            extra,
        })
        .boxed()
}

fn check_result(name: &str, params: &Value, result: &Value) {
    let context = || format!("{name}({params}) -> {result}");
    let object = result
        .as_object()
        .unwrap_or_else(|| panic!("{}", context()));
    assert_eq!(object.len(), 2, "{}", context());
    let success = object["success"]
        .as_bool()
        .unwrap_or_else(|| panic!("{}", context()));
    let data = object["data"]
        .as_object()
        .unwrap_or_else(|| panic!("{}", context()));
    if !success {
        let message = data["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{}", context());
        let kind = data["error"]["kind"].as_str().unwrap_or_default();
        assert!(
            ErrorKind::ALL.iter().any(|k| k.as_str() == kind),
            "{}",
            context()
        );
        assert_ne!(
            kind,
            "database",
            "no database error from bad input: {}",
            context()
        );
    }
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    sets: Vec<Executors>,
    /// How many calls succeeded: the shaped parameters must reach the database, not only fail
    /// in parsing.
    successes: std::cell::Cell<u64>,
}

impl Fixture {
    fn new() -> Fixture {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let store = runtime.block_on(Store::connect("sqlite::memory:")).unwrap();
        let admin = Executors::new(store.clone());
        let plugin = Executors::for_plugin(store, "plugin_x");
        let fixture = Fixture {
            runtime,
            sets: vec![
                admin.clone(),
                plugin.clone(),
                plugin.read_only(),
                admin.read_only(),
            ],
            successes: std::cell::Cell::new(0),
        };
        fixture.restore();
        fixture
    }

    /// (Re)creates the tables an arbitrary drop_table may have dropped.
    fn restore(&self) {
        let every_type = json!({"name": "every_type", "columns": [
            {"name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"]},
            {"name": "title", "type": "text", "constraints": ["unique"]},
            {"name": "big", "type": "bigint"},
            {"name": "ratio", "type": "real"},
            {"name": "raw", "type": "blob"},
            {"name": "doc", "type": "json"},
            {"name": "flag", "type": "boolean", "constraints": ["not_null"]},
            {"name": "count", "type": "integer"}
        ]});
        let text_keyed = json!({"name": "text_keyed", "columns": [
            {"name": "id", "type": "text", "constraints": ["primary_key"]},
            {"name": "title", "type": "text"},
            {"name": "doc", "type": "json"}
        ]});
        let owned = json!({"name": "owned", "columns": [
            {"name": "id", "type": "bigint", "constraints": ["primary_key"]},
            {"name": "title", "type": "text"},
            {"name": "flag", "type": "boolean"}
        ]});
        self.runtime.block_on(async {
            let [admin, plugin, ..] = &self.sets[..] else {
                unreachable!()
            };
            for schema in [every_type, text_keyed] {
                let result = admin.execute("create_table", schema).await;
                assert_eq!(result["success"], true, "{result}");
            }
            let result = plugin.execute("create_table", owned).await;
            assert_eq!(result["success"], true, "{result}");
        });
    }

    /// Calls every executor of every set, each with `params(name)`.
    fn run(&self, params: impl Fn(&str) -> Value) {
        self.runtime.block_on(async {
            for set in &self.sets {
                for name in NAMES {
                    let params = &params(name);
                    let result = set.execute(name, params.clone()).await;
                    check_result(name, params, &result);
                    if result["success"] == true {
                        self.successes.set(self.successes.get() + 1);
                    }
                }
            }
        });
        self.restore();
    }
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn arbitrary_json_params_never_panic() {
    let fixture = Fixture::new();
    runner(128)
        .run(&any_json(), |params| {
            fixture.run(|_| params.clone());
            Ok(())
        })
        .unwrap();
}

#[test]
fn params_shaped_like_the_real_ones_never_panic() {
    let fixture = Fixture::new();
    runner(384)
        .run(&shaped_parts(), |parts| {
            fixture.run(|name| parts.params(name));
            Ok(())
        })
        .unwrap();
    assert!(
        fixture.successes.get() > 384,
        "only {} calls succeeded",
        fixture.successes.get()
    );
}

/// The hostile corpus of the integration tests (`tests/corpus/hostile.json`): its names and
/// values, `{"repeat", "times"}` entries expanded.
fn corpus_strings() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/corpus/hostile.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    [
        "invalid_identifiers",
        "keywords",
        "text_values",
        "nul_values",
    ]
    .iter()
    .flat_map(|key| doc[*key].as_array().unwrap().clone())
    .map(|entry| match entry {
        Value::String(s) => s,
        other => other["repeat"]
            .as_str()
            .unwrap()
            .repeat(other["times"].as_u64().unwrap() as usize),
    })
    .collect()
}

/// A document nested `depth` levels deep, around `leaf`.
fn nested(depth: usize, leaf: Value, objects: bool) -> Value {
    let mut doc = leaf;
    for _ in 0..depth {
        doc = if objects {
            Value::Object([("k".to_owned(), doc)].into_iter().collect())
        } else {
            Value::Array(vec![doc])
        };
    }
    doc
}

/// Parameters built from hostile strings (as table names, keys, values and ids), documents
/// nested around the json depth limit, and where clauses around the condition limit.
fn hostile_parts() -> BoxedStrategy<Parts> {
    let strings = corpus_strings();
    let hostile = prop::sample::select(strings).boxed();
    let name = prop_oneof![
        2 => prop::sample::select(TABLES.to_vec()).prop_map(str::to_owned),
        1 => hostile.clone(),
    ];
    let deep = (0_usize..80, any::<bool>(), hostile.clone())
        .prop_map(|(depth, objects, leaf)| nested(depth, Value::String(leaf), objects));
    let value = prop_oneof![
        2 => hostile.clone().prop_map(Value::String),
        1 => deep.clone(),
        1 => plausible_value(),
    ];
    let key = prop_oneof![
        3 => prop::sample::select(COLUMNS.to_vec()).prop_map(str::to_owned),
        1 => hostile.clone(),
    ];
    let data = prop::collection::vec((key.clone(), value.clone()), 0..6)
        .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>()));
    // Up to 9 operators on each of up to 40 keys: past the 256-condition limit at times.
    let condition = prop::collection::vec(
        (
            prop::sample::select(OPERATORS.to_vec()).prop_map(str::to_owned),
            value.clone(),
        ),
        0..10,
    )
    .prop_map(|ops| Value::Object(ops.into_iter().collect()));
    let filter = prop::collection::vec((key, prop_oneof![value.clone(), condition]), 0..40)
        .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>()));
    let options = (filter, prop::option::of(0_u64..3_000)).prop_map(|(filter, limit)| {
        object(vec![
            ("where", Some(filter)),
            ("limit", limit.map(Value::from)),
        ])
    });
    let schema =
        (name.clone(), prop::collection::vec(hostile.clone(), 0..4)).prop_map(|(name, columns)| {
            let mut columns: Vec<Value> = columns
                .into_iter()
                .map(|c| json!({"name": c, "type": "text"}))
                .collect();
            columns.push(json!({"name": "id", "type": "text", "constraints": ["primary_key"]}));
            json!({"name": name, "columns": columns})
        });
    (name, value.clone(), data, options, schema)
        .prop_map(|(table, id, data, options, schema)| Parts {
            table: Some(Value::String(table)),
            id: Some(id),
            data: Some(data),
            options: Some(options),
            schema,
            extra: None,
        })
        .boxed()
}

#[test]
fn hostile_and_oversized_params_never_panic() {
    let fixture = Fixture::new();
    runner(256)
        .run(&hostile_parts(), |parts| {
            fixture.run(|name| parts.params(name));
            Ok(())
        })
        .unwrap();
}
