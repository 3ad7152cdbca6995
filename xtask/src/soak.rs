//! `cargo xtask soak [--minutes N] [...]`: build annals-server in release and run
//! `annals-soak` against it, on SQLite and on PostgreSQL side by side: mixed load, a fault
//! every few seconds (`kill -9` of a server; on PostgreSQL restarts, an outage, terminated
//! backends), then an audit of the log, the subscribers and the read models.
//!
//! Every argument goes to annals-soak (`--minutes`, `--backend`, `--fault-every`,
//! `--record bench/RESULTS.md` to keep the audit there).

use crate::util::{self, Result};

/// Runs the soak with `args`.
pub fn soak(args: &[String]) -> Result {
    println!("==> building annals-server (release) and annals-soak");
    util::run(util::cargo().args(["build", "--release", "-p", util::SERVER_PACKAGE]))?;
    // The driver in the test profile: it shares what the tests built, and its speed is not
    // what the soak is about.
    util::run(util::cargo().args(["build", "-p", "annals-soak"]))?;
    let target = util::target_dir();
    let mut run = util::command(target.join("debug").join("annals-soak"));
    run.arg("--server").arg(target.join("release").join("annals-server")).args(args);
    util::run(&mut run)
}
