//! Table schemas: the model, its JSON form, and the rules every table follows.
//!
//! The JSON form is the one of the TypeScript agent framework memtable is modeled on, so a
//! schema written for it loads unchanged:
//!
//! ```
//! use memtable::{ColumnType, TableSchema};
//!
//! let schema = TableSchema::from_json_str(r#"{
//!     "name": "oauth_tokens",
//!     "columns": [
//!         { "name": "id", "type": "text", "constraints": ["primary_key"] },
//!         { "name": "user_id", "type": "text", "constraints": ["not_null"] },
//!         { "name": "token_data", "type": "json" }
//!     ],
//!     "indexes": [ { "name": "idx_user", "columns": ["user_id"] } ]
//! }"#)?;
//! assert_eq!(schema.primary_key().map(|c| c.name.as_str()), Some("id"));
//! assert_eq!(schema.column("token_data").map(|c| c.column_type), Some(ColumnType::Json));
//! assert!(!schema.indexes[0].unique);
//! # Ok::<(), memtable::Error>(())
//! ```

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::{Error, IdentifierKind, IdentifierProblem, Result, SchemaProblem, truncate};
pub use crate::kinds::ColumnType;
use crate::value::Value;

/// The table in which memtable keeps the logical schema of every table it created.
pub const CATALOG_TABLE: &str = "_memtable_catalog";

/// Tables that cannot be created, dropped or written through the table API unless a store is
/// configured otherwise: the agent runtime's own `memories` and `sandbox`, and the catalog.
pub const DEFAULT_PROTECTED_TABLES: [&str; 3] = ["memories", "sandbox", CATALOG_TABLE];

/// The longest identifier accepted, in bytes: PostgreSQL's limit (it truncates longer names).
pub const MAX_IDENTIFIER_LEN: usize = 63;

/// A table: its name, columns and indexes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSchema {
    /// The table's name.
    pub name: String,
    /// The columns, in table order.
    pub columns: Vec<Column>,
    /// Secondary indexes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
}

/// A column of a [`TableSchema`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// The column's logical type.
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    /// Constraints on the column; none means a nullable, non-unique column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Constraint>,
    /// The value an insert that leaves the column out gets, in the JSON form of the column's
    /// type (a blob's is base64 text); `None` (or JSON `null`) for no default. Rendered into
    /// `CREATE TABLE` / `ALTER TABLE … ADD COLUMN` as a literal by sea-query. A default that
    /// does not fit the column is [`SchemaProblem::InvalidDefault`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
}

/// A constraint on a single column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Constraint {
    /// The column is the table's key: every row operation addresses rows by it.
    PrimaryKey,
    /// No two rows share a value.
    Unique,
    /// NULL is refused.
    NotNull,
    /// The database assigns the value (integer and bigint primary keys only).
    AutoIncrement,
}

/// A secondary index over one or more columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// The index's name.
    pub name: String,
    /// The indexed columns, in order.
    pub columns: Vec<String>,
    /// Whether the index enforces uniqueness.
    #[serde(default)]
    pub unique: bool,
}

impl Column {
    /// A nullable column with no constraints.
    pub fn new(name: impl Into<String>, column_type: ColumnType) -> Self {
        Column {
            name: name.into(),
            column_type,
            constraints: Vec::new(),
            default: None,
        }
    }

    /// Sets the column's default (builder style): the value, in the JSON form of the column's
    /// type, that an insert leaving the column out gets.
    ///
    /// ```
    /// use memtable::{Column, ColumnType, Constraint};
    /// let priority = Column::new("priority", ColumnType::Integer)
    ///     .with(Constraint::NotNull)
    ///     .with_default(serde_json::json!(3));
    /// assert_eq!(priority.default, Some(serde_json::json!(3)));
    /// ```
    pub fn with_default(mut self, default: impl Into<serde_json::Value>) -> Self {
        let default = default.into();
        self.default = (!default.is_null()).then_some(default);
        self
    }

    /// The default as a value of the column's type (`None` without one, or when it does not
    /// fit: [`TableSchema::validate`] refuses such a schema).
    pub fn default_value(&self) -> Option<Value> {
        let default = self.default.as_ref()?;
        Value::from_json("", self, default)
            .ok()
            .filter(|v| !v.is_null())
    }

    /// Adds a constraint (builder style).
    ///
    /// ```
    /// use memtable::{Column, ColumnType, Constraint};
    /// let id = Column::new("id", ColumnType::Integer)
    ///     .with(Constraint::PrimaryKey)
    ///     .with(Constraint::AutoIncrement);
    /// assert!(id.is_primary_key() && id.is_auto_increment());
    /// ```
    pub fn with(mut self, constraint: Constraint) -> Self {
        if !self.constraints.contains(&constraint) {
            self.constraints.push(constraint);
        }
        self
    }

    /// Whether the column carries the given constraint.
    pub fn has(&self, constraint: Constraint) -> bool {
        self.constraints.contains(&constraint)
    }

    /// Whether the column is the primary key.
    pub fn is_primary_key(&self) -> bool {
        self.has(Constraint::PrimaryKey)
    }

    /// Whether the database assigns the column's value.
    pub fn is_auto_increment(&self) -> bool {
        self.has(Constraint::AutoIncrement)
    }

    /// Whether the column has a UNIQUE constraint of its own.
    pub fn is_unique(&self) -> bool {
        self.has(Constraint::Unique)
    }

    /// Whether NULL may be stored (a primary key never is).
    pub fn is_nullable(&self) -> bool {
        !self.has(Constraint::NotNull) && !self.is_primary_key()
    }
}

impl Index {
    /// An index over the given columns.
    pub fn new<I, S>(name: impl Into<String>, columns: I, unique: bool) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Index {
            name: name.into(),
            columns: columns.into_iter().map(Into::into).collect(),
            unique,
        }
    }
}

impl TableSchema {
    /// A schema with the given columns and no indexes (not yet validated).
    pub fn new(name: impl Into<String>, columns: Vec<Column>) -> Self {
        TableSchema {
            name: name.into(),
            columns,
            indexes: Vec::new(),
        }
    }

    /// Adds an index (builder style).
    pub fn with_index(mut self, index: Index) -> Self {
        self.indexes.push(index);
        self
    }

    /// Reads a schema from its JSON form and validates it.
    ///
    /// A document that is not a schema at all is [`Error::InvalidSchema`] with
    /// [`SchemaProblem::Malformed`].
    pub fn from_json(value: serde_json::Value) -> Result<Self> {
        let table = value
            .get("name")
            .and_then(serde_json::Value::as_str)
            .map(truncate)
            .unwrap_or_default();
        let schema: TableSchema = serde_json::from_value(value)
            .map_err(|e| Error::invalid_schema(&table, SchemaProblem::Malformed(e.to_string())))?;
        schema.validate()?;
        Ok(schema)
    }

    /// Reads a schema from JSON text and validates it.
    pub fn from_json_str(text: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid_schema("", SchemaProblem::Malformed(e.to_string())))?;
        Self::from_json(value)
    }

    /// The schema's JSON form.
    pub fn to_json(&self) -> serde_json::Value {
        // A schema holds only strings, enums, bools and vectors: serialization cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The column with this name, if any.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column with this name, or [`Error::UnknownColumn`].
    pub fn require_column(&self, name: &str) -> Result<&Column> {
        self.column(name)
            .ok_or_else(|| Error::unknown_column(&self.name, name))
    }

    /// The position of the column with this name, if any.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The position of the column `name`, tried first at `place`: records built alike name
    /// their columns in the schema's order, so the usual lookup is one comparison.
    pub(crate) fn column_index_at(&self, place: usize, name: &str) -> Option<usize> {
        match self.columns.get(place) {
            Some(column) if column.name == name => Some(place),
            _ => self.column_index(name),
        }
    }

    /// The primary key column (present in every validated schema).
    pub fn primary_key(&self) -> Option<&Column> {
        self.columns.iter().find(|c| c.is_primary_key())
    }

    /// The primary key column, or the [`SchemaProblem::NoPrimaryKey`] error.
    pub(crate) fn require_primary_key(&self) -> Result<&Column> {
        self.require_primary_key_at().map(|(_, key)| key)
    }

    /// The primary key's position among the columns, and the column; or the
    /// [`SchemaProblem::NoPrimaryKey`] error.
    pub(crate) fn require_primary_key_at(&self) -> Result<(usize, &Column)> {
        (self.columns.iter().enumerate())
            .find(|(_, c)| c.is_primary_key())
            .ok_or_else(|| Error::invalid_schema(&self.name, SchemaProblem::NoPrimaryKey))
    }

    /// Checks every rule a table must follow; the first broken rule is returned as an error
    /// naming the offending table, column or index.
    ///
    /// ```
    /// use memtable::{Column, ColumnType, Constraint, Error, SchemaProblem, TableSchema};
    ///
    /// let schema = TableSchema::new("t", vec![Column::new("a", ColumnType::Text)]);
    /// assert!(matches!(
    ///     schema.validate(),
    ///     Err(Error::InvalidSchema { problem: SchemaProblem::NoPrimaryKey, .. })
    /// ));
    /// ```
    pub fn validate(&self) -> Result<()> {
        validate_identifier(IdentifierKind::Table, &self.name)?;
        let problem = |p| Err(Error::invalid_schema(&self.name, p));
        if self.columns.is_empty() {
            return problem(SchemaProblem::NoColumns);
        }
        let mut seen = HashSet::with_capacity(self.columns.len());
        for column in &self.columns {
            validate_identifier(IdentifierKind::Column, &column.name)?;
            if !seen.insert(column.name.to_ascii_lowercase()) {
                return problem(SchemaProblem::DuplicateColumn {
                    column: column.name.clone(),
                });
            }
        }
        let keys: Vec<&Column> = self.columns.iter().filter(|c| c.is_primary_key()).collect();
        match keys.as_slice() {
            [] => return problem(SchemaProblem::NoPrimaryKey),
            [_] => {}
            many => {
                return problem(SchemaProblem::MultiplePrimaryKeys {
                    columns: many.iter().map(|c| c.name.clone()).collect(),
                });
            }
        }
        for column in &self.columns {
            if column.is_auto_increment()
                && !(column.is_primary_key() && column.column_type.is_integral())
            {
                return problem(SchemaProblem::InvalidAutoIncrement {
                    column: column.name.clone(),
                });
            }
            self.validate_default(column)?;
        }
        let mut index_names = HashSet::with_capacity(self.indexes.len());
        for index in &self.indexes {
            validate_identifier(IdentifierKind::Index, &index.name)?;
            if !index_names.insert(index.name.to_ascii_lowercase()) {
                return problem(SchemaProblem::DuplicateIndex {
                    index: index.name.clone(),
                });
            }
            if index.columns.is_empty() {
                return problem(SchemaProblem::EmptyIndex {
                    index: index.name.clone(),
                });
            }
            let mut listed = HashSet::with_capacity(index.columns.len());
            for column in &index.columns {
                if self.column(column).is_none() {
                    return problem(SchemaProblem::UnknownIndexColumn {
                        index: index.name.clone(),
                        column: truncate(column),
                    });
                }
                if !listed.insert(column.as_str()) {
                    return problem(SchemaProblem::DuplicateIndexColumn {
                        index: index.name.clone(),
                        column: column.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// A column's default must be a value of its type, and a key has none (its value names
    /// the row: one default would give every row the same id).
    fn validate_default(&self, column: &Column) -> Result<()> {
        let Some(default) = &column.default else {
            return Ok(());
        };
        let invalid = |reason: String| {
            Err(Error::invalid_schema(
                &self.name,
                SchemaProblem::InvalidDefault {
                    column: column.name.clone(),
                    reason,
                },
            ))
        };
        if column.is_primary_key() {
            return invalid("a primary key cannot have a default".into());
        }
        match Value::from_json(&self.name, column, default) {
            Ok(_) => Ok(()),
            Err(Error::TypeMismatch {
                expected, found, ..
            }) => invalid(format!(
                "the default must be a value of the column's type {expected}, got {found}"
            )),
            Err(other) => invalid(other.to_string()),
        }
    }

    /// Describes how `other` differs from this schema, or `None` when the two define the same
    /// table. Constraint order and repeated constraints do not count as differences, nor does
    /// the order of indexes; column order does. This is the first of
    /// [`differences`](Self::differences).
    ///
    /// ```
    /// use memtable::{Column, ColumnType, Constraint, TableSchema};
    /// let a = TableSchema::new("t", vec![Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey)]);
    /// let mut b = a.clone();
    /// assert_eq!(a.difference(&b), None);
    /// b.columns[0].column_type = ColumnType::Integer;
    /// assert_eq!(a.difference(&b).as_deref(), Some("column \"id\" is text, not integer"));
    /// ```
    pub fn difference(&self, other: &TableSchema) -> Option<String> {
        self.differences(other).into_iter().next()
    }

    /// Every way `other` differs from this schema (empty when the two define the same table),
    /// each in words naming the column or index, in table order: columns, then indexes.
    ///
    /// ```
    /// use memtable::{Column, ColumnType, Constraint, TableSchema};
    /// let a = TableSchema::new("t", vec![
    ///     Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey),
    ///     Column::new("n", ColumnType::Integer),
    /// ]);
    /// let mut b = a.clone();
    /// b.columns[1].column_type = ColumnType::Real;
    /// b.columns.push(Column::new("extra", ColumnType::Text));
    /// assert_eq!(a.differences(&b), [
    ///     "column \"n\" is integer, not real",
    ///     "column \"extra\" is not in the table",
    /// ]);
    /// ```
    pub fn differences(&self, other: &TableSchema) -> Vec<String> {
        self.changes(other)
            .into_iter()
            .map(|change| match change {
                Change::Refused(difference) => difference,
                Change::AddColumn(column) => {
                    format!("column {:?} is not in the table", column.name)
                }
                Change::AddIndex(index) => format!("index {:?} is not on the table", index.name),
            })
            .collect()
    }

    /// What it takes to bring this (existing) table to `wanted`: the columns and indexes to
    /// add, or, when anything else differs, every difference in words.
    pub(crate) fn additions(
        &self,
        wanted: &TableSchema,
    ) -> std::result::Result<Additions, Vec<String>> {
        let mut additions = Additions::default();
        let mut refused = Vec::new();
        for change in self.changes(wanted) {
            match change {
                Change::Refused(difference) => refused.push(difference),
                Change::AddColumn(column) => {
                    if column.is_primary_key() {
                        refused.push(format!(
                            "column {:?} would be another primary key (the table's is fixed)",
                            column.name
                        ));
                    } else if !column.is_nullable() && column.default.is_none() {
                        refused.push(format!(
                            "new column {:?} is not_null without a default: the rows already \
                             there would have no value for it (give it a default, or make it \
                             nullable)",
                            column.name
                        ));
                    } else {
                        additions.columns.push(column.clone());
                    }
                }
                Change::AddIndex(index) => additions.indexes.push(index.clone()),
            }
        }
        if refused.is_empty() {
            Ok(additions)
        } else {
            Err(refused)
        }
    }

    /// Every change from this schema to `other`: the columns and indexes only `other` has,
    /// and every other difference in words.
    fn changes<'a>(&self, other: &'a TableSchema) -> Vec<Change<'a>> {
        let mut changes = Vec::new();
        if self.name != other.name {
            changes.push(Change::Refused(format!(
                "table is named {:?}, not {:?}",
                self.name, other.name
            )));
        }
        for column in &self.columns {
            let Some(theirs) = other.column(&column.name) else {
                changes.push(Change::Refused(format!(
                    "column {:?} is missing",
                    column.name
                )));
                continue;
            };
            if column.column_type != theirs.column_type {
                changes.push(Change::Refused(format!(
                    "column {:?} is {}, not {}",
                    column.name, column.column_type, theirs.column_type
                )));
                continue;
            }
            let ours = normalized_constraints(column);
            let other_constraints = normalized_constraints(theirs);
            if ours != other_constraints {
                changes.push(Change::Refused(format!(
                    "column {:?} has constraints {:?}, not {:?}",
                    column.name, ours, other_constraints
                )));
            }
            // Compared as values of the column's type: 1 and 1.0 are one real default. The
            // values themselves stay out of the message, as every value does in an error.
            match (column.default_value(), theirs.default_value()) {
                (None, None) => {}
                (Some(_), None) => changes.push(Change::Refused(format!(
                    "column {:?} has a default, the schema gives none",
                    column.name
                ))),
                (None, Some(_)) => changes.push(Change::Refused(format!(
                    "column {:?} has no default, the schema gives one",
                    column.name
                ))),
                (Some(a), Some(b)) if a != b => changes.push(Change::Refused(format!(
                    "column {:?} has another default than the schema's",
                    column.name
                ))),
                (Some(_), Some(_)) => {}
            }
        }
        // The columns both have must keep their order; new ones may go anywhere.
        let common = |a: &TableSchema, b: &TableSchema| {
            a.columns
                .iter()
                .filter(|c| b.column(&c.name).is_some())
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        };
        let (ours, theirs) = (common(self, other), common(other, self));
        if ours != theirs {
            changes.push(Change::Refused(format!(
                "columns are in the order {ours:?}, not {theirs:?}"
            )));
        }
        for column in &other.columns {
            if self.column(&column.name).is_none() {
                changes.push(Change::AddColumn(column));
            }
        }
        for index in &self.indexes {
            match other.indexes.iter().find(|i| i.name == index.name) {
                None => changes.push(Change::Refused(format!(
                    "index {:?} is missing",
                    index.name
                ))),
                Some(theirs) if theirs != index => changes.push(Change::Refused(format!(
                    "index {:?} is on {:?} (unique: {}), not {:?} (unique: {})",
                    index.name, index.columns, index.unique, theirs.columns, theirs.unique
                ))),
                Some(_) => {}
            }
        }
        for index in &other.indexes {
            if !self.indexes.iter().any(|o| o.name == index.name) {
                changes.push(Change::AddIndex(index));
            }
        }
        changes
    }
}

/// One change between two schemas of a table.
enum Change<'a> {
    /// A column only the second has.
    AddColumn(&'a Column),
    /// An index only the second has.
    AddIndex(&'a Index),
    /// Any other difference, in words.
    Refused(String),
}

/// The columns and indexes a sync adds to an existing table, in the wanted schema's order.
#[derive(Debug, Default)]
pub(crate) struct Additions {
    pub(crate) columns: Vec<Column>,
    pub(crate) indexes: Vec<Index>,
}

impl Additions {
    pub(crate) fn is_empty(&self) -> bool {
        self.columns.is_empty() && self.indexes.is_empty()
    }
}

fn normalized_constraints(column: &Column) -> Vec<Constraint> {
    let mut constraints = column.constraints.clone();
    // A primary key is never null, so `not_null` beside it says nothing.
    if column.is_primary_key() {
        constraints.retain(|c| *c != Constraint::NotNull);
    }
    constraints.sort();
    constraints.dedup();
    constraints
}

/// Prefixes no name may start with (compared case-insensitively): SQLite's, and PostgreSQL's,
/// whose own catalog is searched first for a `pg_` name.
const RESERVED_PREFIXES: [&str; 2] = ["sqlite_", "pg_"];

/// PostgreSQL's system columns: no table can have a column of these names.
const SYSTEM_COLUMNS: [&str; 6] = ["tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"];

/// Checks that `name` is a valid memtable identifier: `^[a-zA-Z_][a-zA-Z0-9_]*$`, at most 63
/// bytes, not starting with `sqlite_` or `pg_`, and not one of PostgreSQL's system column names
/// (`tableoid`, `xmin`, `cmin`, `xmax`, `cmax`, `ctid`).
///
/// ```
/// use memtable::{validate_identifier, IdentifierKind};
/// assert!(validate_identifier(IdentifierKind::Table, "oauth_tokens").is_ok());
/// assert!(validate_identifier(IdentifierKind::Column, "x; DROP TABLE y").is_err());
/// ```
pub fn validate_identifier(kind: IdentifierKind, name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some(IdentifierProblem::Empty)
    } else if name.len() > MAX_IDENTIFIER_LEN {
        Some(IdentifierProblem::TooLong)
    } else if !is_identifier_shaped(name) {
        Some(IdentifierProblem::InvalidCharacters)
    } else if RESERVED_PREFIXES.iter().any(|prefix| {
        name.get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    }) {
        Some(IdentifierProblem::Reserved)
    } else if SYSTEM_COLUMNS
        .iter()
        .any(|column| name.eq_ignore_ascii_case(column))
    {
        Some(IdentifierProblem::SystemColumn)
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidIdentifier {
            kind,
            name: truncate(name),
            reason,
        }),
    }
}

fn is_identifier_shaped(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn oauth_tokens() -> serde_json::Value {
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

    fn plugin_x_data() -> serde_json::Value {
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

    fn problem_of(value: serde_json::Value) -> SchemaProblem {
        match TableSchema::from_json(value) {
            Err(Error::InvalidSchema { problem, .. }) => problem,
            other => panic!("expected InvalidSchema, got {other:?}"),
        }
    }

    fn with_columns(columns: serde_json::Value) -> serde_json::Value {
        json!({ "name": "t", "columns": columns })
    }

    #[test]
    fn seed_schemas_load_and_validate() {
        let tokens = TableSchema::from_json(oauth_tokens()).unwrap();
        assert_eq!(tokens.columns.len(), 10);
        assert_eq!(tokens.primary_key().unwrap().name, "id");
        assert!(tokens.indexes[0].unique);
        assert!(!tokens.column("user_id").unwrap().is_nullable());
        assert!(tokens.column("refresh_token").unwrap().is_nullable());

        let data = TableSchema::from_json(plugin_x_data()).unwrap();
        let id = data.primary_key().unwrap();
        assert!(id.is_auto_increment());
        assert_eq!(id.column_type, ColumnType::Integer);
        assert_eq!(
            data.column("payload").unwrap().column_type,
            ColumnType::Blob
        );
    }

    #[test]
    fn json_form_round_trips() {
        for doc in [oauth_tokens(), plugin_x_data()] {
            let schema = TableSchema::from_json(doc.clone()).unwrap();
            assert_eq!(schema.to_json(), doc);
        }
    }

    #[test]
    fn constraints_and_indexes_are_optional_and_unique_defaults_to_false() {
        let schema = TableSchema::from_json(json!({
            "name": "t",
            "columns": [
                { "name": "id", "type": "text", "constraints": ["primary_key"] },
                { "name": "a", "type": "integer" }
            ]
        }))
        .unwrap();
        assert!(schema.indexes.is_empty());
        assert!(schema.columns[1].constraints.is_empty());
        let schema = TableSchema::from_json(json!({
            "name": "t",
            "columns": [ { "name": "id", "type": "text", "constraints": ["primary_key"] } ],
            "indexes": [ { "name": "i", "columns": ["id"] } ]
        }))
        .unwrap();
        assert!(!schema.indexes[0].unique);
    }

    #[test]
    fn malformed_json_is_invalid_schema() {
        assert!(matches!(
            problem_of(json!({ "name": "t", "columns": [ { "name": "a", "type": "varchar" } ] })),
            SchemaProblem::Malformed(_)
        ));
        assert!(matches!(
            problem_of(json!({ "name": "t", "columns": [], "colums": [] })),
            SchemaProblem::Malformed(_)
        ));
        assert!(matches!(
            problem_of(json!([1, 2])),
            SchemaProblem::Malformed(_)
        ));
        assert!(matches!(
            TableSchema::from_json_str("{not json"),
            Err(Error::InvalidSchema {
                problem: SchemaProblem::Malformed(_),
                ..
            })
        ));
    }

    #[test]
    fn table_name_must_be_an_identifier() {
        let err = TableSchema::from_json(json!({
            "name": "bad name",
            "columns": [ { "name": "id", "type": "text", "constraints": ["primary_key"] } ]
        }))
        .unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidIdentifier { kind: IdentifierKind::Table, reason: IdentifierProblem::InvalidCharacters, ref name } if name == "bad name"
        ));
    }

    #[test]
    fn column_and_index_names_must_be_identifiers() {
        let err = TableSchema::from_json(with_columns(json!([
            { "name": "id", "type": "text", "constraints": ["primary_key"] },
            { "name": "a\"b", "type": "text" }
        ])))
        .unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidIdentifier {
                kind: IdentifierKind::Column,
                ..
            }
        ));

        let err = TableSchema::from_json(json!({
            "name": "t",
            "columns": [ { "name": "id", "type": "text", "constraints": ["primary_key"] } ],
            "indexes": [ { "name": "1idx", "columns": ["id"] } ]
        }))
        .unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidIdentifier {
                kind: IdentifierKind::Index,
                ..
            }
        ));
    }

    #[test]
    fn identifier_rules() {
        use IdentifierProblem::*;
        let reason = |name: &str| match validate_identifier(IdentifierKind::Table, name) {
            Ok(()) => None,
            Err(Error::InvalidIdentifier { reason, .. }) => Some(reason),
            Err(other) => panic!("unexpected {other:?}"),
        };
        assert_eq!(reason("a"), None);
        assert_eq!(reason("_a1"), None);
        assert_eq!(reason("MixedCase"), None);
        assert_eq!(reason(&"a".repeat(63)), None);
        assert_eq!(reason(""), Some(Empty));
        assert_eq!(reason(&"a".repeat(64)), Some(TooLong));
        assert_eq!(reason("1a"), Some(InvalidCharacters));
        assert_eq!(reason("a-b"), Some(InvalidCharacters));
        assert_eq!(reason("a b"), Some(InvalidCharacters));
        assert_eq!(reason("tablé"), Some(InvalidCharacters));
        assert_eq!(reason("t\0"), Some(InvalidCharacters));
        assert_eq!(reason("x\"; DROP TABLE y; --"), Some(InvalidCharacters));
        assert_eq!(reason("sqlite_master"), Some(Reserved));
        assert_eq!(reason("SQLite_x"), Some(Reserved));
        assert_eq!(reason("pg_class"), Some(Reserved));
        assert_eq!(reason("PG_x"), Some(Reserved));
        assert_eq!(reason("pgx"), None);
        assert_eq!(reason("xmin"), Some(SystemColumn));
        assert_eq!(reason("CTID"), Some(SystemColumn));
        assert_eq!(reason("xmin2"), None);
        assert_eq!(reason("sqlitex"), None);
    }

    #[test]
    fn a_table_needs_columns() {
        assert_eq!(
            problem_of(with_columns(json!([]))),
            SchemaProblem::NoColumns
        );
    }

    #[test]
    fn exactly_one_primary_key() {
        assert_eq!(
            problem_of(with_columns(json!([{ "name": "a", "type": "text" }]))),
            SchemaProblem::NoPrimaryKey
        );
        assert_eq!(
            problem_of(with_columns(json!([
                { "name": "a", "type": "text", "constraints": ["primary_key"] },
                { "name": "b", "type": "text", "constraints": ["primary_key"] }
            ]))),
            SchemaProblem::MultiplePrimaryKeys {
                columns: vec!["a".into(), "b".into()]
            }
        );
    }

    #[test]
    fn auto_increment_only_on_integral_primary_keys() {
        assert_eq!(
            problem_of(with_columns(json!([
                { "name": "id", "type": "text", "constraints": ["primary_key", "auto_increment"] }
            ]))),
            SchemaProblem::InvalidAutoIncrement {
                column: "id".into()
            }
        );
        assert_eq!(
            problem_of(with_columns(json!([
                { "name": "id", "type": "text", "constraints": ["primary_key"] },
                { "name": "n", "type": "integer", "constraints": ["auto_increment"] }
            ]))),
            SchemaProblem::InvalidAutoIncrement { column: "n".into() }
        );
        for ty in ["integer", "bigint"] {
            TableSchema::from_json(with_columns(json!([
                { "name": "id", "type": ty, "constraints": ["primary_key", "auto_increment"] }
            ])))
            .unwrap();
        }
    }

    #[test]
    fn column_names_are_unique_case_insensitively() {
        assert_eq!(
            problem_of(with_columns(json!([
                { "name": "id", "type": "text", "constraints": ["primary_key"] },
                { "name": "Name", "type": "text" },
                { "name": "name", "type": "text" }
            ]))),
            SchemaProblem::DuplicateColumn {
                column: "name".into()
            }
        );
    }

    fn with_index(index: serde_json::Value) -> serde_json::Value {
        json!({
            "name": "t",
            "columns": [
                { "name": "id", "type": "text", "constraints": ["primary_key"] },
                { "name": "a", "type": "text" }
            ],
            "indexes": index
        })
    }

    #[test]
    fn index_rules() {
        assert_eq!(
            problem_of(with_index(
                json!([{ "name": "i", "columns": ["a", "nope"] }])
            )),
            SchemaProblem::UnknownIndexColumn {
                index: "i".into(),
                column: "nope".into()
            }
        );
        assert_eq!(
            problem_of(with_index(json!([{ "name": "i", "columns": [] }]))),
            SchemaProblem::EmptyIndex { index: "i".into() }
        );
        assert_eq!(
            problem_of(with_index(json!([
                { "name": "i", "columns": ["a"] },
                { "name": "I", "columns": ["id"] }
            ]))),
            SchemaProblem::DuplicateIndex { index: "I".into() }
        );
        assert_eq!(
            problem_of(with_index(json!([{ "name": "i", "columns": ["a", "a"] }]))),
            SchemaProblem::DuplicateIndexColumn {
                index: "i".into(),
                column: "a".into()
            }
        );
    }

    #[test]
    fn difference_ignores_constraint_order_and_names_what_differs() {
        let a = TableSchema::from_json(oauth_tokens()).unwrap();
        let mut b = a.clone();
        b.columns[0].constraints = vec![Constraint::NotNull, Constraint::PrimaryKey];
        b.indexes.reverse();
        assert_eq!(a.difference(&b), None);

        let mut c = a.clone();
        c.columns.pop();
        assert_eq!(
            a.difference(&c).as_deref(),
            Some("column \"updated_at\" is missing")
        );
        let mut d = a.clone();
        d.indexes[0].unique = false;
        assert!(a.difference(&d).unwrap().contains("idx_user_provider"));
        let mut e = a.clone();
        e.columns.push(Column::new("extra", ColumnType::Text));
        assert_eq!(
            a.difference(&e).as_deref(),
            Some("column \"extra\" is not in the table")
        );
        let mut f = a.clone();
        f.columns[4].constraints.push(Constraint::Unique);
        assert!(a.difference(&f).unwrap().contains("refresh_token"));
    }

    #[test]
    fn additions_are_new_nullable_or_defaulted_columns_and_new_indexes() {
        let v1 = TableSchema::from_json(oauth_tokens()).unwrap();
        let mut v2 = v1.clone();
        v2.columns.insert(1, Column::new("label", ColumnType::Text));
        v2.columns.push(
            Column::new("uses", ColumnType::Integer)
                .with(Constraint::NotNull)
                .with_default(json!(0)),
        );
        v2.indexes.push(Index::new("idx_uses", ["uses"], false));
        let additions = v1.additions(&v2).unwrap();
        let names: Vec<&str> = additions.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["label", "uses"]);
        assert_eq!(additions.indexes[0].name, "idx_uses");
        assert!(v2.additions(&v2).unwrap().is_empty());

        let mut v3 = v2.clone();
        v3.columns.retain(|c| c.name != "scope");
        v3.columns
            .push(Column::new("required", ColumnType::Text).with(Constraint::NotNull));
        v3.indexes.clear();
        let refused = v2.additions(&v3).unwrap_err();
        assert_eq!(refused.len(), 4, "{refused:?}");
        assert_eq!(refused[0], "column \"scope\" is missing");
        assert!(refused[1].contains("\"required\""), "{refused:?}");
        assert_eq!(refused[2], "index \"idx_user_provider\" is missing");
        assert_eq!(refused[3], "index \"idx_uses\" is missing");
    }

    #[test]
    fn a_default_is_a_value_of_its_column() {
        let with = |column: serde_json::Value| {
            TableSchema::from_json(with_columns(json!([
                { "name": "id", "type": "text", "constraints": ["primary_key"] },
                column
            ])))
        };
        for (ty, default) in [
            ("text", json!("x")),
            ("integer", json!(-5)),
            ("bigint", json!(1_u64 << 40)),
            ("real", json!(1)),
            ("blob", json!("AAE=")),
            ("json", json!({"any": ["thing"]})),
            ("boolean", json!(false)),
        ] {
            let schema = with(json!({"name": "c", "type": ty, "default": default})).unwrap();
            assert_eq!(schema.columns[1].default, Some(default));
            assert_eq!(TableSchema::from_json(schema.to_json()).unwrap(), schema);
        }
        for (ty, default) in [
            ("text", json!(1)),
            ("integer", json!(1.5)),
            ("integer", json!(1_u64 << 40)),
            ("boolean", json!("true")),
            ("blob", json!("%%")),
            ("real", json!("1")),
        ] {
            assert!(
                matches!(
                    problem_of(with_columns(json!([
                        { "name": "id", "type": "text", "constraints": ["primary_key"] },
                        { "name": "c", "type": ty, "default": default }
                    ]))),
                    SchemaProblem::InvalidDefault { ref column, .. } if column == "c"
                ),
                "{ty} {default}"
            );
        }
        assert!(matches!(
            problem_of(with_columns(json!([
                { "name": "id", "type": "text", "constraints": ["primary_key"], "default": "k" }
            ]))),
            SchemaProblem::InvalidDefault { ref column, .. } if column == "id"
        ));
        // JSON null is no default.
        let schema = with(json!({"name": "c", "type": "text", "default": null})).unwrap();
        assert_eq!(schema.columns[1].default, None);
    }
}
