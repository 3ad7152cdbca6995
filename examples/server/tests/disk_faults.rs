//! SQLite only, the real binary on a database file of its own: a disk that fills up (a small
//! tmpfs the test mounts), a database file made read-only (`chattr +i`, which stops root
//! too) and a database locked by another program. Each is answered with a clear 503 and a
//! stable code (`database_full`, `database_read_only`, `database_locked`) with
//! `Retry-After`; reads go on; `PRAGMA integrity_check` finds the database intact; and
//! writing resumes by itself once the cause is gone, the refused commands recorded once
//! when sent again.
//!
//! Mounting a file system and making a file immutable need root (`CAP_SYS_ADMIN`,
//! `CAP_LINUX_IMMUTABLE`): without them these tests fail, saying so; they are never skipped.

mod common;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use annals_core::Uuid;
use common::*;
use serde_json::Value;

const SITE: &str = "hilltop";
/// How soon writing must resume once the cause is gone.
const RESUMES_WITHIN: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_sqlite() {
    run_scenario(full_disk()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_file_sqlite() {
    run_scenario(read_only_file()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_sqlite() {
    run_scenario(locked_database()).await;
}

/// Runs a command that must succeed.
fn run(program: &str, args: &[&str], path: &Path) {
    let output = Command::new(program)
        .args(args)
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("cannot run {program}: {err}"));
    assert!(
        output.status.success(),
        "{program} {args:?} {} failed (this test needs root: it mounts a tmpfs and makes a \
         file immutable): {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A tmpfs of a given size mounted on a fresh folder, unmounted when dropped, or by a
/// watchdog once the test process ends, however it ends.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = std::env::temp_dir().join(format!(
            "annals-test-tmpfs-{}-{}",
            std::process::id(),
            Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("a folder to mount on");
        run("mount", &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"], &dir);
        let script = format!(
            "trap '' INT HUP TERM; while kill -0 {} 2>/dev/null; do sleep 1; done; {}",
            std::process::id(),
            unmount(&dir)
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(drop)
            .expect("the tmpfs's watchdog");
        Tmpfs(dir)
    }
}

/// The shell command that unmounts `dir` and removes it.
fn unmount(dir: &Path) -> String {
    let dir = dir.display();
    format!("chattr -R -i '{dir}' 2>/dev/null; umount -l '{dir}' 2>/dev/null; rmdir '{dir}'")
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("sh").args(["-c", &unmount(&self.0)]).status();
    }
}

/// Makes a file immutable (`chattr +i`), or writable again, until dropped.
struct Immutable(PathBuf);

impl Immutable {
    fn set(path: &Path) -> Immutable {
        run("chattr", &["+i"], path);
        Immutable(path.to_owned())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

/// What the server answered for the commands it recorded.
#[derive(Default)]
struct Acknowledged(HashMap<String, Value>);

impl Acknowledged {
    fn record(&mut self, reply: &Value) {
        for result in reply["results"].as_array().expect("results") {
            self.0.insert(result["id"].as_str().expect("id").to_owned(), result.clone());
        }
    }
}

/// Checks a 503 with `code` and `Retry-After`.
#[track_caller]
fn assert_refused(reply: &Reply, code: &str) {
    assert_error(reply, 503, code);
    let retry = reply.header("retry-after").and_then(|v| v.parse::<u64>().ok());
    assert!(retry.is_some_and(|seconds| seconds >= 1), "no Retry-After: {:?}", reply.headers);
}

/// A batch of `n` receipts of `item`.
fn receipts(item: Uuid, n: usize) -> Vec<Value> {
    (0..n).map(|_| receive(item, SITE, 1)).collect()
}

/// Sends `batch` until it is accepted, within [`RESUMES_WITHIN`] of `since`; a refusal
/// meanwhile must be `code`.
async fn accepted_again(
    server: &ServerProcess,
    batch: &[Value],
    code: &str,
    since: Instant,
    acked: &mut Acknowledged,
) {
    loop {
        let reply = server.api.push(batch).await;
        if reply.status == 200 {
            acked.record(&reply.json());
            return;
        }
        assert_refused(&reply, code);
        assert!(
            since.elapsed() < RESUMES_WITHIN,
            "writing did not resume within {RESUMES_WITHIN:?}; the server logged:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads, liveness and the log's shape go on while writes are refused.
async fn reads_go_on(api: &Api) {
    assert_eq!(api.get("/healthz/live").await.ok()["status"], "ok");
    api.get("/v1/events?limit=1").await.ok();
    api.get("/v1/views/stock").await.ok();
}

/// `PRAGMA integrity_check` on the file, through a connection of the test's own.
fn assert_intact(path: &str) {
    let conn = sqlite(path);
    let checked: String =
        conn.query_row("PRAGMA integrity_check", [], |row| row.get(0)).expect("integrity_check");
    assert_eq!(checked, "ok", "the database is damaged");
}

/// Checks that the log holds every acknowledged command once, and nothing else.
async fn verify(api: &Api, acked: &Acknowledged) {
    let (log, head) = api.log().await;
    assert_whole_log(&log, head);
    let mut by_command: HashMap<&str, Vec<&Value>> = HashMap::new();
    for event in &log {
        by_command
            .entry(event["meta"]["command"].as_str().expect("command"))
            .or_default()
            .push(event);
    }
    assert_eq!(
        by_command.len(),
        acked.0.len(),
        "the log holds commands no client was answered for"
    );
    for (id, result) in &acked.0 {
        let answered: Vec<&Value> = result["events"].as_array().expect("accepted").iter().collect();
        assert_eq!(by_command.get(id.as_str()), Some(&answered), "command {id}");
    }
    assert_stock_matches(&api.view("stock").await["value"], &log);
}

async fn full_disk() {
    let disk = Tmpfs::mount("4m");
    let path = disk.0.join("annals.db");
    let path = path.to_str().expect("a UTF-8 path");
    let logs = TempDir::new("annals-test-full");
    let server = start_server(&format!("sqlite://{path}"), &[], logs.path()).await;
    let api = &server.api;
    let mut acked = Acknowledged::default();
    let item = Uuid::new_v4();
    acked.record(&api.push_accepted(&[add_item(item, "Beans", 0)]).await);

    // Fill the disk, then push until a write no longer fits.
    let filler = disk.0.join("filler");
    let mut file = std::fs::File::create(&filler).expect("the filler");
    while file.write_all(&[0; 65536]).is_ok() {}
    let _ = file.write_all(&[0; 512]);
    drop(file);
    let mut refused = Vec::new();
    for _ in 0..500 {
        let batch = receipts(item, 50);
        let reply = api.push(&batch).await;
        if reply.status == 200 {
            acked.record(&reply.json());
            continue;
        }
        assert_refused(&reply, "database_full");
        refused.push(batch);
        break;
    }
    assert!(!refused.is_empty(), "the disk never filled up:\n{}", server.log());
    // Every write meanwhile is refused alike; reads go on, and the file is intact.
    for _ in 0..3 {
        let batch = receipts(item, 1);
        assert_refused(&api.push(&batch).await, "database_full");
        refused.push(batch);
    }
    reads_go_on(api).await;
    assert_intact(path);

    std::fs::remove_file(&filler).expect("free the disk");
    let freed = Instant::now();
    for batch in &refused {
        accepted_again(&server, batch, "database_full", freed, &mut acked).await;
    }
    assert_eq!(api.get("/healthz/ready").await.ok()["status"], "ready");
    verify(api, &acked).await;
    drop(server);
    assert_intact(path);
}

async fn read_only_file() {
    let dir = TempDir::new("annals-test-read-only");
    let path = dir.path().join("annals.db");
    let path = path.to_str().expect("a UTF-8 path");
    let server = start_server(&format!("sqlite://{path}"), &[], dir.path()).await;
    let api = &server.api;
    let mut acked = Acknowledged::default();
    let item = Uuid::new_v4();
    acked.record(&api.push_accepted(&[add_item(item, "Lentils", 0)]).await);

    let immutable = Immutable::set(Path::new(path));
    // SQLite goes on appending to the WAL through the file it has open; the writer learns
    // that the file cannot be written from the next checkpoint, after a commit or two.
    let made = Instant::now();
    let mut refused = Vec::new();
    while refused.is_empty() {
        assert!(
            made.elapsed() < Duration::from_secs(5),
            "writes were not refused:\n{}",
            server.log()
        );
        let batch = receipts(item, 1);
        let reply = api.push(&batch).await;
        if reply.status == 200 {
            acked.record(&reply.json());
        } else {
            assert_refused(&reply, "database_read_only");
            refused.push(batch);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let batch = receipts(item, 1);
    assert_refused(&api.push(&batch).await, "database_read_only");
    refused.push(batch);
    let ready = api.get("/healthz/ready").await;
    assert_refused(&ready, "database_read_only");
    assert_eq!(ready.json()["error"]["checks"]["writer"], "database_read_only", "{}", ready.text());
    reads_go_on(api).await;
    assert_intact(path);

    drop(immutable);
    let writable = Instant::now();
    for batch in &refused {
        accepted_again(&server, batch, "database_read_only", writable, &mut acked).await;
    }
    assert_eq!(api.get("/healthz/ready").await.ok()["status"], "ready");
    verify(api, &acked).await;
    drop(server);
    assert_intact(path);
}

async fn locked_database() {
    let dir = TempDir::new("annals-test-locked");
    let path = dir.path().join("annals.db");
    let path = path.to_str().expect("a UTF-8 path");
    let server = start_server(&format!("sqlite://{path}"), &[], dir.path()).await;
    let api = &server.api;
    let mut acked = Acknowledged::default();
    let item = Uuid::new_v4();
    acked.record(&api.push_accepted(&[add_item(item, "Barley", 0)]).await);

    // Another program takes the write lock and keeps it.
    let other = sqlite(path);
    other.execute_batch("BEGIN IMMEDIATE").expect("the write lock");
    let batch = receipts(item, 1);
    let asked = Instant::now();
    assert_refused(&api.push(&batch).await, "database_locked");
    assert!(asked.elapsed() < Duration::from_secs(10), "the push waited {:?}", asked.elapsed());
    let ready = api.get("/healthz/ready").await;
    assert_refused(&ready, "database_locked");
    assert_eq!(ready.json()["error"]["checks"]["writer"], "database_locked", "{}", ready.text());
    reads_go_on(api).await;

    other.execute_batch("ROLLBACK").expect("release the lock");
    drop(other);
    accepted_again(&server, &batch, "database_locked", Instant::now(), &mut acked).await;
    assert_eq!(api.get("/healthz/ready").await.ok()["status"], "ready");
    verify(api, &acked).await;
    drop(server);
    assert_intact(path);
}
