//! The derives' `annals_core::typescript::TypeScript` impls: the TypeScript type of the JSON
//! that `codec.rs` and `tagged.rs` write, with the doc comments of the type, its fields and
//! its variants.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Attribute, Data, DataEnum, DeriveInput, Expr, ExprLit, Fields, Lit, Meta};

use crate::names::{self, Absent, Field};

/// The path of the module the impls use, to write `#TS::TypeScript` (outside repetitions,
/// whose variables `quote!` binds anew).
struct Module;

impl quote::ToTokens for Module {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(quote! { ::annals_core::typescript });
    }
}

const TS: Module = Module;

/// The impl for `#[derive(Json)]`: an interface for a struct with named fields, the field's
/// type for a struct of one unnamed field, `Record<string, never>` for a unit struct, and for
/// an enum the union of `"Unit"`, `{ Newtype: T }` and `{ Struct: {...} }`. The codec has
/// refused every other shape already.
pub fn json(input: &DeriveInput, rule: Option<&str>) -> syn::Result<TokenStream> {
    let (name, doc) = (name(input), doc(&input.attrs));
    let declare = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(_) => {
                let object = object(&names::fields(&data.fields, rule)?);
                quote! { __types.interface::<Self>(#name, #doc, |__types| #object) }
            }
            Fields::Unnamed(unnamed) => {
                let ty = unnamed.unnamed.first().map(|field| &field.ty);
                quote! { __types.alias::<Self>(#name, #doc, <#ty as #TS::TypeScript>::typescript) }
            }
            Fields::Unit => {
                quote! { __types.interface::<Self>(#name, #doc, |_| #TS::Object::new()) }
            }
        },
        Data::Enum(data) => {
            let members = externally_tagged(data, rule)?;
            quote! {
                __types.alias::<Self>(#name, #doc, |__types| {
                    #TS::Union::new() #(#members)* .finish()
                })
            }
        }
        Data::Union(_) => return Ok(TokenStream::new()),
    };
    let mut generics = input.generics.clone();
    crate::codec::bound(&mut generics, &quote! { #TS::TypeScript });
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    let ident = &input.ident;
    Ok(quote! {
        impl #impl_generics #TS::TypeScript for #ident #type_generics #where_clause {
            fn typescript(__types: &mut #TS::Declarations) -> #TS::Ty {
                #declare
            }
        }
    })
}

/// The members of an enum's union, as `codec.rs` writes its variants.
fn externally_tagged(data: &DataEnum, rule: Option<&str>) -> syn::Result<Vec<TokenStream>> {
    let mut members = Vec::new();
    for variant in &data.variants {
        let wire = names::variant_wire(&variant.ident, &variant.attrs, rule)?;
        let doc = doc(&variant.attrs);
        let value = match &variant.fields {
            Fields::Unit => {
                members.push(quote! { .member(#doc, #TS::literal(#wire)) });
                continue;
            }
            Fields::Unnamed(unnamed) => {
                let ty = unnamed.unnamed.first().map(|field| &field.ty);
                quote! { <#ty as #TS::TypeScript>::typescript(__types) }
            }
            Fields::Named(_) => {
                let object = object(&names::fields(&variant.fields, None)?);
                quote! { #object.finish() }
            }
        };
        members.push(quote! {
            .member("", #TS::Object::new().field(#wire, #doc, false, #value).finish())
        });
    }
    Ok(members)
}

/// The impl for `#[derive(Command)]` and `#[derive(Event)]`: the union of
/// `{ type: "Name"; data: ... }`, `data` being the payload type, the object of the named
/// fields, or `Record<string, never>` (`{}`, as `tagged.rs` writes a variant without fields).
pub fn tagged(
    input: &DeriveInput,
    data: &DataEnum,
    rule: Option<&str>,
) -> syn::Result<TokenStream> {
    let (name, doc) = (name(input), doc(&input.attrs));
    let mut members = Vec::new();
    for variant in &data.variants {
        let wire = names::variant_wire(&variant.ident, &variant.attrs, rule)?;
        let variant_doc = self::doc(&variant.attrs);
        let payload = match &variant.fields {
            Fields::Unit => quote! { #TS::Object::new().finish() },
            Fields::Unnamed(unnamed) => {
                let ty = unnamed.unnamed.first().map(|field| &field.ty);
                quote! { <#ty as #TS::TypeScript>::typescript(__types) }
            }
            Fields::Named(_) => {
                let object = object(&names::fields(&variant.fields, None)?);
                quote! { #object.finish() }
            }
        };
        members.push(quote! {
            .member("", #TS::Object::new()
                .field("type", #variant_doc, false, #TS::literal(#wire))
                .field("data", "", false, #payload)
                .finish())
        });
    }
    let ident = &input.ident;
    Ok(quote! {
        impl #TS::TypeScript for #ident {
            fn typescript(__types: &mut #TS::Declarations) -> #TS::Ty {
                __types.alias::<Self>(#name, #doc, |__types| {
                    #TS::Union::new() #(#members)* .finish()
                })
            }
        }
    })
}

/// An `Object` of `fields`: each under its wire name, optional when it is an `Option` or has
/// a default, its type made in `__types`.
fn object(fields: &[Field]) -> TokenStream {
    let members = fields.iter().map(|field| {
        let (wire, doc, ty) = (&field.wire, &field.doc, &field.ty);
        let optional = match field.absent {
            Absent::Refused => quote! { <#ty as #TS::TypeScript>::OPTIONAL },
            Absent::Default | Absent::Call(_) => quote! { true },
        };
        quote! { .field(#wire, #doc, #optional, <#ty as #TS::TypeScript>::typescript(__types)) }
    });
    quote! { #TS::Object::new() #(#members)* }
}

/// The type's name as TypeScript declares it.
fn name(input: &DeriveInput) -> String {
    let name = input.ident.to_string();
    name.strip_prefix("r#").map_or_else(|| name.clone(), str::to_owned)
}

/// The doc comment in `attrs` (`///` lines, a `/** */` comment or `#[doc = "..."]`), without
/// the indentation its lines share and the blank lines around it.
pub fn doc(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("doc")) {
        if let Meta::NameValue(pair) = &attr.meta
            && let Expr::Lit(ExprLit { lit: Lit::Str(text), .. }) = &pair.value
        {
            lines.extend(text.value().split('\n').map(|line| line.trim_end().to_owned()));
        }
    }
    // A `/** */` comment's lines each start with a `*`, which is no part of the text.
    if lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .all(|line| line.trim_start().starts_with('*'))
    {
        for line in &mut lines {
            *line = line.trim_start().strip_prefix('*').unwrap_or_default().to_owned();
        }
    }
    let indent = lines
        .iter()
        .filter(|line| !line.is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let lines: Vec<&str> =
        lines.iter().map(|line| line.get(indent..).unwrap_or_default()).collect();
    lines.join("\n").trim_matches('\n').to_owned()
}
