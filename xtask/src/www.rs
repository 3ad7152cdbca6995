//! The app in www/: installed with `npm ci` and built by Vite into www/dist, which
//! annals-server serves under `/`; and its end-to-end tests, which start a real annals-server
//! and drive headless Chromium through playwright-core.

use std::path::PathBuf;

use crate::install;
use crate::util::{self, Result, fail};

/// `npm ci` and `npm run build` in www/ (type check, then Vite and the service worker).
/// The app depends on the package in examples/inventory-wasm/pkg, so that is packed first.
pub fn build() -> Result {
    install::ensure_node()?;
    let www = util::root().join("www");
    util::run(util::command("npm").current_dir(&www).args(["ci", "--no-audit", "--no-fund"]))?;
    util::run(util::command("npm").current_dir(&www).args(["run", "build"]))
}

/// The built app, as annals-server's `--static` folder.
pub fn dist() -> PathBuf {
    util::root().join("www/dist")
}

/// The tests of www/e2e against the built app: each starts annals-server on a free port with
/// a fresh SQLite file and opens the app in headless Chromium.
pub fn test_e2e() -> Result {
    let root = util::root();
    util::run(util::cargo().args(["build", "-p", util::SERVER_PACKAGE]))?;
    let e2e = root.join("www/e2e");
    let mut files: Vec<String> = std::fs::read_dir(&e2e)
        .or_else(|e| fail(format!("cannot read {}: {e}", e2e.display())))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".test.mjs"))
        .map(|name| format!("e2e/{name}"))
        .collect();
    files.sort();
    if files.is_empty() {
        return fail(format!("no *.test.mjs in {}", e2e.display()));
    }
    let mut node = util::command("node");
    node.current_dir(root.join("www"))
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .args(&files)
        .env("ANNALS_SERVER_BIN", util::target_dir().join("debug/annals-server"));
    node.env("ANNALS_CHROMIUM", util::chromium());
    util::run(&mut node)
}
