//! The typed API: a Rust struct as a table, with `#[derive(Table)]`, and queries whose columns
//! and values the compiler checks.
//!
//! ```
//! use memtable::{Store, Table};
//!
//! #[derive(Table, Debug)]
//! #[memtable(table = "oauth_tokens", index(name = "idx_user_provider", columns(user_id, provider), unique))]
//! struct OauthToken {
//!     #[memtable(primary_key)]
//!     id: String,
//!     user_id: String,
//!     provider: String,
//!     access_token: String,
//!     refresh_token: Option<String>,
//!     expires_at: Option<i64>,
//!     #[memtable(json)]
//!     token_data: Option<serde_json::Value>,
//!     created_at: i64,
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = Store::connect("sqlite::memory:").await?;
//! store.create_table_for::<OauthToken>().await?;
//! let id = store.insert(&OauthToken {
//!     id: String::new(), // generated: a UUID v7
//!     user_id: "user123".into(),
//!     provider: "github".into(),
//!     access_token: "gho_x".into(),
//!     refresh_token: None,
//!     expires_at: Some(1_700_000_000_000),
//!     token_data: Some(serde_json::json!({"scope": "repo"})),
//!     created_at: 1,
//! }).await?;
//! let rows: Vec<OauthToken> = store
//!     .select::<OauthToken>()
//!     .filter(OauthToken::USER_ID.eq("user123"))
//!     .filter(OauthToken::EXPIRES_AT.gt(15))
//!     .order_by(OauthToken::CREATED_AT.desc())
//!     .limit(10)
//!     .all()
//!     .await?;
//! assert_eq!(rows[0].id, id);
//!
//! // The same table through the dynamic API.
//! let record = store.query_table("oauth_tokens", &memtable::QueryOptions::new()).await?;
//! assert_eq!(record[0].get("provider").and_then(|v| v.as_str()), Some("github"));
//! # Ok::<(), memtable::Error>(())
//! # }).unwrap();
//! ```
//!
//! The typed helpers of [`Store`](crate::Store) (`create_table_for`, `insert`, `insert_many`,
//! `find`, `select`, `update`, `delete`, `upsert`) convert rows to and from [`Record`]s and
//! run the dynamic operations, so typed structs and dynamic records share one store and one
//! table.

mod codec;
mod column;
#[doc(hidden)]
pub mod private;
mod select;
mod store;

pub use codec::{AutoIncrementKey, Codec, ColumnKind, Site, SqlType, kind};
pub use column::{
    ArgRule, ColumnArg, Condition, ExactArg, IntoArg, IntoCondition, IntoOrder, NotNull, Nullable,
    NullableColumn, Order, Ordered, RuleArg, TextColumn, TypedColumn,
};
pub use select::Select;

use crate::error::Result;
use crate::schema::{ColumnType, TableSchema};
use crate::value::Record;

/// A Rust struct that is a table: its schema, and its conversion to and from a [`Record`].
///
/// Derive it with `#[derive(Table)]` (see the derive macro, re-exported at this same path, for
/// the attributes); implementing it by hand is possible but loses the typed column handles.
pub trait Table: Sized {
    /// The table's name.
    const TABLE_NAME: &'static str;
    /// The name of the primary key column.
    const PRIMARY_KEY: &'static str;
    /// The type of the primary key column.
    const PRIMARY_KEY_TYPE: ColumnType;
    /// Whether the database assigns the key (`auto_increment`).
    const AUTO_INCREMENT: bool;

    /// The table's schema, as [`Store::create_table`](crate::Store::create_table) takes it.
    fn schema() -> TableSchema;

    /// The row as a record: every column, in schema order.
    fn to_record(&self) -> Result<Record>;

    /// The row from a record (as [`Store::query_table`](crate::Store::query_table) returns it).
    /// A NULL for a field that is not an `Option`, or a value of the wrong kind, is
    /// [`Error::TypeMismatch`](crate::Error::TypeMismatch) naming the table and column; a
    /// missing column is [`Error::InvalidRecord`](crate::Error::InvalidRecord). Columns the
    /// struct does not have are ignored.
    fn from_record(record: Record) -> Result<Self>;

    /// As [`from_record`](Self::from_record), from a row's columns as the store reads them
    /// (name, value), without building the record: what `#[derive(Table)]` generates for
    /// [`Select::one`](crate::typed::Select::one). The default builds the record.
    #[doc(hidden)]
    fn from_columns(columns: &mut dyn Iterator<Item = (&str, crate::Value)>) -> Result<Self> {
        Self::from_record(columns.collect())
    }

    /// The struct's columns, in field order: what `#[derive(Table)]` declares. Empty by
    /// default, which no table's columns match.
    #[doc(hidden)]
    const COLUMN_NAMES: &'static [&'static str] = &[];

    /// As [`from_columns`](Self::from_columns), from the values of a row read in exactly the
    /// columns [`COLUMN_NAMES`](Self::COLUMN_NAMES) names, in that order: no name is
    /// compared. The default pairs them with those names.
    #[doc(hidden)]
    fn from_values(values: Vec<crate::Value>) -> Result<Self> {
        Self::from_columns(&mut Self::COLUMN_NAMES.iter().copied().zip(values))
    }
}

/// Derives [`Table`](trait@Table) for a struct with named fields: its schema, its conversion
/// to and from rows (directly, with serde_json only for json fields), and one typed column
/// handle per field, an associated const in SCREAMING_SNAKE_CASE (`OauthToken::USER_ID`).
///
/// Every field is a column, in declaration order. Its type gives the column's type:
///
/// | Rust field                                  | column  |
/// |---------------------------------------------|---------|
/// | `String`, `uuid::Uuid`                      | text    |
/// | `i32` (`i8`, `i16`, `u8`, `u16`)            | integer |
/// | `i64` (`u32`)                               | bigint  |
/// | `f64` (`f32`)                               | real    |
/// | `bool`                                      | boolean |
/// | `Vec<u8>`                                   | blob    |
/// | `serde_json::Value`, any serde type + `json` | json   |
///
/// `Option<T>` is a nullable column; every other field is `NOT NULL`. Any other type is a
/// compile error on that field, as is every mistake in the attributes below; all of a struct's
/// errors are reported at once, each pointing at its token.
///
/// # On the struct: `#[memtable(...)]`
///
/// - `table = "name"`: the table's name (default: the struct's name in snake_case,
///   `PluginSetting` → `plugin_setting`). Like every table, column and index name (see
///   [Names](#names)), it is checked at compile time.
/// - `index(name = "idx", columns(field_a, field_b))`: a secondary index over fields (their
///   columns, if renamed), in order; add `unique` for a unique index. Any number of them.
///
/// ```
/// use memtable::Table;
///
/// #[derive(Table)]
/// #[memtable(
///     table = "oauth_tokens",
///     index(name = "idx_user_provider", columns(user_id, provider), unique),
///     index(name = "idx_expires", columns(expires_at)),
/// )]
/// struct OauthToken {
///     #[memtable(primary_key)]
///     id: String,
///     user_id: String,
///     provider: String,
///     expires_at: Option<i64>,
/// }
///
/// let schema = OauthToken::schema();
/// assert_eq!(schema.name, "oauth_tokens");
/// assert!(schema.indexes[0].unique && !schema.indexes[1].unique);
///
/// #[derive(Table)]
/// struct PluginSetting {
///     #[memtable(primary_key)]
///     key: String,
/// }
/// assert_eq!(PluginSetting::schema().name, "plugin_setting");
/// ```
///
/// # Names
///
/// The table's name, each column's (the field's name, or its `rename`) and each index's are
/// checked when the struct compiles, by the same rule as
/// [`validate_identifier`](crate::validate_identifier) at run time. A name is refused, with a
/// compile error on it, when it:
///
/// - does not match `^[a-zA-Z_][a-zA-Z0-9_]*$` (ASCII letters, digits and `_`, not starting
///   with a digit), or is longer than 63 bytes (PostgreSQL's limit);
/// - starts with `sqlite_` or `pg_`, in any case (`SQLite_x`, `PG_x`): SQLite reserves the
///   first, and PostgreSQL searches its own catalog first for the second;
/// - is one of PostgreSQL's system column names, in any case: `tableoid`, `xmin`, `cmin`,
///   `xmax`, `cmax`, `ctid` (for a column, a table or an index alike).
///
/// Column names must also differ case-insensitively, and so must index names. A table name
/// that the store protects (by default `memories` and `sandbox`, and always memtable's catalog,
/// `_memtable_catalog`) compiles, but [`Store::create_table_for`](crate::Store::create_table_for)
/// refuses it with [`Error::ProtectedTable`](crate::Error::ProtectedTable).
///
/// ```compile_fail
/// use memtable::Table;
///
/// #[derive(Table)]
/// #[memtable(table = "pg_settings")] // names starting with sqlite_ or pg_ are reserved
/// struct Setting {
///     #[memtable(primary_key)]
///     key: String,
/// }
/// ```
///
/// ```compile_fail
/// use memtable::Table;
///
/// #[derive(Table)]
/// struct Version {
///     #[memtable(primary_key)]
///     id: i64,
///     xmin: i64, // the name of a PostgreSQL system column
/// }
/// ```
///
/// # On a field: `#[memtable(...)]`
///
/// - `primary_key`: the column every row operation addresses rows by (exactly one field).
///   An empty `String` key at insert means "generate a UUID v7".
/// - `auto_increment`: the database assigns the key (an integer primary key only): whatever
///   the field holds at insert is ignored.
/// - `unique`: no two rows share a value.
/// - `json`: store any serde type (`Serialize + Deserialize`) as a json column.
/// - `rename = "column"`: the column's name, when it is not the field's (for instance when the
///   field's name is refused as a column name, see [Names](#names)).
/// - `type = "bigint"`: the column's type, when it is not the field type's default: one of
///   `text`, `integer`, `bigint`, `real`, `blob`, `json`, `boolean`, and it must fit the field
///   (an `i32` in a `bigint` column, an `i64` in an `integer` one).
///
/// ```
/// use memtable::{ColumnType, Constraint, Table};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Prefs {
///     theme: String,
/// }
///
/// #[derive(Table)]
/// struct Account {
///     #[memtable(primary_key, auto_increment)]
///     id: i64,
///     #[memtable(unique)]
///     email: String,
///     #[memtable(json)]
///     prefs: Option<Prefs>,
///     #[memtable(rename = "display_name")]
///     name: String,
///     #[memtable(type = "bigint")]
///     logins: i32,
/// }
///
/// let schema = Account::schema();
/// let id = schema.column("id").unwrap();
/// assert!(id.is_primary_key() && id.is_auto_increment());
/// assert!(schema.column("email").unwrap().has(Constraint::Unique));
/// assert_eq!(schema.column("prefs").unwrap().column_type, ColumnType::Json);
/// assert!(schema.column("prefs").unwrap().is_nullable());
/// assert!(schema.column("display_name").is_some());
/// assert_eq!(schema.column("logins").unwrap().column_type, ColumnType::Bigint);
/// assert_eq!(Account::NAME.name(), "display_name");
/// ```
///
/// # Column handles
///
/// `Account::EMAIL` is a [`TypedColumn`] of `Account`, so that a value of the wrong type, a
/// column of another table in a filter, `like` on a non-text column and `is_null` on a NOT NULL
/// column do not compile:
///
/// ```compile_fail
/// use memtable::Table;
///
/// #[derive(Table)]
/// struct Account {
///     #[memtable(primary_key)]
///     email: String,
/// }
///
/// let _ = Account::EMAIL.eq(5); // `{integer}` is not a value for this column, which holds `String`
/// ```
#[cfg(feature = "derive")]
pub use memtable_derive::Table;
