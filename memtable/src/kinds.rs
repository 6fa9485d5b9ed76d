//! The small shared enums of the model: [`ColumnType`] and [`LimitKind`].
//!
//! This is the leaf every model file may use: it imports nothing from the crate, so that
//! `error`, `schema`, `value`, `query` and `limits` can all name these types without importing
//! one another (`error` → `kinds`; `schema` → `error`, `kinds`; `value` → `error`, `schema`,
//! `kinds`; `query` → `error`, `schema`, `value`, `kinds`; `limits` → all of them). The types
//! are re-exported where they have always been: [`memtable::schema::ColumnType`] and
//! [`memtable::limits::LimitKind`] (and both at the crate root).
//!
//! [`memtable::schema::ColumnType`]: crate::schema::ColumnType
//! [`memtable::limits::LimitKind`]: crate::limits::LimitKind

use std::fmt;

use serde::{Deserialize, Serialize};

/// The logical type of a column; see the crate documentation for its storage on each backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// UTF-8 text.
    Text,
    /// A 32-bit signed integer.
    Integer,
    /// A 64-bit signed integer.
    Bigint,
    /// A 64-bit float.
    Real,
    /// Bytes (base64 text in JSON).
    Blob,
    /// Any JSON document.
    Json,
    /// `true` or `false`.
    Boolean,
}

impl ColumnType {
    /// Every column type, in the order of the documentation.
    pub const ALL: [ColumnType; 7] = [
        ColumnType::Text,
        ColumnType::Integer,
        ColumnType::Bigint,
        ColumnType::Real,
        ColumnType::Blob,
        ColumnType::Json,
        ColumnType::Boolean,
    ];

    /// The name used in the JSON form (`text`, `integer`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Integer => "integer",
            ColumnType::Bigint => "bigint",
            ColumnType::Real => "real",
            ColumnType::Blob => "blob",
            ColumnType::Json => "json",
            ColumnType::Boolean => "boolean",
        }
    }

    /// Whether the type holds whole numbers (and so may be `auto_increment`).
    pub fn is_integral(self) -> bool {
        matches!(self, ColumnType::Integer | ColumnType::Bigint)
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of the limits of [`Limits`](crate::Limits), as named in
/// [`Error::LimitExceeded`](crate::Error::LimitExceeded) and in executor
/// results (`"limit": "record_size"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitKind {
    /// The length of a table, column or index name, in bytes.
    IdentifierLength,
    /// The number of columns of a table.
    Columns,
    /// The number of indexes of a table.
    Indexes,
    /// The number of columns of one index.
    IndexColumns,
    /// The size of one record: the bytes of its text, blob and serialized json values.
    RecordSize,
    /// The nesting depth of a json value (a scalar is 0, `[]` is 1, `[[]]` is 2).
    JsonDepth,
    /// The nesting depth of a filter (a condition is 1, an `And` of conditions 2).
    FilterDepth,
    /// The number of conditions in one filter.
    FilterConditions,
}

impl LimitKind {
    /// The snake_case name used in executor results (`record_size`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::IdentifierLength => "identifier_length",
            LimitKind::Columns => "columns",
            LimitKind::Indexes => "indexes",
            LimitKind::IndexColumns => "index_columns",
            LimitKind::RecordSize => "record_size",
            LimitKind::JsonDepth => "json_depth",
            LimitKind::FilterDepth => "filter_depth",
            LimitKind::FilterConditions => "filter_conditions",
        }
    }
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
