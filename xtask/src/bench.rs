//! `cargo xtask bench [--quick]`: build what is measured in release, install the peers, and
//! run `annals-bench`, which writes `bench/RESULTS.md` (or `bench/RESULTS.quick.md`).
//!
//! The measures and the report live in the `annals-bench` package (bench/); this task only
//! prepares the machine and checks that every goal got a row. It never judges a timing.

use std::path::Path;

use crate::util::{self, Result, fail};

/// The goals every results file has a row for.
const GOALS: [&str; 12] =
    ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10", "P11", "P12"];

/// Goals that need nothing beyond the server and SQLite, so they always get a figure.
const ALWAYS_MEASURED: [&str; 8] = ["P1", "P2", "P4", "P5", "P9", "P10", "P11", "P12"];

/// Runs the benchmarks; `--quick` runs every measure at a small size.
pub fn bench(args: &[String]) -> Result {
    let mut quick = false;
    for arg in args {
        match arg.as_str() {
            "--quick" => quick = true,
            other => {
                return fail(format!("unknown option `{other}`: `cargo xtask bench [--quick]`"));
            }
        }
    }
    let root = util::root();
    install_node_packages(&root)?;
    // annals-bench also builds annals-bench-reaction, the server with a no-op reaction (P12).
    println!("==> building annals-server and annals-bench (release)");
    util::run(util::cargo().args([
        "build",
        "--release",
        "-p",
        util::SERVER_PACKAGE,
        "-p",
        "annals-bench",
    ]))?;
    let target = util::target_dir();
    println!("==> building the cqrs-es peer (release, its own workspace)");
    let manifest = root.join("bench").join("peers").join("cqrs").join("Cargo.toml");
    util::run(
        util::cargo()
            .args(["build", "--release", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &target),
    )?;
    let release = target.join("release");
    let out = root.join("bench").join(if quick { "RESULTS.quick.md" } else { "RESULTS.md" });
    let command = if quick { "cargo xtask bench --quick" } else { "cargo xtask bench" };
    let mut run = util::command(release.join("annals-bench"));
    if quick {
        run.arg("--quick");
    }
    run.arg("--out").arg(&out).args(["--command", command]);
    run.arg("--server-bin").arg(release.join("annals-server"));
    run.arg("--cqrs-bin").arg(release.join("annals-bench-cqrs"));
    run.arg("--reaction-bin").arg(release.join("annals-bench-reaction"));
    run.arg("--work").arg(target.join("bench-work"));
    util::run(&mut run)?;
    check_rows(&out)
}

/// `npm ci` in each folder of Node packages the benchmarks use (the Emmett peer, and
/// playwright-core for the browser measure), unless its lockfile is already installed.
fn install_node_packages(root: &Path) -> Result {
    if util::probe(util::command("npm").arg("--version")).is_none() {
        println!(
            "npm is not on PATH: the Emmett peer and the package's browser measure are skipped"
        );
        return Ok(());
    }
    for dir in [root.join("bench").join("peers").join("emmett"), root.join("bench").join("package")]
    {
        util::npm_ci(&dir)?;
    }
    Ok(())
}

/// Fails unless the results file has a row for every goal and a figure for every goal that
/// needs only the server. Figures are never compared with the goals here.
fn check_rows(out: &Path) -> Result {
    let text = std::fs::read_to_string(out)
        .or_else(|error| fail(format!("cannot read {}: {error}", out.display())))?;
    let mut problems = Vec::new();
    for goal in GOALS {
        let row = text.lines().find(|line| line.starts_with(&format!("| {goal} |")));
        match row {
            None => problems.push(format!("{goal} has no row")),
            Some(row) if row.contains("| failed") => problems.push(format!("{goal} failed")),
            Some(row) if ALWAYS_MEASURED.contains(&goal) && row.contains("not measured") => {
                problems.push(format!("{goal} has no figure"))
            }
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        println!("{}: a row for each of P1-P12", out.display());
        Ok(())
    } else {
        fail(format!("{}: {}", out.display(), problems.join("; ")))
    }
}
