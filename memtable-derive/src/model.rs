//! The struct and its `#[memtable(...)]` attributes, read into a model and checked.
//!
//! Every problem becomes a `syn::Error` spanned on the offending token; all of them are collected
//! and reported together, so one compile shows every mistake of a struct. The model is built
//! even when there are errors, so that the types of the fields that could be read are still
//! checked by the compiler in the same compile (see `expand.rs`).

use std::collections::HashMap;

use proc_macro2::Span;
use syn::ext::IdentExt as _;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned as _;
use syn::{
    Data, DeriveInput, Fields, GenericArgument, Ident, LitStr, Path, PathArguments, Token, Type,
    Visibility,
};

use crate::ident::{identifier_problem, screaming_snake_case, snake_case};

/// The keys `#[memtable(...)]` takes on a struct.
const STRUCT_KEYS: &str = "table, index";
/// The keys `index(...)` takes.
const INDEX_KEYS: &str = "name, columns, unique";
/// The keys `#[memtable(...)]` takes on a field.
const FIELD_KEYS: &str = "primary_key, auto_increment, unique, json, rename, type, default";
/// The column types `type = "..."` takes.
const COLUMN_TYPES: [&str; 7] = [
    "text", "integer", "bigint", "real", "blob", "json", "boolean",
];

/// A struct that derives `Table`, checked.
pub struct TableModel {
    /// The struct's name.
    pub ident: Ident,
    /// The struct's visibility (the column handles get the same).
    pub vis: Visibility,
    /// The table's name.
    pub table: String,
    /// The fields, in declaration order (the table's column order).
    pub fields: Vec<FieldModel>,
    /// The secondary indexes.
    pub indexes: Vec<IndexModel>,
    /// The position of the primary key in `fields`.
    pub primary_key: usize,
}

/// One field, which is one column.
pub struct FieldModel {
    /// The field's name (as written, possibly raw).
    pub ident: Ident,
    /// The column's name.
    pub column: String,
    /// The name of the column handle (`USER_ID`).
    pub handle: Ident,
    /// The field's type as written.
    pub ty: Type,
    /// The value type: `T` for an `Option<T>` field, else the field's type.
    pub value_ty: Type,
    /// Whether the field is an `Option` (a nullable column).
    pub nullable: bool,
    /// `primary_key`, with the span of the attribute.
    pub primary_key: Option<Span>,
    /// `auto_increment`, with the span of the attribute.
    pub auto_increment: Option<Span>,
    /// `unique`.
    pub unique: bool,
    /// `json`.
    pub json: bool,
    /// `type = "..."`: the column type's kind marker name (`Bigint`).
    pub column_type: Option<Ident>,
    /// `default = <literal>`: the column's default, with the span of the literal.
    pub default: Option<(DefaultLiteral, Span)>,
    /// Whether the attributes that decide the column's kind (`json`, `type`) were read without
    /// error, so that the field's type can be checked against that kind.
    pub kind_known: bool,
}

/// The literal of a `default = ...`, read at expansion time (a negative number included).
#[derive(Debug, Clone)]
pub enum DefaultLiteral {
    /// A string literal.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
}

/// A secondary index.
pub struct IndexModel {
    /// Its name.
    pub name: String,
    /// Its columns (column names, not field names), in order.
    pub columns: Vec<String>,
    /// Whether it is unique.
    pub unique: bool,
}

/// Collects errors so that all of them are reported at once.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn spanned<T: quote::ToTokens>(&mut self, tokens: T, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    fn finish(self) -> Option<syn::Error> {
        self.0
    }
}

/// An index as written, before its fields are resolved to columns.
struct RawIndex {
    keyword: Path,
    name: Option<LitStr>,
    columns: Vec<Ident>,
    unique: bool,
}

/// Reads and checks the struct: its model, and every error found in it (`None` when there is
/// none). The model holds every field that has a name, also when there are errors.
pub fn parse(input: &DeriveInput) -> (TableModel, Option<syn::Error>) {
    let mut errors = Errors::default();

    if !input.generics.params.is_empty() {
        errors.spanned(
            &input.generics,
            "#[derive(Table)] does not support generic structs: a table has one fixed set of column types",
        );
    }
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => Some(named),
            _ => {
                errors.at(
                    input.ident.span(),
                    "#[derive(Table)] needs a struct with named fields: each field is a column",
                );
                None
            }
        },
        Data::Enum(data) => {
            errors.at(
                data.enum_token.span,
                "#[derive(Table)] needs a struct with named fields, not an enum",
            );
            None
        }
        Data::Union(data) => {
            errors.at(
                data.union_token.span,
                "#[derive(Table)] needs a struct with named fields, not a union",
            );
            None
        }
    };

    // ---- struct attributes ----
    let mut table: Option<LitStr> = None;
    let mut raw_indexes: Vec<RawIndex> = Vec::new();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("memtable")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                let value: LitStr = meta.value()?.parse()?;
                if table.is_some() {
                    errors.spanned(&meta.path, "`table` is given more than once");
                }
                table = Some(value);
            } else if meta.path.is_ident("index") {
                raw_indexes.push(parse_index(&meta, &mut errors)?);
            } else {
                errors.spanned(&meta.path, unknown_key(&meta.path, "a struct", STRUCT_KEYS));
                skip_value(&meta)?;
            }
            Ok(())
        });
        if let Err(error) = parsed {
            errors.push(error);
        }
    }

    let table_name = match &table {
        Some(lit) => {
            let name = lit.value();
            if let Some(problem) = identifier_problem(&name) {
                errors.spanned(lit, format!("invalid table name {name:?}: {problem}"));
            }
            name
        }
        None => {
            let name = snake_case(&input.ident.unraw().to_string());
            if let Some(problem) = identifier_problem(&name) {
                errors.at(
                    input.ident.span(),
                    format!(
                        "the default table name {name:?} (the struct's name in snake_case) is invalid: {problem}; \
                         set one with #[memtable(table = \"...\")]"
                    ),
                );
            }
            name
        }
    };

    // ---- fields ----
    let mut fields = Vec::new();
    if let Some(named) = named {
        for field in &named.named {
            if let Some(model) = parse_field(field, &mut errors) {
                fields.push(model);
            }
        }
        if named.named.is_empty() {
            errors.at(
                input.ident.span(),
                "a table needs at least one column: add a field",
            );
        }
    }

    // Columns and handles must be unique (columns case-insensitively, as in memtable).
    let mut columns_seen: HashMap<String, &Ident> = HashMap::new();
    let mut handles_seen: HashMap<String, &Ident> = HashMap::new();
    for field in &fields {
        if let Some(first) = columns_seen.insert(field.column.to_ascii_lowercase(), &field.ident) {
            errors.spanned(
                &field.ident,
                format!(
                    "column {:?} is declared twice (also by field `{first}`); column names are compared case-insensitively",
                    field.column
                ),
            );
        }
        if let Some(first) = handles_seen.insert(field.handle.to_string(), &field.ident) {
            errors.spanned(
                &field.ident,
                format!(
                    "fields `{first}` and `{}` would both get the column handle `{}`; rename one",
                    field.ident, field.handle
                ),
            );
        }
    }

    // Exactly one primary key.
    let keys: Vec<usize> = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.primary_key.is_some())
        .map(|(i, _)| i)
        .collect();
    let primary_key = keys.first().copied().unwrap_or(0);
    if keys.is_empty() && named.is_some_and(|n| !n.named.is_empty()) {
        errors.at(
            input.ident.span(),
            format!(
                "table {table_name:?} has no primary key: mark exactly one field #[memtable(primary_key)]"
            ),
        );
    }
    if let Some(&first) = keys.first() {
        for &other in &keys[1..] {
            errors.at(
                fields[other]
                    .primary_key
                    .unwrap_or_else(|| fields[other].ident.span()),
                format!(
                    "field `{}` cannot be a second primary key: a table has exactly one, and it is `{}`",
                    fields[other].ident, fields[first].ident
                ),
            );
        }
    }

    // ---- indexes ----
    let mut indexes = Vec::new();
    let mut index_names: HashMap<String, ()> = HashMap::new();
    for raw in raw_indexes {
        let name = match &raw.name {
            Some(lit) => {
                let name = lit.value();
                if let Some(problem) = identifier_problem(&name) {
                    errors.spanned(lit, format!("invalid index name {name:?}: {problem}"));
                } else if index_names.insert(name.to_ascii_lowercase(), ()).is_some() {
                    errors.spanned(lit, format!("index {name:?} is declared twice"));
                }
                name
            }
            None => {
                errors.spanned(
                    &raw.keyword,
                    "an index needs a name: index(name = \"idx_...\", columns(a, b))",
                );
                String::new()
            }
        };
        if raw.columns.is_empty() {
            errors.spanned(
                &raw.keyword,
                format!("index {name:?} lists no columns: add columns(field, ...)"),
            );
        }
        let mut columns: Vec<String> = Vec::with_capacity(raw.columns.len());
        for column in &raw.columns {
            match fields.iter().find(|f| f.ident.unraw() == column.unraw()) {
                Some(field) => {
                    if columns.contains(&field.column) {
                        errors.spanned(
                            column,
                            format!("index {name:?} lists field `{column}` twice"),
                        );
                    }
                    columns.push(field.column.clone());
                }
                None => {
                    let known: Vec<String> =
                        fields.iter().map(|f| f.ident.unraw().to_string()).collect();
                    errors.spanned(
                        column,
                        format!(
                            "index {name:?} names unknown field `{column}`; the fields are: {}",
                            known.join(", ")
                        ),
                    );
                }
            }
        }
        indexes.push(IndexModel {
            name,
            columns,
            unique: raw.unique,
        });
    }

    let model = TableModel {
        ident: input.ident.clone(),
        vis: input.vis.clone(),
        table: table_name,
        fields,
        indexes,
        primary_key,
    };
    (model, errors.finish())
}

/// Reads `index(name = "...", columns(a, b), unique)`.
fn parse_index(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<RawIndex> {
    let mut index = RawIndex {
        keyword: meta.path.clone(),
        name: None,
        columns: Vec::new(),
        unique: false,
    };
    if !meta.input.peek(syn::token::Paren) {
        errors.spanned(
            &meta.path,
            "expected index(name = \"...\", columns(a, b)) with an optional `unique`",
        );
        return skip_value(meta).map(|()| index);
    }
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("name") {
            let value: LitStr = inner.value()?.parse()?;
            if index.name.is_some() {
                errors.spanned(&inner.path, "`name` is given more than once");
            }
            index.name = Some(value);
        } else if inner.path.is_ident("columns") {
            if !inner.input.peek(syn::token::Paren) {
                errors.spanned(&inner.path, "expected columns(field, ...)");
                return skip_value(&inner);
            }
            inner.parse_nested_meta(|column| {
                match column.path.get_ident() {
                    Some(ident) => index.columns.push(ident.clone()),
                    None => errors.spanned(&column.path, "expected a field name"),
                }
                if !column.input.is_empty() && !column.input.peek(Token![,]) {
                    errors.spanned(&column.path, "expected a field name, not a key");
                    skip_value(&column)?;
                }
                Ok(())
            })?;
        } else if inner.path.is_ident("unique") {
            if inner.input.peek(Token![=]) {
                let value: syn::LitBool = inner.value()?.parse()?;
                index.unique = value.value;
            } else {
                index.unique = true;
            }
        } else {
            errors.spanned(
                &inner.path,
                unknown_key(&inner.path, "an index", INDEX_KEYS),
            );
            skip_value(&inner)?;
        }
        Ok(())
    })?;
    Ok(index)
}

/// Reads one field and its `#[memtable(...)]` attributes; `None` when it has no name.
fn parse_field(field: &syn::Field, errors: &mut Errors) -> Option<FieldModel> {
    let ident = field.ident.clone()?;
    let mut primary_key: Option<Path> = None;
    let mut auto_increment: Option<Path> = None;
    let mut unique = false;
    let mut json: Option<Path> = None;
    let mut rename: Option<LitStr> = None;
    let mut column_type: Option<(Ident, Path)> = None;
    let mut default: Option<(DefaultLiteral, Span)> = None;
    let mut kind_known = true;

    for attr in field.attrs.iter().filter(|a| a.path().is_ident("memtable")) {
        let parsed = attr.parse_nested_meta(|meta| {
            let path = &meta.path;
            let flag = |slot: &mut Option<Path>, errors: &mut Errors| {
                if slot.is_some() {
                    errors.spanned(
                        path,
                        format!("`{}` is given more than once", key_name(path)),
                    );
                }
                *slot = Some(path.clone());
            };
            if path.is_ident("primary_key") {
                flag(&mut primary_key, errors);
            } else if path.is_ident("auto_increment") {
                flag(&mut auto_increment, errors);
            } else if path.is_ident("unique") {
                unique = true;
            } else if path.is_ident("json") {
                flag(&mut json, errors);
            } else if path.is_ident("rename") {
                let value: LitStr = meta.value()?.parse()?;
                if rename.is_some() {
                    errors.spanned(path, "`rename` is given more than once");
                }
                rename = Some(value);
            } else if path.is_ident("type") {
                let value: LitStr = meta.value()?.parse()?;
                let name = value.value();
                if COLUMN_TYPES.contains(&name.as_str()) {
                    column_type = Some((kind_marker(&name, value.span()), path.clone()));
                } else {
                    kind_known = false;
                    errors.spanned(
                        &value,
                        format!(
                            "unknown column type {name:?}; the column types are: {}",
                            COLUMN_TYPES.join(", ")
                        ),
                    );
                }
            } else if path.is_ident("default") {
                let value: syn::Expr = meta.value()?.parse()?;
                if default.is_some() {
                    errors.spanned(path, "`default` is given more than once");
                }
                match default_literal(&value) {
                    Ok(literal) => default = Some((literal, value.span())),
                    Err(message) => errors.spanned(&value, message),
                }
            } else {
                errors.spanned(path, unknown_key(path, "a field", FIELD_KEYS));
                skip_value(&meta)?;
            }
            Ok(())
        });
        if let Err(error) = parsed {
            // The rest of this attribute was not read: it may have given the column's kind.
            kind_known = false;
            errors.push(error);
        }
    }

    let column = match &rename {
        Some(lit) => {
            let name = lit.value();
            if let Some(problem) = identifier_problem(&name) {
                errors.spanned(lit, format!("invalid column name {name:?}: {problem}"));
            }
            name
        }
        None => {
            let name = ident.unraw().to_string();
            if let Some(problem) = identifier_problem(&name) {
                errors.spanned(
                    &ident,
                    format!(
                        "invalid column name {name:?}: {problem}; set one with #[memtable(rename = \"...\")]"
                    ),
                );
            }
            name
        }
    };

    let handle_name = screaming_snake_case(&ident.unraw().to_string());
    let handle = match syn::parse_str::<Ident>(&handle_name) {
        Ok(mut handle) => {
            handle.set_span(ident.span());
            handle
        }
        Err(_) => {
            errors.spanned(
                &ident,
                format!("field `{ident}` gives no valid name for its column handle ({handle_name:?}); rename the field"),
            );
            Ident::new("__INVALID", ident.span())
        }
    };

    if let Some(auto) = &auto_increment
        && primary_key.is_none()
    {
        errors.spanned(
            auto,
            "`auto_increment` is only allowed on the primary key: add `primary_key` to this field",
        );
    }
    if let (Some(_), Some((_, ty))) = (&json, &column_type) {
        kind_known = false;
        errors.spanned(
            ty,
            "`type` and `json` exclude each other: `json` already makes the column json",
        );
    }
    if let (Some(json), Some(_)) = (&json, &auto_increment) {
        errors.spanned(
            json,
            "an `auto_increment` key holds integers, it cannot be `json`",
        );
    }

    if let (Some(_), Some((_, span))) = (&primary_key, &default) {
        errors.at(
            *span,
            "the primary key cannot have a default: its value names the row",
        );
    }

    let (nullable, value_ty) = match option_inner(&field.ty) {
        Some(inner) => (true, inner.clone()),
        None => (false, field.ty.clone()),
    };

    Some(FieldModel {
        ident,
        column,
        handle,
        ty: field.ty.clone(),
        value_ty,
        nullable,
        primary_key: primary_key.map(|p| p.span()),
        auto_increment: auto_increment.map(|p| p.span()),
        unique,
        json: json.is_some(),
        column_type: column_type.map(|(kind, _)| kind),
        default,
        kind_known,
    })
}

/// The literal of `default = <expr>`: a string, a number (possibly negative) or a bool.
fn default_literal(expr: &syn::Expr) -> Result<DefaultLiteral, String> {
    const EXPECTED: &str = "expected a literal default: a string, a number or a bool (default = \"none\", default = 0, default = -1.5, default = false)";
    let (negative, lit) = match expr {
        syn::Expr::Lit(lit) => (false, &lit.lit),
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            syn::Expr::Lit(lit) => (true, &lit.lit),
            _ => return Err(EXPECTED.into()),
        },
        _ => return Err(EXPECTED.into()),
    };
    match lit {
        syn::Lit::Str(s) if !negative => Ok(DefaultLiteral::Str(s.value())),
        syn::Lit::Bool(b) if !negative => Ok(DefaultLiteral::Bool(b.value)),
        syn::Lit::Int(i) => {
            let digits: i128 = i
                .base10_parse()
                .map_err(|_| "the default is out of the range of a 64-bit integer".to_owned())?;
            let value = if negative { -digits } else { digits };
            i64::try_from(value)
                .map(DefaultLiteral::Int)
                .map_err(|_| "the default is out of the range of a 64-bit integer".to_owned())
        }
        syn::Lit::Float(f) => {
            let value: f64 = f.base10_parse().map_err(|e| e.to_string())?;
            if !value.is_finite() {
                return Err("the default must be a finite number".into());
            }
            Ok(DefaultLiteral::Float(if negative { -value } else { value }))
        }
        _ => Err(EXPECTED.into()),
    }
}

/// `T` when `ty` is `Option<T>` (written `Option`, `std::option::Option` or
/// `core::option::Option`).
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let is_option = matches!(
        segments
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["Option"] | ["std" | "core", "option", "Option"]
    );
    if !is_option {
        return None;
    }
    let last = path.path.segments.last()?;
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [GenericArgument::Type(inner)] => Some(inner),
        _ => None,
    }
}

/// The kind marker (`memtable::typed::kind::Bigint`) of a column type name.
fn kind_marker(name: &str, span: Span) -> Ident {
    let marker = match name {
        "text" => "Text",
        "integer" => "Integer",
        "bigint" => "Bigint",
        "real" => "Real",
        "blob" => "Blob",
        "json" => "Json",
        _ => "Boolean",
    };
    Ident::new(marker, span)
}

fn key_name(path: &Path) -> String {
    path.get_ident()
        .map(|i| i.unraw().to_string())
        .unwrap_or_else(|| quote::quote!(#path).to_string().replace(' ', ""))
}

fn unknown_key(path: &Path, on: &str, valid: &str) -> String {
    format!(
        "unknown memtable attribute `{}` on {on}; the valid keys are: {valid}",
        key_name(path)
    )
}

/// Skips `= value` or `(...)` after an unknown key, so that parsing goes on.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        let value = meta.value()?;
        while !value.is_empty() && !value.peek(Token![,]) {
            value.parse::<proc_macro2::TokenTree>()?;
        }
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        let _: proc_macro2::TokenStream = content.parse()?;
    }
    Ok(())
}
