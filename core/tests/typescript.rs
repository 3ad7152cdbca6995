//! The TypeScript types the derives give, shape by shape, against the JSON the codec writes
//! for the same values; then the declarations of a whole domain.

#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::BTreeMap;

use annals_core::json::{self, ToJson};
use annals_core::typescript::{Declarations, TypeScript, declarations};
use annals_core::{
    Change, Command, Context, Domain, DynView, Envelope, Event, Json, Kind, Kinds2, Projection,
    Rejection, Table, Uuid,
};

/// `T`'s TypeScript type, and the named types it declared; `value`'s JSON, to read beside them.
fn check<T: TypeScript + ToJson>(value: &T, ty: &str, declared: &str, written: &str) {
    let mut types = Declarations::default();
    assert_eq!(T::typescript(&mut types).ts, ty);
    assert_eq!(types.to_string(), declared);
    assert_eq!(json::to_string(value), written);
}

/// A room of the hotel.
///
/// Booked by [`Guest`]s, see [the site](https://example.com/rooms).
#[derive(Json)]
#[json(rename_all = "camelCase")]
pub struct Room {
    /// Its number on the door.
    pub room_number: u16,
    /// Written `"floorLevel"`? No: renamed.
    #[json(rename = "storey")]
    pub floor: i8,
    pub note: Option<String>,
    /// Added later: read as `false` when absent.
    #[json(default)]
    pub smoking: bool,
    #[json(default = "each")]
    pub unit: String,
    pub beds: Vec<Bed>,
    pub price: Price,
    pub extras: BTreeMap<String, (u32, Option<f64>)>,
}

fn each() -> String {
    "each".to_owned()
}

/// Cents.
#[derive(Json)]
pub struct Price(pub i64);

/// Nothing to say.
#[derive(Json)]
pub struct Nothing;

/**
 * Nothing at all,
 *   in two lines.
 */
#[derive(Json)]
pub struct Empty {}

/// A bed.
#[derive(Json)]
#[json(rename_all = "snake_case")]
pub enum Bed {
    /// One person.
    Single,
    #[json(rename = "double-bed")]
    Double,
    /// A cot for a child of this age.
    Cot(u8),
    SofaBed {
        /// Centimetres.
        #[json(rename = "width_cm")]
        width: u32,
        folded: Option<bool>,
    },
}

#[test]
fn structs_say_their_wire_names_their_optional_fields_and_their_docs() {
    let room = Room {
        room_number: 12,
        floor: -1,
        note: None,
        smoking: false,
        unit: each(),
        beds: vec![Bed::Single, Bed::Double, Bed::Cot(2), Bed::SofaBed { width: 90, folded: None }],
        price: Price(9_900),
        extras: BTreeMap::from([("towels".to_owned(), (2, None))]),
    };
    check(
        &room,
        "Room",
        r#"/**
 * A room of the hotel.
 *
 * Booked by `Guest`s, see [the site](https://example.com/rooms).
 */
export interface Room {
  /** Its number on the door. */
  roomNumber: number;
  /** Written `"floorLevel"`? No: renamed. */
  storey: number;
  note?: string | null;
  /** Added later: read as `false` when absent. */
  smoking?: boolean;
  unit?: string;
  beds: Bed[];
  price: Price;
  extras: Record<string, [number, number | null]>;
}

/** A bed. */
export type Bed =
  /** One person. */
  | "single"
  | "double-bed"
  | {
      /** A cot for a child of this age. */
      cot: number;
    }
  | {
      sofa_bed: {
        /** Centimetres. */
        width_cm: number;
        folded?: boolean | null;
      };
    };

/** Cents. */
export type Price = number;
"#,
        r#"{"roomNumber":12,"storey":-1,"smoking":false,"unit":"each","beds":["single","double-bed",{"cot":2},{"sofa_bed":{"width_cm":90}}],"price":9900,"extras":{"towels":[2,null]}}"#,
    );
}

#[test]
fn unit_structs_and_structs_of_no_fields_are_empty_objects() {
    let declared = "/** Nothing to say. */\nexport type Nothing = Record<string, never>;\n";
    check(&Nothing, "Nothing", declared, "{}");
    let declared = "/**\n * Nothing at all,\n *   in two lines.\n */\nexport type Empty = Record<string, never>;\n";
    check(&Empty {}, "Empty", declared, "{}");
}

#[derive(Json)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub more: Option<Vec<Page<T>>>,
}

#[test]
fn a_generic_type_is_declared_once_per_instance_and_may_refer_to_itself() {
    let page = Page { items: vec![1u8], more: Some(vec![Page { items: vec![], more: None }]) };
    let declared = "export interface Page {\n  items: number[];\n  more?: Page[] | null;\n}\n";
    check(&page, "Page", declared, r#"{"items":[1],"more":[{"items":[]}]}"#);
    let mut types = Declarations::default();
    let pages = <(Page<u8>, Page<String>) as TypeScript>::typescript(&mut types);
    assert_eq!(pages.ts, "[Page, Page2]");
    assert!(types.to_string().contains("export interface Page2 {\n  items: string[];\n"));
}

/// Something a shop is asked to do.
#[derive(Clone, Debug, PartialEq, Command)]
pub enum ShopCommand {
    /// List a product.
    #[json(rename = "v1.List")]
    List(Listing),
    /// Put a product in a cart.
    AddToCart {
        cart: Uuid,
        product: Uuid,
        /// How many; 1 when absent.
        #[json(default = "one")]
        qty: u32,
    },
    /// Ring the bell.
    Ring,
}

fn one() -> u32 {
    1
}

/// A product and its price.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct Listing {
    pub product: Uuid,
    pub price: i64,
}

/// Something that happened in a shop.
#[derive(Clone, Debug, PartialEq, Event)]
#[json(rename_all = "snake_case")]
pub enum ShopEvent {
    Listed(Listing),
    LineAdded { product: Uuid, price: i64, note: Option<String> },
    Rang,
}

#[test]
fn commands_and_events_are_unions_of_type_and_data() {
    let ring = ShopCommand::Ring;
    let declared = r#"/** Something a shop is asked to do. */
export type ShopCommand =
  | {
      /** List a product. */
      type: "v1.List";
      data: Listing;
    }
  | {
      /** Put a product in a cart. */
      type: "AddToCart";
      data: {
        cart: string;
        product: string;
        /** How many; 1 when absent. */
        qty?: number;
      };
    }
  | {
      /** Ring the bell. */
      type: "Ring";
      data: Record<string, never>;
    };

/** A product and its price. */
export interface Listing {
  product: string;
  price: number;
}
"#;
    check(&ring, "ShopCommand", declared, r#"{"type":"Ring","data":{}}"#);
    let declared = r#"/** Something that happened in a shop. */
export type ShopEvent =
  | { type: "listed"; data: Listing }
  | {
      type: "line_added";
      data: { product: string; price: number; note?: string | null };
    }
  | { type: "rang"; data: Record<string, never> };

/** A product and its price. */
export interface Listing {
  product: string;
  price: number;
}
"#;
    let added = ShopEvent::LineAdded { product: Uuid::nil(), price: 5, note: None };
    let written = r#"{"type":"line_added","data":{"product":"00000000-0000-0000-0000-000000000000","price":5}}"#;
    check(&added, "ShopEvent", declared, written);
}

/// A cart's lines.
#[derive(Clone, Debug, Default, PartialEq, Json)]
pub struct Cart {
    pub lines: Vec<Listing>,
}

impl Kind for Cart {
    const CATEGORY: &'static str = "cart";
    type Event = ShopEvent;

    fn evolve(&mut self, event: &ShopEvent) {
        if let ShopEvent::Listed(listing) = event {
            self.lines.push(listing.clone());
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Json)]
pub struct Product {
    pub price: Option<i64>,
}

impl Kind for Product {
    const CATEGORY: &'static str = "product";
    type Event = ShopEvent;

    fn evolve(&mut self, _: &ShopEvent) {}
}

#[test]
fn a_state_of_several_kinds_is_one_kind_by_its_category_or_null() {
    let state: Kinds2<Cart, Product> = Kinds2::B(Product { price: Some(3) });
    let mut types = Declarations::default();
    let ty = <Kinds2<Cart, Product>>::typescript(&mut types);
    assert_eq!(ty.ts, "{ cart: Cart } | { product: Product } | null");
    assert_eq!(json::to_string(&state), r#"{"product":{"price":3}}"#);
    assert_eq!(json::to_string(&Kinds2::<Cart, Product>::Other), "null");
}

#[derive(Debug, Rejection)]
pub enum ShopRejection {
    #[rejection(code = "unknown", "There is no product {0}.")]
    UnknownProduct(Uuid),
    #[rejection("Out of stock.")]
    OutOfStock,
    #[rejection(code = "unknown", "There is no cart {0}.")]
    UnknownCart(Uuid),
}

/// A shop, its carts and products.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shop;

impl Domain for Shop {
    const NAME: &'static str = "shop";
    const CATEGORY: &'static str = "cart";
    const STATE_VERSION: u32 = 1;
    type Command = ShopCommand;
    type Event = ShopEvent;
    type State = Kinds2<Cart, Product>;
    type Rejection = ShopRejection;

    fn streams(_: &ShopCommand) -> Vec<String> {
        Vec::new()
    }

    fn decide(
        _: &ShopCommand,
        _: &Context<'_, Self>,
    ) -> Result<Vec<Change<ShopEvent>>, ShopRejection> {
        Err(ShopRejection::OutOfStock)
    }

    fn evolve(state: &mut Self::State, event: &ShopEvent) {
        state.evolve(event);
    }

    fn views() -> Vec<Box<dyn DynView<Self>>> {
        vec![Table::<Self, Prices>::boxed(), Table::<Self, Journal>::boxed()]
    }
}

/// Each product's price history.
pub struct Prices;

impl Projection<Shop> for Prices {
    const NAME: &'static str = "prices";
    const VERSION: u32 = 1;
    type Row = Vec<Option<i64>>;

    fn key(_: &Envelope<ShopEvent>) -> Option<String> {
        None
    }

    fn apply(_: &mut Option<Self::Row>, _: &Envelope<ShopEvent>) {}
}

/// Every event, as it happened.
pub struct Journal;

impl Projection<Shop> for Journal {
    const NAME: &'static str = "journal-of-events";
    const VERSION: u32 = 1;
    const SINGLE: bool = true;
    type Row = Vec<ShopEvent>;

    fn key(_: &Envelope<ShopEvent>) -> Option<String> {
        None
    }

    fn apply(_: &mut Option<Self::Row>, _: &Envelope<ShopEvent>) {}
}

#[test]
fn a_domain_declares_its_roots_and_every_type_they_name_once() {
    let declared = declarations::<Shop>();
    assert_eq!(declared, declarations::<Shop>(), "the same on every run");
    let expected = r#"// The types of the annals domain "shop", generated from its Rust types. Do not edit.

/** Something a shop is asked to do. */
export type Command =
  | {
      /** List a product. */
      type: "v1.List";
      data: Listing;
    }
  | {
      /** Put a product in a cart. */
      type: "AddToCart";
      data: {
        cart: string;
        product: string;
        /** How many; 1 when absent. */
        qty?: number;
      };
    }
  | {
      /** Ring the bell. */
      type: "Ring";
      data: Record<string, never>;
    };

/** Something that happened in a shop. */
export type Event = ShopEvent;

/** A stream's decided state (`Domain::State`) as JSON. */
export type State = { cart: Cart } | { product: Product } | null;

/**
 * The domain's views by name. `all` is a view's value: its listed rows by key,
 * or the one value of a view that is one (`null` before it has one); `row` is one listed row by
 * key (`never` for a view of one value).
 */
export type Views = {
  prices: { all: Record<string, (number | null)[]>; row: (number | null)[] };
  "journal-of-events": { all: ShopEvent[] | null; row: never };
};

/** Why a command is refused. */
export type RejectionCode = "unknown" | "out_of_stock";

/** The domain's name. */
export type DomainName = "shop";

/** A product and its price. */
export interface Listing {
  product: string;
  price: number;
}

/** Something that happened in a shop. */
export type ShopEvent =
  | { type: "listed"; data: Listing }
  | {
      type: "line_added";
      data: { product: string; price: number; note?: string | null };
    }
  | { type: "rang"; data: Record<string, never> };

/** A cart's lines. */
export interface Cart {
  lines: Listing[];
}

export interface Product {
  price?: number | null;
}
"#;
    assert_eq!(declared, expected);
}
