//! The servers under soak, and the faults done to them: `kill -9` of a node, and on
//! PostgreSQL restarts (fast and immediate), an outage of some seconds and terminated
//! backends.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use annals_server::testing::{Api, Cluster, ServerProcess, Shutdown, postgres};

use crate::Rng;

/// The arguments every node is started with, after `serve --listen .. --database ..`.
const ARGS: &[&str] = &["--domain", "inventory"];

/// One server process sharing the database with the others.
struct Slot {
    /// The process, absent while it is down.
    process: tokio::sync::Mutex<Option<ServerProcess>>,
    /// A client of it, absent while it is down: a restarted node listens on a new port.
    api: Mutex<Option<Api>>,
}

/// The nodes serving one database.
pub struct Nodes {
    program: PathBuf,
    database: String,
    logs: PathBuf,
    slots: Vec<Slot>,
}

impl Nodes {
    /// Starts `count` nodes of `program` on `database`, logging into `logs`.
    pub async fn start(program: &Path, database: &str, count: usize, logs: &Path) -> Nodes {
        let mut slots = Vec::new();
        for _ in 0..count {
            let process = ServerProcess::start(program, database, ARGS, logs).await;
            slots.push(Slot {
                api: Mutex::new(Some(process.api.clone())),
                process: tokio::sync::Mutex::new(Some(process)),
            });
        }
        Nodes {
            program: program.to_owned(),
            database: database.to_owned(),
            logs: logs.to_owned(),
            slots,
        }
    }

    /// How many nodes there are.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// A client of node `index` while it is up.
    pub fn api(&self, index: usize) -> Option<Api> {
        self.slots[index].api.lock().expect("a node's client").clone()
    }

    /// A client of a node that is up, chosen at random; none while every node is down.
    pub fn pick(&self, rng: &mut Rng) -> Option<Api> {
        let first = rng.below(self.slots.len() as u64) as usize;
        (0..self.slots.len()).find_map(|n| self.api((first + n) % self.slots.len()))
    }

    /// Kills node `index` with SIGKILL; clients see it gone at once.
    pub async fn kill(&self, index: usize) {
        let slot = &self.slots[index];
        let mut process = slot.process.lock().await;
        *slot.api.lock().expect("a node's client") = None;
        if let Some(mut process) = process.take() {
            process.kill();
        }
    }

    /// Starts node `index` again if it is down (on a new port), once it is ready.
    pub async fn revive(&self, index: usize) {
        let slot = &self.slots[index];
        let mut process = slot.process.lock().await;
        if process.is_none() {
            let started =
                ServerProcess::start(&self.program, &self.database, ARGS, &self.logs).await;
            *slot.api.lock().expect("a node's client") = Some(started.api.clone());
            *process = Some(started);
        }
    }

    /// Stops every node (SIGKILL).
    pub async fn kill_all(&self) {
        for index in 0..self.slots.len() {
            self.kill(index).await;
        }
    }

    /// Runs `annals-server rebuild` on the database (the nodes must be down) and returns what
    /// it printed.
    pub fn rebuild(&self) -> Result<String, String> {
        let output = std::process::Command::new(&self.program)
            .args(["rebuild", "--database", &self.database])
            .args(ARGS)
            .env("NO_COLOR", "1")
            .output()
            .map_err(|err| format!("cannot run {} rebuild: {err}", self.program.display()))?;
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if output.status.success() { Ok(said) } else { Err(format!("rebuild failed: {said}")) }
    }
}

/// A fault done to the servers or their database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// `kill -9` of one node, started again after a moment.
    Kill,
    /// `pg_ctl restart -m fast`.
    RestartFast,
    /// `pg_ctl restart -m immediate`: a crash of the database, recovered from its WAL.
    RestartImmediate,
    /// PostgreSQL stopped for some seconds, then started.
    Outage,
    /// `pg_terminate_backend` of every session of the nodes.
    Terminate,
}

impl Fault {
    /// The faults done in turn on each backend.
    pub fn rotation(postgres: bool) -> &'static [Fault] {
        if postgres {
            &[
                Fault::Kill,
                Fault::RestartFast,
                Fault::Terminate,
                Fault::Kill,
                Fault::RestartImmediate,
                Fault::Outage,
            ]
        } else {
            &[Fault::Kill]
        }
    }

    /// What it is called in the report.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill -9 of a server",
            Fault::RestartFast => "PostgreSQL restarted (fast)",
            Fault::RestartImmediate => "PostgreSQL restarted (immediate)",
            Fault::Outage => "PostgreSQL down for 5-15 s",
            Fault::Terminate => "backends terminated",
        }
    }

    /// Does it to `nodes` (and `cluster` on PostgreSQL); returns what was done.
    pub async fn apply(self, nodes: &Nodes, cluster: Option<&Cluster>, rng: &mut Rng) -> String {
        let cluster = || cluster.expect("a PostgreSQL fault needs the cluster");
        match self {
            Fault::Kill => {
                let index = rng.below(nodes.len() as u64) as usize;
                nodes.kill(index).await;
                let down = Duration::from_millis(200 + rng.below(2800));
                tokio::time::sleep(down).await;
                nodes.revive(index).await;
                format!("killed node {index}, down {:.1} s", down.as_secs_f64())
            }
            Fault::RestartFast => {
                cluster().restart(Shutdown::Fast).await;
                "restarted PostgreSQL (fast)".to_owned()
            }
            Fault::RestartImmediate => {
                cluster().restart(Shutdown::Immediate).await;
                "restarted PostgreSQL (immediate)".to_owned()
            }
            Fault::Outage => {
                let away = Duration::from_secs(5 + rng.below(11));
                cluster().stop(Shutdown::Fast).await;
                tokio::time::sleep(away).await;
                cluster().start_again().await;
                format!("stopped PostgreSQL for {} s", away.as_secs())
            }
            Fault::Terminate => {
                let admin = postgres::connect(&cluster().admin_url()).await;
                let sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                           WHERE application_name = 'annals-server'";
                let ended = match admin.query_one(sql, &[]).await {
                    Ok(row) => row.get::<_, i64>(0),
                    Err(err) => return format!("could not terminate backends: {err}"),
                };
                format!("terminated {ended} backends")
            }
        }
    }
}
