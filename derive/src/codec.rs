//! `#[derive(Json)]`: `ToJson` and `FromJson` for structs and enums.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields, Generics, parse_quote};

use crate::names::{self, Field};

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let rule = names::rename_all(&input.attrs)?;
    let rule = rule.as_deref();
    let (write, read) = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(_) => {
                let fields = names::fields(&data.fields, rule)?;
                let write = names::write_object(&fields, |f| {
                    let ident = &f.ident;
                    quote! { &self.#ident }
                });
                let read = names::read_object(&fields, quote! { Self });
                (write, quote! { ::core::result::Result::Ok(#read) })
            }
            Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => (
                quote! { ::annals_core::json::ToJson::write_json(&self.0, __w); },
                quote! { ::annals_core::json::FromJson::read_json(__r).map(Self) },
            ),
            Fields::Unnamed(unnamed) => {
                return Err(syn::Error::new_spanned(
                    unnamed,
                    "a tuple struct of several fields has no JSON form here: name its fields",
                ));
            }
            Fields::Unit => (
                quote! { __w.begin_object(); __w.end_object(); },
                quote! {
                    ::annals_core::json::read_fields(__r, &mut |_, _| ::core::result::Result::Ok(false))?;
                    ::core::result::Result::Ok(Self)
                },
            ),
        },
        Data::Enum(data) => enum_codec(data, rule)?,
        Data::Union(_) => {
            return Err(syn::Error::new_spanned(&input.ident, "a union has no JSON form"));
        }
    };
    let name = &input.ident;
    let (to_impl, to_type, to_where) = bounded(&input.generics, quote! { ToJson });
    let (from_impl, from_type, from_where) = bounded(&input.generics, quote! { FromJson });
    let typescript = crate::typescript::json(input, rule)?;
    Ok(quote! {
        impl #to_impl ::annals_core::json::ToJson for #name #to_type #to_where {
            fn write_json(&self, __w: &mut ::annals_core::json::Writer) {
                #write
            }
        }

        impl #from_impl ::annals_core::json::FromJson for #name #from_type #from_where {
            fn read_json(
                __r: &mut ::annals_core::json::Reader<'_>,
            ) -> ::core::result::Result<Self, ::annals_core::json::Error> {
                #read
            }
        }

        #typescript
    })
}

/// The generics with every type parameter bound by the codec's `trait`.
fn bounded(generics: &Generics, bound: TokenStream) -> (TokenStream, TokenStream, TokenStream) {
    let mut generics = generics.clone();
    self::bound(&mut generics, &quote! { ::annals_core::json::#bound });
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    (quote! { #impl_generics }, quote! { #type_generics }, quote! { #where_clause })
}

/// Bounds every type parameter of `generics` by the trait at path `bound`.
pub fn bound(generics: &mut Generics, bound: &TokenStream) {
    let params: Vec<Ident> = generics.type_params().map(|p| p.ident.clone()).collect();
    let clause = generics.make_where_clause();
    for param in params {
        clause.predicates.push(parse_quote! { #param: #bound });
    }
}

/// An enum, externally tagged: `"Unit"`, `{"Newtype": value}`, `{"Struct": {fields}}`.
fn enum_codec(data: &syn::DataEnum, rule: Option<&str>) -> syn::Result<(TokenStream, TokenStream)> {
    let mut writes = Vec::new();
    let mut by_name = Vec::new();
    let mut in_object = Vec::new();
    for variant in &data.variants {
        let ident = &variant.ident;
        let wire = names::variant_wire(ident, &variant.attrs, rule)?;
        match &variant.fields {
            Fields::Unit => {
                writes.push(quote! { Self::#ident => __w.string(#wire), });
                by_name.push(quote! { #wire => ::core::result::Result::Ok(Self::#ident), });
                in_object.push(quote! { #wire => { __r.skip()?; Self::#ident } });
            }
            Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
                writes.push(quote! {
                    Self::#ident(__value) => {
                        __w.begin_object();
                        __w.key(#wire);
                        ::annals_core::json::ToJson::write_json(__value, __w);
                        __w.end_object();
                    }
                });
                in_object.push(quote! {
                    #wire => Self::#ident(::annals_core::json::FromJson::read_json(__r)?),
                });
            }
            Fields::Unnamed(unnamed) => {
                return Err(syn::Error::new_spanned(
                    unnamed,
                    "a variant of several unnamed fields has no JSON form here: name its fields",
                ));
            }
            Fields::Named(_) => {
                let fields = names::fields(&variant.fields, None)?;
                let (pattern, write) = bind_fields(&fields);
                writes.push(quote! {
                    Self::#ident { #pattern } => {
                        __w.begin_object();
                        __w.key(#wire);
                        #write
                        __w.end_object();
                    }
                });
                let read = names::read_object(&fields, quote! { Self::#ident });
                in_object.push(quote! { #wire => #read, });
            }
        }
    }
    let write = quote! { match self { #(#writes)* } };
    let read = quote! {
        if __r.at_string() {
            let __name = __r.text_value()?;
            return match &*__name {
                #(#by_name)*
                __other => ::core::result::Result::Err(
                    __r.error(&::std::format!("unknown variant `{__other}`")),
                ),
            };
        }
        let mut __out = ::core::option::Option::None;
        __r.object(&mut |__r, __key| {
            if __out.is_some() {
                return ::core::result::Result::Err(__r.error("expected an object of one variant"));
            }
            __out = ::core::option::Option::Some(match __key {
                #(#in_object)*
                __other => {
                    return ::core::result::Result::Err(
                        __r.error(&::std::format!("unknown variant `{__other}`")),
                    );
                }
            });
            ::core::result::Result::Ok(())
        })?;
        __out.ok_or_else(|| __r.error("expected an object of one variant"))
    };
    Ok((write, read))
}

/// A pattern binding a variant's named fields to `__field0..`, and the code writing them as
/// an object.
pub fn bind_fields(fields: &[Field]) -> (TokenStream, TokenStream) {
    let bindings: Vec<Ident> = (0..fields.len()).map(|i| format_ident!("__field{i}")).collect();
    let idents = fields.iter().map(|f| &f.ident);
    let pattern = quote! { #( #idents: #bindings ),* };
    let write = names::write_object(fields, |f| {
        let at = fields.iter().position(|g| g.ident == f.ident).unwrap_or(0);
        let binding = &bindings[at];
        quote! { #binding }
    });
    (pattern, write)
}
