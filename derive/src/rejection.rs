//! `#[derive(Rejection)]`: a domain's reasons to refuse a command, each with a stable
//! snake_case code and a message made from its fields.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;
use syn::parse::ParseStream;
use syn::{Data, DeriveInput, Fields, LitStr, Token};

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "expected an enum, one variant per reason",
        ));
    };
    let (mut codes, mut code_arms, mut message_arms) = (Vec::new(), Vec::new(), Vec::new());
    for variant in &data.variants {
        let ident = &variant.ident;
        let (given, message) = attribute(variant)?;
        let code = given.clone().unwrap_or_else(|| snake_case(&ident.to_string()));
        // Several variants may share a code they name; one named after a variant is its own.
        if given.is_none() && codes.contains(&code) {
            return Err(syn::Error::new_spanned(ident, format!("the code {code:?} is taken")));
        }
        let (pattern, text) = match &variant.fields {
            Fields::Unit => (quote! { Self::#ident }, message.value()),
            Fields::Named(named) => {
                let idents = named.named.iter().map(|f| f.ident.as_ref());
                (quote! { Self::#ident { #( #idents ),* } }, message.value())
            }
            // `{0}` becomes `{_0}`, a binding of the first field.
            Fields::Unnamed(unnamed) => {
                let bindings: Vec<Ident> = (0..unnamed.unnamed.len())
                    .map(|i| Ident::new(&format!("_{i}"), message.span()))
                    .collect();
                let mut text = message.value();
                for i in 0..bindings.len() {
                    text = text.replace(&format!("{{{i}}}"), &format!("{{_{i}}}"));
                    text = text.replace(&format!("{{{i}:"), &format!("{{_{i}:"));
                }
                (quote! { Self::#ident( #( #bindings ),* ) }, text)
            }
        };
        let text = LitStr::new(&text, message.span());
        code_arms.push(quote! { Self::#ident { .. } => #code, });
        message_arms.push(quote! { #pattern => ::std::format!(#text), });
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    let name = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::annals_core::Reason for #name #type_generics #where_clause {
            const CODES: &'static [&'static str] = &[#(#codes),*];

            fn code(&self) -> &'static str {
                match self { #(#code_arms)* }
            }

            #[allow(unused_variables)]
            fn message(&self) -> ::std::string::String {
                match self { #(#message_arms)* }
            }
        }

        impl #impl_generics ::core::fmt::Display for #name #type_generics #where_clause {
            fn fmt(&self, __f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                __f.write_str(&::annals_core::Reason::message(self))
            }
        }
    })
}

/// `#[rejection("message")]` or `#[rejection(code = "code", "message")]`.
fn attribute(variant: &syn::Variant) -> syn::Result<(Option<String>, LitStr)> {
    let Some(attr) = variant.attrs.iter().find(|a| a.path().is_ident("rejection")) else {
        return Err(syn::Error::new_spanned(
            &variant.ident,
            "each reason needs its message: #[rejection(\"...\")]",
        ));
    };
    attr.parse_args_with(|input: ParseStream<'_>| {
        let (mut code, mut message) = (None, None);
        while !input.is_empty() {
            if input.peek(LitStr) {
                message = Some(input.parse::<LitStr>()?);
            } else {
                let key: Ident = input.parse()?;
                if key != "code" {
                    return Err(syn::Error::new(
                        key.span(),
                        "expected `code = \"...\"` or a message",
                    ));
                }
                input.parse::<Token![=]>()?;
                let value: LitStr = input.parse()?;
                if !is_snake_case(&value.value()) {
                    return Err(syn::Error::new(value.span(), "a code is snake_case"));
                }
                code = Some(value.value());
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        let message = message
            .ok_or_else(|| syn::Error::new(Span::call_site(), "expected the message, a string"))?;
        Ok((code, message))
    })
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

fn is_snake_case(code: &str) -> bool {
    !code.is_empty()
        && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
