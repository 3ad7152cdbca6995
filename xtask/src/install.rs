//! Making sure the machine has what the tests need. Each `ensure_*` function is idempotent
//! and returns quickly when its piece is already there; it installs only what is missing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::util::{self, Result, fail};

/// The Rust target the core and the package build for.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The wasm-bindgen CLI must equal the workspace's `wasm-bindgen = "=..."` pin exactly.
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// The Debian packages for headless browser tests and shrinking the wasm module.
const BROWSER_PACKAGES: &[&str] = &["chromium", "chromium-driver", "binaryen"];

/// Adds the wasm32 target to the pinned toolchain unless it is installed.
pub fn ensure_wasm_target() -> Result {
    let installed = util::output(util::command("rustup").args(["target", "list", "--installed"]))
        .or_else(|error| {
        fail(format!(
            "{error}\nannals needs rustup to manage its pinned toolchain (rust-toolchain.toml)"
        ))
    })?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        println!("{WASM_TARGET}: installed");
        return Ok(());
    }
    util::run(util::command("rustup").args(["target", "add", WASM_TARGET]))
}

/// Installs wasm-bindgen-cli at [`WASM_BINDGEN_VERSION`] unless `wasm-bindgen` already is it.
pub fn ensure_wasm_bindgen_cli() -> Result {
    if let Some(version) = wasm_bindgen_version() {
        if version == WASM_BINDGEN_VERSION {
            println!("wasm-bindgen {version}: installed");
            return Ok(());
        }
        println!("wasm-bindgen {version} found, {WASM_BINDGEN_VERSION} needed");
    }
    // Not `--locked`: the lockfile shipped with the CLI pins a dependency version that the
    // registry mirror here does not carry; the version requirements alone resolve fine.
    util::run(util::cargo().args([
        "install",
        "wasm-bindgen-cli",
        "--version",
        WASM_BINDGEN_VERSION,
    ]))?;
    match wasm_bindgen_version() {
        Some(version) if version == WASM_BINDGEN_VERSION => Ok(()),
        found => fail(format!(
            "installed wasm-bindgen-cli {WASM_BINDGEN_VERSION}, but `wasm-bindgen --version` \
             reports {}: is another wasm-bindgen earlier on PATH?",
            found.as_deref().unwrap_or("nothing")
        )),
    }
}

fn wasm_bindgen_version() -> Option<String> {
    let printed = util::probe(util::command("wasm-bindgen").arg("--version"))?;
    // "wasm-bindgen 0.2.130" or "wasm-bindgen 0.2.130 (abc123)"
    printed.split_whitespace().nth(1).map(str::to_owned)
}

/// Installs Chromium, chromedriver and binaryen (`wasm-opt`) unless all three are present.
pub fn ensure_browser_tools() -> Result {
    let chromium = Path::new("/usr/bin/chromium").is_file();
    let chromedriver = Path::new("/usr/bin/chromedriver").is_file();
    let wasm_opt = util::on_path("wasm-opt");
    if chromium && chromedriver && wasm_opt {
        println!("chromium, chromedriver, wasm-opt: installed");
        return Ok(());
    }
    apt_install(BROWSER_PACKAGES)?;
    if !util::on_path("wasm-opt") {
        return fail("installed binaryen, but `wasm-opt` is still not on PATH");
    }
    Ok(())
}

/// Checks that Node and npm are present; the app and the package's JS tests need them.
pub fn ensure_node() -> Result {
    let mut versions = Vec::new();
    for program in ["node", "npm"] {
        match util::probe(util::command(program).arg("--version")) {
            Some(version) => versions.push(format!("{program} {}", version.trim())),
            None => {
                return fail(format!(
                    "`{program}` is not on PATH: the app in www/ needs Node.js (20 or later) \
                     and npm; install them and run this again"
                ));
            }
        }
    }
    println!("{}: installed", versions.join(", "));
    Ok(())
}

/// Installs the PostgreSQL server binaries unless an `initdb` is already there, and returns
/// the directory holding `initdb` and `pg_ctl`, from which tests start a private cluster.
pub fn ensure_postgresql() -> Result<PathBuf> {
    if let Some(bin) = postgresql_bin() {
        println!("PostgreSQL: installed in {}", bin.display());
        return Ok(bin);
    }
    apt_install(&["postgresql"])?;
    match postgresql_bin() {
        Some(bin) => Ok(bin),
        None => fail("installed postgresql, but found no /usr/lib/postgresql/*/bin/initdb"),
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding an `initdb`.
fn postgresql_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let bin = entry.path().join("bin");
            let version = entry.file_name().to_str()?.parse().unwrap_or(0);
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

static APT_UPDATED: AtomicBool = AtomicBool::new(false);

/// `apt-get install -y <packages>`, after one `apt-get update` per run; through `sudo` when
/// not root.
fn apt_install(packages: &[&str]) -> Result {
    let listed = packages.join(" ");
    if !util::on_path("apt-get") {
        return fail(format!(
            "missing: {listed}. There is no apt-get here, so install them yourself \
             and run this again"
        ));
    }
    let sudo = if is_root() {
        None
    } else if util::on_path("sudo") {
        // In CI nobody can type a password: fail instead of waiting for one.
        Some(if util::in_ci() { vec!["sudo", "-n"] } else { vec!["sudo"] })
    } else {
        return fail(format!(
            "missing: {listed}. Installing them needs root and there is no sudo: \
             run `apt-get install -y {listed}` as root, then run this again"
        ));
    };
    let apt = |args: &[&str]| {
        let mut command = match &sudo {
            Some(sudo) => {
                let mut command = util::command(sudo[0]);
                command.args(&sudo[1..]).arg("apt-get");
                command
            }
            None => util::command("apt-get"),
        };
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        util::run(&mut command).or_else(|error| {
            fail(format!(
                "{error}\ncould not install {listed}; as root, run \
                 `apt-get update && apt-get install -y {listed}` and run this again"
            ))
        })
    };
    if !APT_UPDATED.swap(true, Ordering::SeqCst) {
        apt(&["update"])?;
    }
    let mut args = vec!["install", "-y"];
    args.extend_from_slice(packages);
    apt(&args)
}

fn is_root() -> bool {
    util::probe(util::command("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}
