//! Names: memtable's identifier rule (the same as `memtable::validate_identifier`, which a derive
//! crate cannot call) and the case conversions of the defaults.

use heck::{ToShoutySnakeCase as _, ToSnakeCase as _};

/// The longest identifier accepted, in bytes: PostgreSQL's limit.
const MAX_IDENTIFIER_LEN: usize = 63;

/// Why `name` is not a valid table, column or index name, or `None` when it is one:
/// `^[a-zA-Z_][a-zA-Z0-9_]*$`, at most 63 bytes, not starting with `sqlite_` or `pg_`, not a
/// PostgreSQL system column's name.
pub fn identifier_problem(name: &str) -> Option<&'static str> {
    let mut bytes = name.bytes();
    let shaped = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if name.is_empty() {
        Some("it is empty")
    } else if name.len() > MAX_IDENTIFIER_LEN {
        Some("it is longer than 63 bytes")
    } else if !shaped {
        Some("it must match ^[a-zA-Z_][a-zA-Z0-9_]*$")
    } else if ["sqlite_", "pg_"].iter().any(|prefix| {
        name.get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    }) {
        Some("names starting with sqlite_ or pg_ are reserved")
    } else if ["tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"]
        .iter()
        .any(|column| name.eq_ignore_ascii_case(column))
    {
        Some("it is the name of a PostgreSQL system column")
    } else {
        None
    }
}

/// The default table name of a struct: its name in snake_case (`OauthToken` → `oauth_token`).
pub fn snake_case(name: &str) -> String {
    name.to_snake_case()
}

/// The name of a field's column handle: SCREAMING_SNAKE_CASE (`user_id` → `USER_ID`).
pub fn screaming_snake_case(name: &str) -> String {
    name.to_shouty_snake_case()
}
