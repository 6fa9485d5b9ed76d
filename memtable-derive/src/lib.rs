//! `#[derive(Table)]` for memtable.
//!
//! Use it through memtable (`use memtable::Table;`, feature `derive`, on by default): the
//! documentation of every attribute, with examples, is on `memtable::Table`. The generated code
//! names only `::memtable::__private`, so the deriving crate needs `memtable` as a dependency
//! under that name.
//!
//! The macro first reads the struct and its `#[memtable(...)]` attributes into a model
//! (`model.rs`), collecting every error it finds, each pointing at the offending token; only a
//! struct without errors is expanded (`expand.rs`). Field types are checked by the compiler,
//! through trait bounds spanned on each field's type; a struct with attribute errors still gets
//! those checks, so that one compile reports both kinds of mistake.

mod expand;
mod ident;
mod model;

use proc_macro::TokenStream;

/// Derives `memtable::Table` for a struct with named fields: its schema, its conversion to and
/// from rows, and a typed column handle per field (`OauthToken::USER_ID`).
///
/// See `memtable::Table` for the attributes and examples.
#[proc_macro_derive(Table, attributes(memtable))]
pub fn derive_table(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::expand(input).into()
}
