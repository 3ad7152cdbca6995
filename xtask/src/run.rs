//! `cargo xtask run`: build what the server serves, then start annals-server locally.

use crate::util::{self, Result, fail};
use crate::{wasm, www};

/// Where the local server listens unless `--listen` is passed through.
const LISTEN: &str = "127.0.0.1:8080";

/// The embedded database unless `--database` is passed through (a file in the workspace root).
const DATABASE: &str = "sqlite://annals.db";

/// Starts annals-server; arguments after `--` go to `annals-server serve`.
pub fn run(args: &[String]) -> Result {
    let passed = match args.split_first() {
        None => &[][..],
        Some((first, rest)) if first == "--" => rest,
        Some((first, _)) => {
            return fail(format!(
                "unknown option `{first}`: pass options for the server after `--`, \
                 e.g. `cargo xtask run -- --listen 0.0.0.0:8080`"
            ));
        }
    };
    let root = util::root();
    if !root.join("server").is_dir() {
        return fail(
            "there is no server/ yet: annals-server is being written, and \
             `cargo xtask run` will start it once it lands in the workspace",
        );
    }
    build_package_and_app()?;

    let mut command = util::cargo();
    command.args(["run", "--release", "-p", util::SERVER_PACKAGE, "--", "serve"]);
    // The defaults give way to the same setting passed through or set in the environment.
    if !overrides(passed, "--listen") && std::env::var_os("ANNALS_LISTEN").is_none() {
        command.args(["--listen", LISTEN]);
    }
    if !overrides(passed, "--database") && std::env::var_os("ANNALS_DATABASE").is_none() {
        command.args(["--database", DATABASE]);
    }
    if !overrides(passed, "--static") && std::env::var_os("ANNALS_STATIC").is_none() {
        command.arg("--static").arg(www::dist());
    }
    command.args(passed);
    let listen = value_of(passed, "--listen")
        .map(str::to_owned)
        .or_else(|| std::env::var("ANNALS_LISTEN").ok())
        .unwrap_or_else(|| LISTEN.to_owned());
    println!("==> annals-server on http://{listen} (Ctrl-C stops it)");
    util::run(&mut command)
}

/// Packs the examples' npm packages (the app's is examples/inventory-wasm/pkg) and builds the
/// app (www/ into www/dist) that the server serves. The package's weight is reported, not enforced: `cargo xtask test` does that.
fn build_package_and_app() -> Result {
    wasm::build()?;
    www::build()
}

/// Whether the passed-through arguments set `flag` themselves (`--flag v` or `--flag=v`).
fn overrides(args: &[String], flag: &str) -> bool {
    args.iter().any(|arg| arg == flag || arg.strip_prefix(flag).is_some_and(|r| r.starts_with('=')))
}

/// The value given to `flag` in the passed-through arguments, if any.
fn value_of<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter().enumerate().find_map(|(i, arg)| {
        if arg == flag {
            args.get(i + 1).map(String::as_str)
        } else {
            arg.strip_prefix(flag)?.strip_prefix('=')
        }
    })
}
