//! The todo domain in WebAssembly, packed by `cargo annals pack` into the npm package of the to-do page.

annals_wasm::export!(annals_todo::Todo);
