//! `cargo xtask wasm`: the examples' npm packages, packed by `cargo annals pack` (the crate
//! in pack/) from their wasm crates: annals-inventory (which the app in www/ imports),
//! annals-bank and annals-todo, each into `pkg/` beside its crate. And the packages' tests.
//!
//! A package holds one domain's module (`domain_bg.wasm` and its glue `domain.js`), annals'
//! JavaScript runtime and the domain's generated types; an app loads its package's module and
//! runtime, so that is what the weight counts.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::install;
use crate::util::{self, Result, fail};

/// The P8 goal for the module plus its JavaScript, gzipped: 80 KB of 1,000 bytes.
const GOAL_BYTES: u64 = 80_000;
/// Over this the build fails: 100 KB of 1,000 bytes.
const LIMIT_BYTES: u64 = 100_000;

/// The examples' wasm crates (under examples/), each packed into `pkg/` beside it.
pub const PACKAGES: &[&str] = &["inventory-wasm", "bank-wasm", "todo-wasm"];

/// The JavaScript a browser app of a package loads: the runtime but `node.js`, and the
/// module's glue.
const LOADED_JS: &[&str] =
    &["browser.js", "replica.js", "sync.js", "tabs.js", "errors.js", "domain.js"];

/// What an app of one package loads, gzipped.
pub struct Size {
    /// The wasm crate, e.g. `inventory-wasm`.
    pub package: &'static str,
    /// Its .wasm module.
    pub wasm: u64,
    /// The JavaScript: the module's wasm-bindgen glue and the runtime.
    pub js: u64,
}

impl Size {
    fn total(&self) -> u64 {
        self.wasm + self.js
    }
}

/// The weight of each package.
pub type Sizes = Vec<Size>;

/// `cargo xtask wasm`: packs the examples and fails if one is over the size limit.
pub fn wasm(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return fail(format!("`cargo xtask wasm` takes no arguments, got `{arg}`"));
    }
    let sizes = build()?;
    check_size(&sizes)
}

/// The package folder of an example's wasm crate.
pub fn package_dir(package: &str) -> PathBuf {
    util::root().join("examples").join(package).join("pkg")
}

/// Installs what packing needs, packs every example and reports the gzipped sizes.
pub fn build() -> Result<Sizes> {
    install::ensure_wasm_target()?;
    if !util::on_path("wasm-opt") {
        install::ensure_browser_tools()?;
    }
    util::run(util::cargo().args(["build", "-p", "cargo-annals"]))?;
    let pack = util::target_dir().join("debug/cargo-annals");
    let mut sizes = Vec::new();
    for package in PACKAGES {
        let manifest = util::root().join("examples").join(package).join("Cargo.toml");
        util::run(util::command(&pack).args(["annals", "pack", "--manifest-path"]).arg(&manifest))?;
        let dir = package_dir(package);
        let mut js = 0;
        for file in LOADED_JS {
            js += gzipped(&dir.join(file))?;
        }
        let size = Size { package, wasm: gzipped(&dir.join("domain_bg.wasm"))?, js };
        println!(
            "{package}: an app loads domain_bg.wasm {} gzipped, JavaScript {} gzipped, together \
             {} (goal {}, limit {})",
            kb(size.wasm),
            kb(size.js),
            kb(size.total()),
            kb(GOAL_BYTES),
            kb(LIMIT_BYTES)
        );
        sizes.push(size);
    }
    Ok(sizes)
}

/// Fails when what an app of some domain loads is over [`LIMIT_BYTES`]; notes the goal.
pub fn check_size(sizes: &Sizes) -> Result {
    for size in sizes {
        let total = size.total();
        if total > LIMIT_BYTES {
            return fail(format!(
                "an app of {} loads {} gzipped from its package (.wasm {} + JavaScript {}), \
                 over the {} limit",
                size.package,
                kb(total),
                kb(size.wasm),
                kb(size.js),
                kb(LIMIT_BYTES)
            ));
        }
        if total > GOAL_BYTES {
            println!(
                "note: {}'s {} is over the P8 goal of {}",
                size.package,
                kb(total),
                kb(GOAL_BYTES)
            );
        }
    }
    Ok(())
}

/// Reports the package's weight against the goal and the limit without failing: `cargo xtask
/// test` weighs the package so the figure is in every run, while `cargo xtask wasm` (and so
/// a release of the package) refuses one over the limit.
pub fn report_size(sizes: &Sizes) -> Result {
    if let Err(over) = check_size(sizes) {
        println!("WARNING: {over}; `cargo xtask wasm` refuses to publish such a package");
    }
    Ok(())
}

/// The wasm-bindgen-test suites of examples/inventory-wasm/tests in headless Chromium, with
/// real localStorage.
pub fn test_browser() -> Result {
    let crate_dir = util::root().join("examples/inventory-wasm");
    let mut command = util::cargo();
    command
        .current_dir(&crate_dir)
        .args(["test", "--target", install::WASM_TARGET, "--tests"])
        .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", crate_dir.join("webdriver.json"))
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120");
    if std::env::var_os("CHROMEDRIVER").is_none() {
        command.env("CHROMEDRIVER", "/usr/bin/chromedriver");
    }
    util::run(&mut command)
}

/// The Node tests of examples/inventory-wasm/tests-node against the packed packages: installed
/// into temporary projects as a user would, synced with a real annals-server, type-checked by
/// `tsc`, and bundled by Vite into pages that headless Chromium opens. (tests-node overrides Rollup
/// with its WebAssembly build, so its lockfile needs no per-platform binary packages.)
pub fn test_node() -> Result {
    install::ensure_node()?;
    let root = util::root();
    let tests = root.join("examples/inventory-wasm/tests-node");
    util::run(util::command("npm").current_dir(&tests).args(["ci", "--no-audit", "--no-fund"]))?;
    util::run(util::cargo().args(["build", "-p", util::SERVER_PACKAGE]))?;
    let server = util::target_dir().join("debug/annals-server");

    let packs = util::target_dir().join("annals-tarballs");
    let _ = std::fs::remove_dir_all(&packs);
    std::fs::create_dir_all(&packs).or_else(|e| fail(format!("cannot create {packs:?}: {e}")))?;
    let mut node = util::command("node");
    for package in PACKAGES {
        let packed = util::output(
            util::command("npm")
                .current_dir(package_dir(package))
                .args(["pack", "--silent", "--pack-destination"])
                .arg(&packs),
        )?;
        let name = packed.lines().last().unwrap_or_default().trim();
        let tarball = packs.join(name);
        if name.is_empty() || !tarball.is_file() {
            return fail(format!(
                "`npm pack` made no tarball in {} (it printed {packed:?})",
                packs.display()
            ));
        }
        println!("packed {}", tarball.display());
        // ANNALS_INVENTORY_TARBALL and so on.
        let domain = package.trim_end_matches("-wasm").to_uppercase();
        node.env(format!("ANNALS_{domain}_TARBALL"), &tarball);
    }
    node.current_dir(&tests)
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .arg("test/")
        .env("ANNALS_SERVER_BIN", &server)
        .env("ANNALS_CHROMIUM", util::chromium());
    util::run(&mut node)
}

fn gzipped(path: &Path) -> Result<u64> {
    let output = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .or_else(|e| fail(format!("could not run gzip: {e}")))?;
    if !output.status.success() {
        return fail(format!("gzip failed on {}", path.display()));
    }
    Ok(output.stdout.len() as u64)
}

/// `bytes` in KB of 1,000 bytes, the unit of the goal and the limit.
fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}
