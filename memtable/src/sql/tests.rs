//! Exact-SQL tests of every statement kind on both backends.
//!
//! Every expected string is what sea-query renders, checked by hand against the dialect of
//! SQLite 3.51 and PostgreSQL 15.

use super::*;
use crate::error::{IdentifierKind, IdentifierProblem, SchemaProblem};
use crate::query::{MAX_PAGE_BOUND, OrderBy, QueryOptions};
use crate::schema::{Constraint, Index};
use crate::value::Record;
use sea_query::Value as V;
use serde_json::json;

use Backend::{Postgres as POSTGRES, Sqlite as SQLITE};
const BOTH: [Backend; 2] = [SQLITE, POSTGRES];

/// A mixed-case table with a text key, every column type, reserved-word columns (`order`,
/// `select`), a unique index and a plain one.
fn tokens() -> TableSchema {
    TableSchema::new(
        "OAuthTokens",
        vec![
            Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey),
            Column::new("user_id", ColumnType::Text).with(Constraint::NotNull),
            Column::new("provider", ColumnType::Text).with(Constraint::NotNull),
            Column::new("order", ColumnType::Integer),
            Column::new("select", ColumnType::Bigint).with(Constraint::Unique),
            Column::new("score", ColumnType::Real),
            Column::new("payload", ColumnType::Blob),
            Column::new("data", ColumnType::Json),
            Column::new("enabled", ColumnType::Boolean).with(Constraint::NotNull),
        ],
    )
    .with_index(Index::new(
        "idx_user_provider",
        ["user_id", "provider"],
        true,
    ))
    .with_index(Index::new("idx_order", ["order"], false))
}

/// A table whose key the database assigns (`integer` or `bigint`), with a unique column.
fn items(key_type: ColumnType) -> TableSchema {
    TableSchema::new(
        "items",
        vec![
            Column::new("id", key_type)
                .with(Constraint::PrimaryKey)
                .with(Constraint::AutoIncrement),
            Column::new("name", ColumnType::Text).with(Constraint::Unique),
            Column::new("n", ColumnType::Integer),
        ],
    )
}

/// A table with an integer key given by the caller.
fn numbered() -> TableSchema {
    TableSchema::new(
        "numbered",
        vec![
            Column::new("id", ColumnType::Integer).with(Constraint::PrimaryKey),
            Column::new("label", ColumnType::Text),
            Column::new("n", ColumnType::Integer),
        ],
    )
}

/// `id` (bigint key) and `width - 1` integer columns `c1…`.
fn wide(width: usize) -> TableSchema {
    let mut columns = vec![Column::new("id", ColumnType::Bigint).with(Constraint::PrimaryKey)];
    columns.extend((1..width).map(|i| Column::new(format!("c{i}"), ColumnType::Integer)));
    TableSchema::new("wide", columns)
}

fn wide_record(width: usize, id: i64) -> Record {
    let mut record = Record::new().with("id", id);
    for i in 1..width {
        record.insert(format!("c{i}"), i as i64);
    }
    record
}

/// A record of `tokens()` with its columns deliberately out of schema order.
fn token_record() -> Record {
    Record::new()
        .with("enabled", true)
        .with(
            "data",
            json!({"b": 1, "a": {"d": [{"f": 1, "e": 2}], "c": null}}),
        )
        .with("provider", "github")
        .with("id", "t1")
        .with("user_id", "u1")
}

const TOKEN_DATA_CANONICAL: &str = r#"{"a":{"c":null,"d":[{"e":2,"f":1}]},"b":1}"#;

fn token_data() -> serde_json::Value {
    json!({"b": 1, "a": {"d": [{"f": 1, "e": 2}], "c": null}})
}

fn select_sql(backend: Backend, schema: &TableSchema, options: QueryOptions) -> String {
    backend.select(schema, &options).unwrap().sql().to_owned()
}

fn text(s: &str) -> V {
    V::String(Some(s.to_owned()))
}

/// The number of placeholders in `sql`, checking on PostgreSQL that they are `$1…$n` in order.
fn placeholders(backend: Backend, sql: &str) -> usize {
    match backend {
        SQLITE => sql.matches('?').count(),
        POSTGRES => {
            let mut count = 0;
            for (at, _) in sql.match_indices('$') {
                let digits: String = sql[at + 1..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                count += 1;
                assert_eq!(digits.parse::<usize>().unwrap(), count, "in {sql}");
            }
            count
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CREATE TABLE / CREATE INDEX / DROP TABLE / existence
// ---------------------------------------------------------------------------------------------

#[test]
fn create_table_sqlite_every_type_and_index() {
    let statements = SQLITE.create_table(&tokens()).unwrap();
    let sql: Vec<&str> = statements.iter().map(Statement::sql).collect();
    assert_eq!(
        sql,
        [
            r#"CREATE TABLE "OAuthTokens" ( "id" TEXT NOT NULL PRIMARY KEY, "user_id" TEXT NOT NULL, "provider" TEXT NOT NULL, "order" INTEGER, "select" INTEGER UNIQUE, "score" REAL, "payload" BLOB, "data" TEXT, "enabled" INTEGER NOT NULL )"#,
            r#"CREATE UNIQUE INDEX "idx_user_provider" ON "OAuthTokens" ("user_id", "provider")"#,
            r#"CREATE INDEX "idx_order" ON "OAuthTokens" ("order")"#,
        ]
    );
    assert!(statements.iter().all(|s| s.values().is_empty()));
}

#[test]
fn create_table_postgres_every_type_and_index() {
    let statements = POSTGRES.create_table(&tokens()).unwrap();
    let sql: Vec<&str> = statements.iter().map(Statement::sql).collect();
    assert_eq!(
        sql,
        [
            r#"CREATE TABLE "OAuthTokens" ( "id" TEXT NOT NULL PRIMARY KEY, "user_id" TEXT NOT NULL, "provider" TEXT NOT NULL, "order" INTEGER, "select" BIGINT UNIQUE, "score" DOUBLE PRECISION, "payload" BYTEA, "data" JSONB, "enabled" BOOLEAN NOT NULL )"#,
            r#"CREATE UNIQUE INDEX "idx_user_provider" ON "OAuthTokens" ("user_id", "provider")"#,
            r#"CREATE INDEX "idx_order" ON "OAuthTokens" ("order")"#,
        ]
    );
    assert!(statements.iter().all(|s| s.values().is_empty()));
}

#[test]
fn create_table_each_type_alone() {
    let expected = [
        (ColumnType::Text, "TEXT", "TEXT"),
        (ColumnType::Integer, "INTEGER", "INTEGER"),
        (ColumnType::Bigint, "INTEGER", "BIGINT"),
        (ColumnType::Real, "REAL", "DOUBLE PRECISION"),
        (ColumnType::Blob, "BLOB", "BYTEA"),
        (ColumnType::Json, "TEXT", "JSONB"),
        (ColumnType::Boolean, "INTEGER", "BOOLEAN"),
    ];
    for (column_type, sqlite, postgres) in expected {
        let schema = TableSchema::new(
            "t",
            vec![
                Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey),
                Column::new("v", column_type),
                Column::new("w", column_type).with(Constraint::NotNull),
                Column::new("x", column_type)
                    .with(Constraint::Unique)
                    .with(Constraint::NotNull),
            ],
        );
        for (backend, name) in [(SQLITE, sqlite), (POSTGRES, postgres)] {
            let statements = backend.create_table(&schema).unwrap();
            assert_eq!(statements.len(), 1);
            assert_eq!(
                statements[0].sql(),
                format!(
                    r#"CREATE TABLE "t" ( "id" TEXT NOT NULL PRIMARY KEY, "v" {name}, "w" {name} NOT NULL, "x" {name} NOT NULL UNIQUE )"#
                ),
                "{column_type} on {backend:?}"
            );
        }
    }
}

#[test]
fn create_table_primary_keys_on_text_and_integer() {
    let text_key = TableSchema::new(
        "t",
        vec![Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey)],
    );
    // not_null beside primary_key, or unique on the key, adds nothing.
    let redundant = TableSchema::new(
        "t",
        vec![
            Column::new("id", ColumnType::Text)
                .with(Constraint::PrimaryKey)
                .with(Constraint::NotNull)
                .with(Constraint::Unique),
        ],
    );
    for backend in BOTH {
        for schema in [&text_key, &redundant] {
            assert_eq!(
                backend.create_table(schema).unwrap()[0].sql(),
                r#"CREATE TABLE "t" ( "id" TEXT NOT NULL PRIMARY KEY )"#
            );
        }
    }
    assert_eq!(
        SQLITE.create_table(&numbered()).unwrap()[0].sql(),
        r#"CREATE TABLE "numbered" ( "id" INTEGER NOT NULL PRIMARY KEY, "label" TEXT, "n" INTEGER )"#
    );
    assert_eq!(
        POSTGRES.create_table(&numbered()).unwrap()[0].sql(),
        r#"CREATE TABLE "numbered" ( "id" INTEGER NOT NULL PRIMARY KEY, "label" TEXT, "n" INTEGER )"#
    );
    assert_eq!(
        POSTGRES.create_table(&wide(2)).unwrap()[0].sql(),
        r#"CREATE TABLE "wide" ( "id" BIGINT NOT NULL PRIMARY KEY, "c1" INTEGER )"#
    );
    assert_eq!(
        SQLITE.create_table(&wide(2)).unwrap()[0].sql(),
        r#"CREATE TABLE "wide" ( "id" INTEGER NOT NULL PRIMARY KEY, "c1" INTEGER )"#
    );
}

#[test]
fn create_table_auto_increment_keys() {
    for key_type in [ColumnType::Integer, ColumnType::Bigint] {
        assert_eq!(
            SQLITE.create_table(&items(key_type)).unwrap()[0].sql(),
            r#"CREATE TABLE "items" ( "id" INTEGER PRIMARY KEY AUTOINCREMENT, "name" TEXT UNIQUE, "n" INTEGER )"#,
            "{key_type}"
        );
    }
    assert_eq!(
        POSTGRES.create_table(&items(ColumnType::Integer)).unwrap()[0].sql(),
        r#"CREATE TABLE "items" ( "id" INTEGER PRIMARY KEY GENERATED ALWAYS AS IDENTITY, "name" TEXT UNIQUE, "n" INTEGER )"#
    );
    assert_eq!(
        POSTGRES.create_table(&items(ColumnType::Bigint)).unwrap()[0].sql(),
        r#"CREATE TABLE "items" ( "id" BIGINT PRIMARY KEY GENERATED ALWAYS AS IDENTITY, "name" TEXT UNIQUE, "n" INTEGER )"#
    );
    // not_null on an auto-increment key is implied and not repeated.
    let schema = TableSchema::new(
        "items",
        vec![
            Column::new("id", ColumnType::Integer)
                .with(Constraint::AutoIncrement)
                .with(Constraint::NotNull)
                .with(Constraint::PrimaryKey),
        ],
    );
    assert_eq!(
        SQLITE.create_table(&schema).unwrap()[0].sql(),
        r#"CREATE TABLE "items" ( "id" INTEGER PRIMARY KEY AUTOINCREMENT )"#
    );
    assert_eq!(
        POSTGRES.create_table(&schema).unwrap()[0].sql(),
        r#"CREATE TABLE "items" ( "id" INTEGER PRIMARY KEY GENERATED ALWAYS AS IDENTITY )"#
    );
}

#[test]
fn create_table_if_not_exists() {
    let schema = TableSchema::new(
        "t",
        vec![
            Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey),
            Column::new("a", ColumnType::Text),
        ],
    )
    .with_index(Index::new("idx_a", ["a"], true));
    for backend in BOTH {
        let sql: Vec<String> = backend
            .create_table_if_not_exists(&schema)
            .unwrap()
            .iter()
            .map(|s| s.sql().to_owned())
            .collect();
        assert_eq!(
            sql,
            [
                r#"CREATE TABLE IF NOT EXISTS "t" ( "id" TEXT NOT NULL PRIMARY KEY, "a" TEXT )"#,
                r#"CREATE UNIQUE INDEX IF NOT EXISTS "idx_a" ON "t" ("a")"#,
            ],
            "{backend:?}"
        );
    }
}

#[test]
fn create_table_refuses_invalid_schemas() {
    for backend in BOTH {
        let mut schema = tokens();
        schema.name = "OAuth Tokens".into();
        assert!(matches!(
            backend.create_table(&schema),
            Err(Error::InvalidIdentifier {
                kind: IdentifierKind::Table,
                reason: IdentifierProblem::InvalidCharacters,
                ..
            })
        ));
        let mut schema = tokens();
        schema.columns[3].name = "order\"; DROP TABLE x; --".into();
        assert!(matches!(
            backend.create_table(&schema),
            Err(Error::InvalidIdentifier {
                kind: IdentifierKind::Column,
                ..
            })
        ));
        let mut schema = tokens();
        schema.indexes[0].name = "idx user".into();
        assert!(matches!(
            backend.create_table(&schema),
            Err(Error::InvalidIdentifier {
                kind: IdentifierKind::Index,
                ..
            })
        ));
        let no_key = TableSchema::new("t", vec![Column::new("a", ColumnType::Text)]);
        assert!(matches!(
            backend.create_table(&no_key),
            Err(Error::InvalidSchema {
                problem: SchemaProblem::NoPrimaryKey,
                ..
            })
        ));
    }
}

#[test]
fn drop_table() {
    for backend in BOTH {
        let statement = backend.drop_table("OAuthTokens").unwrap();
        assert_eq!(statement.sql(), r#"DROP TABLE "OAuthTokens""#);
        assert!(statement.values().is_empty());
        for bad in ["", "a b", "t\"", "sqlite_master", "x; DROP TABLE y"] {
            assert!(
                matches!(
                    backend.drop_table(bad),
                    Err(Error::InvalidIdentifier {
                        kind: IdentifierKind::Table,
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            backend.drop_table(&"t".repeat(64)),
            Err(Error::InvalidIdentifier {
                reason: IdentifierProblem::TooLong,
                ..
            })
        ));
    }
}

#[test]
fn table_exists_binds_the_name() {
    let sqlite = SQLITE.table_exists("OAuthTokens").unwrap();
    assert_eq!(
        sqlite.sql(),
        r#"SELECT "name" FROM "sqlite_master" WHERE "type" = ? AND "name" = ?"#
    );
    assert_eq!(sqlite.values(), [text("table"), text("OAuthTokens")]);

    let postgres = POSTGRES.table_exists("OAuthTokens").unwrap();
    assert_eq!(
        postgres.sql(),
        r#"SELECT "table_name" FROM "information_schema"."tables" WHERE "table_schema" = (current_schema()) AND "table_name" = $1"#
    );
    assert_eq!(postgres.values(), [text("OAuthTokens")]);

    for backend in BOTH {
        let statement = backend.table_exists("OAuthTokens").unwrap();
        assert!(!statement.sql().contains("OAuthTokens"));
        assert!(matches!(
            backend.table_exists("no such\"table"),
            Err(Error::InvalidIdentifier {
                kind: IdentifierKind::Table,
                ..
            })
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// INSERT
// ---------------------------------------------------------------------------------------------

#[test]
fn insert_writes_columns_in_schema_order_and_returns_the_key() {
    let sqlite = SQLITE.insert(&tokens(), &token_record()).unwrap();
    assert_eq!(
        sqlite.sql(),
        r#"INSERT INTO "OAuthTokens" ("id", "user_id", "provider", "data", "enabled") VALUES (?, ?, ?, ?, ?) RETURNING "id""#
    );
    assert_eq!(
        sqlite.values(),
        [
            text("t1"),
            text("u1"),
            text("github"),
            text(TOKEN_DATA_CANONICAL),
            V::Bool(Some(true)),
        ]
    );

    let postgres = POSTGRES.insert(&tokens(), &token_record()).unwrap();
    assert_eq!(
        postgres.sql(),
        r#"INSERT INTO "OAuthTokens" ("id", "user_id", "provider", "data", "enabled") VALUES ($1, $2, $3, $4, $5) RETURNING "id""#
    );
    assert_eq!(
        postgres.values(),
        [
            text("t1"),
            text("u1"),
            text("github"),
            V::Json(Some(Box::new(token_data()))),
            V::Bool(Some(true)),
        ]
    );

    // The same columns in another order render the same statement.
    let mut reversed: Vec<(String, Value)> = token_record().into_iter().collect();
    reversed.reverse();
    let reversed: Record = reversed.into_iter().collect();
    for backend in BOTH {
        assert_eq!(
            backend.insert(&tokens(), &reversed).unwrap(),
            backend.insert(&tokens(), &token_record()).unwrap()
        );
    }
}

#[test]
fn insert_binds_every_type_per_backend() {
    let record = token_record()
        .with("order", 7)
        .with("select", 1_700_000_000_000_i64)
        .with("score", 0.5)
        .with("payload", vec![0_u8, 1, 255]);
    let sqlite = SQLITE.insert(&tokens(), &record).unwrap();
    assert_eq!(
        sqlite.sql(),
        r#"INSERT INTO "OAuthTokens" ("id", "user_id", "provider", "order", "select", "score", "payload", "data", "enabled") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING "id""#
    );
    assert_eq!(
        sqlite.values(),
        [
            text("t1"),
            text("u1"),
            text("github"),
            V::BigInt(Some(7)),
            V::BigInt(Some(1_700_000_000_000)),
            V::Double(Some(0.5)),
            V::Bytes(Some(vec![0, 1, 255])),
            text(TOKEN_DATA_CANONICAL),
            V::Bool(Some(true)),
        ]
    );
    let postgres = POSTGRES.insert(&tokens(), &record).unwrap();
    assert_eq!(
        postgres.sql(),
        r#"INSERT INTO "OAuthTokens" ("id", "user_id", "provider", "order", "select", "score", "payload", "data", "enabled") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING "id""#
    );
    assert_eq!(
        postgres.values(),
        [
            text("t1"),
            text("u1"),
            text("github"),
            V::Int(Some(7)),
            V::BigInt(Some(1_700_000_000_000)),
            V::Double(Some(0.5)),
            V::Bytes(Some(vec![0, 1, 255])),
            V::Json(Some(Box::new(token_data()))),
            V::Bool(Some(true)),
        ]
    );
}

#[test]
fn insert_coerces_values_to_their_columns() {
    // An integer for a real column, a whole real for an integer one, base64 text for a blob,
    // text for a json column.
    let record = Record::new()
        .with("id", "t1")
        .with("user_id", "u1")
        .with("provider", "p")
        .with("enabled", false)
        .with("score", 3)
        .with("order", 2.0)
        .with("payload", "AAE=")
        .with("data", "just text");
    let sqlite = SQLITE.insert(&tokens(), &record).unwrap();
    assert_eq!(
        &sqlite.values()[3..8],
        [
            V::BigInt(Some(2)),
            V::Double(Some(3.0)),
            V::Bytes(Some(vec![0, 1])),
            text(r#""just text""#),
            V::Bool(Some(false)),
        ]
    );
    let postgres = POSTGRES.insert(&tokens(), &record).unwrap();
    assert_eq!(
        &postgres.values()[3..8],
        [
            V::Int(Some(2)),
            V::Double(Some(3.0)),
            V::Bytes(Some(vec![0, 1])),
            V::Json(Some(Box::new(json!("just text")))),
            V::Bool(Some(false)),
        ]
    );
}

#[test]
fn insert_binds_typed_nulls() {
    let record = Record::new()
        .with("id", "t1")
        .with("user_id", "u1")
        .with("provider", Value::Null)
        .with("order", Value::Null)
        .with("select", Value::Null)
        .with("score", Value::Null)
        .with("payload", Value::Null)
        .with("data", Value::Null)
        .with("enabled", Value::Null);
    // NULL in a NOT NULL column is for the database to refuse; rendering binds it.
    assert_eq!(
        &SQLITE.insert(&tokens(), &record).unwrap().values()[2..],
        [
            V::String(None),
            V::BigInt(None),
            V::BigInt(None),
            V::Double(None),
            V::Bytes(None),
            V::String(None),
            V::BigInt(None),
        ]
    );
    assert_eq!(
        &POSTGRES.insert(&tokens(), &record).unwrap().values()[2..],
        [
            V::String(None),
            V::Int(None),
            V::BigInt(None),
            V::Double(None),
            V::Bytes(None),
            V::Json(None),
            V::Bool(None),
        ]
    );
}

#[test]
fn insert_leaves_out_an_auto_increment_key() {
    for key_type in [ColumnType::Integer, ColumnType::Bigint] {
        let schema = items(key_type);
        let record = Record::new().with("n", 5).with("name", "a");
        let with_null_key = record.clone().with("id", Value::Null);
        assert_eq!(
            SQLITE.insert(&schema, &record).unwrap().sql(),
            r#"INSERT INTO "items" ("name", "n") VALUES (?, ?) RETURNING "id""#
        );
        assert_eq!(
            POSTGRES.insert(&schema, &record).unwrap().sql(),
            r#"INSERT INTO "items" ("name", "n") VALUES ($1, $2) RETURNING "id""#
        );
        assert_eq!(
            POSTGRES.insert(&schema, &record).unwrap().values(),
            [text("a"), V::Int(Some(5))]
        );
        for backend in BOTH {
            assert_eq!(
                backend.insert(&schema, &with_null_key).unwrap(),
                backend.insert(&schema, &record).unwrap()
            );
            assert!(matches!(
                backend.insert(&schema, &record.clone().with("id", 3)),
                Err(Error::InvalidRecord { ref table, .. }) if table == "items"
            ));
        }
    }
}

#[test]
fn insert_of_only_an_auto_increment_key_uses_default_values() {
    let schema = items(ColumnType::Bigint);
    let sqlite = SQLITE.insert(&schema, &Record::new()).unwrap();
    assert_eq!(
        sqlite.sql(),
        r#"INSERT INTO "items" DEFAULT VALUES RETURNING "id""#
    );
    assert!(sqlite.values().is_empty());
    // PostgreSQL: sea-query writes `VALUES (DEFAULT)`, which gives the first column its default
    // and every column left out its own default: the same as DEFAULT VALUES.
    let postgres = POSTGRES.insert(&schema, &Record::new()).unwrap();
    assert_eq!(
        postgres.sql(),
        r#"INSERT INTO "items" VALUES (DEFAULT) RETURNING "id""#
    );
    assert!(postgres.values().is_empty());
    assert_eq!(
        SQLITE
            .insert(&schema, &Record::new().with("id", Value::Null))
            .unwrap()
            .sql(),
        r#"INSERT INTO "items" DEFAULT VALUES RETURNING "id""#
    );
}

#[test]
fn insert_with_an_integer_key() {
    let record = Record::new().with("label", "x").with("id", 42);
    let sqlite = SQLITE.insert(&numbered(), &record).unwrap();
    assert_eq!(
        sqlite.sql(),
        r#"INSERT INTO "numbered" ("id", "label") VALUES (?, ?) RETURNING "id""#
    );
    assert_eq!(sqlite.values(), [V::BigInt(Some(42)), text("x")]);
    let postgres = POSTGRES.insert(&numbered(), &record).unwrap();
    assert_eq!(
        postgres.sql(),
        r#"INSERT INTO "numbered" ("id", "label") VALUES ($1, $2) RETURNING "id""#
    );
    assert_eq!(postgres.values(), [V::Int(Some(42)), text("x")]);
}

#[test]
fn insert_refuses_bad_records() {
    for backend in BOTH {
        let schema = tokens();
        assert!(matches!(
            backend.insert(&schema, &token_record().with("nope", 1)),
            Err(Error::UnknownColumn { ref table, ref column }) if table == "OAuthTokens" && column == "nope"
        ));
        assert!(matches!(
            backend.insert(&schema, &token_record().with("order", "1")),
            Err(Error::TypeMismatch { ref column, expected: ColumnType::Integer, .. }) if column == "order"
        ));
        assert!(matches!(
            backend.insert(&schema, &token_record().with("order", 1_i64 << 40)),
            Err(Error::TypeMismatch { ref column, .. }) if column == "order"
        ));
        assert!(matches!(
            backend.insert(&schema, &token_record().with("enabled", 1)),
            Err(Error::TypeMismatch { ref column, expected: ColumnType::Boolean, .. }) if column == "enabled"
        ));
        assert!(matches!(
            backend.insert(&schema, &token_record().with("score", f64::NAN)),
            Err(Error::TypeMismatch { ref column, .. }) if column == "score"
        ));
        assert!(matches!(
            backend.insert(&schema, &token_record().with("payload", "not base64!")),
            Err(Error::TypeMismatch { ref column, expected: ColumnType::Blob, .. }) if column == "payload"
        ));
        let mut missing_key = token_record();
        missing_key.remove("id");
        assert!(matches!(
            backend.insert(&schema, &missing_key),
            Err(Error::InvalidRecord { .. })
        ));
        assert!(matches!(
            backend.insert(&schema, &token_record().with("id", Value::Null)),
            Err(Error::InvalidRecord { .. })
        ));
        let mut bad_name = tokens();
        bad_name.name = "OAuth-Tokens".into();
        assert!(matches!(
            backend.insert(&bad_name, &token_record()),
            Err(Error::InvalidIdentifier {
                kind: IdentifierKind::Table,
                ..
            })
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// INSERT, many rows
// ---------------------------------------------------------------------------------------------

#[test]
fn insert_many_writes_one_multi_row_statement_with_nulls_for_missing_columns() {
    let records = [
        Record::new().with("id", 1).with("label", "a"),
        Record::new().with("n", 5).with("id", 2),
        Record::new().with("id", 3),
    ];
    let sqlite = SQLITE.insert_many(&numbered(), &records).unwrap();
    assert_eq!(sqlite.len(), 1);
    assert_eq!(
        sqlite[0].sql(),
        r#"INSERT INTO "numbered" ("id", "label", "n") VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?) RETURNING "id""#
    );
    assert_eq!(
        sqlite[0].values(),
        [
            V::BigInt(Some(1)),
            text("a"),
            V::BigInt(None),
            V::BigInt(Some(2)),
            V::String(None),
            V::BigInt(Some(5)),
            V::BigInt(Some(3)),
            V::String(None),
            V::BigInt(None),
        ]
    );
    let postgres = POSTGRES.insert_many(&numbered(), &records).unwrap();
    assert_eq!(postgres.len(), 1);
    assert_eq!(
        postgres[0].sql(),
        r#"INSERT INTO "numbered" ("id", "label", "n") VALUES ($1, $2, $3), ($4, $5, $6), ($7, $8, $9) RETURNING "id""#
    );
    assert_eq!(
        postgres[0].values(),
        [
            V::Int(Some(1)),
            text("a"),
            V::Int(None),
            V::Int(Some(2)),
            V::String(None),
            V::Int(Some(5)),
            V::Int(Some(3)),
            V::String(None),
            V::Int(None),
        ]
    );
}

#[test]
fn insert_many_of_one_record_is_insert() {
    for backend in BOTH {
        let many = backend.insert_many(&tokens(), &[token_record()]).unwrap();
        assert_eq!(many, [backend.insert(&tokens(), &token_record()).unwrap()]);
        assert!(backend.insert_many(&tokens(), &[]).unwrap().is_empty());
    }
}

#[test]
fn insert_many_with_only_auto_increment_keys_is_one_statement_a_row() {
    let schema = items(ColumnType::Integer);
    let records = [Record::new(), Record::new(), Record::new()];
    let sqlite = SQLITE.insert_many(&schema, &records).unwrap();
    assert_eq!(sqlite.len(), 3);
    assert!(
        sqlite
            .iter()
            .all(|s| s.sql() == r#"INSERT INTO "items" DEFAULT VALUES RETURNING "id""#)
    );
    let postgres = POSTGRES.insert_many(&schema, &records).unwrap();
    assert_eq!(postgres.len(), 3);
    assert!(
        postgres
            .iter()
            .all(|s| s.sql() == r#"INSERT INTO "items" VALUES (DEFAULT) RETURNING "id""#)
    );
    // One record with a column makes every row write it.
    let mixed = [Record::new(), Record::new().with("n", 1)];
    let sqlite = SQLITE.insert_many(&schema, &mixed).unwrap();
    assert_eq!(
        sqlite[0].sql(),
        r#"INSERT INTO "items" ("n") VALUES (?), (?) RETURNING "id""#
    );
    assert_eq!(sqlite[0].values(), [V::BigInt(None), V::BigInt(Some(1))]);
}

/// Renders `rows` records of a `width`-column table and checks the chunking: the rows per
/// statement, and that every statement binds exactly as many values as it has placeholders,
/// no more than the backend allows.
fn check_chunks(backend: Backend, width: usize, rows: usize, expected_rows: &[usize]) {
    let schema = wide(width);
    let template = wide_record(width, 0);
    let records: Vec<Record> = (0..rows)
        .map(|i| template.clone().with("id", i as i64))
        .collect();
    let statements = backend.insert_many(&schema, &records).unwrap();
    let rows_per_statement: Vec<usize> = statements
        .iter()
        .map(|s| s.values().len() / width)
        .collect();
    assert_eq!(
        rows_per_statement, expected_rows,
        "{backend:?}, width {width}"
    );
    let mut next_id = 0_i64;
    for statement in &statements {
        assert_eq!(statement.values().len() % width, 0);
        assert!(statement.values().len() <= backend.max_bind_params());
        assert_eq!(
            placeholders(backend, statement.sql()),
            statement.values().len()
        );
        assert!(statement.sql().ends_with(r#" RETURNING "id""#));
        // Rows stay in order across statements.
        for row in statement.values().chunks(width) {
            assert_eq!(row[0], V::BigInt(Some(next_id)));
            next_id += 1;
        }
    }
    assert_eq!(next_id as usize, rows);
}

#[test]
fn insert_many_caps_rows_per_statement() {
    assert_eq!(SQLITE.max_bind_params(), 32_766);
    assert_eq!(POSTGRES.max_bind_params(), 65_535);
    // Narrow rows: at most 500 rows a statement.
    for backend in BOTH {
        check_chunks(backend, 2, 1200, &[500, 500, 200]);
        check_chunks(backend, 2, 500, &[500]);
        check_chunks(backend, 2, 501, &[500, 1]);
    }
}

#[test]
fn insert_many_stays_under_the_bind_parameter_limit() {
    // 100 columns: 32766 / 100 = 327 rows on SQLite; PostgreSQL is capped at 500 rows.
    check_chunks(SQLITE, 100, 700, &[327, 327, 46]);
    check_chunks(POSTGRES, 100, 501, &[500, 1]);
    // 255 columns: 257 rows bind exactly 65535 parameters on PostgreSQL; 128 rows bind 32640
    // on SQLite.
    check_chunks(POSTGRES, 255, 515, &[257, 257, 1]);
    check_chunks(SQLITE, 255, 257, &[128, 128, 1]);
    let full = POSTGRES
        .insert_many(&wide(255), &vec![wide_record(255, 0); 257])
        .unwrap();
    assert_eq!(full.len(), 1);
    assert_eq!(full[0].values().len(), 65_535);
    assert!(full[0].sql().ends_with(r#"$65535) RETURNING "id""#));
    // 86 columns: 381 rows bind exactly 32766 parameters on SQLite.
    check_chunks(SQLITE, 86, 382, &[381, 1]);
}

#[test]
fn insert_many_refuses_the_whole_batch_for_one_bad_record() {
    for backend in BOTH {
        let records = [
            Record::new().with("id", 1),
            Record::new().with("id", 2).with("n", "x"),
        ];
        assert!(matches!(
            backend.insert_many(&numbered(), &records),
            Err(Error::TypeMismatch { ref column, .. }) if column == "n"
        ));
        let records = [
            Record::new().with("id", 1),
            Record::new().with("label", "x"),
        ];
        assert!(matches!(
            backend.insert_many(&numbered(), &records),
            Err(Error::InvalidRecord { .. })
        ));
        let records = [Record::new().with("id", 1), Record::new().with("nope", 1)];
        assert!(matches!(
            backend.insert_many(&numbered(), &records),
            Err(Error::UnknownColumn { .. })
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Upsert
// ---------------------------------------------------------------------------------------------

#[test]
fn upsert_on_the_primary_key() {
    assert_eq!(
        SQLITE
            .upsert(&tokens(), &token_record(), &["id"])
            .unwrap()
            .sql(),
        r#"INSERT INTO "OAuthTokens" ("id", "user_id", "provider", "data", "enabled") VALUES (?, ?, ?, ?, ?) ON CONFLICT ("id") DO UPDATE SET "user_id" = "excluded"."user_id", "provider" = "excluded"."provider", "data" = "excluded"."data", "enabled" = "excluded"."enabled" RETURNING "id""#
    );
    let postgres = POSTGRES
        .upsert(&tokens(), &token_record(), &["id"])
        .unwrap();
    assert_eq!(
        postgres.sql(),
        r#"INSERT INTO "OAuthTokens" ("id", "user_id", "provider", "data", "enabled") VALUES ($1, $2, $3, $4, $5) ON CONFLICT ("id") DO UPDATE SET "user_id" = "excluded"."user_id", "provider" = "excluded"."provider", "data" = "excluded"."data", "enabled" = "excluded"."enabled" RETURNING "id""#
    );
    assert_eq!(
        postgres.values(),
        POSTGRES
            .insert(&tokens(), &token_record())
            .unwrap()
            .values()
    );
}

#[test]
fn upsert_of_only_the_key_touches_the_key() {
    let record = Record::new().with("id", 9);
    assert_eq!(
        SQLITE.upsert(&numbered(), &record, &["id"]).unwrap().sql(),
        r#"INSERT INTO "numbered" ("id") VALUES (?) ON CONFLICT ("id") DO UPDATE SET "id" = "excluded"."id" RETURNING "id""#
    );
    assert_eq!(
        POSTGRES
            .upsert(&numbered(), &record, &["id"])
            .unwrap()
            .sql(),
        r#"INSERT INTO "numbered" ("id") VALUES ($1) ON CONFLICT ("id") DO UPDATE SET "id" = "excluded"."id" RETURNING "id""#
    );
}

#[test]
fn upsert_on_a_unique_index_in_either_column_order() {
    // The key identifies the row: a conflict on another unique constraint never rewrites it.
    assert_eq!(
        SQLITE
            .upsert(&tokens(), &token_record(), &["user_id", "provider"])
            .unwrap()
            .sql(),
        r#"INSERT INTO "OAuthTokens" ("id", "user_id", "provider", "data", "enabled") VALUES (?, ?, ?, ?, ?) ON CONFLICT ("user_id", "provider") DO UPDATE SET "data" = "excluded"."data", "enabled" = "excluded"."enabled" RETURNING "id""#
    );
    assert_eq!(
        POSTGRES
            .upsert(&tokens(), &token_record(), &["provider", "user_id"])
            .unwrap()
            .sql(),
        r#"INSERT INTO "OAuthTokens" ("id", "user_id", "provider", "data", "enabled") VALUES ($1, $2, $3, $4, $5) ON CONFLICT ("provider", "user_id") DO UPDATE SET "data" = "excluded"."data", "enabled" = "excluded"."enabled" RETURNING "id""#
    );
}

#[test]
fn upsert_on_a_unique_index_with_nothing_else_to_write_touches_the_index_columns() {
    let record = Record::new()
        .with("provider", "github")
        .with("user_id", "u1")
        .with("id", "t1");
    assert_eq!(
        SQLITE
            .upsert(&tokens(), &record, &["user_id", "provider"])
            .unwrap()
            .sql(),
        r#"INSERT INTO "OAuthTokens" ("id", "user_id", "provider") VALUES (?, ?, ?) ON CONFLICT ("user_id", "provider") DO UPDATE SET "user_id" = "excluded"."user_id", "provider" = "excluded"."provider" RETURNING "id""#
    );
    assert_eq!(
        POSTGRES
            .upsert(&tokens(), &record, &["user_id", "provider"])
            .unwrap()
            .sql(),
        r#"INSERT INTO "OAuthTokens" ("id", "user_id", "provider") VALUES ($1, $2, $3) ON CONFLICT ("user_id", "provider") DO UPDATE SET "user_id" = "excluded"."user_id", "provider" = "excluded"."provider" RETURNING "id""#
    );
}

#[test]
fn upsert_on_a_unique_column_of_an_auto_increment_table() {
    let schema = items(ColumnType::Integer);
    let record = Record::new().with("name", "a").with("n", 1);
    let sqlite = SQLITE.upsert(&schema, &record, &["name"]).unwrap();
    assert_eq!(
        sqlite.sql(),
        r#"INSERT INTO "items" ("name", "n") VALUES (?, ?) ON CONFLICT ("name") DO UPDATE SET "n" = "excluded"."n" RETURNING "id""#
    );
    assert_eq!(sqlite.values(), [text("a"), V::BigInt(Some(1))]);
    let postgres = POSTGRES.upsert(&schema, &record, &["name"]).unwrap();
    assert_eq!(
        postgres.sql(),
        r#"INSERT INTO "items" ("name", "n") VALUES ($1, $2) ON CONFLICT ("name") DO UPDATE SET "n" = "excluded"."n" RETURNING "id""#
    );
    assert_eq!(postgres.values(), [text("a"), V::Int(Some(1))]);
    // A reserved-word unique column.
    let record = token_record().with("select", 5);
    assert_eq!(
        POSTGRES
            .upsert(&tokens(), &record, &["select"])
            .unwrap()
            .sql(),
        r#"INSERT INTO "OAuthTokens" ("id", "user_id", "provider", "select", "data", "enabled") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT ("select") DO UPDATE SET "user_id" = "excluded"."user_id", "provider" = "excluded"."provider", "data" = "excluded"."data", "enabled" = "excluded"."enabled" RETURNING "id""#
    );
}

#[test]
fn upsert_refuses_targets_without_a_unique_constraint() {
    for backend in BOTH {
        let schema = tokens();
        let record = token_record().with("order", 1).with("score", 1.0);
        for target in [
            &["order"][..],                    // a plain index
            &["score"],                        // no index at all
            &["user_id"],                      // part of a unique index
            &["user_id", "provider", "order"], // more than a unique index
            &["id", "user_id"],                // the key and more
            &["id", "id"],
            &[],
        ] {
            assert!(
                matches!(
                    backend.upsert(&schema, &record, target),
                    Err(Error::InvalidRecord { ref table, .. }) if table == "OAuthTokens"
                ),
                "{target:?} on {backend:?}"
            );
        }
        assert!(matches!(
            backend.upsert(&schema, &record, &["nope"]),
            Err(Error::UnknownColumn { ref column, .. }) if column == "nope"
        ));
        // The conflict columns need values.
        assert!(matches!(
            backend.upsert(&schema, &record, &["select"]),
            Err(Error::InvalidRecord { .. })
        ));
        // An auto-increment key has no value to conflict on.
        assert!(matches!(
            backend.upsert(
                &items(ColumnType::Bigint),
                &Record::new().with("n", 1),
                &["id"]
            ),
            Err(Error::InvalidRecord { .. })
        ));
        assert!(matches!(
            backend.upsert(&schema, &token_record().with("enabled", "yes"), &["id"]),
            Err(Error::TypeMismatch { .. })
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// UPDATE and DELETE
// ---------------------------------------------------------------------------------------------

#[test]
fn update_sets_columns_in_schema_order_where_the_key_matches() {
    let record = Record::new()
        .with("enabled", false)
        .with("data", token_data())
        .with("select", Value::Null)
        .with("order", 2);
    let id = Value::Text("t1".into());
    let sqlite = SQLITE.update(&tokens(), &id, &record).unwrap();
    assert_eq!(
        sqlite.sql(),
        r#"UPDATE "OAuthTokens" SET "order" = ?, "select" = ?, "data" = ?, "enabled" = ? WHERE "id" = ?"#
    );
    assert_eq!(
        sqlite.values(),
        [
            V::BigInt(Some(2)),
            V::BigInt(None),
            text(TOKEN_DATA_CANONICAL),
            V::Bool(Some(false)),
            text("t1"),
        ]
    );
    let postgres = POSTGRES.update(&tokens(), &id, &record).unwrap();
    assert_eq!(
        postgres.sql(),
        r#"UPDATE "OAuthTokens" SET "order" = $1, "select" = $2, "data" = $3, "enabled" = $4 WHERE "id" = $5"#
    );
    assert_eq!(
        postgres.values(),
        [
            V::Int(Some(2)),
            V::BigInt(None),
            V::Json(Some(Box::new(token_data()))),
            V::Bool(Some(false)),
            text("t1"),
        ]
    );
}

#[test]
fn update_by_integer_keys() {
    for (key_type, postgres_id) in [
        (ColumnType::Integer, V::Int(Some(7))),
        (ColumnType::Bigint, V::BigInt(Some(7))),
    ] {
        let schema = items(key_type);
        let record = Record::new().with("n", 1);
        let sqlite = SQLITE.update(&schema, &Value::Integer(7), &record).unwrap();
        assert_eq!(sqlite.sql(), r#"UPDATE "items" SET "n" = ? WHERE "id" = ?"#);
        assert_eq!(sqlite.values(), [V::BigInt(Some(1)), V::BigInt(Some(7))]);
        let postgres = POSTGRES
            .update(&schema, &Value::Integer(7), &record)
            .unwrap();
        assert_eq!(
            postgres.sql(),
            r#"UPDATE "items" SET "n" = $1 WHERE "id" = $2"#
        );
        assert_eq!(postgres.values(), [V::Int(Some(1)), postgres_id]);
    }
    // A caller-given key may be changed.
    assert_eq!(
        POSTGRES
            .update(
                &numbered(),
                &Value::Integer(1),
                &Record::new().with("id", 2)
            )
            .unwrap()
            .sql(),
        r#"UPDATE "numbered" SET "id" = $1 WHERE "id" = $2"#
    );
}

#[test]
fn update_refuses_bad_records_and_ids() {
    for backend in BOTH {
        let id = Value::Text("t1".into());
        assert!(matches!(
            backend.update(&tokens(), &id, &Record::new()),
            Err(Error::InvalidRecord { ref table, .. }) if table == "OAuthTokens"
        ));
        assert!(matches!(
            backend.update(&tokens(), &id, &Record::new().with("nope", 1)),
            Err(Error::UnknownColumn { ref column, .. }) if column == "nope"
        ));
        assert!(matches!(
            backend.update(&tokens(), &id, &Record::new().with("order", "x")),
            Err(Error::TypeMismatch { ref column, .. }) if column == "order"
        ));
        assert!(matches!(
            backend.update(&tokens(), &Value::Integer(1), &Record::new().with("order", 1)),
            Err(Error::TypeMismatch { ref column, .. }) if column == "id"
        ));
        assert!(matches!(
            backend.update(&tokens(), &Value::Null, &Record::new().with("order", 1)),
            Err(Error::InvalidRecord { .. })
        ));
        let items = items(ColumnType::Integer);
        for key in [Value::Integer(8), Value::Null] {
            assert!(matches!(
                backend.update(&items, &Value::Integer(7), &Record::new().with("id", key)),
                Err(Error::InvalidRecord { ref table, .. }) if table == "items"
            ));
        }
        assert!(matches!(
            backend.update(&items, &Value::Integer(1 << 40), &Record::new().with("n", 1)),
            Err(Error::TypeMismatch { ref column, .. }) if column == "id"
        ));
        let mut bad_name = tokens();
        bad_name.name = "1tokens".into();
        assert!(matches!(
            backend.update(&bad_name, &id, &Record::new().with("order", 1)),
            Err(Error::InvalidIdentifier { .. })
        ));
    }
}

#[test]
fn delete_by_key() {
    let id = Value::Text("t1".into());
    let sqlite = SQLITE.delete(&tokens(), &id).unwrap();
    assert_eq!(sqlite.sql(), r#"DELETE FROM "OAuthTokens" WHERE "id" = ?"#);
    assert_eq!(sqlite.values(), [text("t1")]);
    let postgres = POSTGRES.delete(&tokens(), &id).unwrap();
    assert_eq!(
        postgres.sql(),
        r#"DELETE FROM "OAuthTokens" WHERE "id" = $1"#
    );
    assert_eq!(postgres.values(), [text("t1")]);
    assert_eq!(
        SQLITE
            .delete(&numbered(), &Value::Integer(3))
            .unwrap()
            .values(),
        [V::BigInt(Some(3))]
    );
    assert_eq!(
        POSTGRES
            .delete(&numbered(), &Value::Integer(3))
            .unwrap()
            .values(),
        [V::Int(Some(3))]
    );
    for backend in BOTH {
        assert!(matches!(
            backend.delete(&tokens(), &Value::Null),
            Err(Error::InvalidRecord { .. })
        ));
        assert!(matches!(
            backend.delete(&numbered(), &Value::Text("3".into())),
            Err(Error::TypeMismatch { ref column, .. }) if column == "id"
        ));
        let mut bad_name = tokens();
        bad_name.name = String::new();
        assert!(matches!(
            backend.delete(&bad_name, &id),
            Err(Error::InvalidIdentifier {
                reason: IdentifierProblem::Empty,
                ..
            })
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// SELECT and COUNT
// ---------------------------------------------------------------------------------------------

const ALL_COLUMNS: &str =
    r#""id", "user_id", "provider", "order", "select", "score", "payload", "data", "enabled""#;

#[test]
fn select_every_column_in_schema_order() {
    for backend in BOTH {
        let statement = backend.select(&tokens(), &QueryOptions::new()).unwrap();
        assert_eq!(
            statement.sql(),
            format!(r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens""#)
        );
        assert!(statement.values().is_empty());
    }
}

#[test]
fn select_pages_with_literal_limit_and_offset() {
    let base = format!(r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens""#);
    let cases = [
        (QueryOptions::new().limit(10), " LIMIT 10", " LIMIT 10"),
        (
            QueryOptions::new().offset(20),
            " LIMIT -1 OFFSET 20",
            " OFFSET 20",
        ),
        (
            QueryOptions::new().limit(10).offset(20),
            " LIMIT 10 OFFSET 20",
            " LIMIT 10 OFFSET 20",
        ),
        (
            QueryOptions::new().limit(0).offset(0),
            " LIMIT 0 OFFSET 0",
            " LIMIT 0 OFFSET 0",
        ),
        (
            QueryOptions::new().limit(MAX_PAGE_BOUND),
            " LIMIT 9223372036854775807",
            " LIMIT 9223372036854775807",
        ),
    ];
    for (options, sqlite, postgres) in cases {
        for (backend, page) in [(SQLITE, sqlite), (POSTGRES, postgres)] {
            let statement = backend.select(&tokens(), &options).unwrap();
            assert_eq!(statement.sql(), format!("{base}{page}"));
            assert!(statement.values().is_empty());
        }
    }
    for backend in BOTH {
        for options in [
            QueryOptions::new().limit(MAX_PAGE_BOUND + 1),
            QueryOptions::new().offset(u64::MAX),
        ] {
            assert!(matches!(
                backend.select(&tokens(), &options),
                Err(Error::InvalidQuery { .. })
            ));
        }
    }
}

#[test]
fn select_with_where_order_limit_and_offset() {
    let options = QueryOptions::new()
        .filter(Filter::eq("user_id", "u1"))
        .filter(Filter::lt("select", 1_700_000_000_000_i64))
        .filter(Filter::eq("provider", Value::Null))
        .order_by(OrderBy::desc("order"))
        .order_by(OrderBy::asc("id"))
        .limit(10)
        .offset(5);
    let sqlite = SQLITE.select(&tokens(), &options).unwrap();
    assert_eq!(
        sqlite.sql(),
        format!(
            r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE "user_id" = ? AND "select" < ? AND "provider" IS NULL ORDER BY "order" DESC, "id" ASC LIMIT 10 OFFSET 5"#
        )
    );
    assert_eq!(
        sqlite.values(),
        [text("u1"), V::BigInt(Some(1_700_000_000_000))]
    );
    let postgres = POSTGRES.select(&tokens(), &options).unwrap();
    assert_eq!(
        postgres.sql(),
        format!(
            r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE "user_id" = $1 AND "select" < $2 AND "provider" IS NULL ORDER BY "order" DESC, "id" ASC LIMIT 10 OFFSET 5"#
        )
    );
    assert_eq!(
        postgres.values(),
        [text("u1"), V::BigInt(Some(1_700_000_000_000))]
    );
    // An offset alone, with a filter and an order.
    let options = QueryOptions::new()
        .filter(Filter::eq("enabled", true))
        .order_by(OrderBy::desc("select"))
        .offset(3);
    assert_eq!(
        select_sql(SQLITE, &tokens(), options.clone()),
        format!(
            r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE "enabled" = ? ORDER BY "select" DESC LIMIT -1 OFFSET 3"#
        )
    );
    assert_eq!(
        select_sql(POSTGRES, &tokens(), options),
        format!(
            r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE "enabled" = $1 ORDER BY "select" DESC OFFSET 3"#
        )
    );
}

#[test]
fn comparison_operators() {
    let options = QueryOptions::new()
        .filter(Filter::ne("user_id", "u1"))
        .filter(Filter::lt("order", 1))
        .filter(Filter::lte("order", 2))
        .filter(Filter::gt("score", 0.5))
        .filter(Filter::gte("score", 1));
    let sqlite = SQLITE.select(&tokens(), &options).unwrap();
    assert_eq!(
        sqlite.sql(),
        format!(
            r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE "user_id" <> ? AND "order" < ? AND "order" <= ? AND "score" > ? AND "score" >= ?"#
        )
    );
    assert_eq!(
        sqlite.values(),
        [
            text("u1"),
            V::BigInt(Some(1)),
            V::BigInt(Some(2)),
            V::Double(Some(0.5)),
            V::Double(Some(1.0)),
        ]
    );
    let postgres = POSTGRES.select(&tokens(), &options).unwrap();
    assert_eq!(
        postgres.sql(),
        format!(
            r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE "user_id" <> $1 AND "order" < $2 AND "order" <= $3 AND "score" > $4 AND "score" >= $5"#
        )
    );
    assert_eq!(
        postgres.values(),
        [
            text("u1"),
            V::Int(Some(1)),
            V::Int(Some(2)),
            V::Double(Some(0.5)),
            V::Double(Some(1.0)),
        ]
    );
}

#[test]
fn null_conditions_are_is_null_and_bind_nothing() {
    let options = QueryOptions::new()
        .filter(Filter::eq("order", Value::Null))
        .filter(Filter::ne("select", Value::Null))
        .filter(Filter::is_null("data"))
        .filter(Filter::is_not_null("payload"));
    for (backend, where_sql) in [
        (
            SQLITE,
            r#""order" IS NULL AND "select" IS NOT NULL AND "data" IS NULL AND "payload" IS NOT NULL"#,
        ),
        (
            POSTGRES,
            r#""order" IS NULL AND "select" IS NOT NULL AND "data" IS NULL AND "payload" IS NOT NULL"#,
        ),
    ] {
        let statement = backend.select(&tokens(), &options).unwrap();
        assert_eq!(
            statement.sql(),
            format!(r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE {where_sql}"#)
        );
        assert!(statement.values().is_empty());
        // One condition alone is not parenthesized.
        assert_eq!(
            select_sql(
                backend,
                &tokens(),
                QueryOptions::new().filter(Filter::is_null("order"))
            ),
            format!(r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE "order" IS NULL"#)
        );
        for op in [Filter::lt, Filter::lte, Filter::gt, Filter::gte] {
            assert!(matches!(
                backend.select(
                    &tokens(),
                    &QueryOptions::new().filter(op("order", Value::Null))
                ),
                Err(Error::InvalidQuery { .. })
            ));
        }
    }
}

#[test]
fn in_and_not_in() {
    let options = QueryOptions::new()
        .filter(Filter::is_in("order", [1, 2, 3]))
        .filter(Filter::not_in("provider", ["github", "google"]));
    let sqlite = SQLITE.select(&tokens(), &options).unwrap();
    assert_eq!(
        sqlite.sql(),
        format!(
            r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE "order" IN (?, ?, ?) AND "provider" NOT IN (?, ?)"#
        )
    );
    assert_eq!(
        sqlite.values(),
        [
            V::BigInt(Some(1)),
            V::BigInt(Some(2)),
            V::BigInt(Some(3)),
            text("github"),
            text("google"),
        ]
    );
    let postgres = POSTGRES.select(&tokens(), &options).unwrap();
    assert_eq!(
        postgres.sql(),
        format!(
            r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE "order" IN ($1, $2, $3) AND "provider" NOT IN ($4, $5)"#
        )
    );
    assert_eq!(
        postgres.values(),
        [
            V::Int(Some(1)),
            V::Int(Some(2)),
            V::Int(Some(3)),
            text("github"),
            text("google"),
        ]
    );
    for backend in BOTH {
        let placeholder = if backend == SQLITE { "?" } else { "$1" };
        assert_eq!(
            select_sql(
                backend,
                &tokens(),
                QueryOptions::new().filter(Filter::is_in("id", Vec::<String>::new()))
            ),
            format!(r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE 1 = 0"#)
        );
        assert_eq!(
            select_sql(
                backend,
                &tokens(),
                QueryOptions::new().filter(Filter::not_in("id", Vec::<String>::new()))
            ),
            format!(r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE 1 = 1"#)
        );
        let combined = QueryOptions::new()
            .filter(Filter::is_in("order", Vec::<i64>::new()))
            .filter(Filter::not_in("select", Vec::<i64>::new()))
            .filter(Filter::eq("id", "a"));
        let statement = backend.select(&tokens(), &combined).unwrap();
        assert_eq!(
            statement.sql(),
            format!(
                r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE (1 = 0) AND (1 = 1) AND "id" = {placeholder}"#
            )
        );
        assert_eq!(statement.values(), [text("a")]);
        assert!(matches!(
            backend.select(
                &tokens(),
                &QueryOptions::new()
                    .filter(Filter::is_in("order", [Value::Integer(1), Value::Null]))
            ),
            Err(Error::InvalidQuery { .. })
        ));
        assert!(matches!(
            backend.select(
                &tokens(),
                &QueryOptions::new().filter(Filter::is_in("order", ["1"]))
            ),
            Err(Error::TypeMismatch { .. })
        ));
    }
}

#[test]
fn like_binds_its_pattern_and_needs_a_text_column() {
    let options = QueryOptions::new().filter(Filter::like("user_id", "u%_x"));
    let sqlite = SQLITE.select(&tokens(), &options).unwrap();
    assert_eq!(
        sqlite.sql(),
        format!(r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE "user_id" LIKE ? ESCAPE '\'"#)
    );
    assert_eq!(sqlite.values(), [text("u%_x")]);
    let postgres = POSTGRES.select(&tokens(), &options).unwrap();
    assert_eq!(
        postgres.sql(),
        format!(r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE "user_id" LIKE $1 ESCAPE E'\\'"#)
    );
    assert_eq!(postgres.values(), [text("u%_x")]);
    for backend in BOTH {
        for column in ["order", "data", "payload", "enabled"] {
            assert!(
                matches!(
                    backend.select(
                        &tokens(),
                        &QueryOptions::new().filter(Filter::like(column, "%"))
                    ),
                    Err(Error::InvalidQuery { ref table, .. }) if table == "OAuthTokens"
                ),
                "{column}"
            );
        }
    }
}

#[test]
fn json_equality_binds_the_document() {
    let options = QueryOptions::new()
        .filter(Filter::eq("data", token_data()))
        .filter(Filter::ne("data", json!([1, "x"])));
    let sqlite = SQLITE.select(&tokens(), &options).unwrap();
    assert_eq!(
        sqlite.sql(),
        format!(r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE "data" = ? AND "data" <> ?"#)
    );
    // SQLite compares json columns as text: the document is bound as canonical JSON text.
    assert_eq!(
        sqlite.values(),
        [text(TOKEN_DATA_CANONICAL), text(r#"[1,"x"]"#)]
    );
    let postgres = POSTGRES.select(&tokens(), &options).unwrap();
    assert_eq!(
        postgres.sql(),
        format!(r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE "data" = $1 AND "data" <> $2"#)
    );
    assert_eq!(
        postgres.values(),
        [
            V::Json(Some(Box::new(token_data()))),
            V::Json(Some(Box::new(json!([1, "x"])))),
        ]
    );
    // Text and numbers on a json column are documents too.
    assert_eq!(
        SQLITE
            .select(
                &tokens(),
                &QueryOptions::new().filter(Filter::is_in("data", [json!("a"), json!(1)]))
            )
            .unwrap()
            .values(),
        [text(r#""a""#), text("1")]
    );
    for backend in BOTH {
        assert!(matches!(
            backend.select(
                &tokens(),
                &QueryOptions::new().filter(Filter::lt("data", json!(1)))
            ),
            Err(Error::InvalidQuery { .. })
        ));
        assert!(matches!(
            backend.select(
                &tokens(),
                &QueryOptions::new().order_by(OrderBy::asc("data"))
            ),
            Err(Error::InvalidQuery { .. })
        ));
    }
}

#[test]
fn booleans_and_integers_bind_per_backend() {
    let options = QueryOptions::new()
        .filter(Filter::eq("enabled", false))
        .filter(Filter::eq("order", 5))
        .filter(Filter::eq("select", 5))
        .filter(Filter::eq("payload", vec![1_u8]));
    assert_eq!(
        SQLITE.select(&tokens(), &options).unwrap().values(),
        [
            V::Bool(Some(false)),
            V::BigInt(Some(5)),
            V::BigInt(Some(5)),
            V::Bytes(Some(vec![1])),
        ]
    );
    assert_eq!(
        POSTGRES.select(&tokens(), &options).unwrap().values(),
        [
            V::Bool(Some(false)),
            V::Int(Some(5)),
            V::BigInt(Some(5)),
            V::Bytes(Some(vec![1])),
        ]
    );
    for backend in BOTH {
        for bad in [
            Filter::eq("enabled", 1),
            Filter::eq("order", 1_i64 << 40),
            Filter::eq("order", 1.5),
            Filter::eq("user_id", 1),
            Filter::eq("score", f64::INFINITY),
        ] {
            assert!(
                matches!(
                    backend.select(&tokens(), &QueryOptions::new().filter(bad.clone())),
                    Err(Error::TypeMismatch { .. })
                ),
                "{bad:?}"
            );
        }
    }
}

#[test]
fn empty_and_nested_conjunctions() {
    for backend in BOTH {
        assert_eq!(
            select_sql(
                backend,
                &tokens(),
                QueryOptions::new().filter(Filter::And(vec![]))
            ),
            format!(r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE 1 = 1"#)
        );
        let nested = Filter::And(vec![
            Filter::And(vec![]),
            Filter::And(vec![Filter::is_null("order"), Filter::is_null("score")]),
        ]);
        assert_eq!(
            select_sql(backend, &tokens(), QueryOptions::new().filter(nested)),
            format!(
                r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE (1 = 1) AND ("order" IS NULL AND "score" IS NULL)"#
            )
        );
    }
}

#[test]
fn select_refuses_unknown_columns() {
    for backend in BOTH {
        for options in [
            QueryOptions::new().filter(Filter::eq("nope", 1)),
            QueryOptions::new().filter(Filter::is_null("nope")),
            QueryOptions::new().filter(Filter::like("nope", "%")),
            QueryOptions::new().filter(Filter::is_in("nope", [1])),
            QueryOptions::new().filter(Filter::not_in("nope", Vec::<i64>::new())),
            QueryOptions::new().order_by(OrderBy::asc("id\"; DROP TABLE x; --")),
        ] {
            assert!(
                matches!(
                    backend.select(&tokens(), &options),
                    Err(Error::UnknownColumn { ref table, .. }) if table == "OAuthTokens"
                ),
                "{options:?}"
            );
        }
        // Column names are case-sensitive.
        assert!(matches!(
            backend.select(
                &tokens(),
                &QueryOptions::new().filter(Filter::eq("ID", "a"))
            ),
            Err(Error::UnknownColumn { .. })
        ));
        assert!(matches!(
            backend.count(&tokens(), Some(&Filter::eq("nope", 1))),
            Err(Error::UnknownColumn { .. })
        ));
    }
}

#[test]
fn count() {
    for backend in BOTH {
        let statement = backend.count(&tokens(), None).unwrap();
        assert_eq!(statement.sql(), r#"SELECT COUNT(*) FROM "OAuthTokens""#);
        assert!(statement.values().is_empty());
    }
    let filter = Filter::eq("user_id", "u1").and(Filter::ne("order", Value::Null));
    let sqlite = SQLITE.count(&tokens(), Some(&filter)).unwrap();
    assert_eq!(
        sqlite.sql(),
        r#"SELECT COUNT(*) FROM "OAuthTokens" WHERE "user_id" = ? AND "order" IS NOT NULL"#
    );
    assert_eq!(sqlite.values(), [text("u1")]);
    let postgres = POSTGRES.count(&tokens(), Some(&filter)).unwrap();
    assert_eq!(
        postgres.sql(),
        r#"SELECT COUNT(*) FROM "OAuthTokens" WHERE "user_id" = $1 AND "order" IS NOT NULL"#
    );
    assert_eq!(postgres.values(), [text("u1")]);
    assert_eq!(
        POSTGRES
            .count(&tokens(), Some(&Filter::is_in("order", [4])))
            .unwrap()
            .values(),
        [V::Int(Some(4))]
    );
}

#[test]
fn json_query_options_render() {
    let options = QueryOptions::from_json(
        &tokens(),
        &json!({
            "where": {
                "user_id": "u1",
                "select": {"$lt": 1_700_000_000_000_i64, "$gte": 0},
                "score": null,
                "order": {"$in": [1, 2], "$null": false},
                "provider": {"$like": "git%", "$nin": []},
                "data": {"k": {"$not": "an operator"}},
                "enabled": {"$ne": true}
            },
            "orderBy": [{"column": "select", "direction": "desc"}, {"column": "id"}],
            "offset": 20
        }),
    )
    .unwrap();
    // serde_json objects iterate in key order.
    let sqlite = SQLITE.select(&tokens(), &options).unwrap();
    assert_eq!(
        sqlite.sql(),
        format!(
            r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE "data" = ? AND "enabled" <> ? AND "order" IN (?, ?) AND "order" IS NOT NULL AND "provider" LIKE ? ESCAPE '\' AND (1 = 1) AND "score" IS NULL AND "select" >= ? AND "select" < ? AND "user_id" = ? ORDER BY "select" DESC, "id" ASC LIMIT -1 OFFSET 20"#
        )
    );
    assert_eq!(
        sqlite.values(),
        [
            text(r#"{"k":{"$not":"an operator"}}"#),
            V::Bool(Some(true)),
            V::BigInt(Some(1)),
            V::BigInt(Some(2)),
            text("git%"),
            V::BigInt(Some(0)),
            V::BigInt(Some(1_700_000_000_000)),
            text("u1"),
        ]
    );
    let postgres = POSTGRES.select(&tokens(), &options).unwrap();
    assert_eq!(
        postgres.sql(),
        format!(
            r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE "data" = $1 AND "enabled" <> $2 AND "order" IN ($3, $4) AND "order" IS NOT NULL AND "provider" LIKE $5 ESCAPE E'\\' AND (1 = 1) AND "score" IS NULL AND "select" >= $6 AND "select" < $7 AND "user_id" = $8 ORDER BY "select" DESC, "id" ASC OFFSET 20"#
        )
    );
    assert_eq!(
        postgres.values()[..4],
        [
            V::Json(Some(Box::new(json!({"k": {"$not": "an operator"}})))),
            V::Bool(Some(true)),
            V::Int(Some(1)),
            V::Int(Some(2)),
        ]
    );
}

#[test]
fn or_and_not_render_on_both_backends() {
    let filter = Filter::eq("user_id", "u1")
        .or(Filter::gt("select", 5_i64).and(Filter::is_null("score")))
        .and(!Filter::is_in("order", [1, 2]))
        .and(Filter::any([]))
        .and(Filter::all([]).negate());
    let options = QueryOptions::new().filter(filter);
    let sqlite = SQLITE.select(&tokens(), &options).unwrap();
    assert_eq!(
        sqlite.sql(),
        format!(
            r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE ("user_id" = ? OR ("select" > ? AND "score" IS NULL)) AND (NOT COALESCE("order" IN (?, ?), 1 = 0)) AND (1 = 0) AND (NOT COALESCE(1 = 1, 1 = 0))"#
        )
    );
    let values = [
        text("u1"),
        V::BigInt(Some(5)),
        V::BigInt(Some(1)),
        V::BigInt(Some(2)),
    ];
    assert_eq!(sqlite.values(), values);
    let postgres = POSTGRES.select(&tokens(), &options).unwrap();
    assert_eq!(
        postgres.sql(),
        format!(
            r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE ("user_id" = $1 OR ("select" > $2 AND "score" IS NULL)) AND (NOT COALESCE("order" IN ($3, $4), 1 = 0)) AND (1 = 0) AND (NOT COALESCE(1 = 1, 1 = 0))"#
        )
    );
    assert_eq!(
        postgres.values(),
        [
            text("u1"),
            V::BigInt(Some(5)),
            V::Int(Some(1)),
            V::Int(Some(2))
        ]
    );
}

#[test]
fn json_or_and_not_render_and_reuse_their_shape() {
    let query = |user: &str, order: i64| {
        QueryOptions::from_json(
            &tokens(),
            &json!({"where": {
                "$or": [{"user_id": user}, {"order": {"$gte": order}, "score": null}],
                "$not": {"$and": [{"provider": {"$like": "g%"}}, {"enabled": true}]},
                "order": {"$lt": 100}
            }}),
        )
        .unwrap()
    };
    let sqlite = SQLITE.select(&tokens(), &query("u1", 3)).unwrap();
    assert_eq!(
        sqlite.sql(),
        format!(
            r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE (NOT COALESCE("provider" LIKE ? ESCAPE '\' AND "enabled" = ?, 1 = 0)) AND ("user_id" = ? OR ("order" >= ? AND "score" IS NULL)) AND "order" < ?"#
        )
    );
    let postgres = POSTGRES.select(&tokens(), &query("u1", 3)).unwrap();
    assert_eq!(
        postgres.sql(),
        format!(
            r#"SELECT {ALL_COLUMNS} FROM "OAuthTokens" WHERE (NOT COALESCE("provider" LIKE $1 ESCAPE E'\\' AND "enabled" = $2, 1 = 0)) AND ("user_id" = $3 OR ("order" >= $4 AND "score" IS NULL)) AND "order" < $5"#
        )
    );
    assert_eq!(
        postgres.values(),
        [
            text("g%"),
            V::Bool(Some(true)),
            text("u1"),
            V::Int(Some(3)),
            V::Int(Some(100))
        ]
    );
    // The second call of the shape reuses the text and binds its own values, in the same order.
    for backend in BOTH {
        let rendered = crate::sql::shape::RenderedSql::default();
        let first = backend
            .render_select_cached(&tokens(), query("u1", 3), &rendered)
            .unwrap();
        let second = backend
            .render_select_cached(&tokens(), query("u2", 9), &rendered)
            .unwrap();
        assert_eq!(second.sql(), first.sql());
        assert_eq!(
            second,
            backend.render_select(&tokens(), query("u2", 9)).unwrap()
        );
        assert_eq!(second.values()[2], text("u2"));
        assert_ne!(second.values(), first.values());
    }
    // An empty `Or` and an empty `And` are shapes of their own.
    let (mut any, mut all) = (String::new(), String::new());
    crate::sql::shape::filter(&mut any, &Filter::any([]));
    crate::sql::shape::filter(&mut all, &Filter::all([]));
    assert_ne!(any, all);
}

#[test]
fn statement_parts() {
    let statement = POSTGRES
        .delete(&tokens(), &Value::Text("t1".into()))
        .unwrap();
    let (sql, values) = statement.clone().into_parts();
    assert_eq!(sql, statement.sql());
    assert_eq!(values.0, statement.values());
}

#[test]
fn canonical_json_sorts_keys_at_every_level() {
    let mut inner = serde_json::Map::new();
    inner.insert("z".into(), json!(1));
    inner.insert("a".into(), json!([{"y": 1, "b": 2}]));
    let mut outer = serde_json::Map::new();
    outer.insert("m".into(), serde_json::Value::Object(inner));
    outer.insert("c".into(), json!("é\"\u{0}"));
    assert_eq!(
        canonical_json(&serde_json::Value::Object(outer)),
        r#"{"c":"é\"\u0000","m":{"a":[{"b":2,"y":1}],"z":1}}"#
    );
}

/// SQL text reused for a shape must bind exactly what rendering that statement anew binds.
mod reused_text {
    use super::*;
    use crate::sql::shape::RenderedSql;
    use proptest::prelude::*;

    /// A small space of columns, operators and values, so that shapes repeat within a case.
    fn leaf() -> impl Strategy<Value = Filter> {
        let column = prop::sample::select(vec!["user_id", "order", "data", "enabled", "score"]);
        let value = prop_oneof![
            Just(Value::Null),
            Just(Value::Text("u1".into())),
            Just(Value::Text("it's".into())),
            Just(Value::Integer(7)),
            Just(Value::Integer(-3)),
            Just(Value::Bool(true)),
            Just(Value::Real(1.5)),
            Just(Value::Json(json!({"k": [1, "x"]}))),
        ];
        let op = prop::sample::select(vec![CompareOp::Eq, CompareOp::Ne, CompareOp::Lt]);
        prop_oneof![
            (column.clone(), op, value.clone()).prop_map(|(c, op, value)| Filter::Compare {
                column: c.to_owned(),
                op,
                value
            }),
            (
                column.clone(),
                prop::collection::vec(value, 0..3),
                any::<bool>()
            )
                .prop_map(|(c, values, negated)| Filter::In {
                    column: c.to_owned(),
                    values,
                    negated
                }),
            (column.clone(), prop::sample::select(vec!["a%", "%\\_"]))
                .prop_map(|(c, p)| Filter::like(c, p)),
            (column, any::<bool>()).prop_map(|(c, is_null)| Filter::Null {
                column: c.to_owned(),
                is_null
            }),
        ]
    }

    fn options() -> impl Strategy<Value = QueryOptions> {
        (
            prop::option::of(prop_oneof![
                leaf(),
                prop::collection::vec(leaf(), 0..3).prop_map(Filter::And),
                leaf().prop_recursive(3, 12, 3, |inner| prop_oneof![
                    prop::collection::vec(inner.clone(), 0..3).prop_map(Filter::And),
                    prop::collection::vec(inner.clone(), 0..3).prop_map(Filter::Or),
                    inner.prop_map(Filter::negate),
                ]),
            ]),
            prop::option::of(prop::sample::select(vec!["order", "data", "id"])),
            prop::option::of(0_u64..3),
            prop::option::of(0_u64..2),
        )
            .prop_map(|(filter, order, limit, offset)| QueryOptions {
                filter,
                order_by: order.map(OrderBy::desc).into_iter().collect(),
                limit,
                offset,
            })
    }

    /// Other values of the same shape: NULL stays NULL, every other value changes.
    fn revalued(filter: &Filter) -> Filter {
        let other = |value: &Value| match value {
            Value::Null => Value::Null,
            Value::Text(s) => Value::Text(format!("{s}+")),
            Value::Integer(i) => Value::Integer(i + 1),
            Value::Real(f) => Value::Real(f * 2.0),
            Value::Bool(b) => Value::Bool(!b),
            Value::Json(j) => Value::Json(json!([j])),
            Value::Blob(b) => Value::Blob([b.as_slice(), b"+"].concat()),
        };
        match filter {
            Filter::Compare { column, op, value } => Filter::Compare {
                column: column.clone(),
                op: *op,
                value: other(value),
            },
            Filter::In {
                column,
                values,
                negated,
            } => Filter::In {
                column: column.clone(),
                values: values.iter().rev().map(other).collect(),
                negated: *negated,
            },
            Filter::Like { column, pattern } => Filter::like(column.clone(), format!("{pattern}_")),
            Filter::And(all) => Filter::And(all.iter().map(revalued).collect()),
            Filter::Or(any) => Filter::Or(any.iter().map(revalued).collect()),
            Filter::Not(inner) => revalued(inner).negate(),
            other => other.clone(),
        }
    }

    fn outcome(statement: Result<Statement>) -> std::result::Result<Statement, String> {
        statement.map_err(|e| e.to_string())
    }

    proptest! {
        #[test]
        fn select_and_count(calls in prop::collection::vec(options(), 1..24)) {
            let schema = tokens();
            for backend in BOTH {
                let (selects, counts) = (RenderedSql::default(), RenderedSql::default());
                let borrowed_selects = RenderedSql::default();
                let owned_selects = RenderedSql::default();
                let again = calls.iter().map(|options| QueryOptions {
                    filter: options.filter.as_ref().map(revalued),
                    ..options.clone()
                });
                let calls: Vec<QueryOptions> = calls.iter().cloned().chain(again).collect();
                for options in &calls {
                    let fresh = outcome(backend.render_select(&schema, options.clone()));
                    let reused = backend.render_select_cached(&schema, options.clone(), &selects);
                    prop_assert_eq!(&outcome(reused), &fresh);
                    let borrowed =
                        backend.render_select_borrowed(&schema, options, &borrowed_selects);
                    prop_assert_eq!(&outcome(borrowed), &fresh);
                    let owned =
                        backend.render_select_owned(&schema, options.clone(), &owned_selects);
                    prop_assert_eq!(outcome(owned), fresh);
                    let fresh = backend.count(&schema, options.filter.as_ref());
                    let reused =
                        backend.render_count_cached(&schema, options.filter.clone(), &counts);
                    prop_assert_eq!(outcome(reused), outcome(fresh));
                }
            }
        }
    }

    #[test]
    fn a_known_shape_with_a_value_that_does_not_fit_fails_as_a_fresh_one() {
        let schema = tokens();
        let fits = [
            Filter::eq("order", 7),
            Filter::is_in("score", [1.5, 2.0]),
            Filter::eq("user_id", "u1").and(Filter::lt("order", 3).negate()),
        ];
        let misfits = [
            Filter::eq("order", "seven"),
            Filter::is_in("score", [Value::Real(1.5), Value::Text("x".into())]),
            Filter::eq("user_id", "u2").and(Filter::lt("order", true).negate()),
        ];
        for backend in BOTH {
            let (borrowed, owned) = (RenderedSql::default(), RenderedSql::default());
            for (fit, misfit) in fits.iter().zip(&misfits) {
                let fit = QueryOptions::new().filter(fit.clone()).limit(1);
                let misfit = QueryOptions::new().filter(misfit.clone()).limit(1);
                for options in [&fit, &misfit] {
                    let fresh = outcome(backend.render_select(&schema, options.clone()));
                    let kept = backend.render_select_borrowed(&schema, options, &borrowed);
                    assert_eq!(outcome(kept), fresh);
                    let taken = backend.render_select_owned(&schema, options.clone(), &owned);
                    assert_eq!(outcome(taken), fresh);
                }
                assert!(backend.render_select(&schema, misfit).is_err());
            }
        }
    }

    fn update() -> impl Strategy<Value = (Value, Record)> {
        let id = prop_oneof![
            Just(Value::Null),
            Just(Value::Text("t1".into())),
            Just(Value::Integer(4))
        ];
        let field = (
            prop::sample::select(vec!["user_id", "order", "data", "enabled", "id", "nope"]),
            prop_oneof![
                Just(Value::Null),
                Just(Value::Text("x".into())),
                Just(Value::Integer(1)),
                Just(Value::Bool(false)),
                Just(Value::Json(json!({"a": null}))),
            ],
        );
        (id, prop::collection::vec(field, 0..4))
            .prop_map(|(id, fields)| (id, fields.into_iter().collect()))
    }

    proptest! {
        #[test]
        fn update_and_delete(calls in prop::collection::vec(update(), 1..24)) {
            let schema = tokens();
            for backend in BOTH {
                let rendered = RenderedSql::default();
                for (id, record) in &calls {
                    let fresh = backend.render_update(&schema, id, record.clone());
                    let reused =
                        backend.render_update_cached(&schema, id, record.clone(), &rendered);
                    prop_assert_eq!(outcome(reused), outcome(fresh));
                    let fresh = backend.render_delete(&schema, id);
                    let reused = backend.render_delete_cached(&schema, id, &rendered);
                    prop_assert_eq!(outcome(reused), outcome(fresh));
                }
            }
        }
    }

    fn written() -> impl Strategy<Value = (Record, Vec<&'static str>)> {
        let field = (
            prop::sample::select(vec![
                "id", "user_id", "provider", "order", "data", "enabled", "nope", "name", "n",
            ]),
            prop_oneof![
                Just(Value::Null),
                Just(Value::Text("x".into())),
                Just(Value::Text("y'".into())),
                Just(Value::Integer(1)),
                Just(Value::Bool(false)),
                Just(Value::Json(json!({"a": [null]}))),
            ],
        );
        let conflict = prop::sample::select(vec![
            vec!["id"],
            vec!["user_id", "provider"],
            vec!["select"],
            vec!["order"],
        ]);
        (prop::collection::vec(field, 0..6), conflict)
            .prop_map(|(fields, conflict)| (fields.into_iter().collect(), conflict))
    }

    proptest! {
        #[test]
        fn insert_and_upsert(calls in prop::collection::vec(written(), 1..32)) {
            let schema = tokens();
            for backend in BOTH {
                let rendered = RenderedSql::default();
                for (record, conflict) in &calls {
                    for returning in [true, false] {
                        let fresh = backend.render_insert(&schema, record.clone(), returning);
                        let reused = backend.render_insert_cached(
                            &schema,
                            record.clone(),
                            returning,
                            &rendered,
                        );
                        prop_assert_eq!(outcome(reused), outcome(fresh));
                    }
                    let fresh = backend.upsert(&schema, record, conflict);
                    let reused =
                        backend.render_upsert_cached(&schema, record.clone(), conflict, &rendered);
                    prop_assert_eq!(outcome(reused), outcome(fresh));
                }
            }
        }

        /// A single record is checked and coerced on a path of its own (`Rows::one`): the
        /// same statement, or the same error, as a batch of that one record, whatever the
        /// order of its fields, on a table with a given key and one with a generated key.
        #[test]
        fn one_record_as_a_batch_of_one(calls in prop::collection::vec(written(), 1..32)) {
            for schema in [tokens(), items(ColumnType::Integer)] {
                for backend in BOTH {
                    for (record, _) in &calls {
                        for returning in [true, false] {
                            let one = backend.render_insert(&schema, record.clone(), returning);
                            let batch = backend
                                .render_insert_many(&schema, vec![record.clone()], returning)
                                .map(|mut statements| {
                                    assert_eq!(statements.len(), 1);
                                    statements.remove(0)
                                });
                            prop_assert_eq!(outcome(one), outcome(batch));
                        }
                    }
                }
            }
        }
    }
}

/// Defaults are literals written by sea-query's value writer, escaped for each dialect: a
/// hostile text default is a string literal, never SQL.
#[test]
fn defaults_are_escaped_literals() {
    let hostile = "'); DROP TABLE x; --";
    let schema = TableSchema::new(
        "d",
        vec![
            Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey),
            Column::new("t", ColumnType::Text)
                .with(Constraint::NotNull)
                .with_default(hostile),
            Column::new("n", ColumnType::Integer).with_default(-7),
            Column::new("flag", ColumnType::Boolean).with_default(true),
            Column::new("raw", ColumnType::Blob).with_default("AAH/"),
            Column::new("doc", ColumnType::Json).with_default(json!({"b": "it's", "a": 1})),
        ],
    );
    assert_eq!(
        SQLITE.create_table(&schema).unwrap()[0].sql(),
        r#"CREATE TABLE "d" ( "id" TEXT NOT NULL PRIMARY KEY, "t" TEXT NOT NULL DEFAULT '''); DROP TABLE x; --', "n" INTEGER DEFAULT -7, "flag" INTEGER DEFAULT TRUE, "raw" BLOB DEFAULT x'0001FF', "doc" TEXT DEFAULT '{"a":1,"b":"it''s"}' )"#
    );
    assert_eq!(
        POSTGRES.create_table(&schema).unwrap()[0].sql(),
        r#"CREATE TABLE "d" ( "id" TEXT NOT NULL PRIMARY KEY, "t" TEXT NOT NULL DEFAULT E'\'); DROP TABLE x; --', "n" INTEGER DEFAULT -7, "flag" BOOLEAN DEFAULT TRUE, "raw" BYTEA DEFAULT '\x0001FF', "doc" JSONB DEFAULT E'{"a":1,"b":"it\'s"}' )"#
    );
    let additions = crate::schema::Additions {
        columns: vec![
            Column::new("extra", ColumnType::Text)
                .with(Constraint::Unique)
                .with_default(hostile),
        ],
        indexes: vec![Index::new("idx_d_n", ["n"], false)],
    };
    let sqlite: Vec<String> = SQLITE
        .add_to_table(&schema, &additions)
        .iter()
        .map(|s| s.sql().to_owned())
        .collect();
    assert_eq!(
        sqlite,
        [
            r#"ALTER TABLE "d" ADD COLUMN "extra" TEXT DEFAULT '''); DROP TABLE x; --'"#,
            r#"CREATE UNIQUE INDEX "d_extra_key" ON "d" ("extra")"#,
            r#"CREATE INDEX "idx_d_n" ON "d" ("n")"#,
        ]
    );
    let postgres: Vec<String> = POSTGRES
        .add_to_table(&schema, &additions)
        .iter()
        .map(|s| s.sql().to_owned())
        .collect();
    assert_eq!(
        postgres,
        [
            r#"ALTER TABLE "d" ADD COLUMN "extra" TEXT DEFAULT E'\'); DROP TABLE x; --' UNIQUE"#,
            r#"CREATE INDEX "idx_d_n" ON "d" ("n")"#,
        ]
    );
    assert!(SQLITE.schema_lock("d").is_none());
    let lock = POSTGRES.schema_lock("d").unwrap();
    assert!(
        lock.sql().contains("pg_advisory_xact_lock"),
        "{}",
        lock.sql()
    );
    assert_eq!(lock.values(), [V::String(Some("d".into()))]);
}
