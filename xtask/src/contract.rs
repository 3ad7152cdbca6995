//! The API contract, checked from outside: the OpenAPI document that `annals-server openapi`
//! writes for the inventory is validated by openapi-spec-validator, a real server (SQLite, a
//! token) is fuzzed against it by schemathesis, every operation and every default check, and
//! a TypeScript client generated from it by openapi-typescript type-checks a small program
//! (`contract/client/push.ts`) that pushes commands.
//!
//! The Python tools are pinned in `contract/requirements.txt` and installed in a venv under
//! the target directory; `contract/schemathesis.toml` says where a status is right but
//! outside a check's defaults.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::util::{self, Result, fail};

/// Examples schemathesis generates per operation in its fuzzing and stateful phases (its
/// coverage phase adds about 1,200 boundary cases whatever this is).
const EXAMPLES: &str = "20";
/// The seed, so a failure seen once is seen again.
const SEED: &str = "1";

/// Runs every check of the contract.
pub fn test() -> Result {
    let root = util::root();
    let work = util::target_dir().join("contract");
    std::fs::create_dir_all(&work)
        .or_else(|e| fail(format!("cannot create {}: {e}", work.display())))?;
    let venv = ensure_tools(&root.join("contract").join("requirements.txt"))?;
    util::run(util::cargo().args(["build", "-p", util::SERVER_PACKAGE]))?;
    let server = util::target_dir().join("debug").join("annals-server");

    println!("==> the document, written by `annals-server openapi`, validated");
    let document = work.join("openapi.json");
    let mut write = util::command(&server);
    write.args(["openapi", "--domain", "inventory", "--output"]).arg(&document);
    util::run(&mut write)?;
    util::run(util::command(venv.join("openapi-spec-validator")).arg(&document))?;

    println!("==> a TypeScript client generated from it, and a program using it, type-checked");
    let client = root.join("contract").join("client");
    util::npm_ci(&client)?;
    let mut generate = util::command("npx");
    generate.current_dir(&client).arg("openapi-typescript").arg(&document);
    generate.args(["--empty-objects-unknown", "-o", "generated/api.d.ts"]);
    util::run(&mut generate)?;
    util::run(util::command("npx").current_dir(&client).args(["tsc", "--noEmit", "-p", "."]))?;

    println!("==> schemathesis against a real server (SQLite, a token)");
    let secret = secret()?;
    let running = Running::start(&server, &work, &secret)?;
    let mut token = util::command(&server);
    token.args(["token", "--auth-secret", &secret, "--scopes", "read,write,admin"]);
    let token = util::output(&mut token)?.trim().to_owned();
    let mut fuzz = util::command(venv.join("schemathesis"));
    // It keeps what it learns in `.schemathesis/` of its working folder.
    fuzz.current_dir(&work);
    fuzz.arg("--config-file").arg(root.join("contract").join("schemathesis.toml"));
    fuzz.arg("run").arg(&document);
    fuzz.args(["--url", &running.url, "-H", &format!("Authorization: Bearer {token}")]);
    fuzz.args(["--max-examples", EXAMPLES, "--seed", SEED, "--generation-database", "none"]);
    fuzz.args(["--no-color", "--report", "junit", "--report-dir"]).arg(work.join("report"));
    let fuzzed = util::run(&mut fuzz);
    drop(running);
    fuzzed
}

/// The venv's `bin` folder, with the pinned tools installed (once per change of the pins).
fn ensure_tools(requirements: &Path) -> Result<PathBuf> {
    let venv = util::target_dir().join("contract-venv");
    let bin = venv.join("bin");
    let pins = std::fs::read(requirements)
        .or_else(|e| fail(format!("cannot read {}: {e}", requirements.display())))?;
    let marker = venv.join("installed-requirements.txt");
    if std::fs::read(&marker).is_ok_and(|installed| installed == pins) {
        println!("schemathesis, openapi-spec-validator: installed in {}", venv.display());
        return Ok(bin);
    }
    let Some(python) = ["python3", "python"].into_iter().find(|p| util::on_path(p)) else {
        return fail(
            "no python3 on PATH: the contract's tools (schemathesis, openapi-spec-validator) \
             need Python 3.9 or later with its venv module",
        );
    };
    if let Err(err) = util::run(util::command(python).args(["-m", "venv"]).arg(&venv)) {
        return fail(format!("{err}\n(Debian puts the venv module in the package python3-venv)"));
    }
    util::run(util::command(bin.join("pip")).args(["install", "--quiet", "-r"]).arg(requirements))?;
    std::fs::write(&marker, pins)
        .or_else(|e| fail(format!("cannot write {}: {e}", marker.display())))?;
    Ok(bin)
}

/// A secret of 32 random bytes, as hex.
fn secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .or_else(|e| fail(format!("cannot read /dev/urandom: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// annals-server serving the inventory on a fresh SQLite file and a free port, with a
/// secret; killed when dropped.
struct Running {
    child: Child,
    url: String,
}

impl Running {
    fn start(server: &Path, work: &Path, secret: &str) -> Result<Running> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .or_else(|e| fail(format!("no free port: {e}")))?
            .port();
        let database = work.join("contract.db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
        }
        let log = std::fs::File::create(work.join("server.log"))
            .or_else(|e| fail(format!("cannot create the server's log: {e}")))?;
        let err = log.try_clone().or_else(|e| fail(e.to_string()))?;
        let child = util::command(server)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--domain", "inventory"])
            .arg("--database")
            .arg(format!("sqlite://{}", database.display()))
            .args(["--auth-secret", secret])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .or_else(|e| fail(format!("cannot start {}: {e}", server.display())))?;
        let running = Running { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if ready(port) {
                return Ok(running);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let logged = std::fs::read_to_string(work.join("server.log")).unwrap_or_default();
        fail(format!("annals-server did not get ready in 30 s:\n{logged}"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the server on `port` answers `/healthz/ready` with 200.
fn ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let request = "GET /healthz/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}
