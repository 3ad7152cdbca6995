//! `cargo xtask test`: install what is missing, then every check CI runs, in order, stopping
//! at the first failure.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::acceptance;
use crate::bench;
use crate::contract;
use crate::install;
use crate::soak;
use crate::util::{self, Result, fail};
use crate::wasm;
use crate::www;

/// Crates annals-core must never depend on (outside its dev-dependencies): runtimes, storage,
/// HTTP, JS bindings and randomness belong to the server and the package, not to the core.
const FORBIDDEN_IN_CORE: &[&str] = &[
    "tokio",
    "sqlx",
    "rusqlite",
    "axum",
    "hyper",
    "reqwest",
    "web-sys",
    "js-sys",
    "wasm-bindgen",
    "gloo",
    "getrandom",
];

/// Runs the whole test suite; `args` must be empty.
pub fn test(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return fail(format!("`cargo xtask test` takes no arguments, got `{arg}`"));
    }
    let mut steps = Steps::default();
    let outcome = run_steps(&mut steps);
    steps.summary();
    outcome
}

/// Every step in order, up to the first failure.
fn run_steps(steps: &mut Steps) -> Result {
    let root = util::root();
    steps.run("toolchain: wasm32 target", install::ensure_wasm_target)?;
    if root.join("wasm").is_dir() {
        steps.run("toolchain: wasm-bindgen-cli", install::ensure_wasm_bindgen_cli)?;
    }
    if root.join("wasm").is_dir() || root.join("www").is_dir() {
        steps.run("toolchain: chromium, chromedriver, binaryen", install::ensure_browser_tools)?;
    }
    if root.join("www").is_dir() {
        steps.run("toolchain: node, npm", install::ensure_node)?;
    }
    if root.join("server").is_dir() {
        steps.run("toolchain: postgresql", || install::ensure_postgresql().map(drop))?;
    }
    steps.run("format", || {
        let mut fmt = util::cargo();
        fmt.args(["fmt", "--all", "--", "--check"]);
        if util::in_ci() {
            fmt.args(["--color", "never"]);
        }
        util::run(&mut fmt)
    })?;
    steps.run("lint", || {
        util::run(util::cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    steps.run("annals-core builds for wasm32", || {
        util::run(util::cargo().args([
            "build",
            "-p",
            "annals-core",
            "--target",
            install::WASM_TARGET,
        ]))
    })?;
    steps.run("annals-core dependencies", check_core_dependencies)?;
    if root.join("server").is_dir() {
        steps.run("annals-server with one database (cargo features)", || {
            for feature in ["sqlite", "postgres"] {
                util::run(util::cargo().args([
                    "check",
                    "-p",
                    "annals-server",
                    "--no-default-features",
                    "--features",
                    feature,
                ]))?;
            }
            Ok(())
        })?;
    }
    // Plain `cargo test` (not `--all-targets`) so doc tests run too.
    steps.run("tests", || util::run(util::cargo().args(["test", "--workspace"])))?;
    steps.run(
        "contract: the OpenAPI document validated, fuzzed by schemathesis, a typed client",
        contract::test,
    )?;
    if root.join("wasm").is_dir() {
        // The package is built first and weighed last, so its tests run either way.
        let mut sizes = None;
        steps.run("package: cargo xtask wasm", || wasm::build().map(|s| sizes = Some(s)))?;
        steps.run("package: browser tests (Chromium)", wasm::test_browser)?;
        steps.run("package: Node and Vite tests", wasm::test_node)?;
        steps.run("acceptance: a new user's app from the guide (Chromium)", acceptance::test)?;
        if root.join("www").is_dir() {
            run_app_steps(steps)?;
        }
        steps.run("package: size", || sizes.as_ref().map_or(Ok(()), wasm::report_size))?;
    } else if root.join("www").is_dir() {
        run_app_steps(steps)?;
    }
    // The benchmarks at a small size, so they never rot: every goal gets its row and the
    // server's goals a figure. Timings are reported, never judged.
    steps.run("benchmarks: cargo xtask bench --quick", || bench::bench(&["--quick".to_owned()]))?;
    // Two minutes of the soak, after the benchmarks have built the server in release.
    steps.run(
        "soak: 2 minutes of load and faults on SQLite and PostgreSQL, then the audit",
        || soak::soak(&["--minutes", "2", "--fault-every", "12"].map(String::from)),
    )?;
    Ok(())
}

/// The app in www/, built on the package: offline reloads, sync, conflicts, undo and the
/// chart, in headless Chromium against a real annals-server.
fn run_app_steps(steps: &mut Steps) -> Result {
    steps.run("app: npm ci, npm run build", www::build)?;
    steps.run("app: end-to-end tests (Chromium)", www::test_e2e)
}

/// Fails if annals-core's normal dependency tree, on any target, holds a forbidden crate.
fn check_core_dependencies() -> Result {
    let tree = util::output(util::cargo().args([
        "tree",
        "-p",
        "annals-core",
        "-e",
        "normal",
        "--target",
        "all",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]))?;
    // Lines read "name v1.2.3", "name v1.2.3 (proc-macro)" or "name v1.2.3 (*)".
    let crates: BTreeSet<&str> =
        tree.lines().filter_map(|line| line.split_whitespace().next()).collect();
    let offenders: Vec<&str> =
        crates.iter().copied().filter(|name| FORBIDDEN_IN_CORE.contains(name)).collect();
    if offenders.is_empty() {
        let count = crates.len();
        println!("{count} crates in the tree, none of: {}", FORBIDDEN_IN_CORE.join(", "));
        Ok(())
    } else {
        fail(format!(
            "annals-core must do no I/O, yet it depends on: {} \
             (see `cargo tree -p annals-core -e normal --target all -i <crate>`)",
            offenders.join(", ")
        ))
    }
}

/// The steps run so far, with their durations.
#[derive(Default)]
struct Steps {
    done: Vec<(&'static str, Duration, bool)>,
}

impl Steps {
    /// Prints a header, runs `step` and records how long it took and whether it passed.
    fn run(&mut self, name: &'static str, step: impl FnOnce() -> Result) -> Result {
        println!("\n==> {name}");
        let started = Instant::now();
        let outcome = step();
        self.done.push((name, started.elapsed(), outcome.is_ok()));
        outcome.or_else(|error| fail(format!("step `{name}` failed: {error}")))
    }

    fn summary(&self) {
        println!("\n==> summary");
        let mut total = Duration::ZERO;
        for (name, took, passed) in &self.done {
            total += *took;
            let mark = if *passed { "ok" } else { "FAILED" };
            println!("  {mark:<6} {:>8}  {name}", util::human(*took));
        }
        println!("  total  {:>8}", util::human(total));
        let passed = self.done.iter().filter(|(_, _, passed)| *passed).count();
        println!("\nsteps: {passed} passed, {} failed", self.done.len() - passed);
    }
}
