//! Values and records, and the coercion of JSON and Rust values to a column's type.
//!
//! A [`Record`] is an ordered map from column name to [`Value`]. Records cross the JSON boundary
//! (executors, the CLI) through [`Record::from_json`], which reads every value as its column's
//! type, and [`Record::to_json`], which writes blobs as base64 and json columns as documents.
//!
//! ```
//! use memtable::{Column, ColumnType, Constraint, Record, TableSchema, Value};
//! use serde_json::json;
//!
//! let schema = TableSchema::new("t", vec![
//!     Column::new("id", ColumnType::Bigint).with(Constraint::PrimaryKey),
//!     Column::new("data", ColumnType::Json),
//!     Column::new("raw", ColumnType::Blob),
//! ]);
//! let record = Record::from_json(&schema, &json!({"id": 7, "data": {"a": [1]}, "raw": "AAE="}))?;
//! assert_eq!(record.get("raw"), Some(&Value::Blob(vec![0, 1])));
//! assert_eq!(record.to_json(), json!({"id": 7, "data": {"a": [1]}, "raw": "AAE="}));
//! # Ok::<(), memtable::Error>(())
//! ```

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kinds::ColumnType;
use crate::schema::{Column, TableSchema};

/// Standard base64, padded on output and accepted with or without padding on input.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One value of a column.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// SQL NULL.
    #[default]
    Null,
    /// A boolean column's value.
    Bool(bool),
    /// An integer or bigint column's value.
    Integer(i64),
    /// A real column's value.
    Real(f64),
    /// A text column's value.
    Text(String),
    /// A blob column's value.
    Blob(Vec<u8>),
    /// A json column's value.
    Json(serde_json::Value),
}

impl Value {
    /// Whether the value is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The text, for a `Text` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, for an `Integer` value.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The number, for an `Integer` or `Real` value.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Integer(i) => Some(*i as f64),
            Value::Real(f) => Some(*f),
            _ => None,
        }
    }

    /// The boolean, for a `Bool` value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The bytes, for a `Blob` value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Blob(b) => Some(b),
            _ => None,
        }
    }

    /// The document, for a `Json` value.
    pub fn as_json(&self) -> Option<&serde_json::Value> {
        match self {
            Value::Json(j) => Some(j),
            _ => None,
        }
    }

    /// A short name of the value's kind, used in errors in place of the value itself.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Integer(_) => "integer",
            Value::Real(_) => "real",
            Value::Text(_) => "text",
            Value::Blob(_) => "blob",
            Value::Json(_) => "json",
        }
    }

    /// The value's JSON form: blobs as base64 text, json values as themselves, non-finite reals
    /// as `null`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Integer(i) => serde_json::Value::from(*i),
            Value::Real(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Text(s) => serde_json::Value::String(s.clone()),
            Value::Blob(b) => serde_json::Value::String(BASE64.encode(b)),
            Value::Json(j) => j.clone(),
        }
    }

    /// Reads a JSON value without a column to guide it: numbers become `Integer` (or `Real`
    /// when fractional or beyond `i64`), strings `Text`, arrays and objects `Json`.
    pub fn from_untyped_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Integer(i),
                None => Value::Real(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Text(s.clone()),
            other => Value::Json(other.clone()),
        }
    }

    /// Reads a JSON value as a value of `column` (of table `table`).
    ///
    /// `integer` takes whole numbers in 32 bits, `bigint` in 64; `real` takes any number;
    /// `boolean` only `true`/`false`; `blob` base64 text; `text` only strings; `json` anything.
    /// `null` is NULL for every column.
    ///
    /// ```
    /// use memtable::{Column, ColumnType, Error, Value};
    /// use serde_json::json;
    ///
    /// let n = Column::new("n", ColumnType::Integer);
    /// assert_eq!(Value::from_json("t", &n, &json!(5))?, Value::Integer(5));
    /// assert!(matches!(
    ///     Value::from_json("t", &n, &json!(1_u64 << 40)),
    ///     Err(Error::TypeMismatch { .. })
    /// ));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn from_json(table: &str, column: &Column, json: &serde_json::Value) -> Result<Value> {
        Self::from_json_unchecked(table, column, json).and_then(|v| refuse_nul(v, table, column))
    }

    fn from_json_unchecked(
        table: &str,
        column: &Column,
        json: &serde_json::Value,
    ) -> Result<Value> {
        use serde_json::Value as J;
        let mismatch = |found: &str| type_mismatch(table, column, found);
        match (column.column_type, json) {
            (_, J::Null) => Ok(Value::Null),
            (ColumnType::Json, document) => Ok(Value::Json(document.clone())),
            (ColumnType::Text, J::String(s)) => Ok(Value::Text(s.clone())),
            (ColumnType::Blob, J::String(s)) => decode_base64(s)
                .map(Value::Blob)
                .ok_or_else(|| mismatch("text that is not base64")),
            (ColumnType::Boolean, J::Bool(b)) => Ok(Value::Bool(*b)),
            (ColumnType::Integer | ColumnType::Bigint | ColumnType::Real, J::Number(n)) => {
                let value = match (n.as_i64(), n.as_f64()) {
                    (Some(i), _) => Value::Integer(i),
                    (None, Some(f)) => Value::Real(f),
                    (None, None) => return Err(mismatch("a number out of range")),
                };
                value.coerce(table, column)
            }
            (_, other) => Err(mismatch(json_kind_name(other))),
        }
    }

    /// Converts the value to the type of `column` (of table `table`), or refuses it with
    /// [`Error::TypeMismatch`].
    ///
    /// Lossless conversions are made (an integer for a real column, a whole real for an integer
    /// column, text or numbers for a json column); nothing is parsed out of text except base64
    /// for a blob column.
    ///
    /// Text and JSON containing a NUL character are refused on every backend, since PostgreSQL
    /// cannot store them.
    pub fn coerce(self, table: &str, column: &Column) -> Result<Value> {
        self.coerce_unchecked(table, column)
            .and_then(|v| refuse_nul(v, table, column))
    }

    fn coerce_unchecked(self, table: &str, column: &Column) -> Result<Value> {
        let mismatch = |found: &str| type_mismatch(table, column, found);
        match (column.column_type, self) {
            (_, Value::Null) => Ok(Value::Null),
            (ColumnType::Text, Value::Text(s)) => Ok(Value::Text(s)),
            (ColumnType::Text, Value::Json(serde_json::Value::String(s))) => Ok(Value::Text(s)),
            (ColumnType::Integer, Value::Integer(i)) => {
                if i32::try_from(i).is_ok() {
                    Ok(Value::Integer(i))
                } else {
                    Err(mismatch("an integer outside 32 bits"))
                }
            }
            (ColumnType::Bigint, Value::Integer(i)) => Ok(Value::Integer(i)),
            (ColumnType::Integer | ColumnType::Bigint, Value::Real(f)) => match whole(f) {
                Some(i) => Value::Integer(i).coerce(table, column),
                None if f.is_finite() => Err(mismatch("a fractional number")),
                None => Err(mismatch("a non-finite number")),
            },
            (ColumnType::Real, Value::Real(f)) if f.is_finite() => Ok(Value::Real(f)),
            (ColumnType::Real, Value::Real(_)) => Err(mismatch("a non-finite number")),
            (ColumnType::Real, Value::Integer(i)) => Ok(Value::Real(i as f64)),
            (ColumnType::Boolean, Value::Bool(b)) => Ok(Value::Bool(b)),
            (ColumnType::Blob, Value::Blob(b)) => Ok(Value::Blob(b)),
            (ColumnType::Blob, Value::Text(s)) => decode_base64(&s)
                .map(Value::Blob)
                .ok_or_else(|| mismatch("text that is not base64")),
            (ColumnType::Json, Value::Json(j)) => Ok(Value::Json(j)),
            (ColumnType::Json, Value::Text(s)) => Ok(Value::Json(serde_json::Value::String(s))),
            (ColumnType::Json, Value::Bool(b)) => Ok(Value::Json(serde_json::Value::Bool(b))),
            (ColumnType::Json, Value::Integer(i)) => Ok(Value::Json(i.into())),
            (ColumnType::Json, Value::Real(f)) => serde_json::Number::from_f64(f)
                .map(|n| Value::Json(serde_json::Value::Number(n)))
                .ok_or_else(|| mismatch("a non-finite number")),
            (_, other) => Err(mismatch(other.kind_name())),
        }
    }

    /// The id form of a primary key value: text as itself, integers in decimal.
    pub fn to_id(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Integer(i) => i.to_string(),
            Value::Null => String::new(),
            other => match other.to_json() {
                serde_json::Value::String(s) => s,
                json => json.to_string(),
            },
        }
    }

    /// Reads an id (as returned by an insert) as a value of the key column `column`.
    ///
    /// An id that cannot be a value of the key (`"abc"` for an integer key) is
    /// [`Error::TypeMismatch`] naming the key column.
    pub fn from_id(table: &str, column: &Column, id: &str) -> Result<Value> {
        let mismatch = || type_mismatch(table, column, "an id that is not of the key's type");
        let value = match column.column_type {
            ColumnType::Text => Value::Text(id.to_owned()),
            ColumnType::Integer | ColumnType::Bigint => {
                Value::Integer(id.trim().parse::<i64>().map_err(|_| mismatch())?)
            }
            ColumnType::Real => Value::Real(id.trim().parse::<f64>().map_err(|_| mismatch())?),
            ColumnType::Boolean => match id {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(mismatch()),
            },
            ColumnType::Blob => Value::Text(id.to_owned()),
            ColumnType::Json => Value::Json(serde_json::from_str(id).map_err(|_| mismatch())?),
        };
        value.coerce(table, column)
    }
}

/// PostgreSQL stores neither text nor JSON strings containing NUL; refusing them everywhere keeps
/// the backends alike.
fn refuse_nul(value: Value, table: &str, column: &Column) -> Result<Value> {
    // A byte search: every value of a write and a filter passes here, and `str::contains`
    // sets up a pattern searcher for each.
    fn has_nul(s: &str) -> bool {
        s.as_bytes().contains(&0)
    }
    fn json_has_nul(json: &serde_json::Value) -> bool {
        match json {
            serde_json::Value::String(s) => has_nul(s),
            serde_json::Value::Array(items) => items.iter().any(json_has_nul),
            serde_json::Value::Object(map) => {
                map.iter().any(|(k, v)| has_nul(k) || json_has_nul(v))
            }
            _ => false,
        }
    }
    let has_nul = match &value {
        Value::Text(s) => has_nul(s),
        Value::Json(j) => json_has_nul(j),
        _ => false,
    };
    if has_nul {
        return Err(type_mismatch(
            table,
            column,
            "text containing a NUL character",
        ));
    }
    Ok(value)
}

fn whole(f: f64) -> Option<i64> {
    // i64::MAX as f64 rounds up to 2^63, which is out of range: compare with < on that bound.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (f.is_finite() && f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f)).then_some(f as i64)
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text).ok()
}

fn json_kind_name(json: &serde_json::Value) -> &'static str {
    match json {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn type_mismatch(table: &str, column: &Column, found: &str) -> Error {
    Error::TypeMismatch {
        table: table.to_owned(),
        column: column.name.clone(),
        expected: column.column_type,
        found: found.to_owned(),
    }
}

macro_rules! value_from {
    ($($ty:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl From<$ty> for Value {
            fn from($v: $ty) -> Self {
                $e
            }
        }
    )*};
}

value_from! {
    bool => |v| Value::Bool(v),
    i8 => |v| Value::Integer(v.into()),
    i16 => |v| Value::Integer(v.into()),
    i32 => |v| Value::Integer(v.into()),
    i64 => |v| Value::Integer(v),
    u8 => |v| Value::Integer(v.into()),
    u16 => |v| Value::Integer(v.into()),
    u32 => |v| Value::Integer(v.into()),
    f32 => |v| Value::Real(v.into()),
    f64 => |v| Value::Real(v),
    String => |v| Value::Text(v),
    &str => |v| Value::Text(v.to_owned()),
    Vec<u8> => |v| Value::Blob(v),
    &[u8] => |v| Value::Blob(v.to_vec()),
    serde_json::Value => |v| Value::Json(v),
    uuid::Uuid => |v| Value::Text(v.to_string()),
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        serde_json::Value::deserialize(deserializer).map(|json| Value::from_untyped_json(&json))
    }
}

/// A row: an ordered map from column name to [`Value`], in insertion order.
///
/// ```
/// use memtable::{Record, Value};
/// let mut record = Record::new();
/// record.insert("user_id", "u1");
/// record.insert("expires_at", 1_700_000_000_000_i64);
/// assert_eq!(record.get("user_id").and_then(Value::as_str), Some("u1"));
/// assert_eq!(record.keys().collect::<Vec<_>>(), ["user_id", "expires_at"]);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    // Records are narrow (a few to a few dozen columns): a vector beats a hash map here, and
    // keeps the column order of the table.
    fields: Vec<(Name, Value)>,
}

/// A column name in a [`Record`]: the caller's own, in a row read from a table the table's
/// (shared, so that reading a row allocates no names), or, in a record a derived
/// `to_record` makes, the struct's (a constant, so that writing a row allocates no names).
#[derive(Clone)]
pub(crate) enum Name {
    Owned(String),
    /// The column at this position of a table's names.
    Column(Arc<ColumnNames>, usize),
    Static(&'static str),
}

impl Name {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Name::Owned(name) => name,
            Name::Column(names, at) => names.0.get(*at).map_or("", |name| name),
            Name::Static(name) => name,
        }
    }

    fn into_string(self) -> String {
        match self {
            Name::Owned(name) => name,
            Name::Column(..) => self.as_str().to_owned(),
            Name::Static(name) => name.to_owned(),
        }
    }
}

/// Where a row's values go as a driver decodes them, one at a time in column order: a row of
/// values, or a record of the table's names ([`ReadRecord`]).
pub(crate) trait RowValues {
    /// Appends the next column's value.
    fn push_value(&mut self, value: Value);
}

impl RowValues for Vec<Value> {
    fn push_value(&mut self, value: Value) {
        self.push(value);
    }
}

/// A record read straight from a row of a table's columns: one vector, its names the table's.
pub(crate) struct ReadRecord {
    names: Arc<ColumnNames>,
    fields: Vec<(Name, Value)>,
}

impl ReadRecord {
    pub(crate) fn new(names: &Arc<ColumnNames>) -> Self {
        ReadRecord {
            names: Arc::clone(names),
            fields: Vec::with_capacity(names.0.len()),
        }
    }

    pub(crate) fn finish(self) -> Record {
        Record {
            fields: self.fields,
        }
    }
}

impl RowValues for ReadRecord {
    fn push_value(&mut self, value: Value) {
        let at = self.fields.len();
        self.fields
            .push((Name::Column(Arc::clone(&self.names), at), value));
    }
}

/// The names of a table's columns, in order, as every record read from the table shares them:
/// one allocation and one reference count for all of them, so that reading a row touches one
/// count, not one per column's name.
#[derive(Debug)]
pub(crate) struct ColumnNames(Box<[Box<str>]>);

impl ColumnNames {
    /// Names that must be distinct (a schema's columns).
    pub(crate) fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Arc<Self> {
        let names: Box<[Box<str>]> = names.into_iter().map(Box::from).collect();
        debug_assert!(
            names
                .iter()
                .enumerate()
                .all(|(i, name)| names[..i].iter().all(|other| other != name))
        );
        Arc::new(ColumnNames(names))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|name| &**name)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The columns and values of a [`Record`], taken in order (`Record::into_iter`).
#[derive(Debug)]
pub struct RecordIntoIter(std::vec::IntoIter<(Name, Value)>);

impl Iterator for RecordIntoIter {
    type Item = (String, Value);

    fn next(&mut self) -> Option<(String, Value)> {
        self.0
            .next()
            .map(|(name, value)| (name.into_string(), value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for RecordIntoIter {}

impl DoubleEndedIterator for RecordIntoIter {
    fn next_back(&mut self) -> Option<(String, Value)> {
        self.0
            .next_back()
            .map(|(name, value)| (name.into_string(), value))
    }
}

impl Record {
    /// An empty record.
    pub fn new() -> Self {
        Record::default()
    }

    /// The record of a row read in the columns `names`, sharing them.
    pub(crate) fn from_distinct(names: &Arc<ColumnNames>, values: Vec<Value>) -> Self {
        let mut record = ReadRecord::new(names);
        for value in values.into_iter().take(names.len()) {
            record.push_value(value);
        }
        record.finish()
    }

    /// The columns and values, with the names as the record holds them: what reading a
    /// record needs, without a name copied out of a shared one.
    pub(crate) fn into_fields(self) -> Vec<(Name, Value)> {
        self.fields
    }

    /// An empty record with room for `capacity` columns.
    pub fn with_capacity(capacity: usize) -> Self {
        Record {
            fields: Vec::with_capacity(capacity),
        }
    }

    /// Appends a column the record does not hold yet, named by a constant: a derived
    /// `to_record`, whose columns the derive has checked are distinct.
    pub(crate) fn push_distinct(&mut self, column: &'static str, value: Value) {
        debug_assert!(!self.contains_key(column), "{column:?} twice");
        self.fields.push((Name::Static(column), value));
    }

    /// As [`insert`](Self::insert), a column the record does not hold yet going in at `place`
    /// (or last, for a `place` past the end) instead of last.
    pub(crate) fn insert_at(&mut self, place: usize, column: String, value: Value) {
        match self.fields.iter_mut().find(|(c, _)| *c == *column) {
            Some((_, slot)) => *slot = value,
            None => {
                let place = place.min(self.fields.len());
                self.fields.insert(place, (Name::Owned(column), value));
            }
        }
    }

    /// Sets a column's value, returning the previous one.
    pub fn insert(&mut self, column: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        let column = column.into();
        let value = value.into();
        match self.fields.iter_mut().find(|(c, _)| *c == *column) {
            Some((_, slot)) => Some(std::mem::replace(slot, value)),
            None => {
                self.fields.push((Name::Owned(column), value));
                None
            }
        }
    }

    /// Sets a column's value (builder style).
    pub fn with(mut self, column: impl Into<String>, value: impl Into<Value>) -> Self {
        self.insert(column, value);
        self
    }

    /// A column's value.
    pub fn get(&self, column: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(c, _)| *c == *column)
            .map(|(_, v)| v)
    }

    /// Removes a column, returning its value.
    pub fn remove(&mut self, column: &str) -> Option<Value> {
        let position = self.fields.iter().position(|(c, _)| *c == *column)?;
        Some(self.fields.remove(position).1)
    }

    /// Whether the record has a value for the column.
    pub fn contains_key(&self, column: &str) -> bool {
        self.get(column).is_some()
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the record has no columns.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The columns and values, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.fields.iter().map(|(c, v)| (c.as_str(), v))
    }

    /// The column names, in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.fields.iter().map(|(c, _)| c.as_str())
    }

    /// The record's JSON form: an object with blobs as base64 and json columns as documents.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.fields
                .iter()
                .map(|(c, v)| (c.as_str().to_owned(), v.to_json()))
                .collect(),
        )
    }

    /// Reads a JSON object as a record of `schema`'s table, each value read as its column's
    /// type ([`Value::from_json`]).
    ///
    /// A key that is not a column is [`Error::UnknownColumn`]; anything but an object is
    /// [`Error::InvalidRecord`].
    pub fn from_json(schema: &TableSchema, json: &serde_json::Value) -> Result<Record> {
        let serde_json::Value::Object(map) = json else {
            return Err(Error::invalid_record(
                &schema.name,
                format!("expected a JSON object, got {}", json_kind_name(json)),
            ));
        };
        let mut record = Record::with_capacity(map.len());
        for (key, json) in map {
            let column = schema.require_column(key)?;
            record.fields.push((
                Name::Owned(key.clone()),
                Value::from_json(&schema.name, column, json)?,
            ));
        }
        Ok(record)
    }

    /// Converts every value to its column's type ([`Value::coerce`]); a key that is not a column
    /// is [`Error::UnknownColumn`].
    pub fn coerce(self, schema: &TableSchema) -> Result<Record> {
        let mut fields = Vec::with_capacity(self.fields.len());
        for (key, value) in self.fields {
            let column = schema.require_column(key.as_str())?;
            let value = value.coerce(&schema.name, column)?;
            fields.push((key, value));
        }
        Ok(Record { fields })
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Record {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut record = Record::new();
        record.extend(iter);
        record
    }
}

impl<K: Into<String>, V: Into<Value>> Extend<(K, V)> for Record {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl IntoIterator for Record {
    type Item = (String, Value);
    type IntoIter = RecordIntoIter;

    fn into_iter(self) -> RecordIntoIter {
        RecordIntoIter(self.fields.into_iter())
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for (column, value) in &self.fields {
            map.serialize_entry(column.as_str(), value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct RecordVisitor;
        impl<'de> Visitor<'de> for RecordVisitor {
            type Value = Record;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of column values")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Record, A::Error> {
                let mut record = Record::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((column, value)) = map.next_entry::<String, Value>()? {
                    if record.insert(column, value).is_some() {
                        return Err(de::Error::custom("a column appears twice"));
                    }
                }
                Ok(record)
            }
        }
        deserializer.deserialize_map(RecordVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Constraint;
    use serde_json::json;

    #[test]
    fn a_record_read_shares_its_names_and_behaves_as_one_built() {
        let names = ColumnNames::new(["a", "b"]);
        let read = Record::from_distinct(&names, vec![Value::Integer(1), Value::Null]);
        let built = Record::new().with("a", 1).with("b", Value::Null);
        assert_eq!(read, built);
        assert_eq!(format!("{read:?}"), format!("{built:?}"));
        assert!(
            matches!(&read.fields[1].0, Name::Column(shared, 1) if Arc::ptr_eq(shared, &names))
        );
        assert_eq!(
            read.clone().into_iter().rev().collect::<Vec<_>>(),
            vec![
                ("b".to_owned(), Value::Null),
                ("a".to_owned(), Value::Integer(1))
            ]
        );
        let mut read = read;
        assert_eq!(read.insert("a", 2), Some(Value::Integer(1)));
        assert_eq!(read.get("a"), Some(&Value::Integer(2)));
        assert_eq!(read.remove("b"), Some(Value::Null));
        assert_eq!(read.keys().collect::<Vec<_>>(), ["a"]);
    }

    fn col(ty: ColumnType) -> Column {
        Column::new("c", ty)
    }

    fn from_json(ty: ColumnType, json: serde_json::Value) -> Result<Value> {
        Value::from_json("t", &col(ty), &json)
    }

    fn is_mismatch(result: Result<Value>) -> bool {
        matches!(result, Err(Error::TypeMismatch { ref table, ref column, .. }) if table == "t" && column == "c")
    }

    #[test]
    fn integer_is_32_bit_and_bigint_64_bit() {
        assert_eq!(
            from_json(ColumnType::Integer, json!(i32::MAX)).unwrap(),
            Value::Integer(i32::MAX.into())
        );
        assert_eq!(
            from_json(ColumnType::Integer, json!(i32::MIN)).unwrap(),
            Value::Integer(i32::MIN.into())
        );
        assert!(is_mismatch(from_json(
            ColumnType::Integer,
            json!(1_i64 << 40)
        )));
        assert!(is_mismatch(from_json(
            ColumnType::Integer,
            json!(i64::from(i32::MAX) + 1)
        )));
        assert_eq!(
            from_json(ColumnType::Bigint, json!(i64::MAX)).unwrap(),
            Value::Integer(i64::MAX)
        );
        assert_eq!(
            from_json(ColumnType::Bigint, json!((1_i64 << 53) + 1)).unwrap(),
            Value::Integer((1 << 53) + 1)
        );
        assert!(is_mismatch(from_json(ColumnType::Bigint, json!(u64::MAX))));
        assert!(is_mismatch(from_json(ColumnType::Bigint, json!("5"))));
        assert!(is_mismatch(from_json(ColumnType::Integer, json!(1.5))));
        assert_eq!(
            from_json(ColumnType::Integer, json!(2.0)).unwrap(),
            Value::Integer(2)
        );
        assert!(is_mismatch(from_json(ColumnType::Integer, json!(true))));
    }

    #[test]
    fn real_accepts_integers() {
        assert_eq!(
            from_json(ColumnType::Real, json!(3)).unwrap(),
            Value::Real(3.0)
        );
        assert_eq!(
            from_json(ColumnType::Real, json!(0.25)).unwrap(),
            Value::Real(0.25)
        );
        assert!(is_mismatch(from_json(ColumnType::Real, json!("0.25"))));
        assert!(is_mismatch(
            Value::Real(f64::NAN).coerce("t", &col(ColumnType::Real))
        ));
        assert!(is_mismatch(
            Value::Real(f64::INFINITY).coerce("t", &col(ColumnType::Real))
        ));
    }

    #[test]
    fn boolean_accepts_only_true_and_false() {
        assert_eq!(
            from_json(ColumnType::Boolean, json!(true)).unwrap(),
            Value::Bool(true)
        );
        assert!(is_mismatch(from_json(ColumnType::Boolean, json!(1))));
        assert!(is_mismatch(from_json(ColumnType::Boolean, json!(0.5))));
        assert!(is_mismatch(from_json(ColumnType::Boolean, json!("true"))));
    }

    #[test]
    fn blob_accepts_base64_with_or_without_padding() {
        assert_eq!(
            from_json(ColumnType::Blob, json!("AAEC")).unwrap(),
            Value::Blob(vec![0, 1, 2])
        );
        assert_eq!(
            from_json(ColumnType::Blob, json!("AAE=")).unwrap(),
            Value::Blob(vec![0, 1])
        );
        assert_eq!(
            from_json(ColumnType::Blob, json!("AAE")).unwrap(),
            Value::Blob(vec![0, 1])
        );
        assert!(is_mismatch(from_json(
            ColumnType::Blob,
            json!("not base64!")
        )));
        assert!(is_mismatch(from_json(ColumnType::Blob, json!([0, 1]))));
        assert_eq!(Value::Blob(vec![0, 1]).to_json(), json!("AAE="));
    }

    #[test]
    fn json_accepts_anything_and_text_only_strings() {
        for doc in [
            json!({"a": [1, {"b": "ü\"'"}]}),
            json!([1]),
            json!("s"),
            json!(1.5),
            json!(false),
        ] {
            assert_eq!(
                from_json(ColumnType::Json, doc.clone()).unwrap(),
                Value::Json(doc)
            );
        }
        assert_eq!(
            from_json(ColumnType::Json, json!(null)).unwrap(),
            Value::Null
        );
        assert_eq!(
            from_json(ColumnType::Text, json!("x")).unwrap(),
            Value::Text("x".into())
        );
        for bad in [json!(1), json!(true), json!({}), json!([])] {
            assert!(is_mismatch(from_json(ColumnType::Text, bad)));
        }
    }

    #[test]
    fn nul_characters_are_refused_in_text_and_json() {
        assert!(is_mismatch(from_json(ColumnType::Text, json!("a\0b"))));
        assert!(is_mismatch(from_json(
            ColumnType::Json,
            json!({"k": ["a\0"]})
        )));
        assert!(is_mismatch(from_json(ColumnType::Json, json!({"k\0": 1}))));
        assert!(is_mismatch(
            Value::Text("\0".into()).coerce("t", &col(ColumnType::Text))
        ));
        assert_eq!(
            from_json(ColumnType::Blob, json!("AA==")).unwrap(),
            Value::Blob(vec![0])
        );
    }

    #[test]
    fn null_fits_every_column() {
        for ty in ColumnType::ALL {
            assert_eq!(from_json(ty, json!(null)).unwrap(), Value::Null);
        }
    }

    #[test]
    fn rust_values_coerce_losslessly_or_not_at_all() {
        let coerce = |v: Value, ty| v.coerce("t", &col(ty));
        assert_eq!(
            coerce(Value::Integer(2), ColumnType::Real).unwrap(),
            Value::Real(2.0)
        );
        assert_eq!(
            coerce(Value::Text("x".into()), ColumnType::Json).unwrap(),
            Value::Json(json!("x"))
        );
        assert_eq!(
            coerce(Value::Integer(7), ColumnType::Json).unwrap(),
            Value::Json(json!(7))
        );
        assert!(is_mismatch(coerce(
            Value::Text("1".into()),
            ColumnType::Integer
        )));
        assert!(is_mismatch(coerce(Value::Real(1e30), ColumnType::Bigint)));
        assert!(is_mismatch(coerce(Value::Blob(vec![1]), ColumnType::Json)));
        assert!(is_mismatch(coerce(Value::Bool(true), ColumnType::Text)));
    }

    #[test]
    fn ids_round_trip_through_their_string_form() {
        let int_key = Column::new("id", ColumnType::Bigint).with(Constraint::PrimaryKey);
        let text_key = Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey);
        assert_eq!(
            Value::from_id("t", &int_key, "42").unwrap(),
            Value::Integer(42)
        );
        assert_eq!(Value::Integer(42).to_id(), "42");
        assert_eq!(
            Value::from_id("t", &text_key, "abc").unwrap(),
            Value::Text("abc".into())
        );
        assert!(matches!(
            Value::from_id("t", &int_key, "abc"),
            Err(Error::TypeMismatch { .. })
        ));
        let small = Column::new("id", ColumnType::Integer).with(Constraint::PrimaryKey);
        assert!(matches!(
            Value::from_id("t", &small, "99999999999"),
            Err(Error::TypeMismatch { .. })
        ));
    }

    #[test]
    fn record_keeps_order_and_replaces_in_place() {
        let mut record: Record = [("b", 1), ("a", 2)].into_iter().collect();
        assert_eq!(record.insert("b", 3), Some(Value::Integer(1)));
        assert_eq!(record.keys().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(record.remove("b"), Some(Value::Integer(3)));
        assert_eq!(record.len(), 1);
        assert!(!record.contains_key("b"));
    }

    #[test]
    fn record_json_round_trip() {
        let record: Record =
            serde_json::from_value(json!({"a": 1, "b": "x", "c": null, "d": {"e": 1}})).unwrap();
        assert_eq!(record.get("a"), Some(&Value::Integer(1)));
        assert_eq!(record.get("d"), Some(&Value::Json(json!({"e": 1}))));
        assert_eq!(
            serde_json::to_value(&record).unwrap(),
            json!({"a": 1, "b": "x", "c": null, "d": {"e": 1}})
        );
        assert!(serde_json::from_value::<Record>(json!([1])).is_err());
    }

    #[test]
    fn schema_aware_records_name_unknown_columns() {
        let schema = TableSchema::new(
            "t",
            vec![Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey)],
        );
        assert!(matches!(
            Record::from_json(&schema, &json!({"nope": 1})),
            Err(Error::UnknownColumn { ref column, .. }) if column == "nope"
        ));
        assert!(matches!(
            Record::new().with("nope", 1).coerce(&schema),
            Err(Error::UnknownColumn { .. })
        ));
        assert!(matches!(
            Record::from_json(&schema, &json!([])),
            Err(Error::InvalidRecord { .. })
        ));
    }
}
