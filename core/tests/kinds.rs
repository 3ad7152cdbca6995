//! A domain of two kinds of streams, carts and products, each with its own state type: a
//! cart command reads a product's price and appends to the cart. Decided, folded, stored as
//! JSON, kept by a replica, and recorded by a log like any domain.

#![allow(missing_docs, clippy::unwrap_used)]

use annals_core::json;
use annals_core::protocol::CommandResult;
use annals_core::testing::{given, given_no_events};
use annals_core::{
    Change, Command, Context, Domain, Event, Json, Kind, Kinds2, MemoryLog, Rejection, Replica,
    StreamState, Uuid, meta, stream_name,
};

#[derive(Clone, Debug, PartialEq, Command)]
pub enum ShopCommand {
    ListProduct { product: Uuid, name: String, price: i64 },
    AddToCart { cart: Uuid, product: Uuid, qty: u32 },
}

#[derive(Clone, Debug, PartialEq, Event)]
pub enum ShopEvent {
    ProductListed { name: String, price: i64 },
    LineAdded { product: Uuid, qty: u32, price: i64 },
}

#[derive(Clone, Debug, Default, PartialEq, Json)]
pub struct Product {
    pub name: String,
    pub price: i64,
    pub listed: bool,
}

impl Kind for Product {
    const CATEGORY: &'static str = "product";
    type Event = ShopEvent;

    fn evolve(&mut self, event: &ShopEvent) {
        if let ShopEvent::ProductListed { name, price } = event {
            *self = Product { name: name.clone(), price: *price, listed: true };
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Json)]
pub struct Cart {
    pub lines: u32,
    pub total: i64,
}

impl Kind for Cart {
    const CATEGORY: &'static str = "cart";
    type Event = ShopEvent;

    fn evolve(&mut self, event: &ShopEvent) {
        if let ShopEvent::LineAdded { qty, price, .. } = event {
            self.lines += 1;
            self.total += i64::from(*qty) * price;
        }
    }
}

#[derive(Clone, Debug, PartialEq, Rejection)]
pub enum ShopRejection {
    #[rejection("There is no product {0}.")]
    UnknownProduct(Uuid),
    #[rejection("Product {0} is listed already.")]
    Listed(Uuid),
}

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

    fn streams(command: &ShopCommand) -> Vec<String> {
        match command {
            ShopCommand::ListProduct { product, .. } => vec![stream_name("product", product)],
            ShopCommand::AddToCart { cart, product, .. } => {
                vec![stream_name("cart", cart), stream_name("product", product)]
            }
        }
    }

    fn decide(
        command: &ShopCommand,
        context: &Context<'_, Self>,
    ) -> Result<Vec<Change<ShopEvent>>, ShopRejection> {
        match command {
            ShopCommand::ListProduct { product, name, price } => {
                let stream = context.stream(0);
                if stream.state.get::<Product>().is_some_and(|p| p.listed) {
                    return Err(ShopRejection::Listed(*product));
                }
                Ok(vec![
                    stream.append(ShopEvent::ProductListed { name: name.clone(), price: *price }),
                ])
            }
            ShopCommand::AddToCart { product, qty, .. } => {
                let listed = context.stream(1).state.get::<Product>().filter(|p| p.listed);
                let price = listed.ok_or(ShopRejection::UnknownProduct(*product))?.price;
                let line = ShopEvent::LineAdded { product: *product, qty: *qty, price };
                Ok(vec![context.stream(0).append(line)])
            }
        }
    }

    fn initial(stream: &str) -> Self::State {
        Kinds2::of(stream)
    }

    fn evolve(state: &mut Self::State, event: &ShopEvent) {
        state.evolve(event);
    }
}

const CART: Uuid = Uuid::from_u128(0xca27);
const TEA: Uuid = Uuid::from_u128(0x7ea);

fn cart() -> String {
    stream_name("cart", &CART)
}

fn tea() -> String {
    stream_name("product", &TEA)
}

fn listed(name: &str, price: i64) -> ShopEvent {
    ShopEvent::ProductListed { name: name.into(), price }
}

fn add_tea(qty: u32) -> ShopCommand {
    ShopCommand::AddToCart { cart: CART, product: TEA, qty }
}

#[test]
fn a_cart_command_reads_the_product_and_appends_to_the_cart() {
    given::<Shop>([(tea(), listed("Tea", 350))])
        .when(add_tea(2))
        .then_expect([(cart(), ShopEvent::LineAdded { product: TEA, qty: 2, price: 350 })])
        .then_state(&cart(), &Kinds2::A(Cart { lines: 1, total: 700 }))
        .then_state(&tea(), &Kinds2::B(Product { name: "Tea".into(), price: 350, listed: true }));
    given_no_events::<Shop>()
        .when(add_tea(1))
        .then_reject_with("unknown_product", &format!("There is no product {TEA}."))
        .then_state(&cart(), &Kinds2::Other);
}

#[test]
fn each_state_is_stored_under_its_kind() {
    let state: Kinds2<Cart, Product> = Kinds2::A(Cart { lines: 1, total: 700 });
    let text = json::to_string(&state);
    assert_eq!(text, r#"{"cart":{"lines":1,"total":700}}"#);
    assert_eq!(json::from_str::<Kinds2<Cart, Product>>(&text), Ok(state));
    assert_eq!(json::from_str::<Kinds2<Cart, Product>>("null"), Ok(Kinds2::Other));
    let unknown = json::from_str::<Kinds2<Cart, Product>>(r#"{"wishlist":{}}"#).expect_err("no");
    assert!(unknown.to_string().contains("unknown kind of stream `wishlist`"), "{unknown}");
    let two =
        json::from_str::<Kinds2<Cart, Product>>(r#"{"cart":{"lines":0,"total":0},"product":{}}"#);
    assert!(two.is_err());
    // A stream's state as a store keeps it, with its version.
    let stored: StreamState<Shop> = json::from_str(
        r#"{"state":{"product":{"name":"Tea","price":1,"listed":true}},"version":1}"#,
    )
    .expect("a stored product");
    assert_eq!(stored.state.get::<Product>().map(|p| p.price), Some(1));
    assert_eq!(stored.state.get::<Cart>(), None);
}

#[test]
fn a_log_and_a_replica_keep_both_kinds() {
    let mut log = MemoryLog::<Shop>::default();
    let list = ShopCommand::ListProduct { product: TEA, name: "Tea".into(), price: 350 };
    let results = [
        log.submit(&list, &meta(Uuid::from_u128(1), "clerk", 1), None),
        log.submit(&add_tea(3), &meta(Uuid::from_u128(2), "ann", 2), None),
        log.submit(&list, &meta(Uuid::from_u128(3), "clerk", 3), None),
    ];
    assert!(matches!(results[1], CommandResult::Accepted { .. }), "{results:?}");
    assert!(matches!(&results[2], CommandResult::Rejected { code, .. } if code == "listed"));
    assert_eq!(log.state(&cart()).state.get::<Cart>(), Some(&Cart { lines: 1, total: 1050 }));

    // A replica that learnt of the tea from the log decides offline, saves and restores.
    let mut replica = Replica::<Shop>::new();
    replica.receive(log.after(0)).expect("the log in order");
    replica.execute(add_tea(1), meta(Uuid::from_u128(4), "ann", 4)).expect("tea is listed");
    assert_eq!(replica.stream(&cart()).state.get::<Cart>(), Some(&Cart { lines: 2, total: 1400 }));
    let saved = json::to_string(&replica.save());
    let (restored, stale) = Replica::<Shop>::restore(json::from_str(&saved).expect("saved"));
    assert!(!stale);
    assert_eq!(restored.stream(&cart()), replica.stream(&cart()));
    assert_eq!(restored.stream(&tea()), replica.stream(&tea()));
}
