//! What a backend can do, so that the store and the statement families ask the backend what
//! it supports instead of which backend it is.

/// The capabilities of one backend, given by its dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Capabilities {
    /// The bulk forms of `insert_many` beyond multi-row `INSERT … VALUES`.
    pub(crate) bulk: BulkForms,
    /// Whether DDL inside a transaction rolls back with it.
    pub(crate) transactional_ddl: bool,
    /// Whether a JSON value is bound as its canonical text (the database stores JSON as
    /// text). A batch then writes the text while it coerces a chunk, which overlaps the
    /// database's work on the chunk before, instead of on the database's thread.
    pub(crate) json_as_text: bool,
}

/// Bulk insert forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BulkForms {
    /// `INSERT … SELECT UNNEST($1::T[]), …`: one array parameter per column.
    pub(crate) arrays: bool,
    /// `COPY … FROM STDIN (FORMAT binary)`.
    pub(crate) copy: bool,
}
