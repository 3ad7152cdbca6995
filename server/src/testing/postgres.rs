//! The PostgreSQL tests run on (cargo features `testing` and `postgres`): the server named by
//! `ANNALS_TEST_DATABASE_URL` when it is set, or else a private cluster that the test binary
//! starts once, on a free port, in a fresh directory under the system's temporary folder.
//!
//! A static is never dropped, so the private cluster cannot be stopped by a destructor.
//! Instead each cluster gets a watchdog: a small `sh` loop that waits for the test binary's
//! process to end (however it ends, even by SIGKILL), then stops the cluster and removes its
//! directory. As a second line of defence, starting a cluster first stops and removes any
//! cluster left behind by a test process that no longer exists (its pid is in the directory's
//! name). Without PostgreSQL binaries and without the variable, the PostgreSQL tests fail with
//! a message saying what to install: they are never skipped.
//!
//! A test that stops or restarts PostgreSQL starts a [`Cluster`] of its own, whatever
//! `ANNALS_TEST_DATABASE_URL` says, so no other test loses its database.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use tokio_postgres::NoTls;
use uuid::Uuid;

/// The prefix of a private cluster's directory; the owning process id follows it.
const PREFIX: &str = "annals-test-pg-";

/// Where test databases are created.
struct Server {
    /// A database URL to connect to for `CREATE DATABASE`.
    admin_url: String,
    /// Whether the server outlives the tests, so each test drops its database afterwards.
    shared: bool,
    /// The private cluster, when there is one (a static is never dropped: its watchdog
    /// stops it).
    _cluster: Option<Cluster>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

/// The test server, started on first use; every later call gets the same one (or the same
/// reason why there is none).
fn server() -> Result<&'static Server, String> {
    let server = SERVER.get_or_init(|| match std::env::var("ANNALS_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => {
            Ok(Server { admin_url: url, shared: true, _cluster: None })
        }
        _ => Cluster::start_blocking().map(|cluster| Server {
            admin_url: cluster.admin_url(),
            shared: false,
            _cluster: Some(cluster),
        }),
    });
    server.as_ref().map_err(String::clone)
}

/// A fresh, empty database of its own for one test.
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    name: String,
    shared: bool,
    admin_url: String,
}

impl TestDatabase {
    /// Creates `annals_test_<random>` on the test server.
    pub async fn create() -> TestDatabase {
        let server = tokio::task::spawn_blocking(server).await.expect("the PostgreSQL for tests");
        let server = server.unwrap_or_else(|message| panic!("{message}"));
        let name = format!("annals_test_{}", Uuid::new_v4().simple());
        let admin = connect(&server.admin_url).await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|err| panic!("cannot create the test database {name}: {err}"));
        TestDatabase {
            url: with_database(&server.admin_url, &name),
            name,
            shared: server.shared,
            admin_url: server.admin_url.clone(),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // A private cluster is thrown away whole; on a shared server, clean up after the test.
        if !self.shared {
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok((client, connection)) =
                        tokio_postgres::connect(&admin_url, NoTls).await
                    {
                        tokio::spawn(connection);
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = client.batch_execute(&sql).await;
                    }
                });
            }
        });
        let _ = dropped.join();
    }
}

/// A client on `url`, its connection driven by a task of the current runtime.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|err| panic!("cannot connect to {url}: {err}"));
    tokio::spawn(connection);
    client
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, format!("?{query}")),
        None => (rest, String::new()),
    };
    let authority = rest.split_once('/').map_or(rest, |(authority, _)| authority);
    format!("{scheme}://{authority}/{name}{query}")
}

/// The newest `/usr/lib/postgresql/<version>/bin` with `initdb` and `pg_ctl`.
fn postgres_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// PostgreSQL refuses to run as root: then its tools run as the `postgres` user.
#[cfg(unix)]
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

#[cfg(not(unix))]
fn is_root() -> bool {
    false
}

fn tool(bin: &Path, name: &str, as_root: bool) -> Command {
    let mut command = if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(bin.join(name));
        command
    } else {
        Command::new(bin.join(name))
    };
    command.stdin(Stdio::null());
    command
}

fn run(mut command: Command, what: &str, log: &Path) -> Result<(), String> {
    let errors = std::fs::File::create(log.with_extension("err"))
        .map_err(|err| format!("cannot write {}: {err}", log.display()))?;
    let status = command
        .stdout(Stdio::null())
        .stderr(errors)
        .status()
        .map_err(|err| format!("cannot run {what}: {err}"))?;
    if status.success() {
        return Ok(());
    }
    let said = std::fs::read_to_string(log.with_extension("err")).unwrap_or_default();
    let logged = std::fs::read_to_string(log).unwrap_or_default();
    Err(format!("{what} failed ({status}):\n{said}\n{logged}"))
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|err| err.to_string())?;
    Ok(listener.local_addr().map_err(|err| err.to_string())?.port())
}

/// How `pg_ctl` stops a cluster (its `-m` option).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// Rolls back open transactions and closes every session, then stops cleanly.
    Fast,
    /// Stops every process at once, as a crash would; the next start recovers from the WAL.
    Immediate,
}

impl Shutdown {
    fn mode(self) -> &'static str {
        match self {
            Shutdown::Fast => "fast",
            Shutdown::Immediate => "immediate",
        }
    }
}

/// A PostgreSQL cluster of one test's own (`initdb`, `pg_ctl`), on a free port in a fresh
/// directory, which the test may stop, start and restart. It is stopped and removed when
/// dropped, or by its watchdog once the test process ends, however it ends.
pub struct Cluster {
    place: Place,
}

/// Where a cluster lives and how its tools run.
#[derive(Clone)]
struct Place {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_root: bool,
}

impl Cluster {
    /// Starts a new cluster; panics, saying what is missing, when it cannot.
    pub async fn start() -> Cluster {
        let started = tokio::task::spawn_blocking(Cluster::start_blocking).await;
        started.expect("start a cluster").unwrap_or_else(|message| panic!("{message}"))
    }

    fn start_blocking() -> Result<Cluster, String> {
        let bin = postgres_bin().ok_or_else(|| {
            "no PostgreSQL for the tests: set ANNALS_TEST_DATABASE_URL=postgres://USER@HOST:PORT/DB \
             (a role that may CREATE DATABASE), or install the PostgreSQL server (Debian package \
             `postgresql`, which `cargo xtask test` installs) so that \
             /usr/lib/postgresql/<version>/bin/initdb exists"
                .to_owned()
        })?;
        let as_root = is_root();
        stop_stale_clusters(&bin, as_root);
        let dir = std::env::temp_dir().join(format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        if as_root {
            let mut chown = Command::new("chown");
            chown.arg("postgres").arg(&dir);
            run(chown, "chown postgres", &dir.join("chown.log"))?;
        }
        let mut initdb = tool(&bin, "initdb", as_root);
        initdb.arg("-D").arg(dir.join("data"));
        initdb.args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]);
        run(initdb, "initdb", &dir.join("initdb.log"))?;
        let mut last = String::new();
        for _ in 0..5 {
            let place = Place { bin: bin.clone(), dir: dir.clone(), port: free_port()?, as_root };
            match place.start() {
                Ok(()) => {
                    watch_over(&bin, &dir, as_root)?;
                    return Ok(Cluster { place });
                }
                // Most likely another process took the port in the meantime: try another one.
                Err(err) => last = err,
            }
        }
        Err(format!("cannot start a PostgreSQL cluster in {}: {last}", dir.display()))
    }

    /// The URL of its database `postgres`, as the superuser `postgres`.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.place.port)
    }

    /// A fresh, empty database on it (removed with the cluster).
    pub async fn database(&self) -> super::Database {
        let name = format!("annals_test_{}", Uuid::new_v4().simple());
        let admin = connect(&self.admin_url()).await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|err| panic!("cannot create the test database {name}: {err}"));
        super::Database::new(with_database(&self.admin_url(), &name), Box::new(()))
    }

    /// Stops it (`pg_ctl stop -m <how>`), waiting until it has stopped.
    pub async fn stop(&self, how: Shutdown) {
        let mut stop = self.place.pg_ctl("stop");
        stop.args(["-w", "-t", "60", "-m", how.mode()]);
        self.run(stop, "pg_ctl stop").await;
    }

    /// Starts it again after [`stop`](Cluster::stop); returns once it accepts connections.
    pub async fn start_again(&self) {
        let place = self.place.clone();
        let started = tokio::task::spawn_blocking(move || place.start()).await;
        started.expect("pg_ctl start").unwrap_or_else(|err| panic!("{err}"));
    }

    /// Restarts it (`pg_ctl restart -m <how>`); returns once it accepts connections again.
    pub async fn restart(&self, how: Shutdown) {
        let mut restart = self.place.pg_ctl("restart");
        restart.args(["-w", "-t", "60", "-m", how.mode(), "-l"]).arg(self.place.log());
        self.run(restart, "pg_ctl restart").await;
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.place.log()).unwrap_or_default()
    }

    async fn run(&self, command: Command, what: &'static str) {
        let log = self.place.log();
        let ran = tokio::task::spawn_blocking(move || run(command, what, &log)).await;
        ran.expect(what).unwrap_or_else(|err| panic!("{err}"));
    }
}

impl Place {
    fn log(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    fn pg_ctl(&self, action: &str) -> Command {
        let mut command = tool(&self.bin, "pg_ctl", self.as_root);
        command.arg(action).arg("-D").arg(self.dir.join("data"));
        command
    }

    fn start(&self) -> Result<(), String> {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=on -c max_connections=300",
            self.port,
            self.dir.display()
        );
        let mut start = self.pg_ctl("start");
        start.args(["-w", "-t", "60", "-l"]).arg(self.log()).arg("-o").arg(options);
        run(start, "pg_ctl start", &self.log())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let Place { bin, dir, as_root, .. } = &self.place;
        let _ = Command::new("sh")
            .arg("-c")
            .arg(stop_and_remove(bin, dir, *as_root))
            .stdin(Stdio::null())
            .status();
    }
}

/// The shell command that stops the cluster in `dir` at once and removes it.
fn stop_and_remove(bin: &Path, dir: &Path, as_root: bool) -> String {
    let user = if as_root { "runuser -u postgres -- " } else { "" };
    format!(
        "{user}'{}' stop -D '{}' -m immediate -w >/dev/null 2>&1; rm -rf '{}'",
        bin.join("pg_ctl").display(),
        dir.join("data").display(),
        dir.display()
    )
}

/// Starts the watchdog that stops the cluster once this process has ended.
fn watch_over(bin: &Path, dir: &Path, as_root: bool) -> Result<(), String> {
    let script = format!(
        "trap '' INT HUP TERM; while kill -0 {} 2>/dev/null; do sleep 1; done; {}",
        std::process::id(),
        stop_and_remove(bin, dir, as_root)
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|err| format!("cannot start the cluster's watchdog: {err}"))
}

/// Stops and removes clusters whose test process is gone (say, its watchdog was killed too).
fn stop_stale_clusters(bin: &Path, as_root: bool) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(|name| name.strip_prefix(PREFIX)) else {
            continue;
        };
        let Some(pid) = owner.split('-').next().and_then(|pid| pid.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("sh")
                .arg("-c")
                .arg(stop_and_remove(bin, &entry.path(), as_root))
                .stdin(Stdio::null())
                .status();
        }
    }
}
