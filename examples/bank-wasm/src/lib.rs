//! The bank domain in WebAssembly, packed by `cargo annals pack` into the npm package of the bank example.

annals_wasm::export!(annals_bank::Bank);
