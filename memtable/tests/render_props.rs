//! Property tests of validation and SQL rendering.
//!
//! (a) Nothing panics, whatever the names (arbitrary unicode, quotes, NUL, very long) and values
//! (arbitrary JSON, any i64 or f64 including NaN and infinities, any bytes), through schema
//! validation, the JSON readers and every render function of both backends; whatever renders
//! binds exactly as many values as it has placeholders.
//!
//! (b) Values are bound, never written into the SQL: distinctive strings and numbers given as
//! record values, ids, filter operands and JSON documents appear in the bound values and never
//! in the SQL text.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use memtable::query::CompareOp;
use memtable::sql::{Backend, Statement};
use memtable::{
    Column, ColumnType, Constraint, Error, Filter, IdentifierKind, Index, OrderBy, QueryOptions,
    Record, TableSchema, Value, validate_identifier,
};
use proptest::prelude::*;
use serde_json::json;

const BOTH: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

const COLUMN_TYPES: [ColumnType; 7] = ColumnType::ALL;

const CONSTRAINTS: [Constraint; 4] = [
    Constraint::PrimaryKey,
    Constraint::Unique,
    Constraint::NotNull,
    Constraint::AutoIncrement,
];

/// Valid names that collide often, so that generated schemas, records and filters meet.
const NAME_POOL: [&str; 12] = [
    "id",
    "user_id",
    "order",
    "select",
    "OAuthTokens",
    "Name",
    "name",
    "_x1",
    "data",
    "flag",
    "n",
    "a",
];

const OPERATORS: [&str; 11] = [
    "$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$nin", "$like", "$null", "$regex",
];

// ---------------------------------------------------------------------------------------------
// Strategies for arbitrary input
// ---------------------------------------------------------------------------------------------

/// Any string at all: printable unicode, raw chars (NUL and controls included), SQL-ish
/// hostile text, and names around and far beyond the 63-byte limit.
fn any_text() -> BoxedStrategy<String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(any::<char>(), 0..40).prop_map(String::from_iter),
        "[a-zA-Z_\"'`;\\\\ \\x00.$-]{0,24}",
        prop::sample::select(vec![
            String::new(),
            "\"".to_owned(),
            "x\"; DROP TABLE y; --".to_owned(),
            "a\0b".to_owned(),
            "sqlite_master".to_owned(),
            "SQLITE_x".to_owned(),
            "tablé".to_owned(),
            "?".to_owned(),
            "$1".to_owned(),
            "a".repeat(63),
            "a".repeat(64),
        ]),
        "[a-zA-Z_\"\\x00é]{60,400}",
    ]
    .boxed()
}

/// A name: usually one of a small pool of valid names, sometimes a random valid identifier
/// (possibly too long), sometimes anything at all.
fn any_name() -> BoxedStrategy<String> {
    prop_oneof![
        6 => prop::sample::select(NAME_POOL.to_vec()).prop_map(str::to_owned),
        2 => "[a-zA-Z_][a-zA-Z0-9_]{0,70}",
        2 => any_text(),
    ]
    .boxed()
}

/// Mostly valid names, for schemas meant to validate.
fn likely_name() -> BoxedStrategy<String> {
    prop_oneof![
        30 => prop::sample::select(NAME_POOL.to_vec()).prop_map(str::to_owned),
        8 => "[a-zA-Z_][a-zA-Z0-9_]{0,30}",
        1 => any_text(),
    ]
    .boxed()
}

fn column_type() -> impl Strategy<Value = ColumnType> {
    prop::sample::select(COLUMN_TYPES.to_vec())
}

fn column(key: bool, name: BoxedStrategy<String>) -> impl Strategy<Value = Column> {
    (
        name,
        column_type(),
        prop::collection::vec(prop::sample::select(CONSTRAINTS.to_vec()), 0..4),
        any::<bool>(),
        0_u8..8,
    )
        .prop_map(move |(name, column_type, constraints, auto, odd)| {
            let mut column = Column {
                name,
                column_type,
                constraints,
                default: None,
            };
            if key {
                column = column.with(Constraint::PrimaryKey);
                if auto && column_type.is_integral() {
                    column = column.with(Constraint::AutoIncrement);
                }
            } else if odd != 0 {
                // Mostly ordinary columns, so that many schemas are valid.
                column
                    .constraints
                    .retain(|c| !matches!(c, Constraint::PrimaryKey | Constraint::AutoIncrement));
            }
            column
        })
}

/// A schema made to validate unless a name is invalid: a key column first, column and index
/// names made unique, indexes over existing columns.
fn repaired_schema() -> impl Strategy<Value = TableSchema> {
    (
        likely_name(),
        column(true, likely_name()),
        prop::collection::vec(column(false, likely_name()), 0..6),
        prop::collection::vec(
            (
                likely_name(),
                prop::collection::vec(any::<prop::sample::Index>(), 1..4),
                any::<bool>(),
            ),
            0..3,
        ),
    )
        .prop_map(|(name, key, rest, raw_indexes)| {
            let mut columns = vec![key];
            columns.extend(rest);
            let mut seen = std::collections::HashSet::new();
            for (i, column) in columns.iter_mut().enumerate() {
                if !seen.insert(column.name.to_ascii_lowercase()) {
                    column.name = format!("{}_{i}", column.name);
                    seen.insert(column.name.to_ascii_lowercase());
                }
            }
            let mut index_names = std::collections::HashSet::new();
            let indexes = raw_indexes
                .into_iter()
                .enumerate()
                .map(|(i, (mut name, picks, unique))| {
                    if !index_names.insert(name.to_ascii_lowercase()) {
                        name = format!("{name}_{i}");
                        index_names.insert(name.to_ascii_lowercase());
                    }
                    let mut index_columns: Vec<String> = Vec::new();
                    for pick in picks {
                        let column = pick.get(&columns).name.clone();
                        if !index_columns.contains(&column) {
                            index_columns.push(column);
                        }
                    }
                    Index {
                        name,
                        columns: index_columns,
                        unique,
                    }
                })
                .collect();
            TableSchema {
                name,
                columns,
                indexes,
            }
        })
}

fn index(name: BoxedStrategy<String>) -> impl Strategy<Value = Index> {
    (any_name(), prop::collection::vec(name, 0..4), any::<bool>()).prop_map(
        |(name, columns, unique)| Index {
            name,
            columns,
            unique,
        },
    )
}

/// A schema: mostly one made to validate, sometimes a plausible one with colliding or invalid
/// names, sometimes anything.
fn schema() -> impl Strategy<Value = TableSchema> {
    let plausible = (
        any_name(),
        column(true, any_name()),
        prop::collection::vec(column(false, any_name()), 0..6),
        prop::collection::vec(index(any_name()), 0..3),
    )
        .prop_map(|(name, key, rest, indexes)| {
            let mut columns = vec![key];
            columns.extend(rest);
            TableSchema {
                name,
                columns,
                indexes,
            }
        });
    let arbitrary = (
        any_name(),
        prop::collection::vec(column(false, any_name()), 0..5),
        prop::collection::vec(index(any_name()), 0..3),
    )
        .prop_map(|(name, columns, indexes)| TableSchema {
            name,
            columns,
            indexes,
        });
    prop_oneof![6 => repaired_schema(), 2 => plausible, 1 => arbitrary]
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(9_223_372_036_854_775_808.0),
        -1e6..1e6_f64,
        (-100_i32..100).prop_map(f64::from),
    ]
}

fn json_key() -> BoxedStrategy<String> {
    prop_oneof![
        prop::sample::select(OPERATORS.to_vec()).prop_map(str::to_owned),
        any_name(),
    ]
    .boxed()
}

fn any_json() -> BoxedStrategy<serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        (-1000_i64..1000).prop_map(serde_json::Value::from),
        any_f64().prop_map(serde_json::Value::from),
        any_text().prop_map(serde_json::Value::String),
        "[A-Za-z0-9+/]{0,12}={0,2}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::vec((json_key(), inner), 0..4)
                .prop_map(|entries| serde_json::Value::Object(entries.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Any value at all: of any kind, for any column.
fn any_value() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Integer),
        (-1000_i64..1000).prop_map(Value::Integer),
        any_f64().prop_map(Value::Real),
        any_text().prop_map(Value::Text),
        "[A-Za-z0-9+/]{0,12}={0,2}".prop_map(Value::Text),
        prop::collection::vec(any::<u8>(), 0..32).prop_map(Value::Blob),
        any_json().prop_map(Value::Json),
    ]
    .boxed()
}

/// A value that fits a column of `column_type` (or NULL), usually; anything, sometimes.
fn value_for(column_type: ColumnType) -> BoxedStrategy<Value> {
    let fitting = match column_type {
        ColumnType::Text => any_text().prop_map(Value::Text).boxed(),
        ColumnType::Integer => any::<i32>().prop_map(|i| Value::Integer(i.into())).boxed(),
        ColumnType::Bigint => any::<i64>().prop_map(Value::Integer).boxed(),
        ColumnType::Real => any_f64().prop_map(Value::Real).boxed(),
        ColumnType::Blob => prop::collection::vec(any::<u8>(), 0..32)
            .prop_map(Value::Blob)
            .boxed(),
        ColumnType::Json => any_json().prop_map(Value::Json).boxed(),
        ColumnType::Boolean => any::<bool>().prop_map(Value::Bool).boxed(),
    };
    prop_oneof![8 => fitting, 1 => Just(Value::Null), 1 => any_value()].boxed()
}

/// The columns a strategy picks from (a stand-in when a schema has none).
fn columns_of(schema: &TableSchema) -> Vec<Column> {
    if schema.columns.is_empty() {
        vec![Column::new("id", ColumnType::Text)]
    } else {
        schema.columns.clone()
    }
}

/// Usually the name of one of `columns`, sometimes any name.
fn column_name(columns: &[Column]) -> BoxedStrategy<String> {
    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    prop_oneof![4 => prop::sample::select(names), 1 => any_name()].boxed()
}

/// A column name and a value for it: usually one of `columns` with a fitting value.
fn field(columns: &[Column]) -> BoxedStrategy<(String, Value)> {
    prop_oneof![
        8 => prop::sample::select(columns.to_vec())
            .prop_flat_map(|c| (Just(c.name), value_for(c.column_type))),
        1 => (any_name(), any_value()),
    ]
    .boxed()
}

/// A record, usually holding a value for the first column (the key, in most schemas).
fn record(columns: &[Column]) -> impl Strategy<Value = Record> + use<> {
    let first = columns[0].clone();
    (
        prop::option::weighted(0.7, value_for(first.column_type)),
        prop::collection::vec(field(columns), 0..5),
    )
        .prop_map(move |(key, fields)| {
            let mut record: Record = fields.into_iter().collect();
            if let Some(key) = key {
                record.insert(first.name.clone(), key);
            }
            record
        })
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Lt,
        CompareOp::Lte,
        CompareOp::Gt,
        CompareOp::Gte,
    ])
}

fn filter(columns: &[Column]) -> BoxedStrategy<Filter> {
    let list = prop::sample::select(columns.to_vec()).prop_flat_map(|c| {
        (
            Just(c.name),
            prop::collection::vec(value_for(c.column_type), 0..4),
        )
    });
    let leaf = prop_oneof![
        (field(columns), compare_op()).prop_map(|((column, value), op)| Filter::Compare {
            column,
            op,
            value
        }),
        (list, any::<bool>()).prop_map(|((column, values), negated)| Filter::In {
            column,
            values,
            negated
        }),
        (column_name(columns), any_text())
            .prop_map(|(column, pattern)| Filter::like(column, pattern)),
        (column_name(columns), any::<bool>())
            .prop_map(|(column, is_null)| Filter::Null { column, is_null }),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::Or),
            inner.prop_map(Filter::negate),
        ]
    })
    .boxed()
}

fn page_bound() -> impl Strategy<Value = Option<u64>> {
    prop::option::of(prop_oneof![0_u64..1000, any::<u64>()])
}

fn query_options(columns: &[Column]) -> impl Strategy<Value = QueryOptions> + use<> {
    (
        prop::option::of(filter(columns)),
        prop::collection::vec((column_name(columns), any::<bool>()), 0..3),
        page_bound(),
        page_bound(),
    )
        .prop_map(|(filter, order, limit, offset)| QueryOptions {
            filter,
            order_by: order
                .into_iter()
                .map(|(column, desc)| {
                    if desc {
                        OrderBy::desc(column)
                    } else {
                        OrderBy::asc(column)
                    }
                })
                .collect(),
            limit,
            offset,
        })
}

/// Everything the render functions take, mostly fitting `schema`.
#[derive(Debug, Clone)]
struct Input {
    schema: TableSchema,
    records: Vec<Record>,
    options: QueryOptions,
    id: Value,
    conflict: Vec<String>,
}

fn input() -> impl Strategy<Value = Input> {
    schema()
        .prop_flat_map(|schema| {
            let columns = columns_of(&schema);
            let key_type = schema
                .primary_key()
                .map_or(ColumnType::Text, |c| c.column_type);
            let mut targets: Vec<Vec<String>> = schema
                .columns
                .iter()
                .filter(|c| c.is_primary_key() || c.is_unique())
                .map(|c| vec![c.name.clone()])
                .collect();
            targets.extend(schema.indexes.iter().map(|i| i.columns.clone()));
            let random_target = prop::collection::vec(column_name(&columns), 0..3);
            let conflict = if targets.is_empty() {
                random_target.boxed()
            } else {
                prop_oneof![3 => prop::sample::select(targets), 1 => random_target].boxed()
            };
            (
                Just(schema),
                prop::collection::vec(record(&columns), 0..4),
                query_options(&columns),
                value_for(key_type),
                conflict,
            )
        })
        .prop_map(|(schema, records, options, id, conflict)| Input {
            schema,
            records,
            options,
            id,
            conflict,
        })
}

/// JSON shaped like `queryOptions` (with arbitrary parts), or arbitrary JSON.
fn query_json(columns: &[Column]) -> impl Strategy<Value = serde_json::Value> + use<> {
    let condition = prop_oneof![
        any_json(),
        prop::collection::vec(
            (
                prop::sample::select(OPERATORS.to_vec()).prop_map(str::to_owned),
                any_json()
            ),
            0..3
        )
        .prop_map(|entries| serde_json::Value::Object(entries.into_iter().collect())),
    ];
    let flat_where = prop::collection::vec((column_name(columns), condition), 0..4)
        .prop_map(|entries| serde_json::Value::Object(entries.into_iter().collect()));
    // `$and`, `$or`, `$not` (and misspellings) around where objects, or around arbitrary JSON.
    let where_json = flat_where.prop_recursive(3, 12, 3, |inner| {
        (
            prop::sample::select(vec!["$and", "$or", "$not", "$nor", "$AND"]),
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::from),
                inner,
                any_json(),
            ],
        )
            .prop_map(|(key, operand)| json!({ key: operand }))
    });
    let order_entry =
        (column_name(columns), any_json(), any::<bool>()).prop_map(|(column, other, desc)| {
            if desc {
                json!({"column": column, "direction": "desc"})
            } else {
                json!({"column": column, "direction": other})
            }
        });
    let order_json = prop_oneof![
        prop::collection::vec(order_entry.clone(), 0..3).prop_map(serde_json::Value::from),
        order_entry,
        column_name(columns).prop_map(serde_json::Value::from),
        any_json(),
    ];
    let structured = (
        prop::option::of(where_json),
        prop::option::of(order_json),
        prop::option::of(any_json()),
        prop::option::of(prop_oneof![
            (0_u64..100).prop_map(serde_json::Value::from),
            any_json()
        ]),
    )
        .prop_map(|(where_json, order_by, limit, offset)| {
            let mut object = serde_json::Map::new();
            for (key, value) in [
                ("where", where_json),
                ("orderBy", order_by),
                ("limit", limit),
                ("offset", offset),
            ] {
                if let Some(value) = value {
                    object.insert(key.to_owned(), value);
                }
            }
            serde_json::Value::Object(object)
        });
    prop_oneof![4 => structured, 1 => any_json()]
}

/// JSON shaped like a record (mostly column names as keys), or arbitrary JSON.
fn record_json(columns: &[Column]) -> impl Strategy<Value = serde_json::Value> + use<> {
    let value = prop_oneof![
        field(columns).prop_map(|(name, value)| (name, value.to_json())),
        (column_name(columns), any_json()),
    ];
    prop_oneof![
        4 => prop::collection::vec(value, 0..6)
            .prop_map(|entries| serde_json::Value::Object(entries.into_iter().collect())),
        1 => any_json(),
    ]
}

/// JSON shaped like a schema, or arbitrary JSON.
fn schema_json() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        schema().prop_map(|s| s.to_json()),
        (any_json(), any_json(), any_json()).prop_map(|(name, columns, indexes)| {
            json!({"name": name, "columns": columns, "indexes": indexes})
        }),
        any_json(),
    ]
}

/// A schema, JSON for it, and JSON that is not tied to it.
fn json_input() -> impl Strategy<
    Value = (
        TableSchema,
        serde_json::Value,
        Vec<serde_json::Value>,
        String,
    ),
> {
    schema().prop_flat_map(|schema| {
        let columns = columns_of(&schema);
        (
            Just(schema),
            query_json(&columns),
            prop::collection::vec(record_json(&columns), 0..3),
            prop_oneof![any_text(), (-5_i64..5).prop_map(|i| i.to_string())],
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// The number of placeholders in `sql`: `?` on SQLite, `$n` on PostgreSQL (checked to be
/// `$1…$n` in order).
fn placeholders(backend: Backend, sql: &str) -> usize {
    match backend {
        Backend::Sqlite => sql.matches('?').count(),
        Backend::Postgres => {
            let mut count = 0;
            for (at, _) in sql.match_indices('$') {
                let digits: String = sql[at + 1..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                count += 1;
                assert_eq!(digits.parse::<usize>().ok(), Some(count), "in {sql}");
            }
            count
        }
    }
}

fn check_statement(backend: Backend, statement: &Statement) {
    assert_eq!(
        placeholders(backend, statement.sql()),
        statement.values().len(),
        "{statement:?}"
    );
    assert!(statement.values().len() <= backend.max_bind_params());
}

/// Renders everything there is to render for `schema`; checks that an invalid schema is
/// refused by every function that takes one to write, and that every statement rendered for a
/// valid schema binds one value per placeholder.
fn render_everything(
    schema: &TableSchema,
    records: &[Record],
    options: &QueryOptions,
    id: &Value,
    conflict: &[String],
) {
    let valid = schema.validate().is_ok();
    let conflict: Vec<&str> = conflict.iter().map(String::as_str).collect();
    let first = records.first().cloned().unwrap_or_default();
    let mut without_key = first.clone();
    if let Some(key) = schema.primary_key() {
        without_key.remove(&key.name);
    }
    let name_ok = validate_identifier(IdentifierKind::Table, &schema.name).is_ok();
    for backend in BOTH {
        // Functions that validate the schema first.
        let writes: Vec<(&str, memtable::Result<Vec<Statement>>)> = vec![
            ("create_table", backend.create_table(schema)),
            (
                "create_table_if_not_exists",
                backend.create_table_if_not_exists(schema),
            ),
            ("insert", backend.insert(schema, &first).map(|s| vec![s])),
            ("insert_many", backend.insert_many(schema, records)),
            (
                "upsert",
                backend.upsert(schema, &first, &conflict).map(|s| vec![s]),
            ),
            (
                "update",
                backend.update(schema, id, &first).map(|s| vec![s]),
            ),
            (
                "update without the key",
                backend.update(schema, id, &without_key).map(|s| vec![s]),
            ),
            ("delete", backend.delete(schema, id).map(|s| vec![s])),
        ];
        for (what, result) in &writes {
            match result {
                Ok(statements) => {
                    assert!(valid, "{what} rendered an invalid schema: {schema:?}");
                    statements.iter().for_each(|s| check_statement(backend, s));
                }
                Err(error) if !valid => {
                    assert!(
                        matches!(
                            error,
                            Error::InvalidIdentifier { .. } | Error::InvalidSchema { .. }
                        ),
                        "{what}: {error:?}"
                    );
                }
                Err(_) => {}
            }
        }
        // select and count do not validate the schema; only check what they render for a
        // valid one.
        let select = backend.select(schema, options);
        let count = backend.count(schema, options.filter.as_ref());
        if valid {
            for statement in [select, count].iter().flatten() {
                check_statement(backend, statement);
            }
        }
        for result in [
            backend.drop_table(&schema.name),
            backend.table_exists(&schema.name),
        ] {
            assert_eq!(result.is_ok(), name_ok, "{:?}", schema.name);
            if let Ok(statement) = result {
                check_statement(backend, &statement);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies for (b): distinctive values
// ---------------------------------------------------------------------------------------------

/// Letters only, long enough never to occur in SQL by chance.
fn secret() -> impl Strategy<Value = String> {
    "[a-zA-Z]{8,16}"
}

/// Integers whose decimal form never occurs in SQL by chance.
fn secret_number() -> impl Strategy<Value = i64> {
    1_000_000_000_000_i64..1_000_000_000_000_000
}

/// Reals with a fraction (like 12345.678) whose decimal form never occurs in SQL by chance.
fn secret_real() -> impl Strategy<Value = f64> {
    (10_000_i64..100_000_000, 1_u32..1000)
        .prop_map(|(whole, thousandths)| whole as f64 + f64::from(thousandths) / 1000.0 + 0.000_5)
}

/// Bytes whose hex and base64 forms never occur in SQL by chance.
fn secret_blob() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 8..24)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn secrets_schema(auto_key: bool) -> TableSchema {
    let key = if auto_key {
        Column::new("id", ColumnType::Bigint)
            .with(Constraint::PrimaryKey)
            .with(Constraint::AutoIncrement)
    } else {
        Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey)
    };
    TableSchema::new(
        "OAuthTokens",
        vec![
            key,
            Column::new("user_id", ColumnType::Text).with(Constraint::NotNull),
            Column::new("order", ColumnType::Text),
            Column::new("select", ColumnType::Bigint),
            Column::new("data", ColumnType::Json),
            Column::new("flag", ColumnType::Boolean),
            Column::new("score", ColumnType::Real),
            Column::new("payload", ColumnType::Blob),
        ],
    )
    .with_index(Index::new("idx_user_order", ["user_id", "order"], true))
}

/// A record of `secrets_schema` made of distinctive values, and the texts it holds.
#[derive(Debug, Clone)]
struct Secrets {
    id: String,
    user_id: String,
    order: String,
    select: i64,
    data_key: String,
    data_value: String,
    flag: bool,
    score: f64,
    payload: Vec<u8>,
}

impl Secrets {
    fn record(&self, auto_key: bool) -> Record {
        let record = Record::new()
            .with("payload", self.payload.clone())
            .with("score", self.score)
            .with("flag", self.flag)
            .with(
                "data",
                json!({ self.data_key.clone(): [self.data_value.clone(), 1, null] }),
            )
            .with("select", self.select)
            .with("order", self.order.clone())
            .with("user_id", self.user_id.clone());
        if auto_key {
            record
        } else {
            record.with("id", self.id.clone())
        }
    }

    fn texts(&self, auto_key: bool) -> Vec<String> {
        let mut texts = vec![
            self.user_id.clone(),
            self.order.clone(),
            self.select.to_string(),
            self.data_key.clone(),
            self.data_value.clone(),
            self.score.to_string(),
            hex(&self.payload),
        ];
        if !auto_key {
            texts.push(self.id.clone());
        }
        texts
    }
}

fn secrets() -> impl Strategy<Value = Secrets> {
    (
        secret(),
        secret(),
        secret(),
        secret_number(),
        secret(),
        secret(),
        any::<bool>(),
        secret_real(),
        secret_blob(),
    )
        .prop_map(
            |(id, user_id, order, select, data_key, data_value, flag, score, payload)| Secrets {
                id,
                user_id,
                order,
                select,
                data_key,
                data_value,
                flag,
                score,
                payload,
            },
        )
}

/// Every bound value as text (JSON documents in their JSON form, reals as Rust writes them,
/// blobs in lowercase hex), one per line.
fn bound_text(statement: &Statement) -> String {
    statement
        .values()
        .iter()
        .map(|value| match value {
            sea_query::Value::String(Some(s)) => s.clone(),
            sea_query::Value::Json(Some(j)) => j.to_string(),
            sea_query::Value::BigInt(Some(i)) => i.to_string(),
            sea_query::Value::Int(Some(i)) => i.to_string(),
            sea_query::Value::Double(Some(f)) => f.to_string(),
            sea_query::Value::Bytes(Some(b)) => hex(b),
            sea_query::Value::Bool(Some(b)) => b.to_string(),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The real, blob and boolean values of `secrets` are bound, and no other spelling of them
/// (exponent form, uppercase hex as in `X'..'`, base64, a `TRUE`/`FALSE` literal) is in the SQL.
fn assert_typed_values_bound(backend: Backend, statement: &Statement, secrets: &[&Secrets]) {
    let sql = statement.sql();
    let upper = sql.to_uppercase();
    let values = statement.values();
    for secret in secrets {
        for form in [
            format!("{:e}", secret.score),
            format!("{:E}", secret.score),
            hex(&secret.payload).to_uppercase(),
            base64(&secret.payload),
        ] {
            assert!(
                !sql.contains(&form),
                "{form:?} is in the SQL on {backend:?}: {sql}"
            );
        }
        assert!(
            values.contains(&sea_query::Value::Double(Some(secret.score))),
            "{} is not bound on {backend:?}: {statement:?}",
            secret.score
        );
        assert!(
            values.contains(&sea_query::Value::Bytes(Some(secret.payload.clone()))),
            "{:?} is not bound on {backend:?}: {statement:?}",
            secret.payload
        );
        assert!(
            values.contains(&sea_query::Value::Bool(Some(secret.flag))),
            "{} is not bound on {backend:?}: {statement:?}",
            secret.flag
        );
    }
    let literal = upper
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|word| matches!(*word, "TRUE" | "FALSE"));
    assert_eq!(
        literal, None,
        "a boolean literal in the SQL on {backend:?}: {sql}"
    );
}

/// Each of `texts` is bound and absent from the SQL.
fn assert_bound_not_inlined(backend: Backend, statement: &Statement, texts: &[String]) {
    check_statement(backend, statement);
    let bound = bound_text(statement);
    for text in texts {
        assert!(
            !statement.sql().contains(text.as_str()),
            "{text:?} is in the SQL on {backend:?}: {}",
            statement.sql()
        );
        assert!(
            bound.contains(text.as_str()),
            "{text:?} is not bound on {backend:?}: {statement:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// (a) Validation agrees with the JSON form and with every render function.
    #[test]
    fn schemas_validate_and_render_without_panicking(schema in schema()) {
        let valid = schema.validate();
        let reread = TableSchema::from_json(schema.to_json());
        match &valid {
            Ok(()) => prop_assert_eq!(reread.unwrap(), schema.clone()),
            Err(_) => prop_assert!(reread.is_err()),
        }
        let reread_text = TableSchema::from_json_str(&schema.to_json().to_string());
        prop_assert_eq!(reread_text.is_ok(), valid.is_ok());
        render_everything(&schema, &[], &QueryOptions::new(), &Value::Null, &[]);
    }

    /// (a) Arbitrary schemas, records, ids, conflict targets and queries render or are refused,
    /// never panic.
    #[test]
    fn arbitrary_input_renders_or_is_refused(input in input()) {
        let Input { schema, records, options, id, conflict } = input;
        render_everything(&schema, &records, &options, &id, &conflict);
    }

    /// (a) The JSON readers take any JSON; what they accept renders.
    #[test]
    fn json_input_is_read_or_refused(
        (schema, query, records, id) in json_input(),
        schema_doc in schema_json(),
        schema_text in any_text(),
    ) {
        let _ = TableSchema::from_json(schema_doc);
        let _ = TableSchema::from_json_str(&schema_text);
        let options = QueryOptions::from_json(&schema, &query);
        let records: Vec<Record> = records
            .iter()
            .filter_map(|json| Record::from_json(&schema, json).ok())
            .collect();
        let id = schema
            .primary_key()
            .and_then(|key| Value::from_id(&schema.name, key, &id).ok())
            .unwrap_or(Value::Null);
        let options = options.unwrap_or_default();
        let key = schema.primary_key().map(|c| c.name.clone()).unwrap_or_default();
        render_everything(&schema, &records, &options, &id, &[key]);
    }

    /// (a) Values of every kind against columns of every type: coerced or refused, never a
    /// panic, and what renders binds one value per placeholder.
    #[test]
    fn every_value_against_every_column_type(value in any_value(), json in any_json()) {
        for column_type in COLUMN_TYPES {
            let schema = TableSchema::new("t", vec![
                Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey),
                Column::new("v", column_type),
            ]);
            let from_json = Value::from_json("t", &schema.columns[1], &json);
            let record = Record::new().with("id", "k").with("v", value.clone());
            for backend in BOTH {
                let id = Value::Text("k".into());
                for result in [
                    backend.insert(&schema, &record),
                    backend.update(&schema, &id, &Record::new().with("v", value.clone())),
                    backend.select(&schema, &QueryOptions::new().filter(Filter::eq("v", value.clone()))),
                    backend.select(&schema, &QueryOptions::new().filter(Filter::gt("v", value.clone()))),
                    backend.select(&schema, &QueryOptions::new().filter(Filter::is_in("v", [value.clone()]))),
                ] {
                    match result {
                        Ok(statement) => check_statement(backend, &statement),
                        Err(error) => prop_assert!(
                            matches!(error, Error::TypeMismatch { .. } | Error::InvalidQuery { .. }),
                            "{error:?}"
                        ),
                    }
                }
                if let Ok(value) = &from_json {
                    let statement = backend
                        .insert(&schema, &Record::new().with("id", "k").with("v", value.clone()))
                        .unwrap();
                    check_statement(backend, &statement);
                }
            }
        }
    }

    /// (b) Record values and ids are bound, never written into INSERT, upsert, UPDATE or
    /// DELETE.
    #[test]
    fn written_values_are_bound_not_inlined(
        auto_key in any::<bool>(),
        rows in prop::collection::vec(secrets(), 1..4),
    ) {
        let schema = secrets_schema(auto_key);
        for backend in BOTH {
            for row in &rows {
                let record = row.record(auto_key);
                let texts = row.texts(auto_key);
                let insert = backend.insert(&schema, &record).unwrap();
                assert_bound_not_inlined(backend, &insert, &texts);
                assert_typed_values_bound(backend, &insert, &[row]);
                let upsert = backend.upsert(&schema, &record, &["user_id", "order"]).unwrap();
                assert_bound_not_inlined(backend, &upsert, &texts);
                assert_typed_values_bound(backend, &upsert, &[row]);
                if !auto_key {
                    let upsert = backend.upsert(&schema, &record, &["id"]).unwrap();
                    assert_bound_not_inlined(backend, &upsert, &texts);
                    assert_typed_values_bound(backend, &upsert, &[row]);
                }
                let (id, id_text) = if auto_key {
                    (Value::Integer(row.select), row.select.to_string())
                } else {
                    (Value::Text(row.id.clone()), row.id.clone())
                };
                let mut changes = row.record(true);
                changes.remove("user_id");
                let mut update_texts = row.texts(true);
                update_texts.retain(|t| *t != row.user_id);
                update_texts.push(id_text.clone());
                let update = backend.update(&schema, &id, &changes).unwrap();
                assert_bound_not_inlined(backend, &update, &update_texts);
                assert_typed_values_bound(backend, &update, &[row]);
                assert_bound_not_inlined(
                    backend,
                    &backend.delete(&schema, &id).unwrap(),
                    &[id_text],
                );
            }
            let records: Vec<Record> = rows.iter().map(|r| r.record(auto_key)).collect();
            let all_texts: Vec<String> = rows.iter().flat_map(|r| r.texts(auto_key)).collect();
            let statements = backend.insert_many(&schema, &records).unwrap();
            prop_assert_eq!(statements.len(), 1);
            assert_bound_not_inlined(backend, &statements[0], &all_texts);
            assert_typed_values_bound(backend, &statements[0], &rows.iter().collect::<Vec<_>>());
        }
    }

    /// (b) Filter operands are bound, never written into SELECT or COUNT, whether the filter
    /// is built in Rust or read from JSON.
    #[test]
    fn filter_operands_are_bound_not_inlined(
        a in secrets(),
        b in secrets(),
        limit in 0_u64..1000,
        offset in prop::option::of(0_u64..1000),
    ) {
        let schema = secrets_schema(false);
        let data = json!({ a.data_key.clone(): a.data_value.clone() });
        let filter = Filter::eq("user_id", a.user_id.clone())
            .and(Filter::ne("order", a.order.clone()))
            .and(Filter::is_in("id", [a.id.clone(), b.id.clone()]))
            .and(Filter::not_in("order", [b.order.clone()]))
            .and(Filter::like("user_id", format!("%{}%", b.user_id)))
            .and(Filter::gt("select", a.select))
            .and(Filter::eq("data", data.clone()))
            .and(Filter::is_in("data", [json!([b.data_key.clone(), b.data_value.clone()])]))
            .and(Filter::eq("flag", a.flag))
            .and(Filter::is_null("select"))
            .and(Filter::lt("score", a.score))
            .and(Filter::eq("payload", a.payload.clone()));
        let texts = vec![
            a.user_id.clone(), a.order.clone(), a.id.clone(), b.id.clone(), b.order.clone(),
            b.user_id.clone(), a.select.to_string(), a.data_key.clone(), a.data_value.clone(),
            b.data_key.clone(), b.data_value.clone(), a.score.to_string(), hex(&a.payload),
        ];
        let mut options = QueryOptions::new()
            .filter(filter.clone())
            .order_by(OrderBy::desc("select"))
            .limit(limit);
        options.offset = offset;
        let from_json = QueryOptions::from_json(&schema, &json!({
            "where": {
                "user_id": {"$eq": a.user_id.clone(), "$like": format!("{}%", b.user_id)},
                "order": {"$ne": a.order.clone(), "$nin": [b.order.clone()]},
                "id": {"$in": [a.id.clone(), b.id.clone()]},
                "select": {"$gte": a.select},
                "flag": a.flag,
                "score": {"$lt": a.score},
                "payload": base64(&a.payload),
                "data": {
                    a.data_key.clone(): a.data_value.clone(),
                    b.data_key.clone(): [b.data_value.clone()]
                }
            },
            "limit": limit
        }))
        .unwrap();
        for backend in BOTH {
            for statement in [
                backend.select(&schema, &options).unwrap(),
                backend.count(&schema, Some(&filter)).unwrap(),
                backend.select(&schema, &from_json).unwrap(),
            ] {
                assert_bound_not_inlined(backend, &statement, &texts);
                assert_typed_values_bound(backend, &statement, &[&a]);
            }
        }
    }
}

/// Whether validation must refuse `name`, a name of identifier shape, by the rules of
/// `validate_identifier`'s documentation, written out independently: a reserved
/// prefix (`sqlite_`, `pg_`, any case) or one of PostgreSQL's system column names.
fn reserved_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("sqlite_")
        || lower.starts_with("pg_")
        || ["tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"].contains(&lower.as_str())
}

/// Valid names of identifier shape are bound by `table_exists` (never written into its SQL);
/// reserved ones (`pg_…`, `SQLite_…`, `tableoid`) are refused as invalid identifiers.
#[test]
fn table_exists_binds_arbitrary_valid_names() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(512));
    // ASCII case only: `(?i:…)` would also bring in characters that fold to ASCII ('ſ').
    let mix_case = |(name, bits): (String, u64)| -> String {
        name.chars()
            .enumerate()
            .map(|(i, c)| {
                if bits >> (i % 64) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    };
    let names = prop_oneof![
        4 => "[a-zA-Z_][a-zA-Z0-9_]{7,62}".boxed(),
        1 => ("(pg_|sqlite_)[a-zA-Z0-9_]{0,50}", any::<u64>()).prop_map(mix_case).boxed(),
        1 => (
            prop::sample::select(vec!["tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"])
                .prop_map(str::to_owned),
            any::<u64>(),
        )
            .prop_map(mix_case)
            .boxed(),
    ];
    let (bound, refused) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    runner
        .run(&names, |name| {
            for backend in BOTH {
                match backend.table_exists(&name) {
                    Ok(statement) => {
                        prop_assert!(!reserved_name(&name), "{name:?} is reserved but accepted");
                        validate_identifier(IdentifierKind::Table, &name).unwrap();
                        // A distinctive name, at least 8 bytes: it cannot be in the SQL by
                        // chance.
                        assert_bound_not_inlined(backend, &statement, std::slice::from_ref(&name));
                        bound.set(bound.get() + 1);
                    }
                    Err(error) => {
                        prop_assert!(reserved_name(&name), "{name:?} refused: {error:?}");
                        prop_assert!(
                            matches!(
                                error,
                                Error::InvalidIdentifier {
                                    kind: IdentifierKind::Table,
                                    ..
                                }
                            ),
                            "{name:?}: {error:?}"
                        );
                        refused.set(refused.get() + 1);
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    let (bound, refused) = (bound.get(), refused.get());
    assert!(bound > 0 && refused > 0, "{bound} bound, {refused} refused");
}
