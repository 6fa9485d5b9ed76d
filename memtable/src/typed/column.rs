//! Typed column handles, and the conditions and sort keys they build.
//!
//! A handle ([`TypedColumn`]) knows its table `T`, its field's value type `V`, its column's kind
//! `K` and whether it is nullable `N`, so that the compiler refuses a value of the wrong type, a
//! condition on another table's column, `like` on a non-text column, `is_null` on a NOT NULL
//! column, and range comparisons or ordering on a json column.

use std::fmt;
use std::marker::PhantomData;

use super::Table;
use super::codec::{Codec, Site, kind};
use crate::error::Result;
use crate::query::{CompareOp, Filter, OrderBy};
use crate::value::Value;

/// Marks a handle on a nullable column (an `Option` field).
#[derive(Debug, Clone, Copy)]
pub enum Nullable {}

/// Marks a handle on a NOT NULL column.
#[derive(Debug, Clone, Copy)]
pub enum NotNull {}

/// The handle of one column of table `T`: field value type `V`, column kind `K` (a
/// [`kind`](super::kind) marker), nullability `N` ([`Nullable`] or [`NotNull`]).
///
/// `#[derive(Table)]` makes one per field, as an associated const named after the field in
/// SCREAMING_SNAKE_CASE (`OauthToken::USER_ID`). Values are taken as [`ColumnArg`]s: on an
/// integer or bigint column, a value of exactly the field's type (so that an integer literal
/// is inferred as that type, `5` as an `i16` on an `i16` field); on any other column, anything
/// that converts into it through `Into<V>` (`&str` for a `String` field). On an `Option<T>`
/// field, `V` is `T`.
///
/// ```
/// use memtable::Table;
///
/// #[derive(Table)]
/// struct Note {
///     #[memtable(primary_key, auto_increment)]
///     id: i64,
///     title: String,
///     due: Option<i64>,
/// }
///
/// let _recent = Note::DUE.gt(1_700_000_000).and(Note::TITLE.like("%rust%"));
/// let _undated = Note::DUE.is_null();
/// let _late = Note::DUE.gte(4_000_000_000); // an i64 literal: the field is an i64
/// let _newest_first = Note::ID.desc();
/// assert_eq!(Note::TITLE.name(), "title");
/// ```
pub struct TypedColumn<T, V, K, N> {
    name: &'static str,
    marker: Marker<(T, V, K, N)>,
}

/// Carries type parameters without owning values of them (so that a handle is `Copy`, `Send`
/// and `Sync` whatever they are).
type Marker<T> = PhantomData<fn() -> T>;

impl<T, V, K, N> Clone for TypedColumn<T, V, K, N> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, V, K, N> Copy for TypedColumn<T, V, K, N> {}

impl<T, V, K, N> fmt::Debug for TypedColumn<T, V, K, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TypedColumn").field(&self.name).finish()
    }
}

impl<T, V, K, N> TypedColumn<T, V, K, N> {
    /// The handle of the column `name` (used by `#[derive(Table)]`; the type parameters are what
    /// makes a handle safe, so prefer the derived consts).
    pub const fn new(name: &'static str) -> Self {
        TypedColumn {
            name,
            marker: PhantomData,
        }
    }

    /// The column's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

#[allow(
    clippy::should_implement_trait,
    reason = "eq/ne/lt/... build conditions, as in a query DSL"
)]
impl<T: Table, V, K: Codec<V>, N> TypedColumn<T, V, K, N> {
    fn site(&self) -> Site {
        Site {
            table: T::TABLE_NAME,
            column: self.name,
        }
    }

    fn encode(&self, value: impl ColumnArg<V, K>) -> Result<Value> {
        K::encode(&value.into_column_value(), &self.site())
    }

    fn compare(self, op: CompareOp, value: impl ColumnArg<V, K>) -> Condition<T> {
        Condition::new(self.encode(value).map(|value| Filter::Compare {
            column: self.name.to_owned(),
            op,
            value,
        }))
    }

    fn list<I>(self, values: I, negated: bool) -> Condition<T>
    where
        I: IntoIterator,
        I::Item: ColumnArg<V, K>,
    {
        let values = values
            .into_iter()
            .map(|v| self.encode(v))
            .collect::<Result<Vec<_>>>();
        Condition::new(values.map(|values| Filter::In {
            column: self.name.to_owned(),
            values,
            negated,
        }))
    }

    /// `column = value`.
    pub fn eq(self, value: impl ColumnArg<V, K>) -> Condition<T> {
        self.compare(CompareOp::Eq, value)
    }

    /// `column <> value`.
    pub fn ne(self, value: impl ColumnArg<V, K>) -> Condition<T> {
        self.compare(CompareOp::Ne, value)
    }

    /// `column < value`.
    pub fn lt(self, value: impl ColumnArg<V, K>) -> Condition<T>
    where
        K: Ordered,
    {
        self.compare(CompareOp::Lt, value)
    }

    /// `column <= value`.
    pub fn lte(self, value: impl ColumnArg<V, K>) -> Condition<T>
    where
        K: Ordered,
    {
        self.compare(CompareOp::Lte, value)
    }

    /// `column > value`.
    pub fn gt(self, value: impl ColumnArg<V, K>) -> Condition<T>
    where
        K: Ordered,
    {
        self.compare(CompareOp::Gt, value)
    }

    /// `column >= value`.
    pub fn gte(self, value: impl ColumnArg<V, K>) -> Condition<T>
    where
        K: Ordered,
    {
        self.compare(CompareOp::Gte, value)
    }

    /// `column IN (values)`; an empty list matches no row.
    pub fn is_in<I>(self, values: I) -> Condition<T>
    where
        I: IntoIterator,
        I::Item: ColumnArg<V, K>,
    {
        self.list(values, false)
    }

    /// `column NOT IN (values)`; an empty list matches every row.
    pub fn not_in<I>(self, values: I) -> Condition<T>
    where
        I: IntoIterator,
        I::Item: ColumnArg<V, K>,
    {
        self.list(values, true)
    }

    /// `column LIKE pattern` (`%` and `_` are wildcards); text columns only.
    pub fn like(self, pattern: impl Into<String>) -> Condition<T>
    where
        K: TextColumn,
    {
        Condition::new(Ok(Filter::Like {
            column: self.name.to_owned(),
            pattern: pattern.into(),
        }))
    }

    /// Ascending order on this column.
    pub fn asc(self) -> Order<T>
    where
        K: Ordered,
    {
        Order::new(OrderBy::asc(self.name))
    }

    /// Descending order on this column.
    pub fn desc(self) -> Order<T>
    where
        K: Ordered,
    {
        Order::new(OrderBy::desc(self.name))
    }
}

impl<T: Table, V, K, N> TypedColumn<T, V, K, N> {
    /// `column IS NULL`; nullable columns (`Option` fields) only.
    pub fn is_null(self) -> Condition<T>
    where
        N: NullableColumn,
    {
        Condition::new(Ok(Filter::is_null(self.name)))
    }

    /// `column IS NOT NULL`; nullable columns (`Option` fields) only.
    pub fn is_not_null(self) -> Condition<T>
    where
        N: NullableColumn,
    {
        Condition::new(Ok(Filter::is_not_null(self.name)))
    }
}

/// The nullability of a column on which `is_null` makes sense: [`Nullable`].
#[diagnostic::on_unimplemented(
    message = "`is_null` needs a nullable column, and this column is NOT NULL",
    label = "`is_null` on a column whose field is not an `Option`",
    note = "only `Option<T>` fields are nullable columns"
)]
pub trait NullableColumn {}

impl NullableColumn for Nullable {}

/// A value a column handle takes for a column of kind `K` whose field type is `V`.
///
/// Which values those are is the kind's [`ArgRule`]: on `integer` and `bigint` columns, values
/// of exactly `V` ([`ExactArg`]), so that an integer literal is inferred as the field's type
/// (`Row::SMALL.eq(5)` on an `i16` field, `Row::BIG.gt(4_000_000_000)` on an `i64` one) and a
/// literal that does not fit is refused by the compiler; on every other column, anything that
/// converts into `V` ([`IntoArg`]: `&str` or `&String` for a `String` field, an integer for an
/// `f64` one).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value for this column, which holds `{V}`",
    label = "expected a value of type `{V}`, or one that converts into it",
    note = "a column handle takes values of its field's type (on an `Option<T>` field, of `T`); an integer column takes exactly that integer type, other columns anything that converts into it with `Into`"
)]
pub trait ColumnArg<V, K> {
    /// The value as the field's type.
    fn into_column_value(self) -> V;
}

#[diagnostic::do_not_recommend]
impl<X, V, K> ColumnArg<V, K> for X
where
    K: ArgRule,
    X: RuleArg<V, K::Rule>,
{
    fn into_column_value(self) -> V {
        self.into_field_value()
    }
}

/// How the handles of a column kind take values (see [`ColumnArg`]): its `Rule` is
/// [`ExactArg`] for `integer` and `bigint` columns, [`IntoArg`] for the others.
pub trait ArgRule {
    /// [`ExactArg`] or [`IntoArg`].
    type Rule;
}

/// The [`ArgRule`] of integer columns: a value of exactly the field's type. Accepting several
/// integer types would leave a literal's type ambiguous, and Rust would make it an `i32`,
/// which does not convert into an `i16`, `u16` or `u32` and overflows past `i32::MAX`.
#[derive(Debug, Clone, Copy)]
pub enum ExactArg {}

/// The [`ArgRule`] of every column kind but integers: any value that converts into the field's
/// type with `Into`.
#[derive(Debug, Clone, Copy)]
pub enum IntoArg {}

impl ArgRule for kind::Integer {
    type Rule = ExactArg;
}
impl ArgRule for kind::Bigint {
    type Rule = ExactArg;
}
impl ArgRule for kind::Text {
    type Rule = IntoArg;
}
impl ArgRule for kind::Real {
    type Rule = IntoArg;
}
impl ArgRule for kind::Blob {
    type Rule = IntoArg;
}
impl ArgRule for kind::Json {
    type Rule = IntoArg;
}
impl ArgRule for kind::Boolean {
    type Rule = IntoArg;
}

/// A value for a field of type `V` under the [`ArgRule`] `R`: for [`IntoArg`], anything that
/// is `Into<V>`; for [`ExactArg`], `V` itself (every integer type a field can have).
pub trait RuleArg<V, R> {
    /// The value as the field's type.
    fn into_field_value(self) -> V;
}

impl<V, X: Into<V>> RuleArg<V, IntoArg> for X {
    fn into_field_value(self) -> V {
        self.into()
    }
}

macro_rules! exact_args {
    ($($ty:ty),*) => {$(
        impl RuleArg<$ty, ExactArg> for $ty {
            fn into_field_value(self) -> $ty {
                self
            }
        }
    )*};
}

exact_args!(i8, i16, i32, i64, u8, u16, u32);

/// A kind of column `like` works on: text.
#[diagnostic::on_unimplemented(
    message = "`like` needs a text column, and this column is of kind `{Self}`",
    label = "`like` on a column that is not text",
    note = "`like` matches text patterns; compare other columns with eq, lt, gt, ..."
)]
pub trait TextColumn {}

impl TextColumn for kind::Text {}

/// A kind of column that has an order: every kind but json, whose documents compare only for
/// equality.
#[diagnostic::on_unimplemented(
    message = "a json column can only be compared for equality, not ordered",
    label = "ordering or range comparison on a json column",
    note = "use eq, ne or is_in on json columns"
)]
pub trait Ordered {}

impl Ordered for kind::Text {}
impl Ordered for kind::Integer {}
impl Ordered for kind::Bigint {}
impl Ordered for kind::Real {}
impl Ordered for kind::Blob {}
impl Ordered for kind::Boolean {}

/// A condition on the rows of table `T`, built from `T`'s column handles.
///
/// A value that cannot be encoded (a json document serde cannot serialize) is kept as an error
/// and reported when the query runs.
#[must_use = "a condition does nothing until a query filters on it"]
pub struct Condition<T> {
    filter: Result<Filter>,
    marker: PhantomData<fn() -> T>,
}

impl<T> Condition<T> {
    fn new(filter: Result<Filter>) -> Self {
        Condition {
            filter,
            marker: PhantomData,
        }
    }

    /// Both this condition and `other` hold.
    pub fn and(self, other: impl IntoCondition<T>) -> Condition<T> {
        let other = other.into_condition();
        Condition::new(match (self.filter, other.filter) {
            (Ok(a), Ok(b)) => Ok(a.and(b)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        })
    }

    /// The dynamic [`Filter`] this condition stands for, or the error met building it.
    pub fn into_filter(self) -> Result<Filter> {
        self.filter
    }
}

impl<T> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Condition").field(&self.filter).finish()
    }
}

/// What `filter` takes on a query of table `T`: a [`Condition<T>`] built from `T`'s columns.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a condition on table `{T}`",
    label = "this condition is not on `{T}`",
    note = "a query on `{T}` can only filter on `{T}`'s own column handles"
)]
pub trait IntoCondition<T> {
    /// The condition.
    fn into_condition(self) -> Condition<T>;
}

impl<T> IntoCondition<T> for Condition<T> {
    fn into_condition(self) -> Condition<T> {
        self
    }
}

/// A sort key on a column of table `T`.
#[must_use = "a sort key does nothing until a query orders by it"]
pub struct Order<T> {
    order: OrderBy,
    marker: PhantomData<fn() -> T>,
}

impl<T> Order<T> {
    fn new(order: OrderBy) -> Self {
        Order {
            order,
            marker: PhantomData,
        }
    }

    /// The dynamic [`OrderBy`] this sort key stands for.
    pub fn into_order_by(self) -> OrderBy {
        self.order
    }
}

impl<T> Clone for Order<T> {
    fn clone(&self) -> Self {
        Order::new(self.order.clone())
    }
}

impl<T> fmt::Debug for Order<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Order").field(&self.order).finish()
    }
}

/// What `order_by` takes on a query of table `T`: an [`Order<T>`] built from `T`'s columns.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a sort key of table `{T}`",
    label = "this sort key is not on `{T}`",
    note = "a query on `{T}` can only order by `{T}`'s own column handles"
)]
pub trait IntoOrder<T> {
    /// The sort key.
    fn into_order(self) -> Order<T>;
}

impl<T> IntoOrder<T> for Order<T> {
    fn into_order(self) -> Order<T> {
        self
    }
}
