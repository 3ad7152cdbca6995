//! The derives of annals-core, re-exported there: use them as `annals_core::Json` and so on.
//!
//! - `Json`: a struct or enum writes and reads itself through annals' JSON codec.
//! - `Command` / `Event`: a domain's command or event enum, `{"type", "data"}` on the wire.
//!
//! All three also give the type its TypeScript type (`annals_core::typescript::TypeScript`),
//! its doc comments and those of its fields and variants kept as JSDoc.
//! - `Rejection`: a domain's reasons to refuse a command, a snake_case code and a message each.
//!
//! The generated code names `::annals_core`, so a crate using these depends on annals-core
//! under that name.

mod codec;
mod names;
mod rejection;
mod tagged;
mod typescript;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Writes and reads a type as JSON through `annals_core::json`.
///
/// A struct with named fields is an object (unknown keys are ignored; an `Option` field is
/// left out when `None` and reads as `None` when absent or `null`); a struct of one unnamed
/// field is that field's value; a unit struct is `{}`. An enum is externally tagged, as
/// serde's default: a unit variant is its name as a string, a variant with data is
/// `{"Name": value}`.
///
/// Attributes: `#[json(rename_all = "camelCase")]` (also `snake_case`, `kebab-case`,
/// `SCREAMING_SNAKE_CASE`, `PascalCase`, `lowercase`, `UPPERCASE`) on the type;
/// `#[json(rename = "wire")]` on a field or variant; `#[json(default)]` or
/// `#[json(default = "path::to::function")]` on a field added later, for stored forms that
/// lack it.
///
/// The type's TypeScript type follows the same rules (`annals_core::typescript`): an
/// interface, the field's type, `Record<string, never>`, or a union of the variants.
#[proc_macro_derive(Json, attributes(json))]
pub fn derive_json(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    codec::expand(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// A domain's command enum: on the wire `{"type": "<Variant>", "data": {...}}`. A variant
/// may wrap a payload type (`AddTodo(AddTodo)`), carry named fields
/// (`AddTodo { todo: Uuid, title: String }`), or none. `#[json(rename = "...")]` gives a
/// variant another wire name, `#[json(rename_all = "...")]` renames them all.
#[proc_macro_derive(Command, attributes(json))]
pub fn derive_command(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    tagged::expand(&input, tagged::Kind::Command)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// A domain's event enum, as [`Command`] for commands, plus a schema number per variant
/// (`#[event(schema = 2)]`, 1 by default) and the function that upgrades stored payloads of
/// older schemas (`#[event(upcast = path::to::upcast)]` on the enum; none by default).
#[proc_macro_derive(Event, attributes(json, event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    tagged::expand(&input, tagged::Kind::Event)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// A domain's reasons to refuse a command: each variant has a stable snake_case code (its
/// name, or `code = "..."`) and a message written like a format string over its fields:
/// `#[rejection("Only {held} left; cannot use {qty}.")]`, `{0}` for unnamed fields.
#[proc_macro_derive(Rejection, attributes(rejection))]
pub fn derive_rejection(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    rejection::expand(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}
