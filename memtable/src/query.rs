//! Filters, ordering and paging of `query_table`, and their JSON form.
//!
//! ```
//! use memtable::{Filter, OrderBy, QueryOptions};
//!
//! let options = QueryOptions::new()
//!     .filter(Filter::eq("user_id", "u1").and(Filter::lt("expires_at", 1_700_000_000_000_i64)))
//!     .order_by(OrderBy::desc("created_at"))
//!     .limit(10);
//! assert_eq!(options.limit, Some(10));
//! ```
//!
//! The JSON form, as agents send it:
//!
//! ```
//! use memtable::{Column, ColumnType, Constraint, QueryOptions, TableSchema};
//! use serde_json::json;
//!
//! let schema = TableSchema::new("oauth_tokens", vec![
//!     Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey),
//!     Column::new("user_id", ColumnType::Text),
//!     Column::new("expires_at", ColumnType::Bigint),
//!     Column::new("scope", ColumnType::Text),
//! ]);
//! let options = QueryOptions::from_json(&schema, &json!({
//!     "where": {"user_id": "u1", "expires_at": {"$lt": 1700000000000_i64}, "scope": null},
//!     "orderBy": [{"column": "expires_at", "direction": "desc"}],
//!     "limit": 10,
//!     "offset": 20
//! }))?;
//! assert_eq!(options.offset, Some(20));
//! # Ok::<(), memtable::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::kinds::ColumnType;
use crate::schema::TableSchema;
use crate::value::Value;

/// A comparison operator of a [`Filter::Compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `=` (with NULL: `IS NULL`).
    Eq,
    /// `<>` (with NULL: `IS NOT NULL`).
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Lte,
    /// `>`.
    Gt,
    /// `>=`.
    Gte,
}

/// A condition on rows.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Filter {
    /// `column op value`. Equality with NULL means `IS NULL`, inequality `IS NOT NULL`.
    Compare {
        /// The column.
        column: String,
        /// The operator.
        op: CompareOp,
        /// The value, bound as a parameter.
        value: Value,
    },
    /// `column IN (values)`, or `NOT IN` when `negated`. An empty list matches no row (`IN`) or
    /// every row (`NOT IN`).
    In {
        /// The column.
        column: String,
        /// The values, each bound as a parameter.
        values: Vec<Value>,
        /// `NOT IN` instead of `IN`.
        negated: bool,
    },
    /// `column LIKE pattern` (text columns only).
    Like {
        /// The column.
        column: String,
        /// The pattern, bound as a parameter (`%` and `_` are wildcards).
        pattern: String,
    },
    /// `column IS NULL`, or `IS NOT NULL` when `is_null` is false.
    Null {
        /// The column.
        column: String,
        /// `IS NULL` (true) or `IS NOT NULL` (false).
        is_null: bool,
    },
    /// Every condition holds (an empty list matches every row).
    And(Vec<Filter>),
    /// At least one condition holds (an empty list matches no row).
    Or(Vec<Filter>),
    /// The condition does not hold: exactly the rows the inner filter does not match, including
    /// those where it compares with NULL (`NOT COALESCE(inner, 1 = 0)`), so that a row with a
    /// NULL `n` matches `Filter::eq("n", 5).negate()`, unlike `Filter::ne("n", 5)`.
    Not(Box<Filter>),
}

macro_rules! comparisons {
    ($($(#[$doc:meta])* $name:ident => $op:ident),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $name(column: impl Into<String>, value: impl Into<Value>) -> Filter {
            Filter::Compare { column: column.into(), op: CompareOp::$op, value: value.into() }
        }
    )*};
}

impl Filter {
    comparisons! {
        /// `column = value` (`IS NULL` for a NULL value).
        eq => Eq,
        /// `column <> value` (`IS NOT NULL` for a NULL value).
        ne => Ne,
        /// `column < value`.
        lt => Lt,
        /// `column <= value`.
        lte => Lte,
        /// `column > value`.
        gt => Gt,
        /// `column >= value`.
        gte => Gte,
    }

    /// `column IN (values)`.
    pub fn is_in<I, V>(column: impl Into<String>, values: I) -> Filter
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        Filter::In {
            column: column.into(),
            values: values.into_iter().map(Into::into).collect(),
            negated: false,
        }
    }

    /// `column NOT IN (values)`.
    pub fn not_in<I, V>(column: impl Into<String>, values: I) -> Filter
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        Filter::In {
            column: column.into(),
            values: values.into_iter().map(Into::into).collect(),
            negated: true,
        }
    }

    /// `column LIKE pattern`.
    pub fn like(column: impl Into<String>, pattern: impl Into<String>) -> Filter {
        Filter::Like {
            column: column.into(),
            pattern: pattern.into(),
        }
    }

    /// `column IS NULL`.
    pub fn is_null(column: impl Into<String>) -> Filter {
        Filter::Null {
            column: column.into(),
            is_null: true,
        }
    }

    /// `column IS NOT NULL`.
    pub fn is_not_null(column: impl Into<String>) -> Filter {
        Filter::Null {
            column: column.into(),
            is_null: false,
        }
    }

    /// Both this and `other` hold.
    pub fn and(self, other: Filter) -> Filter {
        match self {
            Filter::And(mut all) => {
                all.push(other);
                Filter::And(all)
            }
            first => Filter::And(vec![first, other]),
        }
    }

    /// This or `other` holds.
    pub fn or(self, other: Filter) -> Filter {
        match self {
            Filter::Or(mut any) => {
                any.push(other);
                Filter::Or(any)
            }
            first => Filter::Or(vec![first, other]),
        }
    }

    /// Every one of `filters` holds (none: every row).
    pub fn all(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::And(filters.into_iter().collect())
    }

    /// At least one of `filters` holds (none: no row).
    pub fn any(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::Or(filters.into_iter().collect())
    }

    /// This does not hold: the rows this filter does not match (also written `!filter`).
    pub fn negate(self) -> Filter {
        Filter::Not(Box::new(self))
    }

    /// Checks the filter against `schema` and converts every value to its column's type:
    /// unknown columns, values of the wrong type, `LIKE` on a non-text column and ordering
    /// comparisons on a json column are refused.
    pub fn resolve(self, schema: &TableSchema) -> Result<Filter> {
        let table = schema.name.as_str();
        Ok(match self {
            Filter::Compare { column, op, value } => {
                let col = schema.require_column(&column)?;
                if col.column_type == ColumnType::Json
                    && !matches!(op, CompareOp::Eq | CompareOp::Ne)
                {
                    return Err(Error::invalid_query(
                        table,
                        format!("json column {column:?} can only be compared for equality"),
                    ));
                }
                let value = value.coerce(table, col)?;
                Filter::Compare { column, op, value }
            }
            Filter::In {
                column,
                values,
                negated,
            } => {
                let col = schema.require_column(&column)?;
                let values = values
                    .into_iter()
                    .map(|v| v.coerce(table, col))
                    .collect::<Result<Vec<_>>>()?;
                if values.iter().any(Value::is_null) {
                    return Err(Error::invalid_query(
                        table,
                        format!("the list for {column:?} contains null; use $null instead"),
                    ));
                }
                Filter::In {
                    column,
                    values,
                    negated,
                }
            }
            Filter::Like { column, pattern } => {
                let col = schema.require_column(&column)?;
                if col.column_type != ColumnType::Text {
                    return Err(Error::invalid_query(
                        table,
                        format!(
                            "$like needs a text column; {column:?} is {}",
                            col.column_type
                        ),
                    ));
                }
                // Refused as text values are (PostgreSQL stores no NUL).
                let pattern = match Value::Text(pattern).coerce(table, col)? {
                    Value::Text(pattern) => pattern,
                    _ => String::new(),
                };
                if pattern.len() > MAX_LIKE_PATTERN_LEN {
                    return Err(Error::invalid_query(
                        table,
                        format!(
                            "the $like pattern for {column:?} is {} bytes; at most \
                             {MAX_LIKE_PATTERN_LEN} are accepted",
                            pattern.len()
                        ),
                    ));
                }
                // PostgreSQL fails on a pattern ending in the escape character; SQLite matches
                // nothing. Neither is what the caller meant.
                let trailing = pattern.bytes().rev().take_while(|b| *b == b'\\').count();
                if trailing % 2 == 1 {
                    return Err(Error::invalid_query(
                        table,
                        format!(
                            "the $like pattern for {column:?} ends with the escape character \\ \
                             (write \\\\ for a backslash)"
                        ),
                    ));
                }
                Filter::Like { column, pattern }
            }
            Filter::Null { column, is_null } => {
                schema.require_column(&column)?;
                Filter::Null { column, is_null }
            }
            Filter::And(all) => Filter::And(
                all.into_iter()
                    .map(|f| f.resolve(schema))
                    .collect::<Result<Vec<_>>>()?,
            ),
            Filter::Or(any) => Filter::Or(
                any.into_iter()
                    .map(|f| f.resolve(schema))
                    .collect::<Result<Vec<_>>>()?,
            ),
            Filter::Not(inner) => Filter::Not(Box::new(inner.resolve(schema)?)),
        })
    }
}

impl std::ops::Not for Filter {
    type Output = Filter;

    /// [`Filter::negate`].
    fn not(self) -> Filter {
        self.negate()
    }
}

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Ascending (the default).
    #[default]
    Asc,
    /// Descending.
    Desc,
}

/// One sort key of a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderBy {
    /// The column sorted on.
    pub column: String,
    /// The direction.
    pub direction: Direction,
}

impl OrderBy {
    /// Ascending on `column`.
    pub fn asc(column: impl Into<String>) -> Self {
        OrderBy {
            column: column.into(),
            direction: Direction::Asc,
        }
    }

    /// Descending on `column`.
    pub fn desc(column: impl Into<String>) -> Self {
        OrderBy {
            column: column.into(),
            direction: Direction::Desc,
        }
    }
}

/// What `query_table` returns: the rows matching `filter`, sorted by `order_by`, paged by
/// `limit` and `offset`. The default selects every row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryOptions {
    /// The condition rows must meet; `None` for every row.
    pub filter: Option<Filter>,
    /// Sort keys, most significant first.
    pub order_by: Vec<OrderBy>,
    /// At most this many rows.
    pub limit: Option<u64>,
    /// Skip this many rows first.
    pub offset: Option<u64>,
}

/// The longest `$like` pattern accepted, in bytes: SQLite's own limit (it refuses a longer one
/// as "too complex").
pub const MAX_LIKE_PATTERN_LEN: usize = 50_000;

/// The largest LIMIT or OFFSET accepted: both backends take signed 64-bit counts.
pub const MAX_PAGE_BOUND: u64 = i64::MAX as u64;

const OPERATORS: &str = "$eq, $ne, $lt, $lte, $gt, $gte, $in, $nin, $like, $null";

impl Filter {
    /// Whether it is a condition on a column rather than `And`, `Or` or `Not` of filters.
    pub(crate) fn is_condition(&self) -> bool {
        !matches!(self, Filter::And(_) | Filter::Or(_) | Filter::Not(_))
    }

    /// Whether every column the filter names is a column of `schema` (walked without
    /// recursion: a filter past the depth limit is measured before this is asked).
    pub(crate) fn names_only_columns_of(&self, schema: &TableSchema) -> bool {
        // Conditions are checked where they are met; only nested `And` / `Or` / `Not` wait on
        // the stack, so the usual filter (a condition, or a list of them) allocates nothing.
        let mut pending: Vec<&Filter> = Vec::new();
        let mut next = Some(self);
        while let Some(filter) = next.take().or_else(|| pending.pop()) {
            match filter {
                Filter::And(all) | Filter::Or(all) => {
                    for filter in all {
                        match filter.condition_column() {
                            Some(column) if schema.column(column).is_none() => return false,
                            Some(_) => {}
                            None => pending.push(filter),
                        }
                    }
                }
                Filter::Not(inner) => next = Some(inner),
                condition => {
                    if condition
                        .condition_column()
                        .is_some_and(|column| schema.column(column).is_none())
                    {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// The column a single condition names; `None` for `And`, `Or` and `Not`.
    fn condition_column(&self) -> Option<&str> {
        match self {
            Filter::Compare { column, .. }
            | Filter::In { column, .. }
            | Filter::Like { column, .. }
            | Filter::Null { column, .. } => Some(column),
            Filter::And(_) | Filter::Or(_) | Filter::Not(_) => None,
        }
    }
}

impl QueryOptions {
    /// Every row, in no particular order.
    pub fn new() -> Self {
        QueryOptions::default()
    }

    /// Whether every column the options name (in the filter and the sort keys) is a column
    /// of `schema`.
    pub(crate) fn names_only_columns_of(&self, schema: &TableSchema) -> bool {
        self.order_by
            .iter()
            .all(|order| schema.column(&order.column).is_some())
            && self
                .filter
                .as_ref()
                .is_none_or(|filter| filter.names_only_columns_of(schema))
    }

    /// Adds a condition (ANDed with any already set).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(match self.filter.take() {
            Some(existing) => existing.and(filter),
            None => filter,
        });
        self
    }

    /// Adds a sort key.
    pub fn order_by(mut self, order: OrderBy) -> Self {
        self.order_by.push(order);
        self
    }

    /// Returns at most `limit` rows.
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Skips the first `offset` rows.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Checks the options against `schema` (columns, value types, operators, page bounds) and
    /// converts every value to its column's type.
    pub fn resolve(self, schema: &TableSchema) -> Result<QueryOptions> {
        let table = schema.name.as_str();
        for order in &self.order_by {
            let col = schema.require_column(&order.column)?;
            if col.column_type == ColumnType::Json {
                return Err(Error::invalid_query(
                    table,
                    format!("cannot order by json column {:?}", order.column),
                ));
            }
        }
        for (name, bound) in [("limit", self.limit), ("offset", self.offset)] {
            if bound.is_some_and(|b| b > MAX_PAGE_BOUND) {
                return Err(Error::invalid_query(
                    table,
                    format!("{name} is larger than {MAX_PAGE_BOUND}"),
                ));
            }
        }
        Ok(QueryOptions {
            filter: self.filter.map(|f| f.resolve(schema)).transpose()?,
            ..self
        })
    }

    /// Reads the JSON form `{"where", "orderBy", "limit", "offset"}` (every key optional) for a
    /// query on `schema`'s table, checked as by [`resolve`](Self::resolve).
    ///
    /// `where` maps columns to a value (equality; `null` means IS NULL) or to an operator object
    /// (`$eq $ne $lt $lte $gt $gte $in $nin $like $null`, several in one object are ANDed). On a
    /// json column a plain object means equality with that document. Beside column keys,
    /// `"$and": [where, ...]`, `"$or": [where, ...]` (each list not empty) and
    /// `"$not": where` combine whole where objects ([`Filter::And`], [`Filter::Or`],
    /// [`Filter::Not`]); every key of one object must hold. `orderBy` is a list of
    /// `{"column", "direction"}` (direction `asc` or `desc`, default `asc`), one such object, or
    /// a column name (ascending).
    ///
    /// ```
    /// use memtable::{Column, ColumnType, Constraint, Filter, OrderBy, QueryOptions, TableSchema};
    /// use serde_json::json;
    ///
    /// let schema = TableSchema::new("tasks", vec![
    ///     Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey),
    ///     Column::new("owner", ColumnType::Text),
    ///     Column::new("priority", ColumnType::Integer),
    /// ]);
    /// let options = QueryOptions::from_json(&schema, &json!({
    ///     "where": {"owner": "u1", "$or": [{"priority": {"$gte": 3}}, {"$not": {"id": "t1"}}]},
    ///     "orderBy": "priority"
    /// }))?;
    /// assert_eq!(options.filter, Some(Filter::And(vec![
    ///     Filter::Or(vec![Filter::gte("priority", 3), Filter::eq("id", "t1").negate()]),
    ///     Filter::eq("owner", "u1"),
    /// ])));
    /// assert_eq!(options.order_by, vec![OrderBy::asc("priority")]);
    /// # Ok::<(), memtable::Error>(())
    /// ```
    pub fn from_json(schema: &TableSchema, json: &serde_json::Value) -> Result<QueryOptions> {
        let table = schema.name.as_str();
        let object = match json {
            serde_json::Value::Null => return Ok(QueryOptions::default()),
            serde_json::Value::Object(object) => object,
            _ => {
                return Err(Error::invalid_query(
                    table,
                    "queryOptions must be an object",
                ));
            }
        };
        let mut options = QueryOptions::default();
        for (key, value) in object {
            match key.as_str() {
                "where" => options.filter = parse_where(schema, value)?,
                "orderBy" => options.order_by = parse_order_by(table, value)?,
                "limit" => options.limit = parse_page_bound(table, "limit", value)?,
                "offset" => options.offset = parse_page_bound(table, "offset", value)?,
                other => {
                    return Err(Error::invalid_query(
                        table,
                        format!(
                            "unknown query option {:?}; valid: where, orderBy, limit, offset",
                            crate::error::truncate(other)
                        ),
                    ));
                }
            }
        }
        options.resolve(schema)
    }
}

fn parse_page_bound(table: &str, name: &str, json: &serde_json::Value) -> Result<Option<u64>> {
    match json {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => match n.as_u64() {
            Some(bound) if bound <= MAX_PAGE_BOUND => Ok(Some(bound)),
            _ => Err(Error::invalid_query(
                table,
                format!("{name} must be a whole number from 0 to {MAX_PAGE_BOUND}"),
            )),
        },
        _ => Err(Error::invalid_query(
            table,
            format!("{name} must be a number"),
        )),
    }
}

/// What `orderBy` accepts, for the message refusing anything else.
pub(crate) const ORDER_BY_FORMS: &str = "orderBy must be a column name (\"created_at\"), one {\"column\", \
                              \"direction\"} object, or a list of them ([{\"column\": \
                              \"created_at\", \"direction\": \"desc\"}])";

fn parse_order_by(table: &str, json: &serde_json::Value) -> Result<Vec<OrderBy>> {
    let items: Vec<&serde_json::Value> = match json {
        serde_json::Value::Null => return Ok(Vec::new()),
        serde_json::Value::String(column) => return Ok(vec![OrderBy::asc(column.clone())]),
        serde_json::Value::Array(items) => items.iter().collect(),
        single @ serde_json::Value::Object(_) => vec![single],
        other => {
            return Err(Error::invalid_query(
                table,
                format!("{ORDER_BY_FORMS}; got {}", json_kind(other)),
            ));
        }
    };
    items
        .into_iter()
        .map(|item| {
            let Some(object) = item.as_object() else {
                return Err(Error::invalid_query(
                    table,
                    format!(
                        "each entry of an orderBy list must be a {{\"column\", \"direction\"}} \
                         object; got {} ({ORDER_BY_FORMS})",
                        json_kind(item)
                    ),
                ));
            };
            if let Some(extra) = object
                .keys()
                .find(|k| !matches!(k.as_str(), "column" | "direction"))
            {
                return Err(Error::invalid_query(
                    table,
                    format!(
                        "unknown orderBy key {:?}; valid: column, direction",
                        crate::error::truncate(extra)
                    ),
                ));
            }
            let column = object
                .get("column")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| Error::invalid_query(table, "orderBy entry needs a column name"))?;
            let direction = match object.get("direction") {
                None | Some(serde_json::Value::Null) => Direction::Asc,
                Some(serde_json::Value::String(d)) if d.eq_ignore_ascii_case("asc") => {
                    Direction::Asc
                }
                Some(serde_json::Value::String(d)) if d.eq_ignore_ascii_case("desc") => {
                    Direction::Desc
                }
                Some(_) => {
                    return Err(Error::invalid_query(
                        table,
                        format!(
                            "orderBy direction for {:?} must be \"asc\" or \"desc\"",
                            crate::error::truncate(column)
                        ),
                    ));
                }
            };
            Ok(OrderBy {
                column: column.to_owned(),
                direction,
            })
        })
        .collect()
}

/// What a JSON value is, in a message.
/// Refuses, for a write by filter, a filter that matches every row by construction: an empty
/// `And` (or one of only such filters), an empty `NOT IN` list, the negation of a filter that
/// matches no row by construction: a write by filter must say which rows it changes.
pub(crate) fn require_condition(table: &str, filter: &Filter) -> Result<()> {
    if matches_every_row(filter) {
        return Err(Error::invalid_query(
            table,
            "a write by filter needs a condition; an empty filter would change every row",
        ));
    }
    Ok(())
}

/// Whether `filter` matches every row whatever the rows hold. The caller has bounded its depth
/// (see [`Limits`](crate::Limits)).
fn matches_every_row(filter: &Filter) -> bool {
    match filter {
        Filter::And(all) => all.iter().all(matches_every_row),
        Filter::Or(any) => any.iter().any(matches_every_row),
        Filter::In {
            values, negated, ..
        } => *negated && values.is_empty(),
        Filter::Not(inner) => matches_no_row(inner),
        Filter::Compare { .. } | Filter::Like { .. } | Filter::Null { .. } => false,
    }
}

/// Whether `filter` matches no row whatever the rows hold.
fn matches_no_row(filter: &Filter) -> bool {
    match filter {
        Filter::And(all) => all.iter().any(matches_no_row),
        Filter::Or(any) => any.iter().all(matches_no_row),
        Filter::In {
            values, negated, ..
        } => !*negated && values.is_empty(),
        Filter::Not(inner) => matches_every_row(inner),
        Filter::Compare { .. } | Filter::Like { .. } | Filter::Null { .. } => false,
    }
}

pub(crate) fn json_kind(json: &serde_json::Value) -> &'static str {
    match json {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The keys of a `where` object other than column names.
const WHERE_KEYS: &str = "$and, $or, $not or a column name; the column operators ($eq $ne $lt \
                          $lte $gt $gte $in $nin $like $null) go inside a column's condition, as \
                          {\"n\": {\"$gt\": 1}}";

fn parse_where(schema: &TableSchema, json: &serde_json::Value) -> Result<Option<Filter>> {
    let table = schema.name.as_str();
    match json {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Object(object) if object.is_empty() => Ok(None),
        serde_json::Value::Object(object) => where_object(schema, object, 1).map(Some),
        _ => Err(Error::invalid_query(
            table,
            "where must be an object of column conditions",
        )),
    }
}

/// The filter of one `where` object (its keys ANDed), `depth` levels of `$and`, `$or` and
/// `$not` deep.
fn where_object(
    schema: &TableSchema,
    object: &serde_json::Map<String, serde_json::Value>,
    depth: usize,
) -> Result<Filter> {
    let table = schema.name.as_str();
    // Bounds the recursion whatever the document; the store's own limit is checked later.
    if depth > crate::limits::MAX_FILTER_DEPTH {
        return Err(Error::LimitExceeded {
            limit: crate::limits::LimitKind::FilterDepth,
            table: crate::error::truncate(table),
            max: crate::limits::MAX_FILTER_DEPTH,
            actual: depth,
        });
    }
    let mut filters = Vec::with_capacity(object.len());
    for (name, condition) in object {
        match name.as_str() {
            "$and" | "$or" => {
                let items = match condition {
                    serde_json::Value::Array(items) => items,
                    other => {
                        return Err(Error::invalid_query(
                            table,
                            format!(
                                "{name} must be a list of where objects, such as \
                                 {{\"{name}\": [{{\"a\": 1}}, {{\"b\": {{\"$gt\": 2}}}}]}}; \
                                 got {}",
                                json_kind(other)
                            ),
                        ));
                    }
                };
                if items.is_empty() {
                    return Err(Error::invalid_query(
                        table,
                        format!(
                            "{name} needs at least one condition: a list of where objects, such \
                             as [{{\"a\": 1}}, {{\"b\": 2}}]"
                        ),
                    ));
                }
                let children = items
                    .iter()
                    .map(|item| match item {
                        serde_json::Value::Object(o) if !o.is_empty() => {
                            where_object(schema, o, depth + 1)
                        }
                        other => Err(Error::invalid_query(
                            table,
                            format!(
                                "each entry of {name} must be a where object with at least one \
                                 condition, such as {{\"a\": 1}}; got {}",
                                if other.is_object() {
                                    "an empty object"
                                } else {
                                    json_kind(other)
                                }
                            ),
                        )),
                    })
                    .collect::<Result<Vec<_>>>()?;
                filters.push(if name == "$and" {
                    Filter::And(children)
                } else {
                    Filter::Or(children)
                });
            }
            "$not" => match condition {
                serde_json::Value::Object(o) if !o.is_empty() => {
                    filters.push(where_object(schema, o, depth + 1)?.negate());
                }
                other => {
                    return Err(Error::invalid_query(
                        table,
                        format!(
                            "$not must be a where object with at least one condition, such as \
                             {{\"$not\": {{\"a\": 1}}}}; got {}",
                            if other.is_object() {
                                "an empty object"
                            } else {
                                json_kind(other)
                            }
                        ),
                    ));
                }
            },
            unknown if unknown.starts_with('$') => {
                return Err(Error::invalid_query(
                    table,
                    format!(
                        "unknown key {:?} in where; valid: {WHERE_KEYS}",
                        crate::error::truncate(unknown)
                    ),
                ));
            }
            _ => column_condition(schema, name, condition, &mut filters)?,
        }
    }
    Ok(match filters.len() {
        1 => filters.pop().unwrap_or(Filter::And(Vec::new())),
        _ => Filter::And(filters),
    })
}

/// Appends the conditions `{name: condition}` of a `where` object sets on a column.
fn column_condition(
    schema: &TableSchema,
    name: &str,
    condition: &serde_json::Value,
    filters: &mut Vec<Filter>,
) -> Result<()> {
    let table = schema.name.as_str();
    let column = schema.require_column(name)?;
    let operators = condition
        .as_object()
        .filter(|o| !o.is_empty() && o.keys().all(|k| k.starts_with('$')));
    match operators {
        // A plain object on a json column is a document to compare with.
        None => {
            if let Some(o) = condition.as_object()
                && column.column_type != ColumnType::Json
                && o.keys().any(|k| k.starts_with('$'))
            {
                return Err(Error::invalid_query(
                    table,
                    format!("the condition on {name:?} mixes operators and plain keys"),
                ));
            }
            let value = Value::from_json(table, column, condition)?;
            filters.push(Filter::eq(name, value));
        }
        Some(operators) => {
            for (op, operand) in operators {
                filters.push(parse_operator(schema, name, op, operand)?);
            }
        }
    }
    Ok(())
}

fn parse_operator(
    schema: &TableSchema,
    name: &str,
    op: &str,
    operand: &serde_json::Value,
) -> Result<Filter> {
    let table = schema.name.as_str();
    let column = schema.require_column(name)?;
    let value = || Value::from_json(table, column, operand);
    let list = || -> Result<Vec<Value>> {
        match operand {
            serde_json::Value::Array(items) => items
                .iter()
                .map(|i| Value::from_json(table, column, i))
                .collect(),
            _ => Err(Error::invalid_query(
                table,
                format!("{op} on {name:?} needs a list"),
            )),
        }
    };
    let compare = |op| {
        value().map(|value| Filter::Compare {
            column: name.to_owned(),
            op,
            value,
        })
    };
    match op {
        "$eq" => compare(CompareOp::Eq),
        "$ne" => compare(CompareOp::Ne),
        "$lt" => compare(CompareOp::Lt),
        "$lte" => compare(CompareOp::Lte),
        "$gt" => compare(CompareOp::Gt),
        "$gte" => compare(CompareOp::Gte),
        "$in" => Ok(Filter::In {
            column: name.to_owned(),
            values: list()?,
            negated: false,
        }),
        "$nin" => Ok(Filter::In {
            column: name.to_owned(),
            values: list()?,
            negated: true,
        }),
        "$like" => match operand {
            serde_json::Value::String(pattern) => Ok(Filter::like(name, pattern.clone())),
            _ => Err(Error::invalid_query(
                table,
                format!("$like on {name:?} needs a string pattern"),
            )),
        },
        "$null" => match operand {
            serde_json::Value::Bool(is_null) => Ok(Filter::Null {
                column: name.to_owned(),
                is_null: *is_null,
            }),
            _ => Err(Error::invalid_query(
                table,
                format!("$null on {name:?} needs true or false"),
            )),
        },
        unknown => Err(Error::invalid_query(
            table,
            format!(
                "unknown operator {:?} on {name:?}; valid: {OPERATORS}",
                crate::error::truncate(unknown)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, Constraint};
    use serde_json::json;

    fn schema() -> TableSchema {
        TableSchema::new(
            "t",
            vec![
                Column::new("id", ColumnType::Text).with(Constraint::PrimaryKey),
                Column::new("n", ColumnType::Integer),
                Column::new("doc", ColumnType::Json),
                Column::new("flag", ColumnType::Boolean),
            ],
        )
    }

    fn parse(json: serde_json::Value) -> Result<QueryOptions> {
        QueryOptions::from_json(&schema(), &json)
    }

    fn reason(result: Result<QueryOptions>) -> String {
        match result {
            Err(Error::InvalidQuery { reason, .. }) => reason,
            other => panic!("expected InvalidQuery, got {other:?}"),
        }
    }

    #[test]
    fn default_selects_everything() {
        assert_eq!(parse(json!({})).unwrap(), QueryOptions::default());
        assert_eq!(parse(json!(null)).unwrap(), QueryOptions::default());
    }

    #[test]
    fn where_equality_null_and_operators() {
        let options =
            parse(json!({"where": {"id": "a", "n": {"$gte": 1, "$lt": 5}, "flag": null}})).unwrap();
        assert_eq!(
            options.filter,
            Some(Filter::And(vec![
                Filter::eq("flag", Value::Null),
                Filter::eq("id", "a"),
                Filter::gte("n", 1),
                Filter::lt("n", 5),
            ]))
        );
        let options =
            parse(json!({"where": {"n": {"$in": [1, 2]}, "id": {"$like": "a%"}}})).unwrap();
        assert_eq!(
            options.filter,
            Some(Filter::And(vec![
                Filter::like("id", "a%"),
                Filter::is_in("n", [1, 2]),
            ]))
        );
        let options =
            parse(json!({"where": {"n": {"$nin": []}, "flag": {"$null": false}}})).unwrap();
        assert_eq!(
            options.filter,
            Some(Filter::And(vec![
                Filter::is_not_null("flag"),
                Filter::not_in("n", Vec::<i64>::new())
            ]))
        );
    }

    #[test]
    fn a_plain_object_on_a_json_column_is_document_equality() {
        let options = parse(json!({"where": {"doc": {"a": {"$b": 1}}}})).unwrap();
        assert_eq!(
            options.filter,
            Some(Filter::eq("doc", json!({"a": {"$b": 1}})))
        );
        let options = parse(json!({"where": {"doc": {"$ne": {"a": 1}}}})).unwrap();
        assert_eq!(options.filter, Some(Filter::ne("doc", json!({"a": 1}))));
    }

    #[test]
    fn unknown_operator_is_named_with_the_valid_ones() {
        let reason = reason(parse(json!({"where": {"n": {"$regex": "x"}}})));
        assert!(
            reason.contains("$regex") && reason.contains("$nin"),
            "{reason}"
        );
    }

    #[test]
    fn unknown_columns_are_refused_everywhere() {
        for query in [
            json!({"where": {"nope": 1}}),
            json!({"where": {"x\"; DROP TABLE t; --": 1}}),
            json!({"orderBy": [{"column": "nope"}]}),
            json!({"orderBy": [{"column": "id; DROP TABLE t"}]}),
        ] {
            assert!(matches!(parse(query), Err(Error::UnknownColumn { .. })));
        }
    }

    #[test]
    fn order_by_directions() {
        let options =
            parse(json!({"orderBy": [{"column": "n", "direction": "DESC"}, {"column": "id"}]}))
                .unwrap();
        assert_eq!(
            options.order_by,
            vec![OrderBy::desc("n"), OrderBy::asc("id")]
        );
        let options = parse(json!({"orderBy": {"column": "n", "direction": "asc"}})).unwrap();
        assert_eq!(options.order_by, vec![OrderBy::asc("n")]);
        assert!(
            reason(parse(
                json!({"orderBy": [{"column": "n", "direction": "desc; DROP TABLE t"}]})
            ))
            .contains("asc")
        );
        reason(parse(json!({"orderBy": [{"column": "n", "dir": "asc"}]})));
        assert_eq!(
            parse(json!({"orderBy": "n"})).unwrap().order_by,
            vec![OrderBy::asc("n")]
        );
        for wrong in [
            json!(1),
            json!(true),
            json!(["n"]),
            json!([[{"column": "n"}]]),
        ] {
            let reason = reason(parse(json!({ "orderBy": wrong })));
            assert!(
                reason.contains("orderBy")
                    && reason.contains("column name")
                    && reason.contains("list"),
                "{reason}"
            );
        }
        assert!(matches!(
            parse(json!({"orderBy": "nope"})),
            Err(Error::UnknownColumn { .. })
        ));
    }

    #[test]
    fn where_combines_with_and_or_not() {
        let options = parse(json!({"where": {
            "id": "a",
            "$or": [{"n": 1}, {"n": {"$gt": 5}, "flag": true}],
            "$not": {"flag": null},
            "$and": [{"n": {"$lt": 9}}]
        }}))
        .unwrap();
        assert_eq!(
            options.filter,
            Some(Filter::And(vec![
                Filter::And(vec![Filter::lt("n", 9)]),
                Filter::eq("flag", Value::Null).negate(),
                Filter::Or(vec![
                    Filter::eq("n", 1),
                    Filter::And(vec![Filter::eq("flag", true), Filter::gt("n", 5)]),
                ]),
                Filter::eq("id", "a"),
            ]))
        );
        let options = parse(json!({"where": {"$not": {"$or": [{"n": 1}, {"n": 2}]}}})).unwrap();
        assert_eq!(
            options.filter,
            Some(!Filter::eq("n", 1).or(Filter::eq("n", 2)))
        );
        // Values inside are checked against their columns as at the top.
        assert!(matches!(
            parse(json!({"where": {"$or": [{"n": "x"}]}})),
            Err(Error::TypeMismatch { .. })
        ));
        assert!(matches!(
            parse(json!({"where": {"$not": {"nope": 1}}})),
            Err(Error::UnknownColumn { .. })
        ));
    }

    #[test]
    fn bad_combinations_say_what_is_expected() {
        for (query, words) in [
            (json!({"$or": []}), vec!["$or", "at least one"]),
            (json!({"$and": []}), vec!["$and", "at least one"]),
            (
                json!({"$or": {"n": 1}}),
                vec!["$or", "list of where objects", "an object"],
            ),
            (json!({"$and": "n"}), vec!["$and", "list", "a string"]),
            (json!({"$or": [1]}), vec!["$or", "where object", "a number"]),
            (json!({"$or": [{}]}), vec!["$or", "empty object"]),
            (
                json!({"$not": [{"n": 1}]}),
                vec!["$not", "where object", "a list"],
            ),
            (json!({"$not": {}}), vec!["$not", "empty object"]),
            (
                json!({"$nor": [{"n": 1}]}),
                vec!["$nor", "$and", "$or", "$not", "$gt", "$like"],
            ),
            (
                json!({"$gt": 1}),
                vec!["\"$gt\"", "$and", "inside a column"],
            ),
            (json!({"n": {"$or": [1]}}), vec!["unknown operator", "$nin"]),
        ] {
            let reason = reason(parse(json!({ "where": query })));
            for word in words {
                assert!(reason.contains(word), "{word:?} not in {reason:?}");
            }
        }
    }

    #[test]
    fn where_nesting_is_bounded_while_reading() {
        let mut query = json!({"n": 1});
        for _ in 0..200 {
            query = json!({ "$not": query });
        }
        assert!(matches!(
            parse(json!({ "where": query })),
            Err(Error::LimitExceeded { .. })
        ));
    }

    #[test]
    fn limit_and_offset_are_non_negative_integers() {
        let options = parse(json!({"limit": 10, "offset": 5})).unwrap();
        assert_eq!((options.limit, options.offset), (Some(10), Some(5)));
        assert_eq!(parse(json!({"offset": 5})).unwrap().limit, None);
        reason(parse(json!({"limit": -1})));
        reason(parse(json!({"limit": 1.5})));
        reason(parse(json!({"limit": "10"})));
        reason(parse(json!({"offset": u64::MAX})));
        reason(parse(json!({"where": {}, "limt": 1})));
    }

    #[test]
    fn values_must_fit_their_columns() {
        assert!(matches!(
            parse(json!({"where": {"n": "1"}})),
            Err(Error::TypeMismatch { .. })
        ));
        assert!(matches!(
            parse(json!({"where": {"n": {"$in": [1, "x"]}}})),
            Err(Error::TypeMismatch { .. })
        ));
        assert!(matches!(
            parse(json!({"where": {"flag": 1}})),
            Err(Error::TypeMismatch { .. })
        ));
        reason(parse(json!({"where": {"n": {"$like": "1%"}}})));
        reason(parse(json!({"where": {"id": {"$like": "a\\"}}})));
        reason(parse(json!({"where": {"id": {"$like": "\\\\\\"}}})));
        assert!(parse(json!({"where": {"id": {"$like": "a\\\\"}}})).is_ok());
        assert!(parse(json!({"where": {"id": {"$like": "\\%"}}})).is_ok());
        let pattern = "%".repeat(MAX_LIKE_PATTERN_LEN);
        assert!(parse(json!({"where": {"id": {"$like": pattern}}})).is_ok());
        reason(parse(json!({"where": {"id": {"$like": pattern + "%"}}})));
        assert!(matches!(
            parse(json!({"where": {"id": {"$like": "a\u{0}"}}})),
            Err(Error::TypeMismatch { .. })
        ));
        reason(parse(json!({"where": {"doc": {"$lt": 1}}})));
        reason(parse(json!({"where": {"n": {"$in": 1}}})));
        reason(parse(json!({"where": {"n": {"$in": [1, null]}}})));
        reason(parse(json!({"where": {"n": {"$null": 1}}})));
        reason(parse(json!({"where": {"n": {"$gt": 1, "plain": 2}}})));
        reason(parse(json!({"orderBy": [{"column": "doc"}]})));
        reason(parse(json!({"where": [1]})));
    }

    #[test]
    fn typed_filters_are_resolved_against_the_schema() {
        let resolved = QueryOptions::new()
            .filter(Filter::eq("n", 2.0))
            .filter(Filter::eq("doc", "x"))
            .resolve(&schema())
            .unwrap();
        assert_eq!(
            resolved.filter,
            Some(Filter::And(vec![
                Filter::eq("n", 2),
                Filter::eq("doc", json!("x"))
            ]))
        );
        assert!(matches!(
            QueryOptions::new()
                .filter(Filter::eq("n", "2"))
                .resolve(&schema()),
            Err(Error::TypeMismatch { .. })
        ));
        assert!(matches!(
            QueryOptions::new().limit(u64::MAX).resolve(&schema()),
            Err(Error::InvalidQuery { .. })
        ));
    }
}
