//! Limits that protect agents and databases from requests too large (or too deep) to handle.
//!
//! A [`Store`](crate::Store) checks every request against its [`Limits`] before any SQL is
//! rendered, and refuses what is past a limit with [`Error::LimitExceeded`] naming the limit, the
//! table, the maximum and the actual figure (executors report it as kind `limit_exceeded`).
//!
//! | limit | default | ceiling | checked by |
//! |---|---|---|---|
//! | identifier length (table, column, index names) | 63 bytes | 63 (PostgreSQL's) | `create_table` |
//! | columns per table | 256 | 1,600 (PostgreSQL's) | `create_table` |
//! | indexes per table | 32 | — | `create_table` |
//! | columns per index | 32 | 32 (PostgreSQL's) | `create_table` |
//! | size of one record (bytes of its text, blob and serialized json values) | 1 MiB | — | every insert, upsert and update |
//! | nesting depth of a json value | 64 | 127 (what serde_json reads back) | every write and filter |
//! | nesting depth of a filter (`And`, `Or`, `Not` in one another: `$and`, `$or`, `$not`) | 32 | 64 | `query_table`, `count` |
//! | conditions in one filter | 256 | 512 (SQLite's expression depth is 1,000) | `query_table`, `count` |
//! | rows one `query_table` *executor* call returns | 1,000 | — | [`Executors`](crate::executor::Executors) |
//!
//! A ceiling is a hard limit of a backend (or of decoding): a limit can be lowered, and raised
//! only up to its ceiling. The row cap does not fail a query: an executor asked for more rows
//! than its cap (or for every row) returns the first `cap` rows with `"truncated": true`, so that
//! an agent cannot pull a whole table into its context by accident.
//!
//! ```
//! use memtable::{Limits, Store};
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let limits = Limits::default().with_max_record_bytes(64 * 1024).with_max_rows(100);
//! let store = Store::builder("sqlite::memory:").limits(limits).connect().await?;
//! assert_eq!(store.limits().max_rows(), 100);
//! # Ok::<(), memtable::Error>(())
//! # }).unwrap();
//! ```

use crate::error::{Error, Result};
pub use crate::kinds::LimitKind;
use crate::query::Filter;
use crate::schema::TableSchema;
use crate::value::{Record, Value};

/// PostgreSQL's longest identifier, in bytes: the ceiling of [`Limits::max_identifier_len`].
pub const MAX_IDENTIFIER_LEN: usize = crate::schema::MAX_IDENTIFIER_LEN;
/// PostgreSQL's most columns in a table: the ceiling of [`Limits::max_columns`].
pub const MAX_COLUMNS: usize = 1_600;
/// PostgreSQL's most columns in one index: the ceiling of [`Limits::max_index_columns`].
pub const MAX_INDEX_COLUMNS: usize = 32;
/// The deepest JSON document serde_json reads back (it refuses a 128th level): the ceiling of
/// [`Limits::max_json_depth`]. A deeper document could be written but not read.
pub const MAX_JSON_DEPTH: usize = 127;
/// The ceiling of [`Limits::max_filter_depth`].
pub const MAX_FILTER_DEPTH: usize = 64;
/// The ceiling of [`Limits::max_filter_conditions`]: SQLite refuses an expression more than
/// 1,000 levels deep, and ANDed conditions nest one level each.
pub const MAX_FILTER_CONDITIONS: usize = 512;

/// The limits a [`Store`](crate::Store) enforces (see the [module documentation](self) for the
/// table of defaults and ceilings). Set them with
/// [`StoreBuilder::limits`](crate::StoreBuilder::limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    max_identifier_len: usize,
    max_columns: usize,
    max_indexes: usize,
    max_index_columns: usize,
    max_record_bytes: usize,
    max_json_depth: usize,
    max_filter_depth: usize,
    max_filter_conditions: usize,
    max_rows: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_identifier_len: MAX_IDENTIFIER_LEN,
            max_columns: 256,
            max_indexes: 32,
            max_index_columns: MAX_INDEX_COLUMNS,
            max_record_bytes: 1024 * 1024,
            max_json_depth: 64,
            max_filter_depth: 32,
            max_filter_conditions: 256,
            max_rows: 1_000,
        }
    }
}

impl Limits {
    /// The longest table, column or index name accepted by `create_table`, in bytes
    /// (default and ceiling 63).
    pub fn max_identifier_len(&self) -> usize {
        self.max_identifier_len
    }

    /// The most columns a table may have (default 256).
    pub fn max_columns(&self) -> usize {
        self.max_columns
    }

    /// The most indexes a table may have (default 32).
    pub fn max_indexes(&self) -> usize {
        self.max_indexes
    }

    /// The most columns one index may list (default and ceiling 32).
    pub fn max_index_columns(&self) -> usize {
        self.max_index_columns
    }

    /// The largest record an insert, upsert or update accepts, in bytes of its text, blob and
    /// serialized json values (default 1 MiB; numbers, booleans and NULL count nothing).
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// The deepest json value a write or a filter accepts (default 64).
    pub fn max_json_depth(&self) -> usize {
        self.max_json_depth
    }

    /// The deepest filter a query accepts (default 32).
    pub fn max_filter_depth(&self) -> usize {
        self.max_filter_depth
    }

    /// The most conditions one filter may hold (default 256).
    pub fn max_filter_conditions(&self) -> usize {
        self.max_filter_conditions
    }

    /// The most rows one `query_table` executor call returns (default 1,000); a store's own
    /// `query_table` is not capped.
    pub fn max_rows(&self) -> u64 {
        self.max_rows
    }

    /// Sets [`max_identifier_len`](Self::max_identifier_len), between 1 and 63.
    #[must_use]
    pub fn with_max_identifier_len(mut self, max: usize) -> Self {
        self.max_identifier_len = max.clamp(1, MAX_IDENTIFIER_LEN);
        self
    }

    /// Sets [`max_columns`](Self::max_columns), between 1 and 1,600.
    #[must_use]
    pub fn with_max_columns(mut self, max: usize) -> Self {
        self.max_columns = max.clamp(1, MAX_COLUMNS);
        self
    }

    /// Sets [`max_indexes`](Self::max_indexes).
    #[must_use]
    pub fn with_max_indexes(mut self, max: usize) -> Self {
        self.max_indexes = max;
        self
    }

    /// Sets [`max_index_columns`](Self::max_index_columns), between 1 and 32.
    #[must_use]
    pub fn with_max_index_columns(mut self, max: usize) -> Self {
        self.max_index_columns = max.clamp(1, MAX_INDEX_COLUMNS);
        self
    }

    /// Sets [`max_record_bytes`](Self::max_record_bytes).
    #[must_use]
    pub fn with_max_record_bytes(mut self, max: usize) -> Self {
        self.max_record_bytes = max;
        self
    }

    /// Sets [`max_json_depth`](Self::max_json_depth), at most 127.
    #[must_use]
    pub fn with_max_json_depth(mut self, max: usize) -> Self {
        self.max_json_depth = max.min(MAX_JSON_DEPTH);
        self
    }

    /// Sets [`max_filter_depth`](Self::max_filter_depth), between 1 and 64.
    #[must_use]
    pub fn with_max_filter_depth(mut self, max: usize) -> Self {
        self.max_filter_depth = max.clamp(1, MAX_FILTER_DEPTH);
        self
    }

    /// Sets [`max_filter_conditions`](Self::max_filter_conditions), between 1 and 512.
    #[must_use]
    pub fn with_max_filter_conditions(mut self, max: usize) -> Self {
        self.max_filter_conditions = max.clamp(1, MAX_FILTER_CONDITIONS);
        self
    }

    /// Sets [`max_rows`](Self::max_rows), at least 1.
    #[must_use]
    pub fn with_max_rows(mut self, max: u64) -> Self {
        self.max_rows = max.max(1);
        self
    }

    /// Checks a (structurally valid) schema against the name, column and index limits.
    pub(crate) fn check_schema(&self, schema: &TableSchema) -> Result<()> {
        let table = schema.name.as_str();
        let names = std::iter::once(table)
            .chain(schema.columns.iter().map(|c| c.name.as_str()))
            .chain(schema.indexes.iter().map(|i| i.name.as_str()));
        for name in names {
            exceeds(
                LimitKind::IdentifierLength,
                table,
                self.max_identifier_len,
                name.len(),
            )?;
        }
        exceeds(
            LimitKind::Columns,
            table,
            self.max_columns,
            schema.columns.len(),
        )?;
        exceeds(
            LimitKind::Indexes,
            table,
            self.max_indexes,
            schema.indexes.len(),
        )?;
        for index in &schema.indexes {
            exceeds(
                LimitKind::IndexColumns,
                table,
                self.max_index_columns,
                index.columns.len(),
            )?;
        }
        // A record that leaves every defaulted column out is written with all the defaults:
        // together they are held to the limits of a record.
        let mut defaults = 0_usize;
        for column in &schema.columns {
            if let Some(json) = &column.default {
                self.check_json(table, json)?;
            }
            if let Some(value) = column.default_value() {
                defaults = defaults.saturating_add(value_size(&value));
            }
        }
        exceeds(
            LimitKind::RecordSize,
            table,
            self.max_record_bytes,
            defaults,
        )
    }

    /// Checks a record about to be written: the depth of its json values, then its size.
    pub(crate) fn check_record(&self, table: &str, record: &Record) -> Result<()> {
        for (_, value) in record.iter() {
            self.check_value(table, value)?;
        }
        let size = record.iter().fold(0_usize, |sum, (_, value)| {
            sum.saturating_add(value_size(value))
        });
        exceeds(LimitKind::RecordSize, table, self.max_record_bytes, size)
    }

    /// Checks a filter about to be rendered: its depth and number of conditions (without
    /// recursion, whatever its shape), and the depth of the json values it compares with.
    pub(crate) fn check_filter(&self, table: &str, filter: Option<&Filter>) -> Result<()> {
        let Some(filter) = filter else {
            return Ok(());
        };
        let mut conditions = 0_usize;
        let mut deepest = 0_usize;
        let mut pending = Vec::new();
        let mut next = Some((filter, 1_usize));
        // Depth first, last child first. A filter that is one condition, or one level of
        // conditions (the usual shape), is walked without the stack: nothing is allocated.
        'walk: while let Some((filter, depth)) = next.take().or_else(|| pending.pop()) {
            deepest = deepest.max(depth);
            // Stop walking a filter far past the limits: its exact figures do not matter.
            if depth > self.max_filter_depth || conditions > self.max_filter_conditions {
                break;
            }
            match filter {
                Filter::And(all) | Filter::Or(all) if all.iter().all(Filter::is_condition) => {
                    for condition in all.iter().rev() {
                        deepest = deepest.max(depth + 1);
                        if depth + 1 > self.max_filter_depth
                            || conditions > self.max_filter_conditions
                        {
                            break 'walk;
                        }
                        self.check_condition(table, condition, &mut conditions)?;
                    }
                }
                Filter::And(all) | Filter::Or(all) => {
                    pending.extend(all.iter().map(|f| (f, depth + 1)));
                }
                Filter::Not(inner) => next = Some((inner, depth + 1)),
                condition => self.check_condition(table, condition, &mut conditions)?,
            }
        }
        exceeds(
            LimitKind::FilterDepth,
            table,
            self.max_filter_depth,
            deepest,
        )?;
        exceeds(
            LimitKind::FilterConditions,
            table,
            self.max_filter_conditions,
            conditions,
        )
    }

    /// Counts a condition (a filter that is neither `And`, `Or` nor `Not`) and checks the
    /// json values it compares with.
    fn check_condition(&self, table: &str, filter: &Filter, conditions: &mut usize) -> Result<()> {
        *conditions += 1;
        match filter {
            Filter::Compare { value, .. } => self.check_value(table, value),
            Filter::In { values, .. } => values
                .iter()
                .try_for_each(|value| self.check_value(table, value)),
            _ => Ok(()),
        }
    }

    /// Checks the depth of a json value.
    fn check_value(&self, table: &str, value: &Value) -> Result<()> {
        match value {
            Value::Json(json) => self.check_json(table, json),
            _ => Ok(()),
        }
    }

    /// Checks the depth of a JSON document.
    pub(crate) fn check_json(&self, table: &str, json: &serde_json::Value) -> Result<()> {
        exceeds(
            LimitKind::JsonDepth,
            table,
            self.max_json_depth,
            json_depth(json),
        )
    }
}

// Defined here, not in schema.rs, so that the schema model does not import the limits.
impl TableSchema {
    /// [`validate`](Self::validate), then checks the schema against `limits`: the length of its
    /// names, the number of its columns and indexes and of each index's columns. A limit passed
    /// is [`Error::LimitExceeded`].
    ///
    /// `validate` alone checks only the rules every table follows, so that a table created
    /// under other limits (or not by memtable) can still be read; the store checks the limits
    /// of a schema it is asked to create.
    ///
    /// ```
    /// use memtable::{Column, ColumnType, Constraint, Error, LimitKind, Limits, TableSchema};
    ///
    /// let schema = TableSchema::new("t", vec![
    ///     Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey),
    ///     Column::new("a", ColumnType::Text),
    /// ]);
    /// assert!(schema.validate_with(&Limits::default()).is_ok());
    /// assert!(matches!(
    ///     schema.validate_with(&Limits::default().with_max_columns(1)),
    ///     Err(Error::LimitExceeded { limit: LimitKind::Columns, max: 1, actual: 2, .. })
    /// ));
    /// ```
    pub fn validate_with(&self, limits: &Limits) -> Result<()> {
        self.validate()?;
        limits.check_schema(self)
    }
}

fn exceeds(limit: LimitKind, table: &str, max: usize, actual: usize) -> Result<()> {
    if actual <= max {
        return Ok(());
    }
    Err(Error::LimitExceeded {
        limit,
        table: crate::error::truncate(table),
        max,
        actual,
    })
}

/// The nesting depth of a JSON document (a scalar is 0, `[]` and `{}` are 1), computed without
/// recursion, so that a document of any depth is measured without exhausting the stack.
pub fn json_depth(json: &serde_json::Value) -> usize {
    use serde_json::Value as J;
    let is_scalar = |json: &J| !matches!(json, J::Array(_) | J::Object(_));
    // Most documents are scalars or flat: measured without the walk's allocation (a batch
    // measures one per row).
    match json {
        J::Array(items) if items.iter().all(is_scalar) => return 1,
        J::Object(map) if map.values().all(is_scalar) => return 1,
        J::Array(_) | J::Object(_) => {}
        _ => return 0,
    }
    let mut deepest = 0;
    let mut pending = vec![(json, 0_usize)];
    while let Some((json, depth)) = pending.pop() {
        match json {
            serde_json::Value::Array(items) => {
                deepest = deepest.max(depth + 1);
                pending.extend(items.iter().map(|child| (child, depth + 1)));
            }
            serde_json::Value::Object(map) => {
                deepest = deepest.max(depth + 1);
                pending.extend(map.values().map(|child| (child, depth + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// The bytes a value counts toward [`Limits::max_record_bytes`].
fn value_size(value: &Value) -> usize {
    match value {
        Value::Text(text) => text.len(),
        Value::Blob(bytes) => bytes.len(),
        Value::Json(json) => serialized_len(json),
        _ => 0,
    }
}

/// The length of a document's JSON text, without building the text.
fn serialized_len(json: &serde_json::Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to the counter cannot fail, nor can serializing a `serde_json::Value`.
    let _ = serde_json::to_writer(&mut counter, json);
    counter.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, ColumnType, Constraint, Index};
    use serde_json::json;

    fn kind_of(result: Result<()>) -> Option<(LimitKind, usize, usize)> {
        match result {
            Ok(()) => None,
            Err(Error::LimitExceeded {
                limit, max, actual, ..
            }) => Some((limit, max, actual)),
            Err(other) => panic!("expected LimitExceeded, got {other:?}"),
        }
    }

    fn nested(depth: usize) -> serde_json::Value {
        let mut doc = json!(1);
        for _ in 0..depth {
            doc = json!([doc]);
        }
        doc
    }

    #[test]
    fn json_depth_counts_containers() {
        assert_eq!(json_depth(&json!(1)), 0);
        assert_eq!(json_depth(&json!([])), 1);
        assert_eq!(json_depth(&json!({"a": [1, {"b": []}]})), 4);
        assert_eq!(json_depth(&nested(500)), 500);
    }

    #[test]
    fn ceilings_hold() {
        let limits = Limits::default()
            .with_max_identifier_len(1000)
            .with_max_columns(100_000)
            .with_max_index_columns(100)
            .with_max_json_depth(1000)
            .with_max_filter_depth(0)
            .with_max_filter_conditions(100_000)
            .with_max_rows(0);
        assert_eq!(limits.max_identifier_len(), 63);
        assert_eq!(limits.max_columns(), 1_600);
        assert_eq!(limits.max_index_columns(), 32);
        assert_eq!(limits.max_json_depth(), 127);
        assert_eq!(limits.max_filter_depth(), 1);
        assert_eq!(limits.max_filter_conditions(), 512);
        assert_eq!(limits.max_rows(), 1);
    }

    #[test]
    fn record_size_counts_text_blob_and_json() {
        // 5 + 3 + 3 ("[1]") bytes; the bigint counts nothing.
        let limits = Limits::default().with_max_record_bytes(11);
        let at = Record::new()
            .with("a", "12345")
            .with("b", vec![0_u8; 3])
            .with("c", json!([1]))
            .with("n", 1_000_000_i64);
        assert_eq!(kind_of(limits.check_record("t", &at)), None);
        let past = at.with("d", "x");
        assert_eq!(
            kind_of(limits.check_record("t", &past)),
            Some((LimitKind::RecordSize, 11, 12))
        );
    }

    #[test]
    fn json_depth_is_checked_in_records_and_filters() {
        let limits = Limits::default();
        let at = Record::new().with("doc", nested(64));
        assert_eq!(kind_of(limits.check_record("t", &at)), None);
        let past = Record::new().with("doc", nested(65));
        assert_eq!(
            kind_of(limits.check_record("t", &past)),
            Some((LimitKind::JsonDepth, 64, 65))
        );
        let filter = Filter::eq("doc", nested(65));
        assert_eq!(
            kind_of(limits.check_filter("t", Some(&filter))),
            Some((LimitKind::JsonDepth, 64, 65))
        );
    }

    fn deep_filter(depth: usize) -> Filter {
        let mut filter = Filter::eq("a", 1);
        for _ in 1..depth {
            filter = Filter::And(vec![filter]);
        }
        filter
    }

    #[test]
    fn filter_depth_and_conditions() {
        let limits = Limits::default();
        assert_eq!(kind_of(limits.check_filter("t", None)), None);
        assert_eq!(
            kind_of(limits.check_filter("t", Some(&deep_filter(32)))),
            None
        );
        assert_eq!(
            kind_of(limits.check_filter("t", Some(&deep_filter(33)))),
            Some((LimitKind::FilterDepth, 32, 33))
        );
        let wide = |n: usize| Filter::And((0..n).map(|i| Filter::eq("a", i as i64)).collect());
        assert_eq!(kind_of(limits.check_filter("t", Some(&wide(256)))), None);
        assert!(matches!(
            kind_of(limits.check_filter("t", Some(&wide(257)))),
            Some((LimitKind::FilterConditions, 256, _))
        ));
        // `Or` and `Not` nest as `And` does, and their leaves are conditions.
        let mut mixed = Filter::eq("a", 1);
        for i in 1..33 {
            mixed = match i % 3 {
                0 => Filter::And(vec![mixed]),
                1 => Filter::Or(vec![mixed, Filter::eq("a", 2)]),
                _ => mixed.negate(),
            };
        }
        assert_eq!(
            kind_of(limits.check_filter("t", Some(&mixed))),
            Some((LimitKind::FilterDepth, 32, 33))
        );
        let wide_or = Filter::Or((0..257).map(|i| Filter::eq("a", i as i64)).collect());
        assert!(matches!(
            kind_of(limits.check_filter("t", Some(&wide_or.negate()))),
            Some((LimitKind::FilterConditions, 256, _))
        ));
        // Far past the limit, the walk stops early and still refuses.
        let huge = wide(100_000);
        assert!(matches!(
            kind_of(limits.check_filter("t", Some(&huge))),
            Some((LimitKind::FilterConditions, 256, n)) if n > 256
        ));
    }

    #[test]
    fn schema_limits() {
        let schema = |columns: usize, indexes: usize, index_columns: usize| {
            let mut schema = TableSchema::new(
                "t",
                (0..columns)
                    .map(|i| {
                        let column = Column::new(format!("c{i}"), ColumnType::Text);
                        if i == 0 {
                            column.with(Constraint::PrimaryKey)
                        } else {
                            column
                        }
                    })
                    .collect(),
            );
            for i in 0..indexes {
                schema = schema.with_index(Index::new(
                    format!("i{i}"),
                    (0..index_columns).map(|c| format!("c{c}")),
                    false,
                ));
            }
            schema
        };
        let limits = Limits::default();
        assert_eq!(kind_of(limits.check_schema(&schema(256, 32, 32))), None);
        assert_eq!(
            kind_of(limits.check_schema(&schema(257, 0, 1))),
            Some((LimitKind::Columns, 256, 257))
        );
        assert_eq!(
            kind_of(limits.check_schema(&schema(40, 33, 1))),
            Some((LimitKind::Indexes, 32, 33))
        );
        assert_eq!(
            kind_of(limits.check_schema(&schema(40, 1, 33))),
            Some((LimitKind::IndexColumns, 32, 33))
        );
        let short = Limits::default().with_max_identifier_len(2);
        assert_eq!(kind_of(short.check_schema(&schema(10, 0, 1))), None);
        assert_eq!(
            kind_of(short.check_schema(&schema(11, 0, 1))),
            Some((LimitKind::IdentifierLength, 2, 3))
        );
    }
}
