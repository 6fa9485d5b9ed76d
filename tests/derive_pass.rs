//! `#[derive(Table)]` without a database: derived schemas equal the JSON forms of the seed
//! tables, rows convert to and from records, and decoding errors are `memtable::Error`s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use memtable::{ColumnType, Constraint, Error, Record, Table, TableSchema, Value};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The seed's `oauth_tokens`.
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
    scope: Option<String>,
    #[memtable(json)]
    token_data: Option<serde_json::Value>,
    created_at: i64,
    updated_at: i64,
}

/// The seed's `plugin_x_data`: an auto-increment integer key, a per-space key/value, and one
/// column of every other type.
#[derive(Table, Debug, Clone, PartialEq)]
#[memtable(
    table = "plugin_x_data",
    index(name = "idx_space_key", columns(space_id, key), unique)
)]
struct PluginXData {
    #[memtable(primary_key, auto_increment)]
    id: i32,
    space_id: String,
    key: String,
    value: Option<serde_json::Value>,
    enabled: Option<bool>,
    payload: Option<Vec<u8>>,
    score: Option<f64>,
}

fn oauth_tokens_json() -> serde_json::Value {
    json!({
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
        "indexes": [
            { "name": "idx_user_provider", "columns": ["user_id", "provider"], "unique": true }
        ]
    })
}

fn plugin_x_data_json() -> serde_json::Value {
    json!({
        "name": "plugin_x_data",
        "columns": [
            { "name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"] },
            { "name": "space_id", "type": "text", "constraints": ["not_null"] },
            { "name": "key", "type": "text", "constraints": ["not_null"] },
            { "name": "value", "type": "json" },
            { "name": "enabled", "type": "boolean" },
            { "name": "payload", "type": "blob" },
            { "name": "score", "type": "real" }
        ],
        "indexes": [ { "name": "idx_space_key", "columns": ["space_id", "key"], "unique": true } ]
    })
}

#[test]
fn oauth_tokens_schema_equals_its_json_form() {
    let derived = OauthToken::schema();
    derived.validate().unwrap();
    assert_eq!(
        derived,
        TableSchema::from_json(oauth_tokens_json()).unwrap()
    );
    assert_eq!(derived.to_json(), oauth_tokens_json());
    assert_eq!(OauthToken::TABLE_NAME, "oauth_tokens");
    assert_eq!(OauthToken::PRIMARY_KEY, "id");
    assert_eq!(OauthToken::PRIMARY_KEY_TYPE, ColumnType::Text);
    const { assert!(!OauthToken::AUTO_INCREMENT) };
}

#[test]
fn plugin_x_data_schema_equals_its_json_form() {
    let derived = PluginXData::schema();
    derived.validate().unwrap();
    assert_eq!(
        derived,
        TableSchema::from_json(plugin_x_data_json()).unwrap()
    );
    assert_eq!(derived.to_json(), plugin_x_data_json());
    assert_eq!(PluginXData::PRIMARY_KEY_TYPE, ColumnType::Integer);
    const { assert!(PluginXData::AUTO_INCREMENT) };
}

#[test]
fn column_handles_are_named_after_fields_and_carry_column_names() {
    assert_eq!(OauthToken::USER_ID.name(), "user_id");
    assert_eq!(OauthToken::TOKEN_DATA.name(), "token_data");
    assert_eq!(PluginXData::SPACE_ID.name(), "space_id");
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Prefs {
    theme: String,
    tags: Vec<String>,
}

/// Defaults, renames, overrides, unique, json serde types and the integer family.
#[derive(Table, Debug, Clone, PartialEq)]
struct UserAccount {
    #[memtable(primary_key)]
    id: uuid::Uuid,
    #[memtable(unique, rename = "email_address")]
    email: String,
    #[memtable(json)]
    prefs: Prefs,
    #[memtable(json)]
    history: Option<Vec<u32>>,
    #[memtable(type = "bigint")]
    logins: i32,
    small: i16,
    tiny: u8,
    medium: u32,
    ratio: f32,
    r#type: String,
}

fn account() -> UserAccount {
    UserAccount {
        id: uuid::Uuid::now_v7(),
        email: "a@example.com".into(),
        prefs: Prefs {
            theme: "dark".into(),
            tags: vec!["x".into()],
        },
        history: Some(vec![1, 2]),
        logins: 3,
        small: -4,
        tiny: 5,
        medium: 4_000_000_000,
        ratio: 0.5,
        r#type: "admin".into(),
    }
}

#[test]
fn defaults_renames_and_overrides() {
    let schema = UserAccount::schema();
    schema.validate().unwrap();
    assert_eq!(schema.name, "user_account");
    let names: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "email_address",
            "prefs",
            "history",
            "logins",
            "small",
            "tiny",
            "medium",
            "ratio",
            "type"
        ]
    );
    let column = |name: &str| schema.column(name).unwrap();
    assert_eq!(column("id").column_type, ColumnType::Text);
    assert_eq!(
        column("email_address").constraints,
        [Constraint::NotNull, Constraint::Unique]
    );
    assert_eq!(column("prefs").column_type, ColumnType::Json);
    assert!(!column("prefs").is_nullable());
    assert!(column("history").is_nullable());
    assert_eq!(column("logins").column_type, ColumnType::Bigint);
    assert_eq!(column("small").column_type, ColumnType::Integer);
    assert_eq!(column("tiny").column_type, ColumnType::Integer);
    assert_eq!(column("medium").column_type, ColumnType::Bigint);
    assert_eq!(column("ratio").column_type, ColumnType::Real);
    assert_eq!(UserAccount::EMAIL.name(), "email_address");
    assert_eq!(UserAccount::TYPE.name(), "type");
}

#[test]
fn rows_convert_to_records_directly_and_back() {
    let row = account();
    let record = row.to_record().unwrap();
    assert_eq!(
        record.keys().collect::<Vec<_>>(),
        UserAccount::schema()
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
    );
    // Non-json fields become their Value directly; json fields a document.
    assert_eq!(record.get("id"), Some(&Value::Text(row.id.to_string())));
    assert_eq!(
        record.get("email_address"),
        Some(&Value::Text("a@example.com".into()))
    );
    assert_eq!(
        record.get("prefs"),
        Some(&Value::Json(json!({"theme": "dark", "tags": ["x"]})))
    );
    assert_eq!(record.get("history"), Some(&Value::Json(json!([1, 2]))));
    assert_eq!(record.get("medium"), Some(&Value::Integer(4_000_000_000)));
    assert_eq!(record.get("ratio"), Some(&Value::Real(0.5)));
    assert_eq!(UserAccount::from_record(record).unwrap(), row);

    let mut none = row.clone();
    none.history = None;
    let record = none.to_record().unwrap();
    assert_eq!(record.get("history"), Some(&Value::Null));
    assert_eq!(UserAccount::from_record(record).unwrap(), none);
}

#[test]
fn decoding_errors_name_table_and_column() {
    let mismatch = |record: Record| match UserAccount::from_record(record) {
        Err(Error::TypeMismatch {
            table,
            column,
            found,
            ..
        }) => (table, column, found),
        other => panic!("expected TypeMismatch, got {other:?}"),
    };
    let record = account().to_record().unwrap();

    let (table, column, found) = mismatch(record.clone().with("email_address", Value::Null));
    assert_eq!(
        (table.as_str(), column.as_str(), found.as_str()),
        ("user_account", "email_address", "null")
    );
    let (_, column, _) = mismatch(record.clone().with("small", "not a number"));
    assert_eq!(column, "small");
    let (_, column, found) = mismatch(record.clone().with("tiny", 300));
    assert_eq!(column, "tiny");
    assert!(found.contains("out of range"), "{found}");
    let (_, column, _) = mismatch(record.clone().with("id", "not-a-uuid"));
    assert_eq!(column, "id");
    let (_, column, found) = mismatch(record.clone().with("prefs", json!({"theme": 1})));
    assert_eq!(column, "prefs");
    assert!(!found.contains('1'), "no value in the error: {found}");

    let mut missing = record.clone();
    missing.remove("email_address");
    assert!(matches!(
        UserAccount::from_record(missing),
        Err(Error::InvalidRecord { ref table, ref reason }) if table == "user_account" && reason.contains("email_address")
    ));
    // Extra columns are ignored; a missing nullable column is None.
    let mut lenient = record.with("extra", 1);
    lenient.remove("history");
    assert_eq!(UserAccount::from_record(lenient).unwrap().history, None);
}

/// Field names that are also the names of `Table`'s consts, or of the generated code's locals.
#[derive(Table, Debug, PartialEq)]
struct Awkward {
    #[memtable(primary_key)]
    table_name: String,
    primary_key: i64,
    record: Option<String>,
    value: bool,
    column: f64,
}

#[test]
fn field_names_do_not_clash_with_generated_names() {
    let row = Awkward {
        table_name: "t".into(),
        primary_key: 1,
        record: None,
        value: true,
        column: 1.5,
    };
    assert_eq!(<Awkward as Table>::TABLE_NAME, "awkward");
    assert_eq!(<Awkward as Table>::PRIMARY_KEY, "table_name");
    assert_eq!(Awkward::TABLE_NAME.name(), "table_name");
    assert_eq!(Awkward::PRIMARY_KEY.name(), "primary_key");
    assert_eq!(Awkward::from_record(row.to_record().unwrap()).unwrap(), row);
}

#[test]
fn conditions_are_dynamic_filters() {
    use memtable::{CompareOp, Filter};
    let filter = OauthToken::USER_ID
        .eq("u1")
        .and(OauthToken::EXPIRES_AT.gt(15))
        .into_filter()
        .unwrap();
    assert_eq!(
        filter,
        Filter::eq("user_id", "u1").and(Filter::Compare {
            column: "expires_at".into(),
            op: CompareOp::Gt,
            value: Value::Integer(15),
        })
    );
    let owned = String::from("u2");
    assert_eq!(
        OauthToken::USER_ID.eq(owned.clone()).into_filter().unwrap(),
        Filter::eq("user_id", "u2")
    );
    assert_eq!(
        OauthToken::USER_ID.eq(&owned).into_filter().unwrap(),
        Filter::eq("user_id", "u2")
    );
    assert_eq!(
        OauthToken::PROVIDER
            .is_in(["github", "gitlab"])
            .into_filter()
            .unwrap(),
        Filter::is_in("provider", ["github", "gitlab"])
    );
    assert_eq!(
        OauthToken::REFRESH_TOKEN.is_null().into_filter().unwrap(),
        Filter::is_null("refresh_token")
    );
    assert_eq!(
        OauthToken::TOKEN_DATA
            .eq(json!({"a": 1}))
            .into_filter()
            .unwrap(),
        Filter::eq("token_data", json!({"a": 1}))
    );
    assert_eq!(
        OauthToken::CREATED_AT.desc().into_order_by(),
        memtable::OrderBy::desc("created_at")
    );
}

#[test]
fn lt_gte_and_not_in_build_their_filters() {
    use memtable::{CompareOp, Filter};
    assert_eq!(
        OauthToken::EXPIRES_AT.lt(15).into_filter().unwrap(),
        Filter::lt("expires_at", 15_i64)
    );
    assert_eq!(
        OauthToken::CREATED_AT.gte(7).into_filter().unwrap(),
        Filter::Compare {
            column: "created_at".into(),
            op: CompareOp::Gte,
            value: Value::Integer(7),
        }
    );
    assert_eq!(
        OauthToken::PROVIDER.lt("m").into_filter().unwrap(),
        Filter::lt("provider", "m")
    );
    assert_eq!(
        PluginXData::SCORE.gte(0.5).into_filter().unwrap(),
        Filter::gte("score", 0.5)
    );
    assert_eq!(
        OauthToken::PROVIDER
            .not_in(["github", "gitlab"])
            .into_filter()
            .unwrap(),
        Filter::not_in("provider", ["github", "gitlab"])
    );
    assert_eq!(
        OauthToken::CREATED_AT
            .not_in(vec![1, 2])
            .into_filter()
            .unwrap(),
        Filter::In {
            column: "created_at".into(),
            values: vec![Value::Integer(1), Value::Integer(2)],
            negated: true,
        }
    );
    // An empty NOT IN is kept as such (it matches every row).
    assert_eq!(
        OauthToken::USER_ID
            .not_in(Vec::<String>::new())
            .into_filter()
            .unwrap(),
        Filter::In {
            column: "user_id".into(),
            values: Vec::new(),
            negated: true,
        }
    );
}

/// Every integer type a field can have, NOT NULL and nullable, and an `i32` in a `bigint`
/// column.
#[derive(Table, Debug, PartialEq)]
struct Integers {
    #[memtable(primary_key)]
    id: i64,
    tiny: i8,
    small: i16,
    normal: i32,
    utiny: u8,
    usmall: u16,
    unormal: u32,
    maybe_small: Option<i16>,
    maybe_unormal: Option<u32>,
    #[memtable(type = "bigint")]
    wide: i32,
}

#[test]
fn integer_literals_are_values_of_every_integer_field_type() {
    use memtable::{CompareOp, Filter};
    let compare = |column: &str, op: CompareOp, value: i64| Filter::Compare {
        column: column.into(),
        op,
        value: Value::Integer(value),
    };
    let cases = [
        (
            Integers::ID.eq(5_000_000_000),
            compare("id", CompareOp::Eq, 5_000_000_000),
        ),
        (Integers::TINY.eq(-5), compare("tiny", CompareOp::Eq, -5)),
        (Integers::SMALL.eq(5), compare("small", CompareOp::Eq, 5)),
        (
            Integers::SMALL.gt(-300),
            compare("small", CompareOp::Gt, -300),
        ),
        (
            Integers::NORMAL.lte(5),
            compare("normal", CompareOp::Lte, 5),
        ),
        (
            Integers::UTINY.gte(255),
            compare("utiny", CompareOp::Gte, 255),
        ),
        (
            Integers::USMALL.lt(65_535),
            compare("usmall", CompareOp::Lt, 65_535),
        ),
        (
            Integers::UNORMAL.ne(4_000_000_000),
            compare("unormal", CompareOp::Ne, 4_000_000_000),
        ),
        (
            Integers::MAYBE_SMALL.eq(7),
            compare("maybe_small", CompareOp::Eq, 7),
        ),
        (
            Integers::MAYBE_UNORMAL.gt(3_000_000_000),
            compare("maybe_unormal", CompareOp::Gt, 3_000_000_000),
        ),
        (Integers::WIDE.eq(1), compare("wide", CompareOp::Eq, 1)),
    ];
    for (condition, expected) in cases {
        assert_eq!(condition.into_filter().unwrap(), expected);
    }

    let list = |column: &str, values: &[i64], negated: bool| Filter::In {
        column: column.into(),
        values: values.iter().copied().map(Value::Integer).collect(),
        negated,
    };
    assert_eq!(
        Integers::SMALL.is_in([1, 2]).into_filter().unwrap(),
        list("small", &[1, 2], false)
    );
    assert_eq!(
        Integers::USMALL.not_in([1, 2]).into_filter().unwrap(),
        list("usmall", &[1, 2], true)
    );
    assert_eq!(
        Integers::UNORMAL
            .is_in(vec![1, 4_000_000_000])
            .into_filter()
            .unwrap(),
        list("unormal", &[1, 4_000_000_000], false)
    );
    assert_eq!(
        Integers::TINY.is_in([-1, 1]).into_filter().unwrap(),
        list("tiny", &[-1, 1], false)
    );
    assert_eq!(
        Integers::UTINY.not_in([0]).into_filter().unwrap(),
        list("utiny", &[0], true)
    );

    // Typed variables of the field's type work as before, and a real column still takes an
    // integer.
    let small: i16 = 9;
    assert_eq!(
        Integers::SMALL.eq(small).into_filter().unwrap(),
        compare("small", CompareOp::Eq, 9)
    );
    assert_eq!(
        PluginXData::SCORE.gt(5).into_filter().unwrap(),
        Filter::gt("score", 5.0)
    );
}
