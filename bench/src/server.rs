//! The server under test, run as a separate process on a free loopback port, and the fresh
//! databases it runs on: a SQLite file in the work folder, or a PostgreSQL database created
//! for one measure and dropped after it.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::http::Client;

/// A running `annals-server serve`; stopped when dropped.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    /// Starts `annals-server serve` on `database` (inventory domain, local mode) and waits
    /// until `/healthz` answers. `extra` arguments go to `serve`. It runs no reaction (the
    /// example server's reorder reaction included): the goals but P12 measure the engine.
    pub fn start(
        bin: &Path,
        database: &str,
        work: &Path,
        extra: &[&str],
    ) -> Result<Server, String> {
        let extra: Vec<&str> = ["--no-reactions"].iter().chain(extra).copied().collect();
        Server::start_with_env(bin, database, work, &extra, &[])
    }

    /// [`Server::start`] with these environment variables set for the server.
    pub fn start_with_env(
        bin: &Path,
        database: &str,
        work: &Path,
        extra: &[&str],
        env: &[(&str, &Path)],
    ) -> Result<Server, String> {
        let port = free_port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log = work.join(format!("server-{port}.log"));
        let output =
            File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let errors = output.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .args(["serve", "--listen", &addr.to_string(), "--database", database])
            .args(["--domain", "inventory", "--max-subscriptions", "100000"])
            .args(extra)
            .env("RUST_LOG", "annals_server=warn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut server = Server { child, addr, log };
        server.wait_healthy(Duration::from_secs(120))?;
        Ok(server)
    }

    fn wait_healthy(&mut self, limit: Duration) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "annals-server exited ({status}) at start: {}",
                    self.log_tail()
                ));
            }
            if let Ok(mut client) = Client::connect(self.addr)
                && client.get("/healthz").is_ok_and(|r| r.status == 200)
            {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(format!(
                    "annals-server did not answer within {limit:?}: {}",
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A value of `/proc/<pid>/status` in KiB, such as `VmHWM` (peak resident memory).
    pub fn status_kib(&self, field: &str) -> Option<u64> {
        proc_status_kib(self.pid(), field)
    }

    /// The last lines the server printed.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A field of `/proc/<pid>/status` in KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// A fresh SQLite database URL in `work`.
pub fn sqlite(work: &Path, name: &str) -> String {
    let path = work.join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    format!("sqlite://{}", path.display())
}

/// Where the PostgreSQL for benchmarks is: `ANNALS_BENCH_DATABASE_URL`, or the local default.
pub fn postgres_admin_url() -> String {
    std::env::var("ANNALS_BENCH_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A PostgreSQL database made for one measure, dropped (with its connections) when dropped.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    /// Its URL.
    pub url: String,
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

impl PgDatabase {
    /// Creates `annals_bench_<pid>_<n>` with `psql`; an error says why there is none.
    pub fn create(label: &str) -> Result<PgDatabase, String> {
        let admin_url = postgres_admin_url();
        let n = DATABASES.fetch_add(1, Ordering::Relaxed);
        let name = format!("annals_bench_{}_{label}_{n}", std::process::id());
        psql(&admin_url, &format!("CREATE DATABASE {name}"))?;
        let url = with_database(&admin_url, &name);
        Ok(PgDatabase { admin_url, name, url })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ =
            psql(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    let output = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(format!("no PostgreSQL at {url}: {}", stderr.trim()))
    }
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_names_another_database() {
        assert_eq!(with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
