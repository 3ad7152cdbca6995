//! `#[derive(Command)]` and `#[derive(Event)]`: enums whose wire form is
//! `{"type": "<name>", "data": {...}}`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitInt, Path};

use crate::codec::bind_fields;
use crate::names;

/// Which of the two derives.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Command,
    Event,
}

pub fn expand(input: &DeriveInput, kind: Kind) -> syn::Result<TokenStream> {
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "expected an enum, one variant per type",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(&input.generics, "expected an enum without generics"));
    }
    let rule = names::rename_all(&input.attrs)?;
    let upcast = if kind == Kind::Event { upcast(&input.attrs)? } else { None };
    let upcast = upcast.map_or_else(|| quote! { ::annals_core::no_upcast }, |p| quote! { #p });

    let (mut names, mut writes, mut decodes, mut schemas, mut schema_of) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for variant in &data.variants {
        let ident = &variant.ident;
        let wire = names::variant_wire(ident, &variant.attrs, rule.as_deref())?;
        let schema = if kind == Kind::Event { schema(&variant.attrs)? } else { 1 };
        // How the payload is written, and read from `__r` into the variant.
        // A variant wrapping a payload type decodes through that type's own reader; the
        // others through a reader of their fields, passed in.
        let mut newtype = false;
        let (pattern, write, read) = match &variant.fields {
            Fields::Unit => (
                quote! { Self::#ident },
                quote! { __w.begin_object(); __w.end_object(); },
                quote! {{
                    ::annals_core::json::read_fields(__r, &mut |_, _| ::core::result::Result::Ok(false))?;
                    Self::#ident
                }},
            ),
            Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
                newtype = true;
                (
                    quote! { Self::#ident(__value) },
                    quote! { ::annals_core::json::ToJson::write_json(__value, __w); },
                    quote! { Self::#ident(::annals_core::json::FromJson::read_json(__r)?) },
                )
            }
            Fields::Unnamed(unnamed) => {
                return Err(syn::Error::new_spanned(
                    unnamed,
                    "expected one payload type, named fields, or none",
                ));
            }
            Fields::Named(_) => {
                let fields = names::fields(&variant.fields, None)?;
                let (bindings, write) = bind_fields(&fields);
                let read = names::read_object(&fields, quote! { Self::#ident });
                (quote! { Self::#ident { #bindings } }, write, read)
            }
        };
        names.push(quote! { Self::#ident { .. } => #wire, });
        writes.push(quote! { #pattern => { #write } });
        schemas.push(quote! { Self::#ident { .. } => #schema, });
        schema_of.push(quote! { #wire => ::core::option::Option::Some(#schema), });
        let reader = quote! {
            &mut |__r: &mut ::annals_core::json::Reader<'_>| ::core::result::Result::Ok(#read)
        };
        decodes.push(match kind {
            Kind::Command if newtype => quote! {
                #wire => ::annals_core::json::from_str(__data).map(Self::#ident).map_err(|__error| {
                    ::annals_core::DecodeError::new(
                        "invalid_command",
                        ::std::format!("{}: {__error}", #wire),
                    )
                }),
            },
            Kind::Event if newtype => quote! {
                #wire => ::annals_core::decode_payload(__type, __schema, #schema, __data, #upcast)
                    .map(Self::#ident),
            },
            Kind::Command => quote! {
                #wire => ::annals_core::json::from_str_with(__data, #reader).map_err(|__error| {
                    ::annals_core::DecodeError::new(
                        "invalid_command",
                        ::std::format!("{}: {__error}", #wire),
                    )
                }),
            },
            Kind::Event => quote! {
                #wire => ::annals_core::decode_payload_with(
                    __type, __schema, #schema, __data, #upcast, #reader,
                ),
            },
        });
    }

    let typescript = crate::typescript::tagged(input, data, rule.as_deref())?;
    let name = &input.ident;
    let write_data = quote! {
        fn write_data(&self, __w: &mut ::annals_core::json::Writer) {
            match self { #(#writes)* }
        }
    };
    Ok(match kind {
        Kind::Command => quote! {
            impl ::annals_core::CommandData for #name {
                fn command_type(&self) -> &str {
                    match self { #(#names)* }
                }

                #write_data

                fn decode(
                    __type: &str,
                    __data: &str,
                ) -> ::core::result::Result<Self, ::annals_core::DecodeError> {
                    match __type {
                        #(#decodes)*
                        __other => ::core::result::Result::Err(::annals_core::DecodeError::new(
                            "unknown_command_type",
                            ::std::format!("unknown command type \"{__other}\""),
                        )),
                    }
                }
            }

            ::annals_core::__tagged_json!(#name, write_command, read_command);

            #typescript
        },
        Kind::Event => quote! {
            impl ::annals_core::EventData for #name {
                fn event_type(&self) -> &str {
                    match self { #(#names)* }
                }

                fn schema(&self) -> u32 {
                    match self { #(#schemas)* }
                }

                fn schema_of(__type: &str) -> ::core::option::Option<u32> {
                    match __type {
                        #(#schema_of)*
                        _ => ::core::option::Option::None,
                    }
                }

                #write_data

                fn decode(
                    __type: &str,
                    __schema: u32,
                    __data: &str,
                ) -> ::core::result::Result<Self, ::annals_core::DecodeError> {
                    match __type {
                        #(#decodes)*
                        __other => ::core::result::Result::Err(::annals_core::DecodeError::new(
                            "unknown_event_type",
                            ::std::format!("unknown event type \"{__other}\""),
                        )),
                    }
                }
            }

            ::annals_core::__tagged_json!(#name, write_event, read_event);

            #typescript
        },
    })
}

/// `#[event(upcast = path)]` on the enum.
fn upcast(attrs: &[syn::Attribute]) -> syn::Result<Option<Path>> {
    let mut path = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("event")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("upcast") {
                path = Some(meta.value()?.parse()?);
                Ok(())
            } else {
                Err(meta.error("the enum takes `upcast = path::to::function` here"))
            }
        })?;
    }
    Ok(path)
}

/// `#[event(schema = N)]` on a variant; 1 when absent.
fn schema(attrs: &[syn::Attribute]) -> syn::Result<u32> {
    let mut schema = 1;
    for attr in attrs.iter().filter(|a| a.path().is_ident("event")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("schema") {
                let value: LitInt = meta.value()?.parse()?;
                schema = value.base10_parse()?;
                if schema == 0 {
                    return Err(syn::Error::new(value.span(), "schemas are numbered from 1"));
                }
                Ok(())
            } else {
                Err(meta.error("a variant takes `schema = N` here"))
            }
        })?;
    }
    Ok(schema)
}
