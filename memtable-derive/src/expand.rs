//! Code generation from a checked [`TableModel`].
//!
//! Everything generated names only `::memtable::__private`. Field types are checked by the
//! compiler: each field's kind (`<T as SqlType>::Kind`, or the kind its `json` / `type`
//! attribute gives) must be able to hold its value type (`Codec`), and an `auto_increment`
//! field must be an integer (`AutoIncrementKey`); those bounds are spanned on the field's type,
//! so the compiler's message points at it.
//!
//! A struct with attribute errors is not expanded: the errors become `compile_error!`s, and
//! next to them goes one function that only states the type bounds of every field whose
//! column kind is known (`type_checks`), so that a bad field type is reported in the same
//! compile as the attribute errors, not after they are fixed.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::DeriveInput;
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;

use crate::model::{self, FieldModel, TableModel};

/// Expands `#[derive(Table)]` on `input`; with errors, every one of them (as `compile_error!`s)
/// and the type checks of the fields that could be read.
pub fn expand(input: DeriveInput) -> TokenStream {
    let (model, errors) = model::parse(&input);
    match errors {
        None => generate(&model),
        Some(errors) => {
            let mut out = errors.into_compile_error();
            // A generic struct is an error of its own; its field types may name its parameters.
            if input.generics.params.is_empty() {
                out.extend(type_checks(&model));
            }
            out
        }
    }
}

/// `tokens`, every one of them (nested ones too) spanned at `span`.
fn respanned(tokens: TokenStream, span: Span) -> TokenStream {
    use proc_macro2::{Group, TokenTree};
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut respanned = Group::new(group.delimiter(), respanned(group.stream(), span));
                respanned.set_span(span);
                TokenTree::Group(respanned)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// The JSON value of a `default = ...` literal, and the literal's kind marker
/// (`__private::literal::Int`, ...).
fn default_tokens(
    literal: &model::DefaultLiteral,
    span: Span,
) -> (TokenStream, proc_macro2::Ident) {
    use model::DefaultLiteral as L;
    let (value, kind) = match literal {
        L::Str(s) => (quote_spanned!(span=> #s), "Str"),
        L::Int(i) => (quote_spanned!(span=> #i), "Int"),
        L::Float(f) => (quote_spanned!(span=> #f), "Float"),
        L::Bool(b) => (quote_spanned!(span=> #b), "Bool"),
    };
    (value, proc_macro2::Ident::new(kind, span))
}

/// For a struct with attribute errors: a never-called function whose body requires, spanned on
/// each field's type, what the full expansion would (`Codec` of the field's kind for its value
/// type, and `AutoIncrementKey` for an `auto_increment` key), so that the compiler reports a
/// field type that does not fit with the same message and at the same token as it would
/// without the attribute errors. Fields whose `json` / `type` attributes are in error are left
/// out: their column kind is unknown. It is an inherent method, so that `Self` in a field type
/// means the struct, as it does in the full expansion.
fn type_checks(model: &TableModel) -> TokenStream {
    let checks: Vec<TokenStream> = model
        .fields
        .iter()
        .filter(|f| f.kind_known)
        .map(|f| {
            let (span, p) = field_span(f);
            let kind = kind(f);
            let value_ty = &f.value_ty;
            let auto_increment = (f.auto_increment.is_some() && f.primary_key.is_some() && !f.json)
                .then(|| quote_spanned!(span=> #p::require_auto_increment::<#value_ty>();));
            quote_spanned! {span=>
                let _ = #p::codec::<#kind, #value_ty>();
                #auto_increment
            }
        })
        .collect();
    if checks.is_empty() {
        return TokenStream::new();
    }
    let ident = &model.ident;
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #ident {
                #[allow(dead_code, clippy::all)]
                fn __memtable_field_type_checks() {
                    #(#checks)*
                }
            }
        };
    }
}

fn generate(model: &TableModel) -> TokenStream {
    let p = quote!(::memtable::__private);
    let ident = &model.ident;
    let table = &model.table;
    let count = model.fields.len();

    let Some(key) = model.fields.get(model.primary_key) else {
        // `model::parse` refuses a struct without a primary key; this is only a safety net.
        return syn::Error::new(model.ident.span(), "a table needs a primary key")
            .into_compile_error();
    };
    let key_column = &key.column;
    let key_kind = kind(key);
    let auto_increment = key.auto_increment.is_some();

    // Everything generated for a field is spanned on its value type, so that the compiler
    // reports a type that does not fit there, once (identical diagnostics are deduplicated).
    let columns = model.fields.iter().map(|f| {
        let (span, p) = field_span(f);
        let column = &f.column;
        let kind = kind(f);
        let mut constraints = Vec::new();
        if f.primary_key.is_some() {
            constraints.push(quote_spanned!(span=> #p::Constraint::PrimaryKey));
            if f.auto_increment.is_some() {
                constraints.push(quote_spanned!(span=> #p::Constraint::AutoIncrement));
            }
        } else if !f.nullable {
            constraints.push(quote_spanned!(span=> #p::Constraint::NotNull));
        }
        if f.unique {
            constraints.push(quote_spanned!(span=> #p::Constraint::Unique));
        }
        let column = quote_spanned! {span=>
            #p::column(#column, <#kind as #p::ColumnKind>::COLUMN_TYPE, &[#(#constraints),*])
        };
        match &f.default {
            None => column,
            Some((literal, span)) => {
                let (value, literal_kind) = default_tokens(literal, *span);
                // Spanned on the literal, the column's kind too: a literal that cannot be a
                // value of the column's kind fails to compile there (`DefaultFits`).
                let kind = respanned(kind.clone(), *span);
                quote_spanned! {*span=>
                    #p::with_default(#column, #p::default_value::<#kind, #p::literal::#literal_kind>(#value))
                }
            }
        }
    });
    let indexes = model.indexes.iter().map(|i| {
        let name = &i.name;
        let columns = &i.columns;
        let unique = i.unique;
        quote!(#p::index(#name, &[#(#columns),*], #unique))
    });

    let encode = model.fields.iter().map(|f| {
        let (span, p) = field_span(f);
        let field = &f.ident;
        let column = &f.column;
        let kind = kind(f);
        let value_ty = &f.value_ty;
        let value = if f.nullable {
            quote_spanned! {span=>
                #p::codec::<#kind, #value_ty>().encode_option(
                    #p::Option::as_ref(&self.#field),
                    &#p::Site { table: #table, column: #column },
                )?
            }
        } else {
            quote_spanned! {span=>
                #p::codec::<#kind, #value_ty>().encode(
                    &self.#field,
                    &#p::Site { table: #table, column: #column },
                )?
            }
        };
        quote!(#p::push_column(&mut record, #column, #value);)
    });

    let slots: Vec<_> = (0..count).map(|i| format_ident!("__slot{}", i)).collect();
    let match_arms = model.fields.iter().zip(&slots).map(|(f, slot)| {
        let column = &f.column;
        quote!(#column => #slot = #p::Some(value),)
    });
    let match_arms: Vec<_> = match_arms.collect();
    // A row read from the table names its columns in the struct's order: the field at the
    // column's place is tried first, one comparison, before a search among the others.
    let in_place_arms = model
        .fields
        .iter()
        .zip(&slots)
        .enumerate()
        .map(|(i, (f, slot))| {
            let column = &f.column;
            let i = proc_macro2::Literal::usize_unsuffixed(i);
            quote!(#i if column == #column => #slot = #p::Some(value),)
        });
    // A field decoded from the value `slot` (an `Option<Value>` expression) yields.
    let decode_field = |f: &FieldModel, slot: TokenStream| {
        let (span, p) = field_span(f);
        let field = &f.ident;
        let column = &f.column;
        let kind = kind(f);
        let value_ty = &f.value_ty;
        let decode = if f.nullable {
            quote_spanned!(span=> decode_option)
        } else {
            quote_spanned!(span=> decode)
        };
        quote_spanned! {span=>
            #field: #p::codec::<#kind, #value_ty>().#decode(
                #slot,
                &#p::Site { table: #table, column: #column },
            )?
        }
    };
    let decode: Vec<_> = model
        .fields
        .iter()
        .zip(&slots)
        .map(|(f, slot)| decode_field(f, quote!(#slot)))
        .collect();
    let column_names = model.fields.iter().map(|f| &f.column);
    let decode_next: Vec<_> = model
        .fields
        .iter()
        .map(|f| {
            let (span, p) = field_span(f);
            decode_field(f, quote_spanned!(span=> #p::Iterator::next(&mut values)))
        })
        .collect();

    let handles = model.fields.iter().map(|f| {
        let (span, p) = field_span(f);
        let vis = &model.vis;
        let handle = &f.handle;
        let kind = kind(f);
        let value_ty = &f.value_ty;
        let nullability = if f.nullable {
            quote_spanned!(span=> #p::Nullable)
        } else {
            quote_spanned!(span=> #p::NotNull)
        };
        let doc = format!(
            "Column `{}` of table `{table}` (field `{}: {}`): a typed handle for filters and \
             ordering in `Store::select`.",
            f.column,
            f.ident.unraw(),
            type_text(&f.ty),
        );
        let column = syn::LitStr::new(&f.column, span);
        quote_spanned! {span=>
            #[doc = #doc]
            #[allow(dead_code)]
            #vis const #handle: #p::TypedColumn<Self, #value_ty, #kind, #nullability> =
                #p::TypedColumn::new(#column);
        }
    });

    let checks = model.fields.iter().map(|f| {
        let (span, p) = field_span(f);
        let value_ty = &f.value_ty;
        f.auto_increment.map(|_| {
            quote_spanned! {span=>
                const _: () = #p::require_auto_increment::<#value_ty>();
            }
        })
    });

    quote! {
        const _: () = {
            #(#checks)*

            #[automatically_derived]
            impl #p::Table for #ident {
                const TABLE_NAME: &'static str = #table;
                const PRIMARY_KEY: &'static str = #key_column;
                const PRIMARY_KEY_TYPE: #p::ColumnType =
                    <#key_kind as #p::ColumnKind>::COLUMN_TYPE;
                const AUTO_INCREMENT: bool = #auto_increment;

                fn schema() -> #p::TableSchema {
                    #p::schema(
                        #table,
                        #p::Vec::from([#(#columns),*]),
                        #p::Vec::from([#(#indexes),*]),
                    )
                }

                fn to_record(&self) -> #p::Result<#p::Record> {
                    let mut record = #p::Record::with_capacity(#count);
                    #(#encode)*
                    #p::Ok(record)
                }

                fn from_record(record: #p::Record) -> #p::Result<Self> {
                    #p::decode_record(record, Self::from_columns)
                }

                fn from_columns(
                    columns: &mut dyn #p::Iterator<Item = (&str, #p::Value)>,
                ) -> #p::Result<Self> {
                    #(let mut #slots: #p::Option<#p::Value> = #p::None;)*
                    for (place, (column, value)) in columns.enumerate() {
                        match place {
                            #(#in_place_arms)*
                            _ => match column {
                                #(#match_arms)*
                                _ => {}
                            },
                        }
                    }
                    #p::Ok(Self { #(#decode),* })
                }

                const COLUMN_NAMES: &'static [&'static str] = &[#(#column_names),*];

                fn from_values(values: #p::Vec<#p::Value>) -> #p::Result<Self> {
                    let mut values = #p::IntoIterator::into_iter(values);
                    #p::Ok(Self { #(#decode_next),* })
                }
            }

            #[automatically_derived]
            impl #ident {
                #(#handles)*
            }
        };
    }
}

/// The span of a field's value type, and `::memtable::__private` spanned there.
fn field_span(f: &FieldModel) -> (Span, TokenStream) {
    let span = f.value_ty.span();
    (span, quote_spanned!(span=> ::memtable::__private))
}

/// The kind marker type of a field's column, spanned on the field's value type: `json` and
/// `type = "..."` name it, else the value type's default (`KindOf<T>`, that is `<T as SqlType>::Kind`, spanned on the type so that an
/// unsupported type is reported there).
fn kind(f: &FieldModel) -> TokenStream {
    let (span, p) = field_span(f);
    if f.json {
        quote_spanned!(span=> #p::kind::Json)
    } else if let Some(kind) = &f.column_type {
        // Spanned on the type too (not on the attribute's string), so that a type that does not
        // fit the column is reported at the type.
        let kind = syn::Ident::new(&kind.to_string(), span);
        quote_spanned!(span=> #p::kind::#kind)
    } else {
        let value_ty = &f.value_ty;
        quote_spanned!(span=> #p::KindOf<#value_ty>)
    }
}

/// A type as a user writes it (`Option<String>`, not `Option < String >`).
fn type_text(ty: &syn::Type) -> String {
    let text = quote!(#ty).to_string();
    let mut out = String::with_capacity(text.len());
    let tokens: Vec<&str> = text.split(' ').collect();
    for (i, token) in tokens.iter().enumerate() {
        let glue_left = matches!(*token, "<" | ">" | "," | "::" | ")" | "]")
            || tokens
                .get(i.wrapping_sub(1))
                .is_some_and(|prev| matches!(*prev, "<" | "::" | "&" | "(" | "["));
        if i > 0 && !glue_left {
            out.push(' ');
        }
        out.push_str(token);
    }
    out
}
