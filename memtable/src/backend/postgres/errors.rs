//! PostgreSQL's errors: which are constraint violations (from SQLSTATE and the error's
//! table / column / constraint fields) and which a missing table.

use sqlx::error::ErrorKind;
use sqlx::postgres::PgDatabaseError;

use crate::backend::sqlx::error::sqlx_database_error;
use crate::error::{ConstraintKind, DatabaseError, Error};
use crate::schema::TableSchema;

/// undefined_table
const UNDEFINED_TABLE: &str = "42P01";

/// Turns a database error into the memtable error it stands for, if it is one.
pub(super) fn classify(
    error: &DatabaseError,
    table: &str,
    schema: Option<&TableSchema>,
) -> Option<Error> {
    if error.code() == Some(UNDEFINED_TABLE) {
        return Some(Error::TableNotFound {
            table: table.to_owned(),
        });
    }
    let error = sqlx_database_error(error)?;
    let pg = error.try_downcast_ref::<PgDatabaseError>();
    let constraint = pg.and_then(PgDatabaseError::constraint).map(str::to_owned);
    let mut kind = match error.kind() {
        ErrorKind::UniqueViolation => ConstraintKind::Unique,
        ErrorKind::NotNullViolation => ConstraintKind::NotNull,
        ErrorKind::CheckViolation => ConstraintKind::Check,
        ErrorKind::ForeignKeyViolation => ConstraintKind::ForeignKey,
        _ => return None,
    };
    let failed_table = pg
        .and_then(PgDatabaseError::table)
        .unwrap_or(table)
        .to_owned();
    let mut column = pg.and_then(PgDatabaseError::column).map(str::to_owned);
    if kind == ConstraintKind::Unique
        && let (Some(schema), Some(name)) = (schema, constraint.as_deref())
    {
        // PostgreSQL names the constraint, not the column: `t_pkey` for the key, the index's
        // own name for a unique index, `t_c_key` for a unique column.
        if name == default_constraint_name(&schema.name, None, "pkey") {
            kind = ConstraintKind::PrimaryKey;
            column = schema.primary_key().map(|c| c.name.clone());
        } else if let Some(index) = schema.indexes.iter().find(|i| i.name == name) {
            column = Some(index.columns.join(", "));
        } else if let Some(c) = schema
            .columns
            .iter()
            .find(|c| name == default_constraint_name(&schema.name, Some(&c.name), "key"))
        {
            column = Some(c.name.clone());
        }
    }
    Some(Error::ConstraintViolation {
        kind,
        table: Some(failed_table),
        column,
        constraint,
        // The message names the constraint; the detail (which quotes the values) is left out.
        message: error.message().to_owned(),
    })
}

/// The name PostgreSQL gives a constraint it names itself (`makeObjectName`): `a_b_label`,
/// with the longer of `a` and `b` shortened a byte at a time until the name fits in 63 bytes.
/// memtable's identifiers are ASCII, so bytes are characters.
fn default_constraint_name(table: &str, column: Option<&str>, label: &str) -> String {
    const MAX_NAME: usize = 63;
    let mut table_len = table.len();
    let mut column_len = column.map_or(0, str::len);
    let overhead = label.len() + 1 + usize::from(column.is_some());
    while table_len + column_len + overhead > MAX_NAME {
        if table_len > column_len {
            table_len -= 1;
        } else {
            column_len -= 1;
        }
    }
    let mut name = table.get(..table_len).unwrap_or(table).to_owned();
    if let Some(column) = column {
        name.push('_');
        name.push_str(column.get(..column_len).unwrap_or(column));
    }
    name.push('_');
    name.push_str(label);
    name
}

#[cfg(test)]
mod tests {
    use super::default_constraint_name;

    #[test]
    fn constraint_names_are_cut_as_postgresql_cuts_them() {
        assert_eq!(default_constraint_name("t", None, "pkey"), "t_pkey");
        assert_eq!(
            default_constraint_name("t", Some("email"), "key"),
            "t_email_key"
        );
        let long = "a".repeat(63);
        assert_eq!(
            default_constraint_name(&long, None, "pkey"),
            format!("{}_pkey", "a".repeat(58))
        );
        // The longer part gives way first, then both in turn.
        assert_eq!(
            default_constraint_name(&long, Some("email"), "key"),
            format!("{}_email_key", "a".repeat(53))
        );
        let column = "c".repeat(40);
        let name = default_constraint_name(&long, Some(&column), "key");
        assert_eq!(name.len(), 63);
        assert_eq!(name, format!("{}_{}_key", "a".repeat(29), "c".repeat(29)));
    }
}
