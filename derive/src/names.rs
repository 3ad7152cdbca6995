//! Wire names: `rename`, `rename_all` and the `#[json(...)]` attributes of fields and variants.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use syn::{Attribute, Fields, LitStr, Path, Type};

/// What a field takes when absent from the text.
pub enum Absent {
    /// An error, or `None` for an `Option`.
    Refused,
    /// `Default::default()`.
    Default,
    /// A function's value.
    Call(Path),
}

/// One named field as the codec sees it.
pub struct Field {
    /// Its Rust name.
    pub ident: Ident,
    /// Its name on the wire.
    pub wire: String,
    /// What it takes when absent.
    pub absent: Absent,
    /// Its Rust type.
    pub ty: Type,
    /// Its doc comment.
    pub doc: String,
}

/// The `rename_all` rule on a type, if any.
pub fn rename_all(attrs: &[Attribute]) -> syn::Result<Option<String>> {
    let mut rule = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("json")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                let value: LitStr = meta.value()?.parse()?;
                check_rule(&value)?;
                rule = Some(value.value());
                Ok(())
            } else {
                Err(meta.error("expected `rename_all = \"...\"` here"))
            }
        })?;
    }
    Ok(rule)
}

fn check_rule(rule: &LitStr) -> syn::Result<()> {
    const RULES: [&str; 8] = [
        "lowercase",
        "UPPERCASE",
        "PascalCase",
        "camelCase",
        "snake_case",
        "SCREAMING_SNAKE_CASE",
        "kebab-case",
        "SCREAMING-KEBAB-CASE",
    ];
    if RULES.contains(&rule.value().as_str()) {
        Ok(())
    } else {
        Err(syn::Error::new(rule.span(), format!("rename_all takes one of {}", RULES.join(", "))))
    }
}

/// A variant's wire name: `rename`, else its name under `rule`.
pub fn variant_wire(ident: &Ident, attrs: &[Attribute], rule: Option<&str>) -> syn::Result<String> {
    let mut wire = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("json")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                wire = Some(meta.value()?.parse::<LitStr>()?.value());
                Ok(())
            } else {
                Err(meta.error("a variant takes `rename = \"...\"` here"))
            }
        })?;
    }
    Ok(wire.unwrap_or_else(|| apply(&ident.to_string(), rule, true)))
}

/// The named fields of a struct or variant, with their wire names and defaults.
pub fn fields(fields: &Fields, rule: Option<&str>) -> syn::Result<Vec<Field>> {
    let Fields::Named(named) = fields else {
        return Err(syn::Error::new(Span::call_site(), "expected named fields"));
    };
    named
        .named
        .iter()
        .map(|field| {
            let ident = field.ident.clone().expect("named fields have names");
            let (mut wire, mut absent) = (None, Absent::Refused);
            for attr in field.attrs.iter().filter(|a| a.path().is_ident("json")) {
                attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("rename") {
                        wire = Some(meta.value()?.parse::<LitStr>()?.value());
                    } else if meta.path.is_ident("default") {
                        absent = if meta.input.peek(syn::Token![=]) {
                            Absent::Call(meta.value()?.parse::<LitStr>()?.parse()?)
                        } else {
                            Absent::Default
                        };
                    } else {
                        return Err(meta.error("a field takes `rename = \"...\"` or `default`"));
                    }
                    Ok(())
                })?;
            }
            let name = ident.to_string();
            let name = name.strip_prefix("r#").unwrap_or(&name);
            let wire = wire.unwrap_or_else(|| apply(name, rule, false));
            let (ty, doc) = (field.ty.clone(), crate::typescript::doc(&field.attrs));
            Ok(Field { ident, wire, absent, ty, doc })
        })
        .collect()
}

/// Writes the fields as an object; `value(field)` is how to reach each field's value.
pub fn write_object(fields: &[Field], value: impl Fn(&Field) -> TokenStream) -> TokenStream {
    let (wires, values): (Vec<&str>, Vec<TokenStream>) =
        fields.iter().map(|f| (f.wire.as_str(), value(f))).unzip();
    quote! {
        __w.begin_object();
        #( __w.field(#wires, #values); )*
        __w.end_object();
    }
}

/// Reads an object from `__r` into `path { fields }` (a struct or a struct variant).
pub fn read_object(fields: &[Field], path: TokenStream) -> TokenStream {
    let slots: Vec<Ident> = (0..fields.len()).map(|i| format_ident!("__slot{i}")).collect();
    let wires: Vec<&str> = fields.iter().map(|f| f.wire.as_str()).collect();
    let values = fields.iter().zip(&slots).map(|(field, slot)| {
        let wire = &field.wire;
        match &field.absent {
            Absent::Refused => quote! { ::annals_core::json::take_slot(#slot, #wire)? },
            Absent::Default => quote! {
                match #slot {
                    ::core::option::Option::Some(value) => value,
                    ::core::option::Option::None => ::core::default::Default::default(),
                }
            },
            Absent::Call(function) => quote! {
                match #slot {
                    ::core::option::Option::Some(value) => value,
                    ::core::option::Option::None => #function(),
                }
            },
        }
    });
    let idents = fields.iter().map(|f| &f.ident);
    quote! {{
        #( let mut #slots = ::core::option::Option::None; )*
        ::annals_core::json::read_fields(__r, &mut |__r, __key| match __key {
            #( #wires => ::annals_core::json::read_slot(__r, &mut #slots, #wires), )*
            _ => ::core::result::Result::Ok(false),
        })?;
        #path { #( #idents: #values, )* }
    }}
}

/// `name` under a `rename_all` rule; `pascal` says whether it is written PascalCase (a
/// variant) rather than snake_case (a field).
fn apply(name: &str, rule: Option<&str>, pascal: bool) -> String {
    let Some(rule) = rule else { return name.to_owned() };
    let words: Vec<String> = if pascal {
        let mut words: Vec<String> = Vec::new();
        for c in name.chars() {
            match words.last_mut() {
                Some(word) if !c.is_uppercase() => word.push(c),
                _ => words.push(c.to_string()),
            }
        }
        words.into_iter().map(|w| w.to_lowercase()).collect()
    } else {
        name.split('_').filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
    };
    let capital = |w: &String| {
        let mut chars = w.chars();
        chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
    };
    match rule {
        "lowercase" => words.concat(),
        "UPPERCASE" => words.concat().to_uppercase(),
        "PascalCase" => words.iter().map(capital).collect(),
        "camelCase" => {
            let mut out = words.first().cloned().unwrap_or_default();
            out.extend(words.iter().skip(1).map(capital));
            out
        }
        "snake_case" => words.join("_"),
        "SCREAMING_SNAKE_CASE" => words.join("_").to_uppercase(),
        "kebab-case" => words.join("-"),
        _ => words.join("-").to_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::apply;

    #[test]
    fn rules_rename_fields_and_variants_as_serde_does() {
        for (rule, field, variant) in [
            ("lowercase", "reorderlevel", "itemadded"),
            ("UPPERCASE", "REORDERLEVEL", "ITEMADDED"),
            ("PascalCase", "ReorderLevel", "ItemAdded"),
            ("camelCase", "reorderLevel", "itemAdded"),
            ("snake_case", "reorder_level", "item_added"),
            ("SCREAMING_SNAKE_CASE", "REORDER_LEVEL", "ITEM_ADDED"),
            ("kebab-case", "reorder-level", "item-added"),
            ("SCREAMING-KEBAB-CASE", "REORDER-LEVEL", "ITEM-ADDED"),
        ] {
            assert_eq!(apply("reorder_level", Some(rule), false), field, "{rule}");
            assert_eq!(apply("ItemAdded", Some(rule), true), variant, "{rule}");
        }
        assert_eq!(apply("reorder_level", None, false), "reorder_level");
    }
}
