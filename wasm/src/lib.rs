//! annals-wasm: the WebAssembly bindings of annals-core, built into the npm package `annals`
//! by `cargo xtask wasm` (the hand-written JavaScript around them lives in `js/`).
//!
//! The bindings translate, they never decide: commands, events and views cross the boundary
//! as JSON text, the core decides and folds, and failures become JavaScript `Error` objects
//! with a stable `code`.
//!
//! - [`Replica`] (JS class `Replica`): a domain's client replica and its storage.
//! - [`AnnalsError`]: a failure with a code, thrown as an `Error` named `AnnalsError`.
//!
//! Persistence is localStorage (through gloo-storage) or memory; ids and times come from the
//! JavaScript host (`Date.now`, `crypto.getRandomValues`), since the core takes them from
//! outside.

mod clock;
mod engine;
mod error;
mod replica;
mod storage;

pub use engine::merge;
pub use error::AnnalsError;
pub use replica::Replica;
