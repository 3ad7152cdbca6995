//! `cargo xtask wasm`: build the npm package "annals" into wasm/pkg, and the package's tests.
//!
//! The package holds one module per domain: the annals-wasm crate compiled for wasm32 with the
//! `wasm` profile and that domain's feature alone, given its JavaScript glue by wasm-bindgen
//! (`--target web`: plain ES modules, `annals_<domain>.js`), shrunk by wasm-opt when that
//! helps. Around them, the hand-written files of wasm/js: `browser.js` (bundlers and browsers
//! fetch a domain's module next to it when it is first opened), `node.js` (Node reads it from
//! disk) and `index.d.ts`, chosen through the package's conditional exports. An app loads one
//! domain's module, so that is what the weight counts.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::install;
use crate::util::{self, Result, fail};

/// The P8 goal for the module plus its JavaScript, gzipped.
const GOAL_BYTES: u64 = 80 * 1024;
/// Over this the build fails.
const LIMIT_BYTES: u64 = 100 * 1024;

/// The hand-written files copied from wasm/js into the package.
const JS_FILES: &[&str] =
    &["browser.js", "node.js", "replica.js", "sync.js", "tabs.js", "errors.js", "index.d.ts"];

/// The domains, each built into a module of its own.
pub const DOMAINS: &[&str] = &["inventory", "bank"];

/// What an app of one domain loads from the package, gzipped.
pub struct Size {
    /// The domain.
    pub domain: &'static str,
    /// Its .wasm module.
    pub wasm: u64,
    /// The JavaScript: the module's wasm-bindgen glue and the hand-written files.
    pub js: u64,
}

impl Size {
    fn total(&self) -> u64 {
        self.wasm + self.js
    }
}

/// The weight of each domain's part of the package.
pub type Sizes = Vec<Size>;

/// `cargo xtask wasm`: builds the package and fails if it is over the size limit.
pub fn wasm(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return fail(format!("`cargo xtask wasm` takes no arguments, got `{arg}`"));
    }
    let sizes = build()?;
    check_size(&sizes)
}

/// Installs what the build needs and builds wasm/pkg; reports the gzipped sizes.
pub fn build() -> Result<Sizes> {
    install::ensure_wasm_target()?;
    install::ensure_wasm_bindgen_cli()?;
    if !util::on_path("wasm-opt") {
        install::ensure_browser_tools()?;
    }
    let root = util::root();
    let pkg = root.join("wasm/pkg");
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg).or_else(|e| fail(format!("cannot clear wasm/pkg: {e}")))?;
    }
    for domain in DOMAINS {
        build_module(domain, &pkg)?;
    }
    for file in JS_FILES {
        copy(&root.join("wasm/js").join(file), &pkg.join(file))?;
    }
    copy(&root.join("wasm/js/README.md"), &pkg.join("README.md"))?;
    write(&pkg.join("package.json"), &package_json())?;
    // wasm-bindgen writes a .gitignore that would keep its output out of `npm pack`.
    let _ = std::fs::remove_file(pkg.join(".gitignore"));

    let mut shared = 0;
    for file in JS_FILES.iter().filter(|f| f.ends_with(".js") && **f != "node.js") {
        shared += gzipped(&pkg.join(file))?;
    }
    let mut sizes = Vec::new();
    for domain in DOMAINS {
        let size = Size {
            domain,
            wasm: gzipped(&pkg.join(format!("annals_{domain}_bg.wasm")))?,
            js: shared + gzipped(&pkg.join(format!("annals_{domain}.js")))?,
        };
        println!(
            "package annals in wasm/pkg, an app of the {domain} domain loads: \
             annals_{domain}_bg.wasm {} gzipped, JavaScript {} gzipped, together {} \
             (goal {}, limit {})",
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

/// Builds one domain's module into `pkg` as `annals_<domain>_bg.wasm` and its glue
/// `annals_<domain>.js`.
fn build_module(domain: &str, pkg: &Path) -> Result {
    util::run(util::cargo().args([
        "build",
        "-p",
        "annals-wasm",
        "--target",
        install::WASM_TARGET,
        "--profile",
        "wasm",
        "--no-default-features",
        "--features",
        domain,
    ]))?;
    let module = util::target_dir().join(install::WASM_TARGET).join("wasm/annals_wasm.wasm");
    util::run(
        util::command("wasm-bindgen")
            .args(["--target", "web", "--no-typescript"])
            .arg("--out-name")
            .arg(format!("annals_{domain}"))
            .args(["--remove-name-section", "--remove-producers-section"])
            .arg("--out-dir")
            .arg(pkg)
            .arg(&module),
    )?;
    shrink(&pkg.join(format!("annals_{domain}_bg.wasm")))
}

/// Runs `wasm-opt -Oz` on the module, and keeps its output when it is smaller gzipped (on a
/// module LLVM already optimized for size, binaryen's rewrite can compress worse).
fn shrink(module: &Path) -> Result {
    let optimized = module.with_extension("opt.wasm");
    util::run(
        util::command("wasm-opt")
            .arg("-Oz")
            // The features rustc enables for wasm32-unknown-unknown by default.
            .args([
                "--enable-bulk-memory",
                "--enable-mutable-globals",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-reference-types",
                "--enable-multivalue",
            ])
            .args(["--strip-debug", "--strip-producers"])
            .arg(module)
            .arg("-o")
            .arg(&optimized),
    )?;
    let (before, after) = (gzipped(module)?, gzipped(&optimized)?);
    if after < before {
        println!("wasm-opt -Oz: {} -> {} gzipped, kept", kb(before), kb(after));
        std::fs::rename(&optimized, module)
            .or_else(|e| fail(format!("cannot replace {}: {e}", module.display())))
    } else {
        println!("wasm-opt -Oz: {} -> {} gzipped, not kept", kb(before), kb(after));
        std::fs::remove_file(&optimized)
            .or_else(|e| fail(format!("cannot remove {}: {e}", optimized.display())))
    }
}

/// Fails when what an app of some domain loads is over [`LIMIT_BYTES`]; notes the goal.
pub fn check_size(sizes: &Sizes) -> Result {
    for size in sizes {
        let total = size.total();
        if total > LIMIT_BYTES {
            return fail(format!(
                "an app of the {} domain loads {} gzipped from the package (.wasm {} + \
                 JavaScript {}), over the {} limit",
                size.domain,
                kb(total),
                kb(size.wasm),
                kb(size.js),
                kb(LIMIT_BYTES)
            ));
        }
        if total > GOAL_BYTES {
            println!(
                "note: the {} domain's {} is over the P8 goal of {}",
                size.domain,
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

/// The wasm-bindgen-test suites of wasm/tests in headless Chromium, with real localStorage.
pub fn test_browser() -> Result {
    let root = util::root();
    let mut command = util::cargo();
    command
        .current_dir(root.join("wasm"))
        .args(["test", "-p", "annals-wasm", "--target", install::WASM_TARGET, "--tests"])
        .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", root.join("wasm/webdriver.json"))
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120");
    if std::env::var_os("CHROMEDRIVER").is_none() {
        command.env("CHROMEDRIVER", "/usr/bin/chromedriver");
    }
    util::run(&mut command)
}

/// The Node tests of wasm/tests-node against the packed package: installed into temporary
/// projects as a user would, synced with a real annals-server, type-checked by `tsc`, and
/// bundled by Vite into a page that headless Chromium opens. (wasm/tests-node overrides Rollup
/// with its WebAssembly build, so its lockfile needs no per-platform binary packages.)
pub fn test_node() -> Result {
    install::ensure_node()?;
    let root = util::root();
    let tests = root.join("wasm/tests-node");
    util::run(util::command("npm").current_dir(&tests).args(["ci", "--no-audit", "--no-fund"]))?;
    util::run(util::cargo().args(["build", "-p", util::SERVER_PACKAGE]))?;
    let server = util::target_dir().join("debug/annals-server");

    let packs = util::target_dir().join("annals-pack");
    let _ = std::fs::remove_dir_all(&packs);
    std::fs::create_dir_all(&packs).or_else(|e| fail(format!("cannot create {packs:?}: {e}")))?;
    let packed = util::output(
        util::command("npm")
            .current_dir(root.join("wasm/pkg"))
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

    let mut node = util::command("node");
    node.current_dir(&tests)
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .arg("test/")
        .env("ANNALS_TARBALL", &tarball)
        .env("ANNALS_SERVER_BIN", &server)
        .env("ANNALS_CHROMIUM", chromium());
    util::run(&mut node)
}

fn chromium() -> PathBuf {
    std::env::var_os("ANNALS_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

fn package_json() -> String {
    let version = env!("CARGO_PKG_VERSION");
    let modules =
        DOMAINS.iter().flat_map(|d| [format!("annals_{d}.js"), format!("annals_{d}_bg.wasm")]);
    let files: Vec<String> = modules
        .chain(["README.md".to_owned()])
        .chain(JS_FILES.iter().map(|file| (*file).to_owned()))
        .map(|file| format!("    \"{file}\""))
        .collect();
    format!(
        r#"{{
  "name": "annals",
  "version": "{version}",
  "description": "Event sourcing in the browser and in Node: typed commands, live read models, offline persistence and sync with annals-server.",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "exports": {{
    ".": {{
      "types": "./index.d.ts",
      "node": "./node.js",
      "default": "./browser.js"
    }},
    "./package.json": "./package.json"
  }},
  "types": "./index.d.ts",
  "files": [
{}
  ],
  "sideEffects": false,
  "engines": {{
    "node": ">=20"
  }}
}}
"#,
        files.join(",\n")
    )
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

fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

fn copy(from: &Path, to: &Path) -> Result {
    std::fs::copy(from, to)
        .map(drop)
        .or_else(|e| fail(format!("cannot copy {} to {}: {e}", from.display(), to.display())))
}

fn write(path: &Path, text: &str) -> Result {
    std::fs::write(path, text).or_else(|e| fail(format!("cannot write {}: {e}", path.display())))
}
