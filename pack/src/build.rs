//! The steps of `cargo annals pack`, from the crate to the package folder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::Pack;
use crate::package::{self, Crate};

/// A failure, said in a sentence.
pub type Result<T = ()> = std::result::Result<T, String>;

/// The target the module is built for.
const TARGET: &str = "wasm32-unknown-unknown";

/// The profile the module is built with, defined on the command line so the app's workspace
/// needs none of its own: the release profile, optimized for size, aborting on panic.
const PROFILE: &str = "annals-pack";
const PROFILE_SETTINGS: &[&str] = &[
    "inherits=\"release\"",
    "opt-level=\"z\"",
    "lto=true",
    "codegen-units=1",
    "panic=\"abort\"",
    "strip=false",
    "debug=false",
];

/// The name wasm-bindgen gives the module and its glue in the package: `domain.js` and
/// `domain_bg.wasm`, whatever the crate is called, so the runtime's entry points are the same
/// files in every package.
pub const MODULE: &str = "domain";

/// Packs the crate `pack` names.
pub fn pack(pack: &Pack) -> Result {
    let krate = inspect(&pack.manifest_path, pack.name.as_deref())?;
    let out = pack.out_dir.clone().unwrap_or_else(|| krate.dir.join("pkg"));
    println!("packing {} ({}) into {}", krate.name, krate.npm_name, out.display());

    let module = compile(&krate)?;
    if out.exists() {
        std::fs::remove_dir_all(&out)
            .map_err(|e| format!("cannot clear {}: {e}", out.display()))?;
    }
    bindgen(&module, &out)?;
    let wasm = out.join(format!("{MODULE}_bg.wasm"));
    if pack.no_opt {
        println!("wasm-opt: skipped (--no-opt)");
    } else if let Some(optimized) = optimize(&module)? {
        // Given its glue too, and kept when smaller gzipped.
        let candidate = out.join(".optimized");
        bindgen(&optimized, &candidate)?;
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        let (before, after) = (
            gzipped(&read(&wasm)?),
            gzipped(&read(&candidate.join(wasm.file_name().unwrap_or_default()))?),
        );
        let kept = after < before;
        println!(
            "wasm-opt {OPT_LEVEL}: {} -> {} gzipped, {}",
            kb(before),
            kb(after),
            if kept { "kept" } else { "not kept" }
        );
        if kept {
            for file in [format!("{MODULE}_bg.wasm"), format!("{MODULE}.js")] {
                std::fs::rename(candidate.join(&file), out.join(&file))
                    .map_err(|e| format!("cannot keep {file}: {e}"))?;
            }
        }
        let _ = std::fs::remove_dir_all(&candidate);
        let _ = std::fs::remove_file(&optimized);
    }
    let declarations = typescript(&krate)?;
    package::write(&krate, &declarations, &out)?;

    let weight = gzipped(&std::fs::read(&wasm).map_err(|e| format!("cannot read module: {e}"))?);
    let glue = package::loaded_js(&out)?;
    println!(
        "packed {} {}: {MODULE}_bg.wasm {} gzipped, JavaScript {} gzipped, together {}",
        krate.npm_name,
        krate.version,
        kb(weight),
        kb(glue),
        kb(weight + glue)
    );
    Ok(())
}

/// The crate's name, version and folders, from `cargo metadata`.
fn inspect(manifest: &Path, npm_name: Option<&str>) -> Result<Crate> {
    let manifest = manifest.canonicalize().map_err(|e| {
        format!("cannot find {} ({e}); pass the crate's --manifest-path", manifest.display())
    })?;
    let output = run_captured(
        cargo()
            .args(["metadata", "--format-version", "1", "--no-deps", "--manifest-path"])
            .arg(&manifest),
    )?;
    let metadata: Value = serde_json::from_str(&output)
        .map_err(|e| format!("`cargo metadata` printed what is not JSON: {e}"))?;
    let package = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["manifest_path"].as_str().map(Path::new) == Some(manifest.as_path()))
        .ok_or_else(|| {
            format!(
                "{} is a workspace, not a crate: pass the Cargo.toml of the crate that calls \
                 `annals_wasm::export!`",
                manifest.display()
            )
        })?;
    let text = |value: &Value| value.as_str().map(str::to_owned);
    let name = text(&package["name"]).unwrap_or_default();
    let lib = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "cdylib")))
        .ok_or_else(|| {
            format!(
                "{name} builds no cdylib: add `[lib] crate-type = [\"cdylib\", \"rlib\"]` to its \
                 Cargo.toml"
            )
        })?;
    let npm_name = npm_name
        .map(str::to_owned)
        .or_else(|| text(&package["metadata"]["annals"]["npm-name"]))
        .unwrap_or_else(|| name.clone());
    check_npm_name(&npm_name)?;
    Ok(Crate {
        lib_name: text(&lib["name"]).unwrap_or_else(|| name.replace('-', "_")),
        version: text(&package["version"]).unwrap_or_else(|| "0.0.0".to_owned()),
        description: text(&package["description"]),
        license: text(&package["license"]),
        dir: manifest.parent().map(Path::to_path_buf).unwrap_or_default(),
        manifest,
        target_dir: PathBuf::from(text(&metadata["target_directory"]).unwrap_or_default()),
        name,
        npm_name,
    })
}

/// npm's rule for names: lowercase, at most 214 characters, URL-safe, optionally `@scope/`.
fn check_npm_name(name: &str) -> Result {
    let bare = match name.strip_prefix('@') {
        Some(scoped) => scoped.split_once('/').map(|(_, n)| n).unwrap_or_default(),
        None => name,
    };
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._~".contains(c);
    if name.len() > 214
        || bare.is_empty()
        || bare.starts_with(['.', '_'])
        || !bare.chars().all(allowed)
    {
        return Err(format!(
            "\"{name}\" is not an npm package name (lowercase letters, digits, - . _ ~, \
             optionally @scope/): pass --name"
        ));
    }
    Ok(())
}

/// Builds the module; returns its path.
fn compile(krate: &Crate) -> Result<PathBuf> {
    let sysroot = run_captured(Command::new(rustc()).args(["--print", "sysroot"]))?;
    if !Path::new(sysroot.trim()).join("lib/rustlib").join(TARGET).is_dir() {
        return Err(format!(
            "the Rust target {TARGET} is not installed: run `rustup target add {TARGET}`"
        ));
    }
    let mut build = cargo();
    build
        .args(["build", "--lib", "--target", TARGET, "--profile", PROFILE, "--manifest-path"])
        .arg(&krate.manifest);
    for setting in PROFILE_SETTINGS {
        build.arg("--config").arg(format!("profile.{PROFILE}.{setting}"));
    }
    run(&mut build)?;
    let module =
        krate.target_dir.join(TARGET).join(PROFILE).join(format!("{}.wasm", krate.lib_name));
    if module.is_file() { Ok(module) } else { Err(format!("cargo built no {}", module.display())) }
}

/// wasm-bindgen's glue for browsers and bundlers (`--target web`): plain ES modules.
fn bindgen(module: &Path, out: &Path) -> Result {
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(module)
        .web(true)
        .and_then(|b| {
            b.typescript(false)
                .remove_name_section(true)
                .remove_producers_section(true)
                .out_name(MODULE)
                .generate(out)
        })
        .map_err(|e| format!("wasm-bindgen failed on {}: {e:#}", module.display()))?;
    // wasm-bindgen writes a .gitignore that would keep its output out of `npm pack`.
    let _ = std::fs::remove_file(out.join(".gitignore"));
    Ok(())
}

/// The `wasm-opt` level. It runs on the module as the compiler made it, before wasm-bindgen:
/// run after, binaryen's passes can point wasm-bindgen's table export at the wrong table.
/// LLVM already inlined for size; binaryen's own inlining makes the module smaller but
/// compress worse (`-Oz` compresses worse than the input), so [`NO_INLINING`] turns it off,
/// and then `-O2` compresses best (measured on the inventory module: 0.6 KB under `-O1`
/// gzipped, `-Os` and `-Oz` in between).
const OPT_LEVEL: &str = "-O2";

/// No function inlined by wasm-opt, however small or called once.
const NO_INLINING: &[&str] = &[
    "--always-inline-max-function-size=0",
    "--one-caller-inline-max-function-size=0",
    "--flexible-inline-max-function-size=0",
];

/// The module run through `wasm-opt`, or `None` when it is not on PATH.
fn optimize(module: &Path) -> Result<Option<PathBuf>> {
    let optimized = module.with_extension("opt.wasm");
    let status = Command::new("wasm-opt")
        .arg(OPT_LEVEL)
        .args(NO_INLINING)
        // The features rustc enables for wasm32-unknown-unknown by default.
        .args([
            "--enable-bulk-memory",
            "--enable-mutable-globals",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-reference-types",
            "--enable-multivalue",
        ])
        .arg(module)
        .arg("-o")
        .arg(&optimized)
        .status();
    match status {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!(
                "wasm-opt: not found on PATH, so the module is left as the compiler made it \
                 (install binaryen for a smaller one)"
            );
            Ok(None)
        }
        Err(e) => Err(format!("cannot run wasm-opt: {e}")),
        Ok(status) if !status.success() => Err(format!("wasm-opt {OPT_LEVEL} failed ({status})")),
        Ok(_) => Ok(Some(optimized)),
    }
}

/// The domain's TypeScript declarations, written by the `annals_typescript` test that
/// `annals_wasm::export!` adds to the crate, run natively.
fn typescript(krate: &Crate) -> Result<String> {
    let file = krate.target_dir.join("annals-pack").join(format!("{}.d.ts", krate.lib_name));
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let _ = std::fs::remove_file(&file);
    run(cargo()
        .args(["test", "--quiet", "--lib", "--manifest-path"])
        .arg(&krate.manifest)
        .args(["--", "--exact", "annals_typescript"])
        .env("ANNALS_TYPESCRIPT_OUT", &file))?;
    std::fs::read_to_string(&file).map_err(|_| {
        format!(
            "{} wrote no TypeScript declarations: does its lib.rs call \
             `annals_wasm::export!(your::Domain);` at the crate's root?",
            krate.name
        )
    })
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn rustc() -> std::ffi::OsString {
    std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into())
}

fn run(command: &mut Command) -> Result {
    let status = command.status().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{command:?} failed ({status})")) }
}

fn run_captured(command: &mut Command) -> Result<String> {
    let output = command.output().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    String::from_utf8(output.stdout).map_err(|_| format!("{command:?} printed what is not UTF-8"))
}

/// The size of `bytes` gzipped at the highest level, as servers send them.
pub fn gzipped(bytes: &[u8]) -> u64 {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().map_or(0, |out| out.len() as u64)
}

/// `bytes` in KB of 1,000 bytes, the unit the package's size limit is stated in.
fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}
