//! Running commands with clear errors, and the small helpers every task shares.

use std::ffi::OsStr;
use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Why a task stopped, as a sentence for the person at the terminal.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The result of a task or a step.
pub type Result<T = ()> = std::result::Result<T, Error>;

/// Stops with `message`.
pub fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(Error(message.into()))
}

/// The workspace root (the directory holding the workspace's `Cargo.toml`).
pub fn root() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_path_buf()
}

/// The folder cargo builds into: `CARGO_TARGET_DIR` when set, else `target/` at the root.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() { dir } else { root().join(dir) }
        }
        _ => root().join("target"),
    }
}

/// Whether `CI=true` (or `CI=1`): never prompt, never wait for a person.
pub fn in_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok("true" | "1"))
}

/// `cargo`, the same one that runs this task, started in the workspace root.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(root());
    if in_ci() {
        command.env("CARGO_TERM_COLOR", "never");
    }
    command
}

/// `program`, started in the workspace root.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    command.current_dir(root());
    command
}

/// The command line as a person would type it (`cargo`, not its full path).
pub fn show(command: &Command) -> String {
    let program = Path::new(command.get_program()).file_name().unwrap_or(command.get_program());
    std::iter::once(program)
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` with the terminal attached; fails unless it exits with status 0.
pub fn run(command: &mut Command) -> Result {
    let line = show(command);
    println!("$ {line}");
    let status = command.status().or_else(|error| not_started(&line, error))?;
    if status.success() { Ok(()) } else { fail(format!("`{line}` failed ({status})")) }
}

/// Runs `command` and returns what it printed on stdout; fails with its stderr otherwise.
pub fn output(command: &mut Command) -> Result<String> {
    let line = show(command);
    let output =
        command.stdin(Stdio::null()).output().or_else(|error| not_started(&line, error))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        fail(format!("`{line}` failed ({}):\n{}", output.status, stderr.trim_end()))
    }
}

/// Runs `command` quietly to look at the machine: its stdout, or `None` if it is missing or
/// fails.
pub fn probe(command: &mut Command) -> Option<String> {
    let output = command.stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Whether `program` can be started (is on `PATH`).
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

fn not_started<T>(line: &str, error: std::io::Error) -> Result<T> {
    let program = line.split(' ').next().unwrap_or(line);
    if error.kind() == ErrorKind::NotFound && on_path(program) {
        fail(format!("could not run `{line}`: its working folder does not exist"))
    } else if error.kind() == ErrorKind::NotFound {
        fail(format!("could not run `{line}`: `{program}` is not on PATH"))
    } else {
        fail(format!("could not run `{line}`: {error}"))
    }
}

/// A duration for people: `0.4s`, `12.3s`, `3m 07s`.
pub fn human(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        let whole = duration.as_secs();
        format!("{}m {:02}s", whole / 60, whole % 60)
    }
}

/// The package whose binary is `annals-server` for the example domains (examples/server).
pub const SERVER_PACKAGE: &str = "annals-example-server";

/// The Chromium the browser tests drive: `ANNALS_CHROMIUM`, else Debian's.
pub fn chromium() -> PathBuf {
    std::env::var_os("ANNALS_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// The toolchain rust-toolchain.toml pins (its `channel`), for builds outside the workspace.
pub fn toolchain() -> Result<String> {
    let path = root().join("rust-toolchain.toml");
    let text = std::fs::read_to_string(&path)
        .or_else(|e| fail(format!("cannot read {}: {e}", path.display())))?;
    text.lines()
        .find_map(|line| line.trim().strip_prefix("channel")?.trim().strip_prefix('='))
        .map(|value| value.trim().trim_matches('"').to_owned())
        .map_or_else(|| fail(format!("{} names no channel", path.display())), Ok)
}

/// `npm ci` in `dir`, unless its lockfile is installed already (a marker in node_modules
/// holds the lockfile it was installed from).
pub fn npm_ci(dir: &Path) -> Result {
    let lock = std::fs::read(dir.join("package-lock.json")).unwrap_or_default();
    let marker = dir.join("node_modules").join(".annals-installed-lock");
    if std::fs::read(&marker).is_ok_and(|installed| installed == lock) {
        println!("{}: node packages installed", dir.display());
        return Ok(());
    }
    let mut npm = command("npm");
    npm.args(["ci", "--no-audit", "--no-fund"]).current_dir(dir);
    // sqlite3 (under the Emmett peer's emmett-sqlite) compiles against Node's headers; the
    // nodejs package ships them, so nothing is fetched for them.
    if Path::new("/usr/include/node/common.gypi").is_file() {
        npm.env("npm_config_nodedir", "/usr");
    }
    run(&mut npm)?;
    std::fs::write(&marker, &lock)
        .or_else(|error| fail(format!("cannot write {}: {error}", marker.display())))
}
