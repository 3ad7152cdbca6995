//! TypeScript declarations of a domain's wire types, generated from its Rust types, for the
//! domain's npm package; and the same types as JSON Schema, for the server's OpenAPI document.
//!
//! [`declarations`] writes the module of a [`Domain`]: its `Command`, `Event`, `State`,
//! `Views`, `RejectionCode` and `DomainName`, and every named type they refer to, declared
//! once. Each type gives its TypeScript type through [`TypeScript`], which `#[derive(Json)]`,
//! `#[derive(Command)]` and `#[derive(Event)]` implement, with the Rust doc comments of types,
//! fields and variants as JSDoc.
//!
//! The types say what the codec of [`json`] writes and reads:
//!
//! | Rust | TypeScript |
//! | --- | --- |
//! | integers and floats | `number` |
//! | `String`, `str`, [`Uuid`] | `string` |
//! | `bool` | `boolean` |
//! | `Option<T>` | `T \| null`; a struct's field `name?: T \| null`, left out when `None` and read as `None` when absent or `null` |
//! | `Vec<T>`, `[T]`, `VecDeque<T>` | `T[]` |
//! | `(A, B)` | `[A, B]` |
//! | `BTreeMap<String, T>`, `HashMap<String, T>`, [`SmallMap<T>`] | `Record<string, T>` |
//! | `Box<T>`, `&T` | `T` |
//! | [`RawJson`] | `unknown`; [`Fields`] `Record<string, unknown>` |
//! | [`Kinds2`](crate::Kinds2), `Kinds3`, `Kinds4` | `{ category: Kind } \| ... \| null` |
//! | [`Meta`], [`Rejection`], [`DecodeError`] | interfaces of those names |
//! | a struct with named fields | an interface; a `#[json(default)]` field is optional |
//! | a struct of one unnamed field | that field's type |
//! | a unit struct, or one of no fields | `Record<string, never>` (`{}`) |
//! | an enum with `#[derive(Json)]` | `"Unit" \| { Newtype: T } \| { Struct: { ... } }` |
//! | an enum with `#[derive(Command)]` or `#[derive(Event)]` | `{ type: "Name"; data: ... } \| ...`; a variant without fields has `data: Record<string, never>` |
//!
//! Floats are `number` although the codec writes NaN and the infinities as `null` (which it
//! does not read back).
//!
//! Each [`Ty`] carries the JSON Schema of the same JSON: integers are `integer` within their
//! type's bounds, a [`Uuid`] a string of format `uuid`, `Option<T>` T's schema or `null`, a
//! union `anyOf` its members, a literal a `const`, an object its `properties` with the fields
//! that may not be absent `required` (other properties are allowed: the codec ignores them),
//! and a named type a `$ref` to `#/components/schemas/<name>`; docs become `description`s.
//!
//! The declarations are made natively, when a domain is packed: a WebAssembly module that does
//! not call them carries none of this code.
//!
//! ```
//! use annals_core::Json;
//! use annals_core::typescript::{Declarations, TypeScript};
//!
//! /// A line of a receipt.
//! #[derive(Json)]
//! pub struct Line {
//!     /// What was sold.
//!     pub product: String,
//!     pub note: Option<String>,
//! }
//!
//! let mut types = Declarations::default();
//! let lines = <Vec<Line> as TypeScript>::typescript(&mut types);
//! assert_eq!(lines.ts, "Line[]");
//! assert_eq!(lines.schema, r##"{"type":"array","items":{"$ref":"#/components/schemas/Line"}}"##);
//! assert_eq!(
//!     types.to_string(),
//!     "/** A line of a receipt. */\n\
//!      export interface Line {\n  /** What was sold. */\n  product: string;\n  note?: string | null;\n}\n",
//! );
//! assert_eq!(
//!     types.schemas(),
//!     [("Line", r#"{"description":"A line of a receipt.","type":"object","properties":{"product":{"description":"What was sold.","type":"string"},"note":{"anyOf":[{"type":"string"},{"type":"null"}]}},"required":["product"]}"#)],
//! );
//! ```

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;

use uuid::Uuid;

use crate::domain::{Domain, Reason, Rejection};
use crate::envelope::{Fields, Meta};
use crate::event::DecodeError;
use crate::json::{self, RawJson};
use crate::small_map::SmallMap;

/// A type whose JSON has a TypeScript type, and a JSON Schema ([`Ty`]).
///
/// `#[derive(Json)]`, `#[derive(Command)]` and `#[derive(Event)]` implement it; a type that
/// writes its JSON by hand says its type by hand, with [`Declarations::interface`] or
/// [`Declarations::alias`] when it should be a named type.
pub trait TypeScript {
    /// Whether a struct's field of this type may be absent: `true` for `Option`, which the
    /// codec leaves out when `None` and reads as `None` when absent.
    const OPTIONAL: bool = false;

    /// The type of this type's JSON (`string`, `TodoRow[]`), declaring in `types` the named
    /// types it refers to.
    fn typescript(types: &mut Declarations) -> Ty;
}

/// The type of some JSON, twice: as TypeScript and as JSON Schema (2020-12, the dialect of
/// OpenAPI 3.1), both made by one [`TypeScript`] impl so they never disagree.
///
/// A named type is its name in TypeScript and a `$ref` to `#/components/schemas/<name>` in
/// the schema; [`Declarations::schemas`] gives each named type's schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ty {
    /// The TypeScript type.
    pub ts: String,
    /// The JSON Schema, as JSON text.
    pub schema: String,
}

impl Ty {
    /// A type of TypeScript text `ts` and JSON Schema `schema` (JSON text).
    pub fn new(ts: impl Into<String>, schema: impl Into<String>) -> Ty {
        Ty { ts: ts.into(), schema: schema.into() }
    }

    /// `Record<string, T>`: an object of any keys, each value of this type.
    pub fn map(self) -> Ty {
        Ty::new(
            format!("Record<string, {}>", self.ts),
            format!(r#"{{"type":"object","additionalProperties":{}}}"#, self.schema),
        )
    }

    /// `T[]`: an array of this type.
    pub fn list(self) -> Ty {
        Ty::new(
            format!("{}[]", group(&self.ts)),
            format!(r#"{{"type":"array","items":{}}}"#, self.schema),
        )
    }

    /// This type or `null` (unless it takes `null` already).
    pub fn nullable(self) -> Ty {
        let ts = &self.ts;
        if ts == "null" || ts == "unknown" || ts.ends_with("| null") {
            return self;
        }
        Ty::new(
            format!("{} | null", group(ts)),
            format!(r#"{{"anyOf":[{},{{"type":"null"}}]}}"#, self.schema),
        )
    }
}

/// The TypeScript declarations of a domain: a module exporting
///
/// - `Command` and `Event`, the unions of the domain's commands and events as they travel
///   (`{ type: "AddTodo"; data: { ... } } | ...`),
/// - `State`, one stream's decided state,
/// - `Views`, by view name, `{ all; row }`: `all` the view's value (its listed rows by key,
///   or for a view of one value that value or `null`) and `row` one row by key (`never` for
///   a view of one value),
/// - `RejectionCode`, the codes of the domain's rejections, and `DomainName`,
///
/// and the named types these refer to, each declared once. The text is the same on every run.
///
/// # Panics
///
/// In a WebAssembly build: the declarations are made natively, and a WebAssembly build keeps
/// no TypeScript types of the views' rows (see [`DynView::row_typescript`](crate::DynView)).
pub fn declarations<D: Domain>() -> String {
    let mut types = Declarations::default();
    let command = root::<D::Command>(&mut types);
    let event = root::<D::Event>(&mut types);
    let state = D::State::typescript(&mut types);
    let mut views = Object::new();
    for view in view_types::<D>(&mut types) {
        let object =
            Object::new().field("all", "", false, view.all).field("row", "", false, view.row);
        views = views.field(view.name, "", false, object.finish());
    }
    let codes = rejection_codes::<D>();

    let mut out = format!(
        "// The types of the annals domain {}, generated from its Rust types. Do not edit.\n",
        quoted(D::NAME),
    );
    for (name, root) in [("Command", command), ("Event", event)] {
        out.push('\n');
        types.write_root(&mut out, name, root);
    }
    let roots = [
        ("State", "A stream's decided state (`Domain::State`) as JSON.", Body::Alias(state.ts)),
        ("Views", VIEWS, Body::Alias(views.block())),
        ("RejectionCode", "Why a command is refused.", Body::Alias(codes.ts)),
        ("DomainName", "The domain's name.", Body::Alias(quoted(D::NAME))),
    ];
    for (name, doc, body) in &roots {
        out.push('\n');
        write_declaration(&mut out, name, doc, body);
    }
    for named in types.named.iter().filter(|named| !named.inlined) {
        out.push('\n');
        named.write(&mut out);
    }
    out
}

/// The doc of `Views`.
const VIEWS: &str = "The domain's views by name. `all` is a view's value: its listed rows by key,
or the one value of a view that is one (`null` before it has one); `row` is one listed row by
key (`never` for a view of one value).";

/// One root of the module: the type's text and the Rust type it was asked of.
struct Root {
    ty: String,
    key: &'static str,
}

fn root<T: TypeScript>(types: &mut Declarations) -> Root {
    Root { ty: T::typescript(types).ts, key: std::any::type_name::<T>() }
}

/// The union of a domain's rejection codes, each once.
pub fn rejection_codes<D: Domain>() -> Ty {
    let mut codes = Union::new();
    for (at, code) in D::Rejection::CODES.iter().enumerate() {
        if !D::Rejection::CODES[..at].contains(code) {
            codes = codes.member("", literal(code));
        }
    }
    codes.finish()
}

/// One view of a domain: the type of its whole value and of one row.
pub struct ViewType {
    /// Its name.
    pub name: &'static str,
    /// Whether it is one value rather than rows by key.
    pub single: bool,
    /// Its value: its listed rows by key, or its one value (`null` before it has one).
    pub all: Ty,
    /// One listed row (`never`, no JSON, for a view of one value).
    pub row: Ty,
}

/// The types of a domain's views, declaring their rows' named types in `types`.
///
/// # Panics
///
/// In a WebAssembly build, as [`declarations`].
pub fn view_types<D: Domain>(types: &mut Declarations) -> Vec<ViewType> {
    view_rows::<D>(types)
        .into_iter()
        .map(|(name, single, row)| {
            if single {
                let never = Ty::new("never", r#"{"not":{}}"#);
                ViewType { name, single, all: row.nullable(), row: never }
            } else {
                ViewType { name, single, all: row.clone().map(), row }
            }
        })
        .collect()
}

#[cfg(not(target_arch = "wasm32"))]
fn view_rows<D: Domain>(types: &mut Declarations) -> Vec<(&'static str, bool, Ty)> {
    D::views()
        .iter()
        .map(|view| (view.name(), view.is_single(), view.row_typescript(types)))
        .collect()
}

#[cfg(target_arch = "wasm32")]
fn view_rows<D: Domain>(_: &mut Declarations) -> Vec<(&'static str, bool, Ty)> {
    panic!("the TypeScript declarations of {:?} are made natively, not in WebAssembly", D::NAME)
}

/// The named types of a declaration module, each declared once, in the order first met.
///
/// `Display` writes them, a blank line between two.
#[derive(Default)]
pub struct Declarations {
    named: Vec<Named>,
    /// Names no type may take (see [`Declarations::reserve`]).
    reserved: Vec<String>,
}

/// A named type: its name in TypeScript, a `$ref` in JSON Schema.
fn reference(name: &str) -> Ty {
    let mut schema = String::from(r##"{"$ref":"#/components/schemas/"##);
    schema.push_str(name);
    schema.push_str(r#""}"#);
    Ty::new(name, schema)
}

/// `schema` with `doc` as its description (rustdoc's links made text); as it is when `doc` is
/// empty.
fn described(schema: &str, doc: &str) -> String {
    let doc = plain(doc.trim());
    if doc.is_empty() {
        return schema.to_owned();
    }
    let mut out = String::from(r#"{"description":"#);
    json::push_string(&mut out, &doc);
    match schema.strip_prefix('{').map(str::trim_start) {
        Some(rest) if rest.starts_with('}') => out.push_str(rest),
        Some(rest) => {
            out.push(',');
            out.push_str(rest);
        }
        None => return schema.to_owned(),
    }
    out
}

/// One named type.
struct Named {
    /// The Rust type, by [`std::any::type_name`]: two types of one name are two declarations.
    key: &'static str,
    name: String,
    doc: String,
    /// `None` while it is being made (a type that refers to itself meets it so).
    body: Option<Body>,
    /// Its JSON Schema, once made.
    schema: Option<String>,
    /// How often the type was asked for.
    uses: usize,
    /// Whether the module declares it under a root's name instead (`Command`, `Event`).
    inlined: bool,
}

enum Body {
    Interface(Object),
    Alias(String),
}

/// Names the module declares itself, or uses, or TypeScript keeps for its own types.
const TAKEN: [&str; 19] = [
    "Command",
    "Event",
    "State",
    "Views",
    "RejectionCode",
    "DomainName",
    "Record",
    "any",
    "bigint",
    "boolean",
    "never",
    "null",
    "number",
    "object",
    "string",
    "symbol",
    "undefined",
    "unknown",
    "void",
];

impl Declarations {
    /// Declares type `T` once as `export interface name { fields }` (or, with no fields,
    /// `export type name = Record<string, never>`) and gives its name. `fields` is called
    /// once, the first time; a Rust type of a name already taken gets the name with a number.
    pub fn interface<T: ?Sized>(
        &mut self,
        name: &str,
        doc: &str,
        fields: impl FnOnce(&mut Declarations) -> Object,
    ) -> Ty {
        self.declare::<T>(name, doc, |types| {
            let object = fields(types);
            let schema = object.schema();
            (Body::Interface(object), schema)
        })
    }

    /// Declares type `T` once as `export type name = ty` and gives its name, as
    /// [`interface`](Declarations::interface) does.
    pub fn alias<T: ?Sized>(
        &mut self,
        name: &str,
        doc: &str,
        ty: impl FnOnce(&mut Declarations) -> Ty,
    ) -> Ty {
        self.declare::<T>(name, doc, |types| {
            let ty = ty(types);
            (Body::Alias(ty.ts), ty.schema)
        })
    }

    fn declare<T: ?Sized>(
        &mut self,
        name: &str,
        doc: &str,
        body: impl FnOnce(&mut Declarations) -> (Body, String),
    ) -> Ty {
        let key = std::any::type_name::<T>();
        if let Some(named) = self.named.iter_mut().find(|named| named.key == key) {
            named.uses += 1;
            return reference(&named.name);
        }
        let name = self.free_name(name);
        let at = self.named.len();
        self.named.push(Named {
            key,
            name: name.clone(),
            doc: doc.to_owned(),
            body: None,
            schema: None,
            uses: 1,
            inlined: false,
        });
        let (body, schema) = body(self);
        self.named[at].body = Some(body);
        self.named[at].schema = Some(described(&schema, doc));
        reference(&name)
    }

    /// Reserves `names`, so that no type declared later is given one of them.
    pub fn reserve(&mut self, names: &[&str]) {
        self.reserved.extend(names.iter().map(|name| (*name).to_owned()));
    }

    /// Every named type's JSON Schema, by name, in the order first met (the targets of the
    /// `$ref`s of [`Ty::schema`], under `#/components/schemas/`).
    pub fn schemas(&self) -> Vec<(&str, &str)> {
        self.named
            .iter()
            .filter_map(|named| Some((named.name.as_str(), named.schema.as_deref()?)))
            .collect()
    }

    /// `name`, or `name2`, `name3`... if it is taken.
    fn free_name(&self, name: &str) -> String {
        let taken = |candidate: &str| {
            TAKEN.contains(&candidate)
                || self.reserved.iter().any(|name| name == candidate)
                || self.named.iter().any(|named| named.name == candidate)
        };
        let mut candidate = name.to_owned();
        let mut number = 1;
        while taken(&candidate) {
            number += 1;
            candidate = format!("{name}{number}");
        }
        candidate
    }

    /// Writes `export type name = ...` for a root of the module. A named type that only the
    /// root asked for is declared under the root's name; one that others ask for too keeps
    /// its own name, and the root is an alias of it.
    fn write_root(&mut self, out: &mut String, name: &str, root: Root) {
        let named = self.named.iter_mut().find(|named| named.key == root.key);
        match named {
            Some(named) if named.name == root.ty && named.uses == 1 => {
                named.inlined = true;
                if let Some(body) = &named.body {
                    write_declaration(out, name, &named.doc, body);
                }
            }
            Some(named) => {
                let alias = Body::Alias(root.ty);
                write_declaration(out, name, &named.doc, &alias);
            }
            None => write_declaration(out, name, "", &Body::Alias(root.ty)),
        }
    }
}

impl fmt::Display for Declarations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        for (at, named) in self.named.iter().enumerate() {
            if at > 0 {
                out.push('\n');
            }
            named.write(&mut out);
        }
        f.write_str(&out)
    }
}

impl Named {
    fn write(&self, out: &mut String) {
        if let Some(body) = &self.body {
            write_declaration(out, &self.name, &self.doc, body);
        }
    }
}

/// `export interface name {...}` or `export type name = ...;`, with its doc, and a new line.
fn write_declaration(out: &mut String, name: &str, doc: &str, body: &Body) {
    out.push_str(&jsdoc(doc));
    match body {
        Body::Interface(object) if !object.members.is_empty() => {
            out.push_str(&format!("export interface {name} {}\n", object.block()));
        }
        Body::Interface(object) => {
            out.push_str(&format!("export type {name} = {};\n", object.one_line()))
        }
        Body::Alias(ty) => out.push_str(&format!("export type {name} ={};\n", after(ty))),
    }
}

/// The text after `=` or `:`: a space and the type, or a union of several lines (which
/// starts with its first member's `|` or doc) on lines of its own.
fn after(ty: &str) -> String {
    if ty.starts_with('|') || ty.starts_with("/*") {
        format!("\n{}", indent(ty, 2))
    } else {
        format!(" {ty}")
    }
}

/// How long a type may be on one line.
const WIDTH: usize = 80;

/// An object type, member by member: `{ key: T; other?: U }`.
///
/// ```
/// use annals_core::typescript::{Declarations, Object, TypeScript};
///
/// let mut types = Declarations::default();
/// let object = Object::new().field("id", "", false, String::typescript(&mut types));
/// let note = Option::<String>::typescript(&mut types);
/// let object = object.field("note-to-self", "A note.", true, note).finish();
/// assert_eq!(object.ts, "{\n  id: string;\n  /** A note. */\n  \"note-to-self\"?: string | null;\n}");
/// assert_eq!(
///     object.schema,
///     r#"{"type":"object","properties":{"id":{"type":"string"},"note-to-self":{"description":"A note.","anyOf":[{"type":"string"},{"type":"null"}]}},"required":["id"]}"#
/// );
/// assert_eq!(Object::new().finish().ts, "Record<string, never>");
/// ```
#[derive(Default)]
pub struct Object {
    /// Each member's text, without its `;`.
    members: Vec<String>,
    /// Each member's key and JSON Schema (its doc the description).
    properties: Vec<(String, String)>,
    /// The keys of the members that are not optional.
    required: Vec<String>,
}

impl Object {
    /// An object without members.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds member `key` of type `ty` (`key?` when `optional`), with its doc (none when
    /// empty).
    pub fn field(mut self, key: &str, doc: &str, optional: bool, ty: Ty) -> Self {
        let mut member = jsdoc(doc);
        if is_identifier(key) {
            member.push_str(key);
        } else {
            member.push_str(&quoted(key));
        }
        if optional {
            member.push('?');
        } else {
            self.required.push(key.to_owned());
        }
        member.push(':');
        member.push_str(&after(&ty.ts));
        self.members.push(member);
        self.properties.push((key.to_owned(), described(&ty.schema, doc)));
        self
    }

    /// The object type: on one line when short and without docs, else a member a line;
    /// `Record<string, never>` without members (the JSON `{}`).
    pub fn finish(self) -> Ty {
        let line = self.one_line();
        let ts = if line.len() <= WIDTH && !line.contains('\n') { line } else { self.block() };
        Ty::new(ts, self.schema())
    }

    /// Its JSON Schema: an object of these properties (others are allowed, as the codec
    /// ignores unknown fields).
    fn schema(&self) -> String {
        let mut out = String::from(r#"{"type":"object""#);
        if !self.properties.is_empty() {
            out.push_str(r#","properties":{"#);
            for (at, (key, schema)) in self.properties.iter().enumerate() {
                if at > 0 {
                    out.push(',');
                }
                json::push_string(&mut out, key);
                out.push(':');
                out.push_str(schema);
            }
            out.push('}');
        }
        if !self.required.is_empty() {
            out.push_str(r#","required":["#);
            for (at, key) in self.required.iter().enumerate() {
                if at > 0 {
                    out.push(',');
                }
                json::push_string(&mut out, key);
            }
            out.push(']');
        }
        out.push('}');
        out
    }

    fn one_line(&self) -> String {
        if self.members.is_empty() {
            return "Record<string, never>".to_owned();
        }
        format!("{{ {} }}", self.members.join("; "))
    }

    fn block(&self) -> String {
        if self.members.is_empty() {
            return "{}".to_owned();
        }
        let mut out = String::from("{\n");
        for member in &self.members {
            out.push_str(&indent(member, 2));
            out.push_str(";\n");
        }
        out.push('}');
        out
    }
}

/// A union type, member by member: `"a" | "b"`.
///
/// ```
/// use annals_core::typescript::{Union, literal};
///
/// let union = Union::new().member("", literal("open")).member("", literal("closed")).finish();
/// assert_eq!(union.ts, r#""open" | "closed""#);
/// assert_eq!(union.schema, r#"{"anyOf":[{"const":"open"},{"const":"closed"}]}"#);
/// assert_eq!(Union::new().finish().ts, "never");
/// ```
#[derive(Default)]
pub struct Union {
    /// Each member's doc and type.
    members: Vec<(String, String)>,
    /// Each member's JSON Schema.
    schemas: Vec<String>,
}

impl Union {
    /// A union of no members, `never`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a member of type `ty`, with its doc (none when empty).
    pub fn member(mut self, doc: &str, ty: Ty) -> Self {
        self.members.push((jsdoc(doc), ty.ts));
        self.schemas.push(described(&ty.schema, doc));
        self
    }

    /// The union: on one line when short and without docs, else a member a line, each after
    /// a `|`.
    pub fn finish(self) -> Ty {
        let schema = match self.schemas.as_slice() {
            [] => r#"{"not":{}}"#.to_owned(),
            [one] => one.clone(),
            all => format!(r#"{{"anyOf":[{}]}}"#, all.join(",")),
        };
        Ty::new(self.text(), schema)
    }

    fn text(&self) -> String {
        if self.members.is_empty() {
            return "never".to_owned();
        }
        let types: Vec<String> = self.members.iter().map(|(_, ty)| group(ty)).collect();
        let line = types.join(" | ");
        if line.len() <= WIDTH
            && !line.contains('\n')
            && self.members.iter().all(|m| m.0.is_empty())
        {
            return line;
        }
        let lines: Vec<String> = self
            .members
            .iter()
            .zip(&types)
            .map(|((doc, _), ty)| format!("{doc}| {}", indent(ty, 2).trim_start()))
            .collect();
        lines.join("\n")
    }
}

/// The string literal type of `text`: `"text"` (quoted as JSON quotes it), `{"const":"text"}`.
pub fn literal(text: &str) -> Ty {
    let quoted = quoted(text);
    let schema = format!(r#"{{"const":{quoted}}}"#);
    Ty::new(quoted, schema)
}

/// `text` quoted as JSON quotes it.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    json::push_string(&mut out, text);
    out
}

/// `ty` in parentheses if it is a union or an intersection, to stand before `[]`.
fn group(ty: &str) -> String {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = ty.chars();
    while let Some(c) = chars.next() {
        if c == '/' && !in_string && chars.as_str().starts_with('*') {
            // A doc comment: whatever it says is no type.
            let rest = chars.as_str();
            chars = rest[rest.find("*/").map_or(rest.len(), |end| end + 2)..].chars();
            continue;
        }
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' | '>' => depth = depth.saturating_sub(1),
            '|' | '&' if depth == 0 => return format!("({ty})"),
            _ => {}
        }
    }
    ty.to_owned()
}

/// Whether `key` may stand unquoted as a property name.
fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Every line of `text` but empty ones after `by` spaces.
fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    let lines: Vec<String> = text
        .lines()
        .map(|line| if line.is_empty() { String::new() } else { format!("{pad}{line}") })
        .collect();
    lines.join("\n")
}

/// `doc` as a JSDoc comment and a new line (nothing when empty), its rustdoc links made text.
fn jsdoc(doc: &str) -> String {
    let doc = plain(doc.trim()).replace("*/", "*\\/");
    match doc.lines().count() {
        0 => String::new(),
        1 => format!("/** {doc} */\n"),
        _ => {
            let mut out = String::from("/**\n");
            for line in doc.lines() {
                out.push_str(if line.is_empty() { " *" } else { " * " });
                out.push_str(line);
                out.push('\n');
            }
            out.push_str(" */\n");
            out
        }
    }
}

/// `doc` with rustdoc's links to items made plain: `` [`Todo`](crate::Todo) `` and
/// `` [`Todo`] `` become `` `Todo` ``. Links to addresses and text in code stay as they are.
fn plain(doc: &str) -> String {
    let mut out = String::with_capacity(doc.len());
    let mut rest = doc;
    while let Some(at) = rest.find(['`', '[']) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(code) = rest.strip_prefix('`') {
            // A code span, copied as it is.
            let end = code.find('`').map_or(rest.len(), |end| end + 2);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        let Some(close) = link_text_end(rest) else {
            out.push('[');
            rest = &rest[1..];
            continue;
        };
        let text = &rest[1..close];
        let after = &rest[close + 1..];
        if let Some(target) = after.strip_prefix('(').and_then(|t| t.split_once(')')) {
            if target.0.contains("://") {
                out.push_str(&rest[..close + 3 + target.0.len()]);
            } else {
                out.push_str(text);
            }
            rest = target.1;
        } else if is_item(text) {
            out.push_str(text);
            rest = after;
        } else {
            out.push('[');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Where the `]` closing the `[` that `text` starts with is, if on the same line.
fn link_text_end(text: &str) -> Option<usize> {
    let mut in_code = false;
    for (at, c) in text.char_indices().skip(1) {
        match c {
            '`' => in_code = !in_code,
            ']' if !in_code => return Some(at),
            '[' | '\n' if !in_code => return None,
            _ => {}
        }
    }
    None
}

/// Whether a link's text names an item as rustdoc links it: `` `todo` ``, `Todo`,
/// `crate::todo`.
fn is_item(text: &str) -> bool {
    let (name, code) = match text.strip_prefix('`').and_then(|t| t.strip_suffix('`')) {
        Some(name) => (name, true),
        None => (text, false),
    };
    !name.is_empty()
        && (code || name.starts_with(char::is_uppercase) || name.contains("::"))
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '(' | ')' | '!'))
}

macro_rules! primitives {
    ($($ts:literal, $schema:literal: $($ty:ty),+;)*) => {$($(
        impl TypeScript for $ty {
            fn typescript(_: &mut Declarations) -> Ty {
                Ty::new($ts, $schema)
            }
        }
    )+)*};
}

primitives! {
    "number", r#"{"type":"number"}"#: f32, f64;
    "string", r#"{"type":"string"}"#: str, String;
    "string", r#"{"type":"string","format":"uuid"}"#: Uuid;
    "boolean", r#"{"type":"boolean"}"#: bool;
    "unknown", "{}": RawJson;
    "Record<string, unknown>", r#"{"type":"object"}"#: Fields;
}

/// Integers: `number`, and in JSON Schema an integer within the type's bounds.
macro_rules! integers {
    ($($ty:ty),*) => {$(
        impl TypeScript for $ty {
            fn typescript(_: &mut Declarations) -> Ty {
                let (min, max) = (<$ty>::MIN, <$ty>::MAX);
                Ty::new("number", format!(r#"{{"type":"integer","minimum":{min},"maximum":{max}}}"#))
            }
        }
    )*};
}

integers!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl<T: TypeScript> TypeScript for Option<T> {
    const OPTIONAL: bool = true;

    fn typescript(types: &mut Declarations) -> Ty {
        T::typescript(types).nullable()
    }
}

impl<T: TypeScript + ?Sized> TypeScript for &T {
    const OPTIONAL: bool = T::OPTIONAL;

    fn typescript(types: &mut Declarations) -> Ty {
        T::typescript(types)
    }
}

/// A box is written as what it holds, but never left out (its `is_absent` is `false`).
impl<T: TypeScript + ?Sized> TypeScript for Box<T> {
    fn typescript(types: &mut Declarations) -> Ty {
        T::typescript(types)
    }
}

macro_rules! lists {
    ($($list:ty),*) => {$(
        impl<T: TypeScript> TypeScript for $list {
            fn typescript(types: &mut Declarations) -> Ty {
                T::typescript(types).list()
            }
        }
    )*};
}

lists!([T], Vec<T>, VecDeque<T>);

impl<A: TypeScript, B: TypeScript> TypeScript for (A, B) {
    fn typescript(types: &mut Declarations) -> Ty {
        let (a, b) = (A::typescript(types), B::typescript(types));
        // Each item either type (not `prefixItems`, which tools on older drafts refuse).
        let schema = format!(
            r#"{{"type":"array","items":{{"anyOf":[{},{}]}},"minItems":2,"maxItems":2}}"#,
            a.schema, b.schema
        );
        Ty::new(format!("[{}, {}]", a.ts, b.ts), schema)
    }
}

macro_rules! maps {
    ($([$($generics:tt)*] $map:ty),*) => {$(
        impl<$($generics)*> TypeScript for $map {
            fn typescript(types: &mut Declarations) -> Ty {
                T::typescript(types).map()
            }
        }
    )*};
}

maps!(
    [T: TypeScript] BTreeMap<String, T>,
    [T: TypeScript, S] HashMap<String, T, S>,
    [T: TypeScript] SmallMap<T>
);

impl TypeScript for Meta {
    fn typescript(types: &mut Declarations) -> Ty {
        let doc = "Who asked for an event, when, and through which command.";
        types.interface::<Self>("Meta", doc, |types| {
            let id = Uuid::typescript(types);
            let text = String::typescript(types);
            let time = i64::typescript(types);
            let other_id = Option::<Uuid>::typescript(types);
            let fields = Option::<Fields>::typescript(types);
            Object::new()
                .field("command", "The id of the command that produced the event.", false, id)
                .field("actor", "The subject that sent the command.", false, text)
                .field("at", "Milliseconds since the Unix epoch.", false, time)
                .field("correlation", "The id shared by one workflow.", true, other_id.clone())
                .field("causation", "The id of what caused the command.", true, other_id)
                .field("fields", "The caller's own fields.", true, fields)
        })
    }
}

/// `{ code; message }`, for [`Rejection`] and [`DecodeError`].
fn coded<T>(types: &mut Declarations, name: &str, doc: &str) -> Ty {
    types.interface::<T>(name, doc, |types| {
        let text = String::typescript(types);
        Object::new().field("code", "A stable snake_case code.", false, text.clone()).field(
            "message",
            "A sentence for people.",
            false,
            text,
        )
    })
}

impl TypeScript for Rejection {
    fn typescript(types: &mut Declarations) -> Ty {
        coded::<Self>(types, "Rejection", "Why a command was refused.")
    }
}

impl TypeScript for DecodeError {
    fn typescript(types: &mut Declarations) -> Ty {
        coded::<Self>(types, "DecodeError", "Why JSON could not be read as an event or command.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A type of TypeScript text `ts` (and any JSON).
    fn ty(ts: &str) -> Ty {
        Ty::new(ts, "{}")
    }

    fn check<T: TypeScript + ?Sized>(expected: &str) {
        assert_eq!(T::typescript(&mut Declarations::default()).ts, expected);
    }

    #[test]
    fn primitives_and_collections() {
        check::<u8>("number");
        check::<i64>("number");
        check::<f32>("number");
        check::<usize>("number");
        check::<String>("string");
        check::<str>("string");
        check::<&str>("string");
        check::<Uuid>("string");
        check::<bool>("boolean");
        check::<RawJson>("unknown");
        check::<Option<u64>>("number | null");
        check::<Option<Option<u64>>>("number | null");
        check::<Option<RawJson>>("unknown");
        check::<Vec<Option<u64>>>("(number | null)[]");
        check::<[String]>("string[]");
        check::<VecDeque<(Option<u64>, i64)>>("[number | null, number][]");
        check::<Vec<Vec<bool>>>("boolean[][]");
        check::<BTreeMap<String, Vec<u8>>>("Record<string, number[]>");
        check::<HashMap<String, Option<bool>>>("Record<string, boolean | null>");
        check::<SmallMap<VecDeque<(Option<u64>, i64)>>>(
            "Record<string, [number | null, number][]>",
        );
        check::<Box<str>>("string");
        check::<Fields>("Record<string, unknown>");
        const { assert!(<Option<u8> as TypeScript>::OPTIONAL) };
        const { assert!(<&Option<u8> as TypeScript>::OPTIONAL) };
        const { assert!(!<Box<Option<u8>> as TypeScript>::OPTIONAL) };
        const { assert!(!<u8 as TypeScript>::OPTIONAL) };
    }

    #[test]
    fn rustdoc_links_become_text() {
        for (doc, text) in [
            ("See [`AddItem`].", "See `AddItem`."),
            (
                "1 to [`TITLE_LENGTH`](crate::TITLE_LENGTH) characters",
                "1 to `TITLE_LENGTH` characters",
            ),
            (
                "[`Todo`]'s rules, [the guide](https://example.com/g)",
                "`Todo`'s rules, [the guide](https://example.com/g)",
            ),
            ("`[position, qty]` points [sic] [a](b) [", "`[position, qty]` points [sic] a ["),
            ("[`Kinds2`](crate::Kinds2)`<A, B>`", "`Kinds2``<A, B>`"),
        ] {
            assert_eq!(plain(doc), text, "{doc}");
        }
    }

    #[test]
    fn docs_become_jsdoc() {
        assert_eq!(jsdoc(""), "");
        assert_eq!(jsdoc("One line."), "/** One line. */\n");
        assert_eq!(jsdoc("Two\n\nparagraphs */"), "/**\n * Two\n *\n * paragraphs *\\/\n */\n");
    }

    #[test]
    fn objects_and_unions_break_into_lines_when_long_or_documented() {
        let short = Object::new().field("a", "", false, ty("string"));
        assert_eq!(short.finish().ts, "{ a: string }");
        let documented = Object::new().field("a", "The a.", true, ty("string"));
        assert_eq!(documented.finish().ts, "{\n  /** The a. */\n  a?: string;\n}");
        let nested = Object::new().field("outer", "", false, documented_object());
        assert_eq!(
            nested.finish().ts,
            "{\n  outer: {\n    /** The a. */\n    a?: string;\n  };\n}"
        );
        let union = Union::new().member("One.", ty("\"one\"")).member("", documented_object());
        assert_eq!(
            union.finish().ts,
            "/** One. */\n| \"one\"\n| {\n    /** The a. */\n    a?: string;\n  }"
        );
        let mut out = String::new();
        write_declaration(
            &mut out,
            "Two",
            "",
            &Body::Alias(Union::new().member("One.", ty("1")).finish().ts),
        );
        assert_eq!(out, "export type Two =\n  /** One. */\n  | 1;\n");
    }

    fn documented_object() -> Ty {
        Object::new().field("a", "The a.", true, ty("string")).finish()
    }

    #[test]
    fn two_types_of_one_name_are_declared_apart() {
        struct Inner;
        mod other {
            pub struct Inner;
        }
        let mut types = Declarations::default();
        let first = types.alias::<Inner>("Inner", "", |_| ty("number"));
        let second = types.alias::<other::Inner>("Inner", "", |_| ty("string"));
        let again = types.alias::<Inner>("Inner", "", |_| unreachable!("declared once"));
        let reserved = types.alias::<u8>("State", "", |_| ty("boolean"));
        assert_eq!(
            (first.ts.as_str(), second.ts.as_str(), again.ts.as_str()),
            ("Inner", "Inner2", "Inner")
        );
        assert_eq!(reserved.ts, "State2");
        assert_eq!(
            types.to_string(),
            "export type Inner = number;\n\nexport type Inner2 = string;\n\nexport type State2 = boolean;\n"
        );
    }
}
