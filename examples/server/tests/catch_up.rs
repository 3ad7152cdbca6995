//! PostgreSQL only, on a cluster of the test's own: a node whose listener missed
//! notifications catches up once it connects again. Two stores in this process share one
//! database, A and B. B loses its connections and may not make new ones while A commits, so
//! B's listener misses A's notifications; once B may connect again, its head reaches A's
//! with no further commit to notify it: its listener caught up by reading the heads, which
//! wakes B's subscribers.

mod common;

use std::time::{Duration, Instant};

use annals_core::Uuid;
use annals_server::store::Part;
use common::*;

/// How soon B must be back once it may connect again.
const BACK_WITHIN: Duration = Duration::from_secs(5);
/// How soon a node hears of another's commit while its listener listens.
const DELIVERY: Duration = Duration::from_secs(3);
const SITE: &str = "crossroads";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_notifications_are_caught_up_postgres() {
    run_scenario(missed_notifications_are_caught_up()).await;
}

async fn missed_notifications_are_caught_up() {
    let cluster = Cluster::start().await;
    let db = cluster.database().await;
    let name = db.url.rsplit('/').next().expect("a database name").to_owned();
    let domain = annals_server::hosted::host::<Inventory>();
    let open = async |node: &str| {
        let url = format!("{}?application_name=annals-test-{node}", db.url);
        domain.open(&url).await.unwrap_or_else(|err| panic!("open {url}: {err}"))
    };
    let (a, b) = (open("a").await, open("b").await);
    let state = annals_server::state(a, domain.clone(), None, annals_server::Limits::default());
    let api = Api::router(annals_server::app(state));
    let listening = async || {
        let since = Instant::now();
        while !b.health().down().is_empty() {
            assert!(since.elapsed() < BACK_WITHIN, "B is down: {:?}", b.health().down());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    listening().await;
    let mut head = b.watch("default");
    let item = Uuid::new_v4();
    api.push_accepted(&[add_item(item, "Millet", 0)]).await;
    let noticed = tokio::time::timeout(DELIVERY, head.wait_for(|head| *head == 1)).await.is_ok();
    assert!(noticed, "B did not hear of A's first commit");

    let admin = postgres(&cluster.admin_url()).await;
    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .await
        .expect("refuse connections");
    let sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
               WHERE application_name = 'annals-test-b'";
    let ended: i64 = admin.query_one(sql, &[]).await.expect("end B's sessions").get(0);
    assert!(ended >= 6, "B's writer, four readers and listener: {ended}");
    let since = Instant::now();
    while !b.health().down().iter().any(|(part, _)| *part == Part::Listener) {
        assert!(since.elapsed() < BACK_WITHIN, "B's listener did not notice");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let reply = api.push_accepted(&[receive(item, SITE, 1), receive(item, SITE, 2)]).await;
    assert_eq!(reply["head"], 3);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(*head.borrow_and_update(), 1, "B heard of A's commit: no notice was missed");

    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .expect("allow connections");
    let caught_up =
        tokio::time::timeout(BACK_WITHIN, head.wait_for(|head| *head == 3)).await.is_ok();
    assert!(caught_up, "B's head stayed at {} after it could connect again", *head.borrow());
    listening().await;
    b.check().await.expect("B reads again");
    assert!(b.health().reconnects(Part::Listener) >= 1);
}
