//! A server binary as a child process, and what it needs: a free port and a temporary folder.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::api::Api;

/// A directory removed with everything in it when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory under the system's temporary folder, its name starting with
    /// `prefix`.
    pub fn new(prefix: &str) -> TempDir {
        let name = format!("{prefix}-{}", uuid::Uuid::new_v4().simple());
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; a caller retries if it is taken since).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local address").port()
}

/// Numbers the log files of the processes this test binary starts.
static PROCESSES: AtomicUsize = AtomicUsize::new(0);

/// A server binary (one whose `main` is [`crate::main`] or [`crate::Server::main`]) serving
/// on a port of its own; killed when dropped.
///
/// A test names its own binary, which cargo gives integration tests as
/// `env!("CARGO_BIN_EXE_<name>")`.
pub struct ServerProcess {
    child: Child,
    /// A client of it.
    pub api: Api,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts `program serve --listen 127.0.0.1:<free port> --database <database>` with `args`
    /// after them, logging into a new file in `logs`, and waits until it is ready
    /// (`/healthz/ready`: it reads its database, and on PostgreSQL listens to other nodes).
    /// A port taken in the meantime is retried with another.
    pub async fn start(
        program: impl AsRef<Path>,
        database: &str,
        args: &[&str],
        logs: &Path,
    ) -> ServerProcess {
        let program = program.as_ref();
        let mut failures = String::new();
        for _ in 0..5 {
            let port = free_port();
            let number = PROCESSES.fetch_add(1, Ordering::Relaxed);
            let log = logs.join(format!("server-{number}.log"));
            let file = std::fs::File::create(&log).expect("create the server's log");
            let child = Command::new(program)
                .arg("serve")
                .args(["--listen", &format!("127.0.0.1:{port}"), "--database", database])
                .args(args)
                .env("RUST_LOG", "annals_server=info")
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(file.try_clone().expect("clone the log file"))
                .stderr(file)
                .spawn()
                .unwrap_or_else(|err| panic!("cannot start {}: {err}", program.display()));
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let mut server = ServerProcess { child, api: Api::http(addr), log };
            if server.ready().await {
                return server;
            }
            server.kill();
            failures.push_str(&server.log());
        }
        panic!("{} did not start:\n{failures}", program.display());
    }

    /// Waits until the server answers `/healthz/ready`; false if it exited or never did.
    async fn ready(&mut self) -> bool {
        for _ in 0..600 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            if let Ok(reply) = self.api.try_send("GET", "/healthz/ready", &[], None).await
                && reply.status == 200
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// Kills the server with SIGKILL, as `kill -9` does, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
