//! SQLite URLs, as sqlx read them: `sqlite::memory:`, `sqlite://:memory:`,
//! `sqlite://relative/path.db`, `sqlite:///abs/path.db`, `sqlite:path.db`, with a `mode` query
//! parameter (`ro`, `rw`, `rwc`, `memory`) and a percent-encoded path (`%25`, `%3F`, `%23` for
//! `%`, `?`, `#`). Other query parameters (`cache=shared`, ...) are accepted and ignored.

use std::path::PathBuf;

use crate::error::{DatabaseError, Error};

/// How a database is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names, reason = "SQLite's own names of the modes")]
pub(crate) enum OpenMode {
    /// `mode=ro`: reads only; the database refuses every write.
    ReadOnly,
    /// `mode=rw`: reads and writes an existing database.
    ReadWrite,
    /// `mode=rwc` (the default): reads and writes, creating the file (and its directories).
    ReadWriteCreate,
}

/// What a SQLite URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SqliteTarget {
    /// The database file; `None` for a database in memory.
    pub(crate) path: Option<PathBuf>,
    /// How to open it.
    pub(crate) mode: OpenMode,
}

impl SqliteTarget {
    /// Whether the database lives in memory (and so on exactly one connection).
    pub(crate) fn in_memory(&self) -> bool {
        self.path.is_none()
    }
}

/// Reads a `sqlite:` URL.
pub(crate) fn parse_url(url: &str) -> Result<SqliteTarget, Error> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| malformed("a SQLite URL starts with sqlite:"))?;
    let (database, query) = match rest.split_once('?') {
        Some((database, query)) => (database, Some(query)),
        None => (rest, None),
    };
    let mut mode = OpenMode::ReadWriteCreate;
    let mut memory = database == ":memory:";
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode_component(key, true)?;
        if key != "mode" {
            continue;
        }
        match decode_component(value, true)?.as_str() {
            "ro" => mode = OpenMode::ReadOnly,
            "rw" => mode = OpenMode::ReadWrite,
            "rwc" => mode = OpenMode::ReadWriteCreate,
            "memory" => memory = true,
            other => {
                return Err(malformed(format!(
                    "unknown value {:?} for `mode` (ro, rw, rwc or memory)",
                    crate::error::truncate(other)
                )));
            }
        }
    }
    if memory {
        return Ok(SqliteTarget { path: None, mode });
    }
    let path = decode_component(database, false)?;
    if path.is_empty() {
        return Err(malformed(
            "the URL names no database file (use sqlite::memory: for a database in memory)",
        ));
    }
    if path.contains('\0') {
        return Err(malformed("the database path contains a NUL character"));
    }
    Ok(SqliteTarget {
        path: Some(PathBuf::from(path)),
        mode,
    })
}

/// Percent-decodes `text` (a `%` not followed by two hex digits stays as it is); in a query
/// component, `+` stands for a space.
fn decode_component(text: &str, query: bool) -> Result<String, Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => match (
                bytes.get(i + 1).and_then(|h| hex(*h)),
                bytes.get(i + 2).and_then(|l| hex(*l)),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 3;
                    continue;
                }
                _ => out.push(b),
            },
            b'+' if query => out.push(b' '),
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| malformed("the URL does not decode to UTF-8"))
}

fn hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

fn malformed(message: impl Into<String>) -> Error {
    Error::Connection(DatabaseError::new(
        format!("invalid SQLite URL: {}", message.into()),
        None,
        false,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, mode: OpenMode) -> SqliteTarget {
        SqliteTarget {
            path: Some(PathBuf::from(path)),
            mode,
        }
    }

    #[test]
    fn memory_urls() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://?mode=memory",
            "sqlite::memory:?cache=shared",
            "sqlite://a.db?mode=memory&cache=shared",
        ] {
            let target = parse_url(url).unwrap();
            assert!(target.in_memory(), "{url}");
            assert_eq!(target.mode, OpenMode::ReadWriteCreate, "{url}");
        }
    }

    #[test]
    fn file_urls() {
        use OpenMode::*;
        let cases = [
            (
                "sqlite://relative/path.db",
                file("relative/path.db", ReadWriteCreate),
            ),
            (
                "sqlite:///abs/path.db",
                file("/abs/path.db", ReadWriteCreate),
            ),
            ("sqlite:path.db", file("path.db", ReadWriteCreate)),
            ("sqlite://a.db?mode=ro", file("a.db", ReadOnly)),
            ("sqlite://a.db?mode=rw", file("a.db", ReadWrite)),
            ("sqlite://a.db?mode=rwc", file("a.db", ReadWriteCreate)),
            ("sqlite://a.db?cache=shared", file("a.db", ReadWriteCreate)),
            ("sqlite://a.db?cache=shared&mode=ro", file("a.db", ReadOnly)),
            ("sqlite://a.db?&mode=ro&", file("a.db", ReadOnly)),
            (
                "sqlite://a.db?immutable=1&vfs=unix",
                file("a.db", ReadWriteCreate),
            ),
            // Percent-encoded `%`, `?`, `#`, as the tests write them.
            (
                "sqlite:///tmp/a%25b%3Fc%23d.db",
                file("/tmp/a%b?c#d.db", ReadWriteCreate),
            ),
            (
                "sqlite:///tmp/100%.db",
                file("/tmp/100%.db", ReadWriteCreate),
            ),
            ("sqlite:///tmp/x%4.db", file("/tmp/x%4.db", ReadWriteCreate)),
            (
                "sqlite:///tmp/caf%C3%A9.db",
                file("/tmp/café.db", ReadWriteCreate),
            ),
            ("sqlite:///tmp/a+b.db", file("/tmp/a+b.db", ReadWriteCreate)),
            ("sqlite://a.db?mode=%72o", file("a.db", ReadOnly)),
        ];
        for (url, expected) in cases {
            assert_eq!(parse_url(url).unwrap(), expected, "{url}");
        }
    }

    #[test]
    fn malformed_urls_are_connection_errors() {
        for url in [
            "postgres://localhost/db",
            "sqlite",
            "sqlite://",
            "sqlite:",
            "sqlite://a.db?mode=bogus",
            "sqlite:///tmp/%FF.db",
            "sqlite:///tmp/a%00.db",
        ] {
            let error = parse_url(url).unwrap_err();
            assert!(
                matches!(&error, Error::Connection(e) if !e.is_transient() && e.code().is_none()),
                "{url}: {error:?}"
            );
        }
    }
}
