//! Plugin namespaces: where a plugin's table lives in the database.
//!
//! A table created through [`Store::scoped`](super::Store::scoped) gets a *physical* name made
//! from the plugin's name and the table's; the catalog row records it (`table_name`, the
//! catalog's key), beside the owner and the schema as the plugin declared it (whose `name` is
//! the name the plugin addresses the table by). Index names are made the same way, since a
//! database has one namespace for the tables and indexes of a schema.
//!
//! The scheme, for plugin `p` and table `t` (index `i`):
//!
//! - `_mtns_{len(p)}_{p}_{t}` for a table and `_mtns_{len(p)}_{p}_{len(t)}_{t}_{i}` for an
//!   index, when `p` has no upper-case letter and the result fits in 63 bytes. The lengths make
//!   the name decodable, hence two different (plugin, table, index) never share one; a table
//!   name never starts with a digit, so a table's name is never an index's.
//! - otherwise `_mtns_h{hash}_{cut}`: `hash` is 16 hex digits of the 64-bit FNV-1a hash of the
//!   exact parts (kind, plugin, table, index), `cut` the start of `{p}_{t}` for people reading
//!   it. SQLite compares table names without regard to case, so a plugin `Notes` must not land
//!   on plugin `notes`'s names: with an upper-case letter the name is always hashed.
//!
//! Every name the store accepts from a caller, in any scope, is refused when it starts with
//! `_mtns_` (in any case): a table a user creates never takes a plugin's physical name. Tables
//! created before namespaces (and by [`Store::create_owned_table`](super::Store::create_owned_table))
//! keep their own name as physical name, with the owner recorded: the owner's scope and the
//! host both address them by that name.

use crate::error::{Error, IdentifierKind, IdentifierProblem, Result};
use crate::schema::{MAX_IDENTIFIER_LEN, TableSchema, validate_identifier};

/// The start of every physical name in a plugin's namespace.
pub(crate) const PREFIX: &str = "_mtns_";

/// Checks a plugin's name: an identifier as a table name is (`^[a-zA-Z_][a-zA-Z0-9_]*$`, at most
/// 63 bytes, not `sqlite_…` or `pg_…`).
pub(crate) fn validate_plugin(plugin: &str) -> Result<()> {
    validate_identifier(IdentifierKind::Plugin, plugin)
}

/// Checks a table or index name given by a caller: a valid identifier, not in the reserved
/// form of physical names.
pub(crate) fn validate_name(kind: IdentifierKind, name: &str) -> Result<()> {
    validate_identifier(kind, name)?;
    if is_reserved(name) {
        return Err(Error::InvalidIdentifier {
            kind,
            name: name.to_owned(),
            reason: IdentifierProblem::Namespaced,
        });
    }
    Ok(())
}

/// Whether `name` is in the form of a physical name in a namespace.
pub(crate) fn is_reserved(name: &str) -> bool {
    name.get(..PREFIX.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(PREFIX))
}

/// The physical name of table `table` of plugin `plugin`.
pub(crate) fn physical_table(plugin: &str, table: &str) -> String {
    let readable = format!("{PREFIX}{}_{plugin}_{table}", plugin.len());
    physical(
        readable,
        plugin,
        &[b"t", plugin.as_bytes(), table.as_bytes()],
        table,
    )
}

/// The physical name of index `index` of table `table` of plugin `plugin`.
pub(crate) fn physical_index(plugin: &str, table: &str, index: &str) -> String {
    let readable = format!(
        "{PREFIX}{}_{plugin}_{}_{table}_{index}",
        plugin.len(),
        table.len()
    );
    let parts = [b"i", plugin.as_bytes(), table.as_bytes(), index.as_bytes()];
    physical(readable, plugin, &parts, table)
}

/// The schema `logical` (as plugin `plugin` declared it) with its physical table and index
/// names: the one rendered into SQL.
pub(crate) fn physical_schema(plugin: &str, logical: &TableSchema) -> TableSchema {
    let mut schema = logical.clone();
    schema.name = physical_table(plugin, &logical.name);
    for index in &mut schema.indexes {
        index.name = physical_index(plugin, &logical.name, &index.name);
    }
    schema
}

fn physical(readable: String, plugin: &str, parts: &[&[u8]], table: &str) -> String {
    if readable.len() <= MAX_IDENTIFIER_LEN && !plugin.bytes().any(|b| b.is_ascii_uppercase()) {
        return readable;
    }
    let mut name = format!("{PREFIX}h{:016x}_", fnv1a(parts));
    // Identifiers are ASCII: any byte is a char boundary.
    let room = MAX_IDENTIFIER_LEN - name.len();
    let cut: String = format!("{plugin}_{table}").chars().take(room).collect();
    name.push_str(&cut);
    name
}

/// FNV-1a, 64 bits, over the parts separated by a zero byte (which no identifier holds): stable
/// across Rust releases and platforms, unlike the standard library's hasher.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            // The zero byte: xor with it changes nothing, the multiplication remains.
            hash = hash.wrapping_mul(PRIME);
        }
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lower_case_names_are_readable() {
        assert_eq!(physical_table("crm", "settings"), "_mtns_3_crm_settings");
        assert_eq!(
            physical_index("crm", "settings", "idx_key"),
            "_mtns_3_crm_8_settings_idx_key"
        );
    }

    #[test]
    fn names_are_decodable_so_never_shared() {
        // `a_` + `b` and `a` + `_b` would both join to `a__b`.
        assert_ne!(physical_table("a_", "b"), physical_table("a", "_b"));
        assert_ne!(
            physical_index("a", "b_c", "d"),
            physical_index("a", "b", "c_d")
        );
    }

    #[test]
    fn upper_case_plugins_and_long_names_are_hashed_within_63_bytes() {
        let upper = physical_table("Crm", "settings");
        let lower = physical_table("crm", "settings");
        assert!(upper.starts_with("_mtns_h"));
        assert!(!upper.eq_ignore_ascii_case(&lower));
        let long = physical_table(&"p".repeat(63), &"t".repeat(63));
        assert!(long.len() <= MAX_IDENTIFIER_LEN);
        assert_eq!(long, physical_table(&"p".repeat(63), &"t".repeat(63)));
        assert_ne!(long, physical_table(&"p".repeat(63), &"t".repeat(62)));
        let index = physical_index(&"p".repeat(63), &"t".repeat(63), "i");
        assert!(index.len() <= MAX_IDENTIFIER_LEN);
        assert_ne!(index, long);
        for name in [upper, lower, long, index] {
            assert!(validate_identifier(IdentifierKind::Table, &name).is_ok());
            assert!(is_reserved(&name));
        }
    }

    #[test]
    fn callers_cannot_name_the_reserved_form() {
        for name in ["_mtns_3_crm_settings", "_MTNS_x", "_Mtns_"] {
            assert!(matches!(
                validate_name(IdentifierKind::Table, name),
                Err(Error::InvalidIdentifier {
                    reason: IdentifierProblem::Namespaced,
                    ..
                })
            ));
        }
        assert!(validate_name(IdentifierKind::Table, "_mtn_settings").is_ok());
    }

    #[test]
    fn the_hash_is_stable() {
        // Written down once: a change of the scheme would lose every plugin's tables.
        assert_eq!(fnv1a(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
    }
}
