//! Property test of `Filter::And`, `Filter::Or` and `Filter::Not`: random nested filters over a
//! small table, run through a real in-memory SQLite store, return exactly the rows a model
//! evaluator written here selects (SQL's NULL comparisons count as not matched; `Not` is the
//! complement of what its filter matches). The same filters are also read back from their JSON
//! form, so that `$and`, `$or` and `$not` mean what the typed filters do.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cmp::Ordering;

use memtable::query::CompareOp;
use memtable::{
    Column, ColumnType, Constraint, Filter, OrderBy, QueryOptions, Record, Store, TableSchema,
    Value,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

/// One row of the table: `n` integer, `s` text, `b` boolean, each nullable.
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    n: Option<i64>,
    s: Option<&'static str>,
    b: Option<bool>,
}

fn rows() -> Vec<Row> {
    let ns = [None, Some(-1), Some(0), Some(2), Some(3)];
    let ss = [None, Some("a"), Some("ab"), Some("b"), Some("Ba"), Some("")];
    let bs = [None, Some(true), Some(false)];
    (0..30)
        .map(|i| Row {
            id: i as i64,
            n: ns[i % ns.len()],
            s: ss[(i / 2) % ss.len()],
            b: bs[(i / 3) % bs.len()],
        })
        .collect()
}

fn schema() -> TableSchema {
    TableSchema::new(
        "items",
        vec![
            Column::new("id", ColumnType::Integer).with(Constraint::PrimaryKey),
            Column::new("n", ColumnType::Integer),
            Column::new("s", ColumnType::Text),
            Column::new("b", ColumnType::Boolean),
        ],
    )
}

fn ops() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Lt,
        CompareOp::Lte,
        CompareOp::Gt,
        CompareOp::Gte,
    ])
}

fn leaf() -> impl Strategy<Value = Filter> {
    let n = prop_oneof![(-2_i64..5).prop_map(Value::Integer)];
    let s = prop::sample::select(vec!["a", "ab", "b", "", "Ba", "c"]).prop_map(Value::from);
    let b = any::<bool>().prop_map(Value::Bool);
    let compare = |column: &'static str, value: BoxedStrategy<Value>| {
        (ops(), value).prop_map(move |(op, value)| Filter::Compare {
            column: column.into(),
            op,
            value,
        })
    };
    let eq_null = (
        prop::sample::select(vec!["n", "s", "b"]),
        prop::sample::select(vec![CompareOp::Eq, CompareOp::Ne]),
    )
        .prop_map(|(column, op)| Filter::Compare {
            column: column.into(),
            op,
            value: Value::Null,
        });
    prop_oneof![
        compare("n", n.clone().boxed()),
        compare("s", s.clone().boxed()),
        (prop::sample::select(vec![CompareOp::Eq, CompareOp::Ne]), b).prop_map(|(op, value)| {
            Filter::Compare {
                column: "b".into(),
                op,
                value,
            }
        }),
        eq_null,
        (prop::collection::vec(n, 0..3), any::<bool>()).prop_map(|(values, negated)| {
            Filter::In {
                column: "n".into(),
                values,
                negated,
            }
        }),
        (prop::collection::vec(s, 0..3), any::<bool>()).prop_map(|(values, negated)| {
            Filter::In {
                column: "s".into(),
                values,
                negated,
            }
        }),
        prop::sample::select(vec!["a%", "%b", "_", "%", "B%", "a_"])
            .prop_map(|pattern| Filter::like("s", pattern)),
        (prop::sample::select(vec!["n", "s", "b"]), any::<bool>()).prop_map(|(column, is_null)| {
            Filter::Null {
                column: column.into(),
                is_null,
            }
        }),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::Or),
            inner.prop_map(Filter::negate),
        ]
    })
}

/// The value of `column` in `row`.
fn cell(row: &Row, column: &str) -> Value {
    match column {
        "n" => row.n.map_or(Value::Null, Value::Integer),
        "s" => row.s.map_or(Value::Null, Value::from),
        "b" => row.b.map_or(Value::Null, Value::Bool),
        _ => panic!("no column {column}"),
    }
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Integer(a), Value::Integer(b)) => a.cmp(b),
        (Value::Text(a), Value::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        _ => panic!("compared {a:?} with {b:?}"),
    }
}

/// SQL LIKE without escapes, case-sensitive (as memtable makes SQLite's).
fn like(text: &[u8], pattern: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'%', rest)) => (0..=text.len()).any(|i| like(&text[i..], rest)),
        Some((b'_', rest)) => !text.is_empty() && like(&text[1..], rest),
        Some((c, rest)) => text.first() == Some(c) && like(&text[1..], rest),
    }
}

/// Whether `filter` selects `row`.
fn matches(filter: &Filter, row: &Row) -> bool {
    match filter {
        Filter::Compare { column, op, value } => {
            let cell = cell(row, column);
            match (value, cell.is_null()) {
                (Value::Null, is_null) => match op {
                    CompareOp::Eq => is_null,
                    _ => !is_null,
                },
                (_, true) => false,
                (value, false) => {
                    let order = compare(&cell, value);
                    match op {
                        CompareOp::Eq => order.is_eq(),
                        CompareOp::Ne => order.is_ne(),
                        CompareOp::Lt => order.is_lt(),
                        CompareOp::Lte => order.is_le(),
                        CompareOp::Gt => order.is_gt(),
                        CompareOp::Gte => order.is_ge(),
                    }
                }
            }
        }
        Filter::In {
            column,
            values,
            negated,
        } => {
            if values.is_empty() {
                return *negated;
            }
            let cell = cell(row, column);
            !cell.is_null() && values.iter().any(|v| compare(&cell, v).is_eq()) != *negated
        }
        Filter::Like { column, pattern } => match cell(row, column) {
            Value::Text(text) => like(text.as_bytes(), pattern.as_bytes()),
            _ => false,
        },
        Filter::Null { column, is_null } => cell(row, column).is_null() == *is_null,
        Filter::And(all) => all.iter().all(|f| matches(f, row)),
        Filter::Or(any) => any.iter().any(|f| matches(f, row)),
        Filter::Not(inner) => !matches(inner, row),
        other => panic!("a filter the model does not know: {other:?}"),
    }
}

/// The JSON `where` form of `filter`: every node as a where object.
fn to_where(filter: &Filter) -> serde_json::Value {
    let op = |op: &CompareOp| match op {
        CompareOp::Eq => "$eq",
        CompareOp::Ne => "$ne",
        CompareOp::Lt => "$lt",
        CompareOp::Lte => "$lte",
        CompareOp::Gt => "$gt",
        CompareOp::Gte => "$gte",
    };
    let list = |filters: &[Filter]| -> serde_json::Value { filters.iter().map(to_where).collect() };
    match filter {
        Filter::Compare {
            column,
            op: o,
            value,
        } => json!({ column: { op(o): value.to_json() } }),
        Filter::In {
            column,
            values,
            negated,
        } => {
            let values: Vec<_> = values.iter().map(Value::to_json).collect();
            json!({ column: { if *negated { "$nin" } else { "$in" }: values } })
        }
        Filter::Like { column, pattern } => json!({ column: { "$like": pattern } }),
        Filter::Null { column, is_null } => json!({ column: { "$null": is_null } }),
        // `$and: []` and `$or: []` are refused in JSON: their meaning, spelt otherwise.
        Filter::And(all) if all.is_empty() => json!({"id": {"$nin": []}}),
        Filter::Or(any) if any.is_empty() => json!({"id": {"$in": []}}),
        Filter::And(all) => json!({ "$and": list(all) }),
        Filter::Or(any) => json!({ "$or": list(any) }),
        Filter::Not(inner) => json!({ "$not": to_where(inner) }),
        other => panic!("a filter the model does not know: {other:?}"),
    }
}

#[test]
fn nested_filters_select_what_the_model_selects() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = runtime.block_on(Store::connect("sqlite::memory:")).unwrap();
    let rows = rows();
    runtime.block_on(async {
        store.create_table(&schema()).await.unwrap();
        for row in &rows {
            let record = Record::new()
                .with("id", row.id)
                .with("n", row.n.map_or(Value::Null, Value::Integer))
                .with("s", row.s.map_or(Value::Null, Value::from))
                .with("b", row.b.map_or(Value::Null, Value::Bool));
            store.insert_into_table("items", record).await.unwrap();
        }
    });
    let mut runner = TestRunner::new(Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&filter(), |filter| {
            let expected: Vec<i64> = rows
                .iter()
                .filter(|row| matches(&filter, row))
                .map(|row| row.id)
                .collect();
            let typed = QueryOptions::new()
                .filter(filter.clone())
                .order_by(OrderBy::asc("id"));
            let from_json = QueryOptions::from_json(
                &schema(),
                &json!({"where": to_where(&filter), "orderBy": "id"}),
            )
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
            for options in [typed, from_json] {
                let (found, count) = runtime.block_on(async {
                    let found = store.query_table("items", &options).await;
                    let count = store.count("items", options.filter.as_ref()).await;
                    (found, count)
                });
                let found: Vec<i64> = found
                    .map_err(|e| TestCaseError::fail(format!("{e}")))?
                    .iter()
                    .map(|r| r.get("id").and_then(Value::as_i64).unwrap())
                    .collect();
                prop_assert_eq!(&found, &expected, "{:?}", options.filter);
                prop_assert_eq!(count.unwrap(), expected.len() as u64);
            }
            Ok(())
        })
        .unwrap();
}
