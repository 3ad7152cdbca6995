//! Project automation for annals, run as `cargo xtask <command>` from anywhere in the
//! workspace. Plain Rust with no dependencies, so it builds in seconds; `.ci/run` calls
//! `cargo xtask test`, so CI and a laptop run the same steps.

mod acceptance;
mod bench;
mod contract;
mod install;
mod run;
mod soak;
mod test;
mod util;
mod wasm;
mod www;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  run [-- <args>]  build what the server serves and start annals-server on
                   http://127.0.0.1:8080 with the SQLite file annals.db;
                   arguments after -- go to `annals-server serve`
  test             install what is missing (wasm32 target, and as the workspace
                   grows: wasm-bindgen-cli, Chromium, binaryen, PostgreSQL), then
                   check formatting, lints, the wasm32 build and the dependencies
                   of annals-core, and run every test
  wasm             pack the examples' npm packages with `cargo annals pack`
                   (annals-inventory, annals-bank, annals-todo, each into the
                   pkg/ folder of its examples/*-wasm crate)
  bench [--quick]  measure the speed and size goals beside the peers and write
                   bench/RESULTS.md (--quick: every measure small, RESULTS.quick.md)
  contract         check the API contract: the OpenAPI document validated,
                   schemathesis against a real server, a typed client compiled
  soak [--minutes N] [--record bench/RESULTS.md]
                   mixed load and faults (kill -9 of the server, PostgreSQL restarts
                   and outages) on SQLite and PostgreSQL for N minutes (default 2),
                   then an audit of everything acknowledged; --record keeps the audit
                   as the section `Soak` of that file
  help             show this
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => ("help", &[][..]),
    };
    let outcome = match command {
        "run" => run::run(rest),
        "test" => test::test(rest),
        "wasm" => wasm::wasm(rest),
        "bench" => bench::bench(rest),
        "contract" => contract::test(),
        "soak" => soak::soak(rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        unknown => {
            eprint!("unknown command `{unknown}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nerror: {error}");
            ExitCode::FAILURE
        }
    }
}
