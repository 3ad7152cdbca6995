//! Several kinds of streams in one domain, each with a state type of its own.
//!
//! A shop has carts and products: a cart's state is its lines, a product's its name and
//! price, and a command may read a product and append to a cart. Each state type implements
//! [`Kind`] (its stream category and its fold), and the domain's `State` is
//! [`Kinds2`]`<Cart, Product>` (or [`Kinds3`], [`Kinds4`]): a stream's state is of the kind
//! its category names, chosen by [`Domain::initial`](crate::Domain::initial).
//!
//! ```
//! use annals_core::{Change, Command, Context, Domain, Event, Json, Kind, Kinds2, Rejection, Uuid, stream_name};
//!
//! #[derive(Clone, Debug, PartialEq, Command)]
//! pub enum ShopCommand {
//!     ListProduct { product: Uuid, price: i64 },
//!     AddToCart { cart: Uuid, product: Uuid },
//! }
//!
//! #[derive(Clone, Debug, PartialEq, Event)]
//! pub enum ShopEvent {
//!     ProductListed { price: i64 },
//!     LineAdded { product: Uuid, price: i64 },
//! }
//!
//! #[derive(Clone, Debug, Default, PartialEq, Json)]
//! pub struct Product { pub price: Option<i64> }
//!
//! impl Kind for Product {
//!     const CATEGORY: &'static str = "product";
//!     type Event = ShopEvent;
//!     fn evolve(&mut self, event: &ShopEvent) {
//!         if let ShopEvent::ProductListed { price } = event {
//!             self.price = Some(*price);
//!         }
//!     }
//! }
//!
//! #[derive(Clone, Debug, Default, PartialEq, Json)]
//! pub struct Cart { pub total: i64 }
//!
//! impl Kind for Cart {
//!     const CATEGORY: &'static str = "cart";
//!     type Event = ShopEvent;
//!     fn evolve(&mut self, event: &ShopEvent) {
//!         if let ShopEvent::LineAdded { price, .. } = event {
//!             self.total += price;
//!         }
//!     }
//! }
//!
//! #[derive(Debug, Rejection)]
//! pub enum ShopRejection {
//!     #[rejection("There is no product {0}.")]
//!     UnknownProduct(Uuid),
//! }
//!
//! #[derive(Clone, Debug, Default, PartialEq)]
//! pub struct Shop;
//!
//! impl Domain for Shop {
//!     const NAME: &'static str = "shop";
//!     const CATEGORY: &'static str = "cart";
//!     const STATE_VERSION: u32 = 1;
//!     type Command = ShopCommand;
//!     type Event = ShopEvent;
//!     type State = Kinds2<Cart, Product>;
//!     type Rejection = ShopRejection;
//!
//!     fn streams(command: &ShopCommand) -> Vec<String> {
//!         match command {
//!             ShopCommand::ListProduct { product, .. } => vec![stream_name("product", product)],
//!             ShopCommand::AddToCart { cart, product } => {
//!                 vec![stream_name("cart", cart), stream_name("product", product)]
//!             }
//!         }
//!     }
//!
//!     fn decide(command: &ShopCommand, context: &Context<'_, Self>) -> Result<Vec<Change<ShopEvent>>, ShopRejection> {
//!         match command {
//!             ShopCommand::ListProduct { price, .. } => {
//!                 Ok(vec![context.stream(0).append(ShopEvent::ProductListed { price: *price })])
//!             }
//!             ShopCommand::AddToCart { product, .. } => {
//!                 let listed = context.stream(1).state.get::<Product>().and_then(|p| p.price);
//!                 let price = listed.ok_or(ShopRejection::UnknownProduct(*product))?;
//!                 Ok(vec![context.stream(0).append(ShopEvent::LineAdded { product: *product, price })])
//!             }
//!         }
//!     }
//!
//!     fn initial(stream: &str) -> Self::State {
//!         Kinds2::of(stream)
//!     }
//!
//!     fn evolve(state: &mut Self::State, event: &ShopEvent) {
//!         state.evolve(event);
//!     }
//! }
//!
//! use annals_core::testing::given;
//! let (cart, tea) = (Uuid::from_u128(1), Uuid::from_u128(2));
//! given::<Shop>([(stream_name("product", &tea), ShopEvent::ProductListed { price: 350 })])
//!     .when(ShopCommand::AddToCart { cart, product: tea })
//!     .then_expect([(stream_name("cart", &cart), ShopEvent::LineAdded { product: tea, price: 350 })])
//!     .then_state(&stream_name("cart", &cart), &Kinds2::A(Cart { total: 350 }));
//! ```

use std::any::Any;
use std::fmt;

use crate::envelope::category_of;
use crate::json::{self, FromJson, Reader, ToJson, Writer};
use crate::typescript::{Declarations, Object, Ty, TypeScript, Union};

/// One kind of stream: its category (`cart` for `cart-<id>`), and how its state folds the
/// domain's events (ignoring those that are not its own).
pub trait Kind:
    Clone + fmt::Debug + Default + PartialEq + ToJson + FromJson + TypeScript + 'static
{
    /// The category of this kind's streams.
    const CATEGORY: &'static str;
    /// The domain's event type.
    type Event;
    /// Folds one event of a stream of this kind.
    fn evolve(&mut self, event: &Self::Event);
}

macro_rules! kinds {
    ($(#[$doc:meta])* $name:ident { $($kind:ident),+ }) => {
        $(#[$doc])*
        ///
        /// On the wire `{"<category>": state}`, or `null` for a stream of none of the kinds.
        #[derive(Clone, Debug, Default, PartialEq)]
        pub enum $name<$($kind),+> {
            /// A stream whose category is none of the kinds.
            #[default]
            Other,
            $(
                #[doc = concat!("A stream of kind `", stringify!($kind), "`.")]
                $kind($kind),
            )+
        }

        impl<E, $($kind: Kind<Event = E>),+> $name<$($kind),+> {
            /// The state of `stream` before its first event: the default of the kind its
            /// category names. For [`Domain::initial`](crate::Domain::initial).
            pub fn of(stream: &str) -> Self {
                let category = category_of(stream);
                $(if category == $kind::CATEGORY {
                    return Self::$kind($kind::default());
                })+
                Self::Other
            }

            /// Folds one event into the stream's kind. For
            /// [`Domain::evolve`](crate::Domain::evolve).
            pub fn evolve(&mut self, event: &E) {
                match self {
                    Self::Other => {}
                    $(Self::$kind(state) => state.evolve(event),)+
                }
            }

            /// The state, if the stream is of kind `K`.
            pub fn get<K: Kind>(&self) -> Option<&K> {
                match self {
                    Self::Other => None,
                    $(Self::$kind(state) => (state as &dyn Any).downcast_ref::<K>(),)+
                }
            }
        }

        impl<E, $($kind: Kind<Event = E>),+> ToJson for $name<$($kind),+> {
            fn write_json(&self, w: &mut Writer) {
                match self {
                    Self::Other => w.null(),
                    $(Self::$kind(state) => {
                        w.begin_object();
                        w.field($kind::CATEGORY, state);
                        w.end_object();
                    })+
                }
            }
        }

        impl<E, $($kind: Kind<Event = E>),+> FromJson for $name<$($kind),+> {
            fn read_json(r: &mut Reader<'_>) -> Result<Self, json::Error> {
                if r.null()? {
                    return Ok(Self::Other);
                }
                let mut state = None;
                r.object(&mut |r, category| {
                    if state.is_some() {
                        return Err(r.error("expected the state of one kind of stream"));
                    }
                    $(if category == $kind::CATEGORY {
                        state = Some(Self::$kind($kind::read_json(r)?));
                        return Ok(());
                    })+
                    Err(r.error(&format!("unknown kind of stream `{category}`")))
                })?;
                state.ok_or_else(|| r.error("expected the state of one kind of stream"))
            }
        }

        impl<E, $($kind: Kind<Event = E>),+> TypeScript for $name<$($kind),+> {
            fn typescript(types: &mut Declarations) -> Ty {
                Union::new()
                    $(.member("", {
                        let state = <$kind as TypeScript>::typescript(types);
                        Object::new().field($kind::CATEGORY, "", false, state).finish()
                    }))+
                    .member("", Ty::new("null", r#"{"type":"null"}"#))
                    .finish()
            }
        }
    };
}

kinds! {
    /// The state of a stream in a domain of two kinds of streams.
    Kinds2 { A, B }
}

kinds! {
    /// The state of a stream in a domain of three kinds of streams.
    Kinds3 { A, B, C }
}

kinds! {
    /// The state of a stream in a domain of four kinds of streams.
    Kinds4 { A, B, C, D }
}
