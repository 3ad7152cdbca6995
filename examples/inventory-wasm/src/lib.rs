//! The inventory domain in WebAssembly, packed by `cargo annals pack` into the npm package of the cafeteria inventory app (www/).

annals_wasm::export!(annals_inventory::Inventory);
