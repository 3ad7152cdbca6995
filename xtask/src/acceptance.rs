//! The acceptance test of acceptance/: a new user's app made from docs/guide.md in an empty
//! folder outside the repository (domain crate, server, wasm crate packed by `cargo annals
//! pack`, Vite page), then driven in headless Chromium.

use crate::install;
use crate::util::{self, Result};

/// Runs acceptance/new-user.test.mjs with the cargo-annals binary on PATH (`cargo xtask wasm`
/// built it), the workspace's pinned toolchain (the app's folder has no rust-toolchain.toml),
/// and a target folder of its own kept between runs, so later runs build incrementally.
pub fn test() -> Result {
    install::ensure_node()?;
    let root = util::root();
    let dir = root.join("acceptance");
    util::run(util::command("npm").current_dir(&dir).args(["ci", "--no-audit", "--no-fund"]))?;
    let mut node = util::command("node");
    node.current_dir(&dir)
        .args(["--test", "--test-reporter=spec", "new-user.test.mjs"])
        .env("ANNALS_PACK_DIR", util::target_dir().join("debug"))
        .env("ANNALS_CHROMIUM", util::chromium())
        .env("CARGO_TARGET_DIR", util::target_dir().join("new-user"))
        .env("RUSTUP_TOOLCHAIN", util::toolchain()?);
    util::run(&mut node)
}
