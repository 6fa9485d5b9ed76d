//! The one SQLite type table: how values are bound and how columns are read.
//!
//! Binding: sea-query's values (what the renderer produces) through [`Param`], memtable's own
//! coerced values (batches, single rows, upserts) through [`Bound`]; booleans as 0/1, json as
//! its canonical text.
//!
//! Reading: every column by its declared logical type, unchecked, exactly as SQLite's own
//! `sqlite3_column_int64`, `_double`, `_text` and `_blob` convert between storage classes (an
//! integer in a text column reads as its decimal text, text in an integer column as its leading
//! integer, a real as text as SQLite prints it). rusqlite hands out each value in its storage
//! class; the conversions below are SQLite's (`sqlite3Atoi64`, `sqlite3AtoF`,
//! `sqlite3RealToI64`, `sqlite3FpDecode` with `%!.15g`), ported, and the tests check them
//! against SQLite itself.

use rusqlite::types::{ToSql, ToSqlOutput, Value as SqlValue, ValueRef};

use crate::schema::ColumnType;
use crate::sql::canonical_json;
use crate::value::{RowValues, Value};

/// A sea-query value, bound as SQLite stores it.
pub(crate) struct Param<'a>(pub(crate) &'a sea_query::Value);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use sea_query::Value as V;
        let integer = |i: i64| Ok(ToSqlOutput::Owned(SqlValue::Integer(i)));
        let real = |f: f64| Ok(ToSqlOutput::Owned(SqlValue::Real(f)));
        match self.0 {
            V::Bool(Some(b)) => integer(i64::from(*b)),
            V::TinyInt(Some(i)) => integer(i64::from(*i)),
            V::SmallInt(Some(i)) => integer(i64::from(*i)),
            V::Int(Some(i)) => integer(i64::from(*i)),
            V::BigInt(Some(i)) => integer(*i),
            V::TinyUnsigned(Some(u)) => integer(i64::from(*u)),
            V::SmallUnsigned(Some(u)) => integer(i64::from(*u)),
            V::Unsigned(Some(u)) => integer(i64::from(*u)),
            V::BigUnsigned(Some(u)) => match i64::try_from(*u) {
                Ok(i) => integer(i),
                Err(_) => Err(cannot_bind("an unsigned integer above 2^63 - 1")),
            },
            V::Float(Some(f)) => real(f64::from(*f)),
            V::Double(Some(f)) => real(*f),
            V::String(Some(s)) => Ok(ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))),
            V::Char(Some(c)) => Ok(ToSqlOutput::Owned(SqlValue::Text(c.to_string()))),
            V::Enum(sea_query::OptionEnum::Some(e)) => {
                Ok(ToSqlOutput::Borrowed(ValueRef::Text(e.value.as_bytes())))
            }
            V::Bytes(Some(b)) => Ok(ToSqlOutput::Borrowed(ValueRef::Blob(b))),
            V::Json(Some(j)) => Ok(ToSqlOutput::Owned(SqlValue::Text(canonical_json(j)))),
            V::Bool(None)
            | V::TinyInt(None)
            | V::SmallInt(None)
            | V::Int(None)
            | V::BigInt(None)
            | V::TinyUnsigned(None)
            | V::SmallUnsigned(None)
            | V::Unsigned(None)
            | V::BigUnsigned(None)
            | V::Float(None)
            | V::Double(None)
            | V::String(None)
            | V::Char(None)
            | V::Enum(sea_query::OptionEnum::None(_))
            | V::Bytes(None)
            | V::Json(None) => Ok(ToSqlOutput::Owned(SqlValue::Null)),
            // Variants of sea-query features another crate of the build may turn on (dates,
            // decimals, arrays, ...): memtable never renders them.
            #[allow(
                unreachable_patterns,
                reason = "reachable only when another crate enables more sea-query features"
            )]
            _ => Err(cannot_bind("a value of a type memtable does not store")),
        }
    }
}

fn cannot_bind(what: &str) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(format!("cannot bind {what} to SQLite").into())
}

/// A memtable value already coerced to its column's type, bound as SQLite stores it.
pub(crate) struct Bound<'a>(pub(crate) &'a Value);

impl ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Owned(SqlValue::Null),
            Value::Bool(b) => ToSqlOutput::Owned(SqlValue::Integer(i64::from(*b))),
            Value::Integer(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
            Value::Real(f) => ToSqlOutput::Owned(SqlValue::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Value::Json(j) => ToSqlOutput::Owned(SqlValue::Text(canonical_json(j))),
        })
    }
}

/// A row's values, column `i` read as `types[i]`; NULL is [`Value::Null`] whatever the type.
pub(crate) fn decode_row(
    row: &rusqlite::Row<'_>,
    types: &[ColumnType],
) -> rusqlite::Result<Vec<Value>> {
    let mut values = Vec::with_capacity(types.len());
    decode_row_into(row, types, &mut values)?;
    Ok(values)
}

/// As [`decode_row`], each value appended to `out`.
pub(crate) fn decode_row_into(
    row: &rusqlite::Row<'_>,
    types: &[ColumnType],
    out: &mut impl RowValues,
) -> rusqlite::Result<()> {
    for (i, ty) in types.iter().enumerate() {
        out.push_value(decode_value(row.get_ref(i)?, *ty, i)?);
    }
    Ok(())
}

/// One column's value read as `ty`, converted between storage classes as SQLite converts.
pub(crate) fn decode_value(
    value: ValueRef<'_>,
    ty: ColumnType,
    index: usize,
) -> rusqlite::Result<Value> {
    if let ValueRef::Null = value {
        return Ok(Value::Null);
    }
    Ok(match ty {
        ColumnType::Text => Value::Text(column_text(value, index)?),
        ColumnType::Integer | ColumnType::Bigint => Value::Integer(column_int64(value)),
        ColumnType::Real => Value::Real(column_double(value)),
        ColumnType::Blob => Value::Blob(column_blob(value)),
        ColumnType::Boolean => Value::Bool(column_int64(value) != 0),
        ColumnType::Json => match value {
            // Parsed where SQLite holds it; text that is not JSON (written by something else)
            // is read as a JSON string.
            ValueRef::Text(bytes) => match serde_json::from_slice(bytes) {
                Ok(json) => Value::Json(json),
                Err(_) => Value::Json(serde_json::Value::String(column_text(value, index)?)),
            },
            _ => {
                let text = column_text(value, index)?;
                Value::Json(serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
            }
        },
    })
}

/// `sqlite3_column_int64`.
fn column_int64(value: ValueRef<'_>) -> i64 {
    match value {
        ValueRef::Null => 0,
        ValueRef::Integer(i) => i,
        ValueRef::Real(r) => real_to_i64(r),
        ValueRef::Text(t) | ValueRef::Blob(t) => atoi64(t),
    }
}

/// `sqlite3_column_double`.
fn column_double(value: ValueRef<'_>) -> f64 {
    match value {
        ValueRef::Null => 0.0,
        ValueRef::Integer(i) => i as f64,
        ValueRef::Real(r) => r,
        ValueRef::Text(t) | ValueRef::Blob(t) => atof(t),
    }
}

/// `sqlite3_column_text`, as UTF-8 (a blob that is not UTF-8 cannot be read as text).
fn column_text(value: ValueRef<'_>, index: usize) -> rusqlite::Result<String> {
    match value {
        ValueRef::Null => Ok(String::new()),
        ValueRef::Integer(i) => Ok(i.to_string()),
        ValueRef::Real(r) => Ok(render_real(r)),
        ValueRef::Text(t) | ValueRef::Blob(t) => std::str::from_utf8(t)
            .map(str::to_owned)
            .map_err(|e| rusqlite::Error::Utf8Error(index, e)),
    }
}

/// `sqlite3_column_blob`: numbers as their text.
fn column_blob(value: ValueRef<'_>) -> Vec<u8> {
    match value {
        ValueRef::Null => Vec::new(),
        ValueRef::Integer(i) => i.to_string().into_bytes(),
        ValueRef::Real(r) => render_real(r).into_bytes(),
        ValueRef::Text(t) | ValueRef::Blob(t) => t.to_vec(),
    }
}

/// `sqlite3Isspace`: tab, newline, vertical tab, form feed, carriage return, space.
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// `sqlite3RealToI64`: truncation, saturating at the ends of `i64`.
fn real_to_i64(r: f64) -> i64 {
    if r < -9_223_372_036_854_774_784.0 {
        i64::MIN
    } else if r > 9_223_372_036_854_774_784.0 {
        i64::MAX
    } else {
        r as i64
    }
}

/// `sqlite3Atoi64` as `sqlite3_column_int64` uses it: the leading integer of the text (after
/// spaces and a sign), saturating at the ends of `i64`, 0 when there is none.
fn atoi64(z: &[u8]) -> i64 {
    let mut i = 0;
    while z.get(i).copied().is_some_and(is_space) {
        i += 1;
    }
    let mut negative = false;
    match z.get(i) {
        Some(b'-') => {
            negative = true;
            i += 1;
        }
        Some(b'+') => i += 1,
        _ => {}
    }
    while z.get(i) == Some(&b'0') {
        i += 1;
    }
    let start = i;
    let mut u: u64 = 0;
    while let Some(d) = z.get(i).filter(|d| d.is_ascii_digit()) {
        u = u.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
        i += 1;
    }
    let saturated = if negative { i64::MIN } else { i64::MAX };
    let value = match i64::try_from(u) {
        Ok(v) if negative => -v,
        Ok(v) => v,
        Err(_) => saturated,
    };
    let digits = &z[start..i];
    if digits.len() < 19 {
        return value;
    }
    let beyond = digits.len() > 19 || compare_2_pow_63(digits) >= 0;
    if beyond { saturated } else { value }
}

/// `compare2pow63`: the sign of the 19 digits `digits` minus 9223372036854775808.
fn compare_2_pow_63(digits: &[u8]) -> i32 {
    const POW63: &[u8] = b"922337203685477580";
    for (d, p) in digits.iter().zip(POW63) {
        let c = (i32::from(*d) - i32::from(*p)) * 10;
        if c != 0 {
            return c;
        }
    }
    digits
        .get(18)
        .map_or(0, |d| i32::from(*d) - i32::from(b'8'))
}

// SQLite's constants, verbatim: the error terms of 1e100, 1e-100, 1e-10 and 1e-1 as doubles.
#[allow(clippy::excessive_precision, reason = "SQLite's literals, verbatim")]
const TEN_100_ERROR: f64 = -1.5902891109759918046e+83;
#[allow(clippy::excessive_precision, reason = "SQLite's literals, verbatim")]
const TENTH_100_ERROR: f64 = -1.99918998026028836196e-117;
#[allow(clippy::excessive_precision, reason = "SQLite's literals, verbatim")]
const TENTH_10_ERROR: f64 = -3.6432197315497741579e-27;
#[allow(clippy::excessive_precision, reason = "SQLite's literals, verbatim")]
const TENTH_ERROR: f64 = -5.5511151231257827021e-18;

/// `dekkerMul2`: multiplies the double-double `x` by `y + yy`.
fn dekker_mul2(x: &mut [f64; 2], y: f64, yy: f64) {
    const HIGH: u64 = 0xffff_ffff_fc00_0000;
    let hx = f64::from_bits(x[0].to_bits() & HIGH);
    let tx = x[0] - hx;
    let hy = f64::from_bits(y.to_bits() & HIGH);
    let ty = y - hy;
    let p = hx * hy;
    let q = hx * ty + tx * hy;
    let c = p + q;
    let mut cc = p - c + q + tx * ty;
    // SQLite's `x[0]*yy + x[1]*y + cc`: the same sum (IEEE addition commutes).
    cc += x[0] * yy + x[1] * y;
    x[0] = c + cc;
    x[1] = c - x[0];
    x[1] += cc;
}

/// `sqlite3AtoF` as `sqlite3_column_double` uses it: the longest leading number of the text
/// (`[+-]digits[.digits][e[+-]digits]` after spaces), 0 when there is none.
fn atof(z: &[u8]) -> f64 {
    const LARGEST_UINT64: u64 = u64::MAX;
    let digit = |i: usize| z.get(i).filter(|d| d.is_ascii_digit()).map(|d| d - b'0');
    let mut i = 0;
    while z.get(i).copied().is_some_and(is_space) {
        i += 1;
    }
    let mut negative = false;
    match z.get(i) {
        None => return 0.0,
        Some(b'-') => {
            negative = true;
            i += 1;
        }
        Some(b'+') => i += 1,
        _ => {}
    }
    let mut s: u64 = 0;
    let mut d: i64 = 0;
    let mut e: i64 = 0;
    let mut exponent_negative = false;
    while let Some(v) = digit(i) {
        s = s * 10 + u64::from(v);
        i += 1;
        if s >= (LARGEST_UINT64 - 9) / 10 {
            while digit(i).is_some() {
                i += 1;
                d += 1;
            }
        }
    }
    if z.get(i) == Some(&b'.') {
        i += 1;
        while let Some(v) = digit(i) {
            if s < (LARGEST_UINT64 - 9) / 10 {
                s = s * 10 + u64::from(v);
                d -= 1;
            }
            i += 1;
        }
    }
    if matches!(z.get(i), Some(b'e' | b'E')) {
        i += 1;
        match z.get(i) {
            Some(b'-') => {
                exponent_negative = true;
                i += 1;
            }
            Some(b'+') => i += 1,
            _ => {}
        }
        while let Some(v) = digit(i) {
            e = if e < 10_000 {
                e * 10 + i64::from(v)
            } else {
                10_000
            };
            i += 1;
        }
    }
    if s == 0 {
        return if negative { -0.0 } else { 0.0 };
    }
    let mut e = if exponent_negative { -e } else { e } + d;
    while e > 0 && s < (LARGEST_UINT64 - 0x7ff) / 10 {
        s *= 10;
        e -= 1;
    }
    while e < 0 && s.is_multiple_of(10) {
        s /= 10;
        e += 1;
    }
    let mut rr = [s as f64, 0.0];
    if rr[0] <= 18_446_744_073_709_549_568.0 {
        let s2 = rr[0] as u64;
        rr[1] = if s >= s2 {
            (s - s2) as f64
        } else {
            -((s2 - s) as f64)
        };
    }
    if e > 0 {
        while e >= 100 {
            e -= 100;
            dekker_mul2(&mut rr, 1.0e+100, TEN_100_ERROR);
        }
        while e >= 10 {
            e -= 10;
            dekker_mul2(&mut rr, 1.0e+10, 0.0);
        }
        while e >= 1 {
            e -= 1;
            dekker_mul2(&mut rr, 1.0e+01, 0.0);
        }
    } else {
        while e <= -100 {
            e += 100;
            dekker_mul2(&mut rr, 1.0e-100, TENTH_100_ERROR);
        }
        while e <= -10 {
            e += 10;
            dekker_mul2(&mut rr, 1.0e-10, TENTH_10_ERROR);
        }
        while e <= -1 {
            e += 1;
            dekker_mul2(&mut rr, 1.0e-01, TENTH_ERROR);
        }
    }
    let mut r = rr[0] + rr[1];
    if r.is_nan() {
        r = f64::INFINITY;
    }
    if negative { -r } else { r }
}

/// A real as SQLite prints it as text (`vdbeMemRenderNum`: `%!.15g`): 15 significant digits,
/// always with a decimal point (`1.0`, `1.0e+20`), `Inf`, `-Inf`, `NaN`.
pub(crate) fn render_real(r: f64) -> String {
    let Some((negative, digits, point)) = fp_decode(r) else {
        return if r.is_nan() {
            "NaN".to_owned()
        } else if r < 0.0 {
            "-Inf".to_owned()
        } else {
            "Inf".to_owned()
        };
    };
    // `%.15g` with the `!` flag: precision 15, trailing zeros removed but one kept after the
    // decimal point.
    let exp = point - 1;
    let exponential = !(-4..=14).contains(&exp);
    let mut precision = if exponential { 14 } else { 14 - exp };
    let mut e2 = if exponential { 0 } else { point - 1 };
    let mut out = String::with_capacity(24);
    if negative {
        out.push('-');
    }
    let mut next = digits.iter().map(|d| char::from(*d));
    if e2 < 0 {
        out.push('0');
    } else {
        while e2 >= 0 {
            out.push(next.next().unwrap_or('0'));
            e2 -= 1;
        }
    }
    out.push('.');
    e2 += 1;
    while e2 < 0 && precision > 0 {
        out.push('0');
        precision -= 1;
        e2 += 1;
    }
    while precision > 0 {
        out.push(next.next().unwrap_or('0'));
        precision -= 1;
    }
    while out.ends_with('0') {
        out.pop();
    }
    if out.ends_with('.') {
        out.push('0');
    }
    if exponential {
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let exp = exp.unsigned_abs();
        if exp >= 100 {
            out.push(digit_char(exp / 100));
        }
        out.push(digit_char(exp / 10 % 10));
        out.push(digit_char(exp % 10));
    }
    out
}

fn digit_char(d: u32) -> char {
    char::from_digit(d, 10).unwrap_or('0')
}

/// `sqlite3FpDecode(r, 15, 26)`: the sign, the significant digits (rounded to 15, trailing
/// zeros dropped) and the position of the decimal point; `None` for an infinity or NaN.
#[allow(clippy::excessive_precision, reason = "SQLite's literals, verbatim")]
fn fp_decode(r: f64) -> Option<(bool, Vec<u8>, i32)> {
    const ROUND: usize = 15;
    let (negative, r) = if r < 0.0 {
        (true, -r)
    } else if r == 0.0 {
        return Some((false, vec![b'0'], 1));
    } else {
        (false, r)
    };
    if (r.to_bits() >> 52) & 0x7ff == 0x7ff {
        return None;
    }
    let mut exp: i32 = 0;
    let mut rr = [r, 0.0];
    if rr[0] > 9.223372036854774784e+18 {
        while rr[0] > 9.223372036854774784e+118 {
            exp += 100;
            dekker_mul2(&mut rr, 1.0e-100, TENTH_100_ERROR);
        }
        while rr[0] > 9.223372036854774784e+28 {
            exp += 10;
            dekker_mul2(&mut rr, 1.0e-10, TENTH_10_ERROR);
        }
        while rr[0] > 9.223372036854774784e+18 {
            exp += 1;
            dekker_mul2(&mut rr, 1.0e-01, TENTH_ERROR);
        }
    } else {
        while rr[0] < 9.223372036854774784e-83 {
            exp -= 100;
            dekker_mul2(&mut rr, 1.0e+100, TEN_100_ERROR);
        }
        while rr[0] < 9.223372036854774784e+07 {
            exp -= 10;
            dekker_mul2(&mut rr, 1.0e+10, 0.0);
        }
        while rr[0] < 9.22337203685477478e+17 {
            exp -= 1;
            dekker_mul2(&mut rr, 1.0e+01, 0.0);
        }
    }
    let v = if rr[1] < 0.0 {
        (rr[0] as u64).wrapping_sub((-rr[1]) as u64)
    } else {
        (rr[0] as u64).wrapping_add(rr[1] as u64)
    };
    let mut digits = v.to_string().into_bytes();
    let n = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let mut point = n + exp;
    if ROUND < digits.len() {
        let round_up = digits.get(ROUND).is_some_and(|d| *d >= b'5');
        digits.truncate(ROUND);
        if round_up {
            let mut carried = true;
            for d in digits.iter_mut().rev() {
                if *d == b'9' {
                    *d = b'0';
                } else {
                    *d += 1;
                    carried = false;
                    break;
                }
            }
            if carried {
                digits.insert(0, b'1');
                point += 1;
            }
        }
    }
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    Some((negative, digits, point))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    const TYPES: [ColumnType; 7] = ColumnType::ALL;

    fn conn() -> Connection {
        Connection::open_in_memory().unwrap()
    }

    /// A pseudo-random sequence (xorshift), the same on every run.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn every_memtable_value_round_trips() {
        let conn = conn();
        conn.execute_batch(
            "CREATE TABLE t (t TEXT, i INTEGER, b INTEGER, r REAL, x BLOB, j TEXT, f INTEGER)",
        )
        .unwrap();
        let rows = [
            vec![Value::Null; 7],
            vec![
                Value::Text("héllo \u{0} \"q\"".into()),
                Value::Integer(i64::from(i32::MIN)),
                Value::Integer(i64::MIN),
                Value::Real(-0.1),
                Value::Blob(vec![0, 1, 255]),
                Value::Json(serde_json::json!({"b": [1, 2.5, null], "a": "x"})),
                Value::Bool(true),
            ],
            vec![
                Value::Text(String::new()),
                Value::Integer(i64::from(i32::MAX)),
                Value::Integer(i64::MAX),
                Value::Real(1e300),
                Value::Blob(Vec::new()),
                Value::Json(serde_json::json!("a string")),
                Value::Bool(false),
            ],
            vec![
                Value::Text("42".into()),
                Value::Integer(0),
                Value::Integer(-1),
                Value::Real(3.0),
                Value::Blob(b"12".to_vec()),
                Value::Json(serde_json::json!(12.5)),
                Value::Bool(true),
            ],
            vec![
                Value::Text("x".into()),
                Value::Integer(1),
                Value::Integer(2),
                Value::Real(f64::INFINITY),
                Value::Blob(vec![7]),
                Value::Json(serde_json::Value::Null),
                Value::Bool(false),
            ],
        ];
        for row in &rows {
            conn.execute(
                "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)",
                rusqlite::params_from_iter(row.iter().map(Bound)),
            )
            .unwrap();
        }
        let mut stmt = conn.prepare("SELECT * FROM t ORDER BY rowid").unwrap();
        let read: Vec<Vec<Value>> = stmt
            .query_map([], |row| decode_row(row, &TYPES))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut expected = rows.to_vec();
        // JSON null is stored as the text `null` and read back as JSON null.
        expected[0][5] = Value::Null;
        assert_eq!(read, expected);
        // Booleans are stored as integers 0/1, json as canonical text.
        let (f, j): (i64, String) = conn
            .query_row("SELECT f, j FROM t WHERE rowid = 2", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((f, j.as_str()), (1, r#"{"a":"x","b":[1,2.5,null]}"#));
    }

    #[test]
    fn every_sea_query_value_binds() {
        use sea_query::Value as V;
        let conn = conn();
        let cases: Vec<(V, &str)> = vec![
            (V::Bool(Some(true)), "integer 1"),
            (V::Bool(Some(false)), "integer 0"),
            (V::TinyInt(Some(-8)), "integer -8"),
            (V::SmallInt(Some(-16)), "integer -16"),
            (V::Int(Some(-32)), "integer -32"),
            (V::BigInt(Some(i64::MIN)), "integer -9223372036854775808"),
            (V::TinyUnsigned(Some(8)), "integer 8"),
            (V::SmallUnsigned(Some(16)), "integer 16"),
            (V::Unsigned(Some(u32::MAX)), "integer 4294967295"),
            (V::BigUnsigned(Some(64)), "integer 64"),
            (V::Float(Some(0.5)), "real 0.5"),
            (V::Double(Some(-2.25)), "real -2.25"),
            (V::String(Some("s".into())), "text s"),
            (V::Char(Some('c')), "text c"),
            (V::Bytes(Some(b"ab".to_vec())), "blob ab"),
            (
                V::Json(Some(Box::new(serde_json::json!({"z": 1, "a": [true]})))),
                r#"text {"a":[true],"z":1}"#,
            ),
            (V::Bool(None), "null "),
            (V::TinyInt(None), "null "),
            (V::SmallInt(None), "null "),
            (V::Int(None), "null "),
            (V::BigInt(None), "null "),
            (V::TinyUnsigned(None), "null "),
            (V::SmallUnsigned(None), "null "),
            (V::Unsigned(None), "null "),
            (V::BigUnsigned(None), "null "),
            (V::Float(None), "null "),
            (V::Double(None), "null "),
            (V::String(None), "null "),
            (V::Char(None), "null "),
            (V::Bytes(None), "null "),
            (V::Json(None), "null "),
        ];
        for (value, expected) in cases {
            let got: String = conn
                .query_row(
                    "SELECT typeof(?1) || ' ' || coalesce(CAST(?1 AS TEXT), '')",
                    [Param(&value)],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(got, expected, "{value:?}");
        }
        let too_big = V::BigUnsigned(Some(u64::MAX));
        let error = conn
            .query_row("SELECT ?1", [Param(&too_big)], |r| r.get::<_, i64>(0))
            .unwrap_err();
        assert!(
            matches!(error, rusqlite::Error::ToSqlConversionFailure(_)),
            "{error:?}"
        );
    }

    /// Values of every storage class, stored in a column without affinity so that each keeps
    /// its class.
    fn stored_values() -> Vec<SqlValue> {
        let mut values = vec![SqlValue::Null];
        for i in [
            0,
            1,
            -1,
            42,
            i64::MAX,
            i64::MIN,
            1_000_000_000_000_000_000,
            -123_456_789_012,
        ] {
            values.push(SqlValue::Integer(i));
        }
        for r in [
            0.0,
            -0.0,
            0.1,
            -0.1,
            1.0,
            1.5,
            100.0,
            1e14,
            1e15,
            1e16,
            1e20,
            1e-4,
            1e-5,
            0.000123456,
            123456789012345678.0,
            9.223372036854775e18,
            -9.3e18,
            1.7976931348623157e308,
            5e-324,
            2.2250738585072014e-308,
            std::f64::consts::PI,
            -std::f64::consts::E,
            0.30000000000000004,
            999999999999999.9,
            1e23,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            values.push(SqlValue::Real(r));
        }
        for t in [
            "",
            "abc",
            "12abc",
            "  42  ",
            "\t\n-7",
            "+5",
            "-",
            "+",
            "1e3",
            "3.25",
            " .5",
            "5.",
            ".",
            "-.5e-3x",
            "1e",
            "1e+",
            "0x10",
            "007",
            "-0",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            "000000000000000000000000001",
            "123456789012345678901234567890.5e-10",
            "1e400",
            "-1e400",
            "1e-400",
            "0.1",
            "2.5e308",
            "true",
            "null",
            r#"{"a": [1, 2]}"#,
            "[1, 2",
            "\"quoted\"",
            "12.5",
            "1.0",
            "é",
        ] {
            values.push(SqlValue::Text(t.to_owned()));
        }
        for b in [
            &b""[..],
            b"123",
            b"4.5",
            b"\xff\xfe",
            b"{\"k\":1}",
            b"x\x00y",
        ] {
            values.push(SqlValue::Blob(b.to_vec()));
        }
        values
    }

    /// What the sqlx decode (SQLite's own `sqlite3_value_*` conversions) reads from each
    /// stored value, for each type; `None` where it fails.
    async fn sqlx_reads(path: &std::path::Path) -> Vec<Vec<Option<String>>> {
        use sqlx::{Connection as _, Row as _};
        let url = format!("sqlite://{}", path.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let rows = sqlx::query("SELECT v FROM t ORDER BY rowid")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        rows.iter()
            .map(|row| {
                TYPES
                    .iter()
                    .map(|ty| {
                        let value = match ty {
                            ColumnType::Text => row
                                .try_get_unchecked::<Option<String>, _>(0)
                                .map(|v| v.map(Value::Text)),
                            ColumnType::Integer | ColumnType::Bigint => row
                                .try_get_unchecked::<Option<i64>, _>(0)
                                .map(|v| v.map(Value::Integer)),
                            ColumnType::Real => row
                                .try_get_unchecked::<Option<f64>, _>(0)
                                .map(|v| v.map(Value::Real)),
                            ColumnType::Blob => row
                                .try_get_unchecked::<Option<Vec<u8>>, _>(0)
                                .map(|v| v.map(Value::Blob)),
                            ColumnType::Boolean => row
                                .try_get_unchecked::<Option<i64>, _>(0)
                                .map(|v| v.map(|b| Value::Bool(b != 0))),
                            ColumnType::Json => {
                                row.try_get_unchecked::<Option<String>, _>(0).map(|v| {
                                    v.map(|text| {
                                        Value::Json(
                                            serde_json::from_str(&text)
                                                .unwrap_or(serde_json::Value::String(text)),
                                        )
                                    })
                                })
                            }
                        };
                        value
                            .ok()
                            .map(|v| format!("{:?}", v.unwrap_or(Value::Null)))
                    })
                    .collect()
            })
            .collect()
    }

    #[tokio::test]
    async fn cross_storage_class_reads_match_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("classes.db");
        let values = stored_values();
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE t (v)").unwrap();
            for value in &values {
                conn.execute("INSERT INTO t VALUES (?1)", [value]).unwrap();
            }
        }
        let expected = sqlx_reads(&path).await;
        let conn = Connection::open(&path).unwrap();
        let mut stmt = conn.prepare("SELECT v FROM t ORDER BY rowid").unwrap();
        let mut rows = stmt.query([]).unwrap();
        let mut index = 0;
        while let Some(row) = rows.next().unwrap() {
            let value = row.get_ref(0).unwrap();
            for (t, ty) in TYPES.iter().enumerate() {
                let ours = decode_value(value, *ty, 0).ok().map(|v| format!("{v:?}"));
                assert_eq!(ours, expected[index][t], "{:?} read as {ty}", values[index]);
            }
            index += 1;
        }
        assert_eq!(index, values.len());
    }

    #[test]
    fn reals_print_as_sqlite_prints_them() {
        let conn = conn();
        let mut stmt = conn.prepare("SELECT CAST(?1 AS TEXT)").unwrap();
        let mut check = |r: f64| {
            let expected: String = stmt.query_row([r], |row| row.get(0)).unwrap();
            assert_eq!(render_real(r), expected, "{r:e} ({:#x})", r.to_bits());
        };
        for value in stored_values() {
            if let SqlValue::Real(r) = value {
                check(r);
            }
        }
        let mut state = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let r = f64::from_bits(xorshift(&mut state));
            if r.is_finite() {
                check(r);
            }
            // Short decimals, where rounding to 15 digits is decided.
            let short = (xorshift(&mut state) % 2_000_000) as f64 / 1000.0;
            check(short);
            check(short * 1e-7);
            check(short * 1e12);
        }
    }

    #[test]
    fn text_converts_to_numbers_as_sqlite_converts_it() {
        let conn = conn();
        // CAST(text AS REAL) is sqlite3AtoF; sqlite3_column_int64 (Atoi64) is checked against
        // sqlx above.
        let mut stmt = conn.prepare("SELECT CAST(?1 AS REAL)").unwrap();
        let mut check = |text: &str| {
            let expected: f64 = stmt.query_row([text], |row| row.get(0)).unwrap();
            let ours = atof(text.as_bytes());
            assert_eq!(ours.to_bits(), expected.to_bits(), "{text:?}: {ours:e}");
        };
        for value in stored_values() {
            if let SqlValue::Text(t) = value {
                check(&t);
            }
        }
        let mut state = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let r = f64::from_bits(xorshift(&mut state));
            if r.is_finite() {
                check(&format!("{r:e}"));
                check(&format!("{r}"));
                check(&render_real(r));
            }
            let digits = xorshift(&mut state) % 10_000_000_000_000_000_000;
            let exp = (xorshift(&mut state) % 700) as i64 - 350;
            check(&format!("{digits}e{exp}"));
            check(&format!("0.{digits:019}"));
        }
        assert_eq!(atoi64(b"  -12x"), -12);
        assert_eq!(atoi64(b"99999999999999999999"), i64::MAX);
        assert_eq!(atoi64(b"-9223372036854775808"), i64::MIN);
        assert_eq!(atoi64(b"-9223372036854775809"), i64::MIN);
        assert_eq!(atoi64(b"9223372036854775808"), i64::MAX);
        assert_eq!(atoi64(b"1e3"), 1);
        assert_eq!(real_to_i64(-1.9), -1);
        assert_eq!(real_to_i64(1e300), i64::MAX);
    }

    #[test]
    fn a_row_with_fewer_columns_than_types_is_an_error() {
        let conn = conn();
        let error = conn
            .query_row("SELECT 1", [], |row| {
                decode_row(row, &[ColumnType::Integer, ColumnType::Text])
            })
            .unwrap_err();
        assert!(
            matches!(error, rusqlite::Error::InvalidColumnIndex(1)),
            "{error:?}"
        );
    }
}
