//! PostgreSQL's binary `COPY` format, written from values already coerced to their columns'
//! types: a header, then per row the number of fields and each field as its length (-1 for
//! NULL) and its bytes in the type's binary form, then a trailer.
//!
//! The binary forms are those of the types memtable declares: `text` and `bytea` as their
//! bytes, `integer` and `bigint` as big-endian two's complement, `double precision` as the
//! big-endian IEEE 754 bits, `boolean` as one byte, `jsonb` as the version byte 1 and the JSON
//! text. A table whose columns have other types (one memtable did not create) must not be
//! written this way: `json`, for one, takes no version byte.

use sqlx::error::BoxDynError;
use sqlx::postgres::PgConnection;

use crate::backend::driver::{CopySource, WriteFailure};
use crate::backend::sqlx::error::from_sqlx;
use crate::schema::ColumnType;
use crate::value::Value;

/// Writes rows with `sql`, a `COPY … FROM STDIN (FORMAT binary)`: `fill` appends the data of
/// the next rows to the buffer it is given and says whether rows remain. The data goes to the
/// server as it is made, so that the server stores some rows while `fill` makes the next. A
/// failure of `fill` ends the COPY with the rows sent before, for the caller to roll back.
/// Returns the rows written.
pub(super) async fn copy_in(
    conn: &mut PgConnection,
    sql: &str,
    types: &[ColumnType],
    source: CopySource<'_>,
) -> Result<u64, WriteFailure> {
    let mut copy = conn
        .copy_in_raw(sql)
        .await
        .map_err(|e| WriteFailure::Database(from_sqlx(e)))?;
    let mut buffer = Vec::with_capacity(COPY_BUFFER);
    let mut values = Vec::new();
    header(&mut buffer);
    let width = types.len().max(1);
    loop {
        let filled = source(&mut values).and_then(|more| {
            for row_values in values.chunks(width) {
                row(&mut buffer, types, row_values)
                    .map_err(|e| from_sqlx(sqlx::Error::Encode(e)))?;
            }
            // Freed here, while the server stores the rows sent before.
            values.clear();
            Ok(more)
        });
        let more = match filled {
            Ok(more) => more,
            Err(error) => {
                // Ended with what was sent (whole rows), which the transaction's rollback
                // throws away. Not `abort`: after the server has failed the COPY on its own (a
                // duplicate key, say), sqlx's `abort` leaves its ReadyForQuery unread, and the
                // connection's next statement would read it as its own.
                let ended = copy.finish().await;
                return Err(WriteFailure::Record {
                    error,
                    database: ended.err().map(|e| Box::new(from_sqlx(e))),
                });
            }
        };
        if !more {
            trailer(&mut buffer);
        }
        copy.send(buffer.as_slice())
            .await
            .map_err(|e| WriteFailure::Database(from_sqlx(e)))?;
        buffer.clear();
        if !more {
            return copy
                .finish()
                .await
                .map_err(|e| WriteFailure::Database(from_sqlx(e)));
        }
    }
}

/// The room the COPY buffer starts with: about what one call of `fill` makes.
const COPY_BUFFER: usize = 256 * 1024;

/// The signature, the flags (none: no OIDs) and the length of the header extension (none).
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// The field count that ends the data.
const TRAILER: i16 = -1;

/// Appends the header that starts the data.
fn header(buffer: &mut Vec<u8>) {
    buffer.extend_from_slice(HEADER);
}

/// Appends the trailer that ends the data.
fn trailer(buffer: &mut Vec<u8>) {
    buffer.extend_from_slice(&TRAILER.to_be_bytes());
}

/// Appends one row: `row` holds a value (coerced to its column's type, or `Null`) for each
/// column of `types`, in order.
fn row(buffer: &mut Vec<u8>, types: &[ColumnType], row: &[Value]) -> Result<(), BoxDynError> {
    let fields = i16::try_from(row.len())?;
    buffer.extend_from_slice(&fields.to_be_bytes());
    for (value, column_type) in row.iter().zip(types) {
        field(buffer, *column_type, value)?;
    }
    Ok(())
}

fn field(buffer: &mut Vec<u8>, column_type: ColumnType, value: &Value) -> Result<(), BoxDynError> {
    match (column_type, value) {
        (_, Value::Null) => buffer.extend_from_slice(&(-1_i32).to_be_bytes()),
        (ColumnType::Text, Value::Text(text)) => bytes(buffer, text.as_bytes())?,
        (ColumnType::Blob, Value::Blob(blob)) => bytes(buffer, blob)?,
        (ColumnType::Integer, Value::Integer(i)) => {
            bytes(buffer, &i32::try_from(*i)?.to_be_bytes())?
        }
        (ColumnType::Bigint, Value::Integer(i)) => bytes(buffer, &i.to_be_bytes())?,
        (ColumnType::Real, Value::Real(f)) => bytes(buffer, &f.to_be_bytes())?,
        (ColumnType::Boolean, Value::Bool(b)) => bytes(buffer, &[u8::from(*b)])?,
        (ColumnType::Json, Value::Json(json)) => {
            // The length comes first: write a placeholder, the document, then the length.
            let start = buffer.len();
            buffer.extend_from_slice(&0_i32.to_be_bytes());
            buffer.push(1);
            serde_json::to_writer(&mut *buffer, json)?;
            let length = i32::try_from(buffer.len() - start - 4)?;
            buffer[start..start + 4].copy_from_slice(&length.to_be_bytes());
        }
        (column_type, value) => {
            return Err(format!(
                "a {} value cannot be copied into a {column_type} column",
                value.kind_name()
            )
            .into());
        }
    }
    Ok(())
}

fn bytes(buffer: &mut Vec<u8>, bytes: &[u8]) -> Result<(), BoxDynError> {
    buffer.extend_from_slice(&i32::try_from(bytes.len())?.to_be_bytes());
    buffer.extend_from_slice(bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_of_every_type_and_a_null() {
        let types = [
            ColumnType::Text,
            ColumnType::Integer,
            ColumnType::Bigint,
            ColumnType::Real,
            ColumnType::Boolean,
            ColumnType::Blob,
            ColumnType::Json,
            ColumnType::Text,
        ];
        let values = [
            Value::Text("é".into()),
            Value::Integer(-2),
            Value::Integer((1 << 53) + 1),
            Value::Real(1.5),
            Value::Bool(true),
            Value::Blob(vec![0, 255]),
            Value::Json(serde_json::json!([1])),
            Value::Null,
        ];
        let mut buffer = Vec::new();
        header(&mut buffer);
        row(&mut buffer, &types, &values).unwrap();
        trailer(&mut buffer);
        let mut expected = b"PGCOPY\n\xff\r\n\0".to_vec();
        expected.extend_from_slice(&[0; 8]);
        expected.extend_from_slice(&[0, 8]);
        expected.extend_from_slice(&[0, 0, 0, 2, 0xc3, 0xa9]);
        expected.extend_from_slice(&[0, 0, 0, 4, 0xff, 0xff, 0xff, 0xfe]);
        expected.extend_from_slice(&[0, 0, 0, 8, 0, 0x20, 0, 0, 0, 0, 0, 1]);
        expected.extend_from_slice(&[0, 0, 0, 8, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&[0, 0, 0, 1, 1]);
        expected.extend_from_slice(&[0, 0, 0, 2, 0, 255]);
        expected.extend_from_slice(&[0, 0, 0, 4, 1, b'[', b'1', b']']);
        expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        expected.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(buffer, expected);
    }

    #[test]
    fn a_value_of_another_type_is_an_error_not_bytes() {
        let mut buffer = Vec::new();
        assert!(
            row(
                &mut buffer,
                &[ColumnType::Integer],
                &[Value::Text("1".into())]
            )
            .is_err()
        );
        assert!(
            row(
                &mut buffer,
                &[ColumnType::Integer],
                &[Value::Integer(1 << 40)]
            )
            .is_err()
        );
    }
}
