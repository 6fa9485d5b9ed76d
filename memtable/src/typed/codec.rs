//! How a Rust field maps to a column: the column kinds, the default kind of each supported type
//! ([`SqlType`]), and the conversion between a field's value and a [`Value`] ([`Codec`]).
//!
//! Non-json fields convert directly (a `String` becomes [`Value::Text`]); json fields go through
//! serde_json. Decoding never panics: a value of the wrong kind is [`Error::TypeMismatch`]
//! naming the table and column.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::any::Any;

use crate::error::{Error, Result};
use crate::schema::ColumnType;
use crate::value::Value;

/// The kinds of column, one marker type per [`ColumnType`]; a typed column handle carries its
/// column's kind, so that, for instance, `like` compiles only on a text column.
pub mod kind {
    /// A `text` column.
    #[derive(Debug, Clone, Copy)]
    pub enum Text {}
    /// An `integer` (32-bit) column.
    #[derive(Debug, Clone, Copy)]
    pub enum Integer {}
    /// A `bigint` (64-bit) column.
    #[derive(Debug, Clone, Copy)]
    pub enum Bigint {}
    /// A `real` column.
    #[derive(Debug, Clone, Copy)]
    pub enum Real {}
    /// A `blob` column.
    #[derive(Debug, Clone, Copy)]
    pub enum Blob {}
    /// A `json` column.
    #[derive(Debug, Clone, Copy)]
    pub enum Json {}
    /// A `boolean` column.
    #[derive(Debug, Clone, Copy)]
    pub enum Boolean {}
}

/// A column kind marker ([`kind`]) and the [`ColumnType`] it stands for.
pub trait ColumnKind {
    /// The column's logical type.
    const COLUMN_TYPE: ColumnType;
}

macro_rules! column_kinds {
    ($($kind:ident),*) => {$(
        impl ColumnKind for kind::$kind {
            const COLUMN_TYPE: ColumnType = ColumnType::$kind;
        }
    )*};
}

column_kinds!(Text, Integer, Bigint, Real, Blob, Json, Boolean);

/// A Rust type that can be a field of a `#[derive(Table)]` struct without `#[memtable(json)]`,
/// and the kind of column it maps to.
///
/// | Rust type                          | column  |
/// |------------------------------------|---------|
/// | `String`, `uuid::Uuid`             | text    |
/// | `i32` (`i8`, `i16`, `u8`, `u16`)   | integer |
/// | `i64` (`u32`)                      | bigint  |
/// | `f64` (`f32`)                      | real    |
/// | `bool`                             | boolean |
/// | `Vec<u8>`                          | blob    |
/// | `serde_json::Value`                | json    |
///
/// `Option<T>` of any of them is the same column, nullable.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the type of a memtable column",
    label = "unsupported field type",
    note = "supported: String, uuid::Uuid, i8, i16, i32, i64, u8, u16, u32, f32, f64, bool, Vec<u8>, serde_json::Value, and Option<T> of those",
    note = "to store any other serde type as json, mark the field #[memtable(json)]"
)]
pub trait SqlType {
    /// The kind of column the type maps to.
    type Kind: ColumnKind;
}

/// Where a value belongs, for errors: the table and the column.
#[derive(Debug, Clone, Copy)]
pub struct Site {
    /// The table.
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
}

impl Site {
    /// [`Error::TypeMismatch`] for this column, which is of type `expected`.
    pub fn mismatch(&self, expected: ColumnType, found: impl Into<String>) -> Error {
        Error::TypeMismatch {
            table: self.table.to_owned(),
            column: self.column.to_owned(),
            expected,
            found: found.into(),
        }
    }
}

/// The conversion of a field's value (`V`) to and from the [`Value`] of a column of this kind.
///
/// Implemented for every supported pair: each native type for its kind (and, for integers, both
/// `integer` and `bigint`, so that `#[memtable(type = "bigint")]` works on an `i32`), and any
/// serde type for [`kind::Json`].
#[diagnostic::on_unimplemented(
    message = "a field of type `{V}` cannot be stored in a column of kind `{Self}`",
    label = "this type does not fit the column",
    note = "text: String, uuid::Uuid; integer and bigint: i8, i16, i32, i64, u8, u16, u32; real: f64, f32; boolean: bool; blob: Vec<u8>; json: any type that implements serde's Serialize and Deserialize"
)]
pub trait Codec<V>: ColumnKind {
    /// The value to write for `value`.
    fn encode(value: &V, site: &Site) -> Result<Value>;

    /// The field value of a non-NULL column value.
    fn decode(value: Value, site: &Site) -> Result<V>;

    /// The field value of a NULL, for a field that is not an `Option`: an error, except for
    /// json types that have a null (`serde_json::Value::Null`).
    fn decode_null(site: &Site) -> Result<V> {
        Err(site.mismatch(Self::COLUMN_TYPE, "null"))
    }
}

fn unexpected(site: &Site, expected: ColumnType, value: &Value) -> Error {
    site.mismatch(expected, value.kind_name())
}

impl SqlType for String {
    type Kind = kind::Text;
}

impl Codec<String> for kind::Text {
    fn encode(value: &String, _: &Site) -> Result<Value> {
        Ok(Value::Text(value.clone()))
    }

    fn decode(value: Value, site: &Site) -> Result<String> {
        match value {
            Value::Text(text) => Ok(text),
            other => Err(unexpected(site, ColumnType::Text, &other)),
        }
    }
}

impl SqlType for uuid::Uuid {
    type Kind = kind::Text;
}

impl Codec<uuid::Uuid> for kind::Text {
    fn encode(value: &uuid::Uuid, _: &Site) -> Result<Value> {
        Ok(Value::Text(value.to_string()))
    }

    fn decode(value: Value, site: &Site) -> Result<uuid::Uuid> {
        match value {
            Value::Text(text) => uuid::Uuid::parse_str(&text)
                .map_err(|_| site.mismatch(ColumnType::Text, "text that is not a UUID")),
            other => Err(unexpected(site, ColumnType::Text, &other)),
        }
    }
}

macro_rules! integers {
    ($($ty:ident => $kind:ident),* $(,)?) => {$(
        impl SqlType for $ty {
            type Kind = kind::$kind;
        }

        impl Codec<$ty> for kind::Integer {
            fn encode(value: &$ty, _: &Site) -> Result<Value> {
                Ok(Value::Integer(i64::from(*value)))
            }

            fn decode(value: Value, site: &Site) -> Result<$ty> {
                decode_integer(value, site, ColumnType::Integer)
            }
        }

        impl Codec<$ty> for kind::Bigint {
            fn encode(value: &$ty, _: &Site) -> Result<Value> {
                Ok(Value::Integer(i64::from(*value)))
            }

            fn decode(value: Value, site: &Site) -> Result<$ty> {
                decode_integer(value, site, ColumnType::Bigint)
            }
        }
    )*};
}

integers! {
    i8 => Integer,
    i16 => Integer,
    i32 => Integer,
    u8 => Integer,
    u16 => Integer,
    u32 => Bigint,
    i64 => Bigint,
}

fn decode_integer<T: TryFrom<i64>>(value: Value, site: &Site, expected: ColumnType) -> Result<T> {
    match value {
        Value::Integer(i) => T::try_from(i).map_err(|_| {
            site.mismatch(
                expected,
                format!("an integer out of range for {}", std::any::type_name::<T>()),
            )
        }),
        other => Err(unexpected(site, expected, &other)),
    }
}

macro_rules! reals {
    ($($ty:ident),*) => {$(
        impl SqlType for $ty {
            type Kind = kind::Real;
        }

        impl Codec<$ty> for kind::Real {
            fn encode(value: &$ty, _: &Site) -> Result<Value> {
                Ok(Value::Real(f64::from(*value)))
            }

            fn decode(value: Value, site: &Site) -> Result<$ty> {
                match value {
                    // f32 fields accept the precision they can hold.
                    Value::Real(f) => Ok(f as $ty),
                    Value::Integer(i) => Ok(i as $ty),
                    other => Err(unexpected(site, ColumnType::Real, &other)),
                }
            }
        }
    )*};
}

reals!(f32, f64);

impl SqlType for bool {
    type Kind = kind::Boolean;
}

impl Codec<bool> for kind::Boolean {
    fn encode(value: &bool, _: &Site) -> Result<Value> {
        Ok(Value::Bool(*value))
    }

    fn decode(value: Value, site: &Site) -> Result<bool> {
        match value {
            Value::Bool(b) => Ok(b),
            other => Err(unexpected(site, ColumnType::Boolean, &other)),
        }
    }
}

impl SqlType for Vec<u8> {
    type Kind = kind::Blob;
}

impl Codec<Vec<u8>> for kind::Blob {
    fn encode(value: &Vec<u8>, _: &Site) -> Result<Value> {
        Ok(Value::Blob(value.clone()))
    }

    fn decode(value: Value, site: &Site) -> Result<Vec<u8>> {
        match value {
            Value::Blob(bytes) => Ok(bytes),
            other => Err(unexpected(site, ColumnType::Blob, &other)),
        }
    }
}

impl SqlType for serde_json::Value {
    type Kind = kind::Json;
}

/// Any serde type in a json column (`#[memtable(json)]`, or a `serde_json::Value` field).
#[diagnostic::do_not_recommend]
impl<V: Serialize + DeserializeOwned + 'static> Codec<V> for kind::Json {
    fn encode(value: &V, site: &Site) -> Result<Value> {
        // A document is its own JSON: cloned, not serialized into a new one.
        if let Some(json) = (value as &dyn Any).downcast_ref::<serde_json::Value>() {
            return Ok(Value::Json(json.clone()));
        }
        serde_json::to_value(value).map(Value::Json).map_err(|_| {
            site.mismatch(
                ColumnType::Json,
                format!(
                    "a {} that serde_json cannot serialize",
                    std::any::type_name::<V>()
                ),
            )
        })
    }

    fn decode(value: Value, site: &Site) -> Result<V> {
        let json = match value {
            Value::Json(json) => json,
            other => other.to_json(),
        };
        // A document is moved out as it is, not deserialized into a copy of itself.
        let mut document = Some(json);
        let same = (&mut document as &mut dyn Any).downcast_mut::<Option<V>>();
        if let Some(document) = same.and_then(Option::take) {
            return Ok(document);
        }
        from_json(document.unwrap_or_default(), site)
    }

    fn decode_null(site: &Site) -> Result<V> {
        from_json(serde_json::Value::Null, site)
    }
}

fn from_json<V: DeserializeOwned>(json: serde_json::Value, site: &Site) -> Result<V> {
    // serde's message may quote the value, which may be a secret: name only the type.
    let kind = match &json {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    };
    serde_json::from_value(json).map_err(|_| {
        site.mismatch(
            ColumnType::Json,
            format!(
                "json ({kind}) that does not deserialize into {}",
                std::any::type_name::<V>()
            ),
        )
    })
}

/// An integer type, which an `auto_increment` key must be.
#[diagnostic::on_unimplemented(
    message = "`auto_increment` needs an integer key, and `{Self}` is not an integer type",
    label = "not an integer",
    note = "an auto_increment key is an integer or bigint column: i32 or i64 (or i8, i16, u8, u16, u32)"
)]
pub trait AutoIncrementKey {}

macro_rules! auto_increment_keys {
    ($($ty:ty),*) => {$( impl AutoIncrementKey for $ty {} )*};
}

auto_increment_keys!(i8, i16, i32, i64, u8, u16, u32);

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: Site = Site {
        table: "t",
        column: "c",
    };

    #[test]
    fn native_values_round_trip_without_json() {
        let text = <kind::Text as Codec<String>>::encode(&"x".to_owned(), &SITE).unwrap();
        assert_eq!(text, Value::Text("x".into()));
        assert_eq!(
            <kind::Bigint as Codec<i32>>::encode(&7, &SITE).unwrap(),
            Value::Integer(7)
        );
        assert_eq!(
            <kind::Blob as Codec<Vec<u8>>>::decode(Value::Blob(vec![1]), &SITE).unwrap(),
            vec![1]
        );
    }

    #[test]
    fn decoding_the_wrong_kind_is_a_type_mismatch() {
        assert!(matches!(
            <kind::Integer as Codec<i8>>::decode(Value::Integer(300), &SITE),
            Err(Error::TypeMismatch { ref table, ref column, .. }) if table == "t" && column == "c"
        ));
        assert!(matches!(
            <kind::Text as Codec<String>>::decode(Value::Integer(1), &SITE),
            Err(Error::TypeMismatch { .. })
        ));
        assert!(matches!(
            <kind::Text as Codec<String>>::decode_null(&SITE),
            Err(Error::TypeMismatch { ref found, .. }) if found == "null"
        ));
        assert!(matches!(
            <kind::Text as Codec<uuid::Uuid>>::decode(Value::Text("nope".into()), &SITE),
            Err(Error::TypeMismatch { .. })
        ));
    }

    #[test]
    fn json_errors_never_quote_the_value() {
        let error = <kind::Json as Codec<u32>>::decode(
            Value::Json(serde_json::json!("secret-token")),
            &SITE,
        )
        .unwrap_err();
        assert!(!error.to_string().contains("secret-token"), "{error}");
        assert_eq!(
            <kind::Json as Codec<serde_json::Value>>::decode_null(&SITE).unwrap(),
            serde_json::Value::Null
        );
    }
}
