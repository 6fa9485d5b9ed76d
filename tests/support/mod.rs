//! Shared helpers for memtable's integration tests.
//!
//! The tests run against real SQLite files (in temporary directories) and a
//! real PostgreSQL server whose URL `scripts/test` exports as
//! [`POSTGRES_URL_VAR`]. Locally, without that variable, PostgreSQL tests
//! skip; in CI (`CI` set) its absence is an error.

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Name of the environment variable holding the PostgreSQL test database URL.
pub const POSTGRES_URL_VAR: &str = "MEMTABLE_TEST_POSTGRES_URL";

/// Name of the environment variable holding the URL of the test database through PgBouncer in
/// transaction mode (with `pgbouncer=true`).
pub const PGBOUNCER_URL_VAR: &str = "MEMTABLE_TEST_PGBOUNCER_URL";

/// PostgreSQL truncates identifiers longer than this many bytes.
const MAX_IDENTIFIER_LEN: usize = 63;

/// Returns the URL of a SQLite database file `<name>.db` inside `dir`,
/// as `sqlite://<dir>/<name>.db`.
///
/// The file is not created; connect with
/// `SqliteConnectOptions::from_str(&url)?.create_if_missing(true)`.
/// Characters that sqlx would percent-decode (`%`, `?`, `#`) are encoded.
pub fn sqlite_url(dir: &tempfile::TempDir, name: &str) -> String {
    let path = dir.path().join(format!("{name}.db"));
    let mut url = String::from("sqlite://");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => url.push_str("%25"),
            '?' => url.push_str("%3F"),
            '#' => url.push_str("%23"),
            c => url.push(c),
        }
    }
    url
}

/// Returns the PostgreSQL test database URL from [`POSTGRES_URL_VAR`].
///
/// When the variable is unset or empty:
/// - if `CI` is set (non-empty), this panics, so that PostgreSQL tests fail
///   in CI instead of silently skipping;
/// - otherwise it returns `None` and prints (once per process) a note to
///   stderr that PostgreSQL tests are skipped; run `scripts/test` to run them.
///
/// # Panics
///
/// Panics when the URL is missing while `CI` is set.
pub fn postgres_url() -> Option<String> {
    test_url(POSTGRES_URL_VAR)
}

/// Returns the URL through the transaction-mode pooler from [`PGBOUNCER_URL_VAR`], as
/// [`postgres_url`] does (skipped locally when unset, a panic in CI).
///
/// # Panics
///
/// Panics when the URL is missing while `CI` is set.
pub fn pgbouncer_url() -> Option<String> {
    test_url(PGBOUNCER_URL_VAR)
}

/// The value of one of the URL variables `scripts/test` exports (or of the paths it exports
/// beside them): `None` locally when unset, a panic in CI.
///
/// # Panics
///
/// Panics when the variable is missing while `CI` is set.
#[allow(
    clippy::panic,
    reason = "test helper: a missing database in CI must fail the tests, not skip them"
)]
pub fn test_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
            if in_ci {
                panic!(
                    "{var} is not set but CI is: PostgreSQL tests must run in CI. \
                     Run the tests through scripts/test, which starts PostgreSQL and sets it."
                );
            }
            static NOTE: Once = Once::new();
            NOTE.call_once(|| {
                eprintln!(
                    "note: {var} is not set; skipping PostgreSQL tests locally \
                     (run scripts/test to include them)"
                );
            });
            None
        }
    }
}

/// Returns a fresh SQL identifier (table or schema name) starting with
/// `prefix`, unique per process and per call.
///
/// The result is `<prefix>_<pid>_<counter>_<hex>`, where `<hex>` are a few
/// digits derived from the system time so that names from successive runs
/// against the same PostgreSQL database differ too. The prefix is lowercased,
/// characters other than ASCII letters, digits and `_` become `_`, a leading
/// digit gets a `t` in front, and it is shortened so the whole name fits in
/// PostgreSQL's 63-byte identifier limit. The name never needs quoting.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32).rotate_left(16))
        .unwrap_or_default();
    let noise = (nanos ^ (count as u32).wrapping_mul(0x9E37_79B9)) & 0xFF_FFFF;
    let suffix = format!("_{}_{count}_{noise:06x}", std::process::id());

    let mut name: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 't');
    }
    name.truncate(MAX_IDENTIFIER_LEN.saturating_sub(suffix.len()));
    name.push_str(&suffix);
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn is_plain_identifier(name: &str) -> bool {
        name.len() <= MAX_IDENTIFIER_LEN
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }

    #[test]
    fn unique_names_are_plain_identifiers_and_distinct() {
        let prefixes = ["items", "Mixed-Case name", "", "9lives", &"x".repeat(100)];
        let mut seen = HashSet::new();
        for _ in 0..50 {
            for prefix in prefixes {
                let name = unique_name(prefix);
                assert!(
                    is_plain_identifier(&name),
                    "not a plain identifier: {name:?}"
                );
                assert!(seen.insert(name.clone()), "duplicate name: {name:?}");
            }
        }
        assert!(unique_name("items").starts_with("items_"));
    }

    #[test]
    fn sqlite_url_points_into_the_dir() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let url = sqlite_url(&dir, "store");
        let expected = format!("sqlite://{}/store.db", dir.path().display());
        assert_eq!(url, expected);
        Ok(())
    }
}

pub mod fixture;
