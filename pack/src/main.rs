//! `cargo annals pack`: builds an app's domain crate into an npm package.
//!
//! The crate is a `cdylib` that exports its domain with `annals_wasm::export!(my::Domain);`.
//! Packing it:
//!
//! 1. builds it for `wasm32-unknown-unknown`, optimized for size;
//! 2. gives it its JavaScript glue with wasm-bindgen (this tool links wasm-bindgen's own
//!    bindgen step, at the version annals-wasm pins, so no CLI is needed);
//! 3. shrinks it with `wasm-opt` when that is on PATH, and says so when it is not;
//! 4. runs the crate's `annals_typescript` test natively, which writes the domain's
//!    TypeScript declarations;
//! 5. writes the package: the module, annals' JavaScript runtime, the types, package.json
//!    with conditional exports (browsers and bundlers, Node) and a README.

mod build;
mod package;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Cargo runs `cargo-annals annals <ARGS>` for `cargo annals <ARGS>`.
#[derive(Parser)]
#[command(name = "cargo", bin_name = "cargo")]
enum Cargo {
    /// annals' tools for an app's own domain.
    #[command(subcommand)]
    Annals(Annals),
}

#[derive(Subcommand)]
#[command(version)]
enum Annals {
    /// Build a crate that calls `annals_wasm::export!` into an npm package.
    Pack(Pack),
}

/// What `cargo annals pack` is asked.
#[derive(Args)]
pub struct Pack {
    /// The crate's Cargo.toml (by default, the one in this folder).
    #[arg(long, value_name = "PATH", default_value = "Cargo.toml")]
    pub manifest_path: PathBuf,
    /// Where to write the package (by default `pkg/` next to the crate's Cargo.toml).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// The package's npm name (by default `[package.metadata.annals] npm-name`, else the
    /// crate's name).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Leave the module as the compiler made it, without `wasm-opt`.
    #[arg(long)]
    pub no_opt: bool,
}

fn main() -> ExitCode {
    let Cargo::Annals(Annals::Pack(pack)) = Cargo::parse();
    match build::pack(&pack) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
