//! annals-wasm: a domain of annals-core in WebAssembly, for the browser and Node.
//!
//! An app's own crate (a `cdylib`) exports its domain in one line:
//!
//! ```ignore
//! annals_wasm::export!(todo::Todo);
//! ```
//!
//! and `cargo annals pack` builds it into an npm package: the module, the shared JavaScript
//! runtime (replica, sync, tabs, errors) and TypeScript types generated from the domain.
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

/// The module's allocator (feature `allocator`, on by default): talc is about 2 KB smaller
/// gzipped than the standard library's dlmalloc, and every app downloads it.
#[cfg(all(target_arch = "wasm32", feature = "allocator"))]
#[global_allocator]
#[allow(unsafe_code)]
// SAFETY: talc's condition: a wasm32-unknown-unknown module runs on one thread.
static ALLOCATOR: talc::TalckWasm = unsafe { talc::TalckWasm::new_global() };

pub use engine::merge;
pub use error::AnnalsError;
pub use replica::Replica;

/// Exports a domain from an app's `cdylib` crate: the module gets a function
/// `open(storage, key, writer, actor)` that opens a [`Replica`] of that domain, which the package's
/// JavaScript runtime calls. Run natively as a test (`cargo test --lib`), it writes the
/// domain's TypeScript declarations to the file named by `ANNALS_TYPESCRIPT_OUT`, which is
/// how `cargo annals pack` gets them.
///
/// ```ignore
/// annals_wasm::export!(todo::Todo);
/// ```
#[macro_export]
macro_rules! export {
    ($domain:ty) => {
        /// Opens this domain's replica: see `annals_wasm::Replica::open`.
        #[$crate::__private::bindgen(wasm_bindgen = $crate::__private::wasm_bindgen)]
        pub fn open(
            storage: &str,
            key: ::core::option::Option<::std::string::String>,
            writer: ::core::option::Option<::std::string::String>,
            actor: ::core::option::Option<::std::string::String>,
        ) -> ::core::result::Result<$crate::Replica, $crate::__private::wasm_bindgen::JsValue> {
            $crate::Replica::open::<$domain>(storage, key, writer, actor)
        }

        /// The domain's TypeScript declarations, written where `cargo annals pack` asks.
        #[cfg(all(test, not(target_arch = "wasm32")))]
        #[test]
        fn annals_typescript() {
            $crate::__private::write_typescript::<$domain>();
        }
    };
}

#[doc(hidden)]
pub mod __private {
    pub use wasm_bindgen;
    pub use wasm_bindgen::prelude::wasm_bindgen as bindgen;

    /// Writes `D`'s TypeScript declarations to the file `ANNALS_TYPESCRIPT_OUT` names, if set.
    ///
    /// # Panics
    ///
    /// When the declarations are empty or the file cannot be written: this runs as a test.
    pub fn write_typescript<D: annals_core::Domain>() {
        let declarations = annals_core::typescript::declarations::<D>();
        assert!(declarations.contains("export type Command"), "{declarations}");
        if let Some(path) = std::env::var_os("ANNALS_TYPESCRIPT_OUT")
            && let Err(error) = std::fs::write(&path, declarations)
        {
            panic!("cannot write {}: {error}", std::path::Path::new(&path).display());
        }
    }
}
