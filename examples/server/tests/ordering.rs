//! PostgreSQL only: positions stay gap-free in commit order with writers on two nodes (two
//! stores on one database) and, alongside them, transactions that lock the tenant's row, write
//! an event at the next position and roll back. A subscriber on each node reads the live log
//! up to the head and sees every committed event exactly once, in position order.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use annals_core::Uuid;
use common::*;
use serde_json::Value;

const WRITERS: usize = 4;
const PUSHES: usize = 25;
const ROLLERS: usize = 2;
const SITE: &str = "crossroads";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gap_free_under_concurrent_writers_and_rollbacks_postgres() {
    run_scenario(gap_free(&Backend::Postgres)).await;
}

/// Locks the tenant's row, writes an event at the next position, holds the lock a moment and
/// rolls back: over and over until told to stop. Returns how many it rolled back.
async fn roll_back(url: String, stop: Arc<AtomicBool>) -> usize {
    let mut client = postgres::connect(&url).await;
    let mut rng = Rng::new();
    let mut rolled_back = 0;
    while !stop.load(Ordering::Relaxed) {
        let tx = client.transaction().await.expect("begin");
        let head: i64 = tx
            .query_one("SELECT head FROM tenants WHERE tenant = $1 FOR UPDATE", &[&"default"])
            .await
            .expect("lock the tenant")
            .get(0);
        tx.execute(
            "INSERT INTO events (tenant, position, stream, version, id, type, schema, data, meta) \
             VALUES ($1, $2, 'item-rolled-back', 1, gen_random_uuid(), 'ItemRetired', 1, \
             '{}', '{}')",
            &[&"default", &(head + 1)],
        )
        .await
        .expect("write an event that will not be");
        tx.execute("UPDATE tenants SET head = $2 WHERE tenant = $1", &[&"default", &(head + 1)])
            .await
            .expect("move the head for a moment");
        tokio::time::sleep(Duration::from_millis(rng.below(4))).await;
        tx.rollback().await.expect("roll back");
        rolled_back += 1;
    }
    rolled_back
}

async fn gap_free(backend: &Backend) {
    let db = backend.database().await;
    let nodes = [db.app::<Inventory>().await, db.app::<Inventory>().await];
    let served = [nodes[0].serve().await, nodes[1].serve().await];
    let items: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
    let setup: Vec<Value> = items.iter().map(|item| add_item(*item, "Corn", 0)).collect();
    nodes[0].api.push_accepted(&setup).await;
    let mut subscribers = [served[0].api.subscribe(0).await, served[1].api.subscribe(0).await];

    let stop = Arc::new(AtomicBool::new(false));
    let rollers: Vec<_> =
        (0..ROLLERS).map(|_| tokio::spawn(roll_back(db.url.clone(), stop.clone()))).collect();
    let accepted = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let apis = [nodes[0].api.clone(), nodes[1].api.clone()];
            let (items, accepted) = (items.clone(), accepted.clone());
            tokio::spawn(async move {
                let mut rng = Rng::new();
                let mut events = Vec::new();
                for push in 0..PUSHES {
                    let batch: Vec<Value> = (0..1 + rng.below(3))
                        .map(|_| {
                            receive(items[rng.below(4) as usize], SITE, 1 + rng.below(9) as i64)
                        })
                        .collect();
                    let reply = apis[(writer + push) % 2].push_accepted(&batch).await;
                    for result in reply["results"].as_array().expect("results") {
                        events.extend(result["events"].as_array().expect("events").iter().cloned());
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                }
                events
            })
        })
        .collect();
    let mut recorded = Vec::new();
    for writer in writers {
        recorded.extend(writer.await.expect("a writer"));
    }
    stop.store(true, Ordering::Relaxed);
    let mut rolled_back = 0;
    for roller in rollers {
        rolled_back += roller.await.expect("a roller");
    }
    assert!(rolled_back > 0, "no transaction was rolled back alongside the writers");

    let (log, head) = nodes[1].api.log().await;
    assert_whole_log(&log, head);
    assert_eq!(head as usize, items.len() + accepted.load(Ordering::Relaxed));
    assert!(
        log.iter().all(|e| e["stream"] != "item-rolled-back"),
        "a rolled-back event is in the log"
    );
    for event in &recorded {
        assert_eq!(
            &log[position(event) as usize - 1],
            event,
            "an accepted event is not in the log"
        );
    }

    // Each subscriber saw every event once, in order, exactly as the log has it.
    for subscriber in &mut subscribers {
        let mut seen = Vec::new();
        while seen.len() < log.len() {
            let Some(event) = subscriber.next_within(Duration::from_secs(20)).await else {
                panic!("the subscription stalled after {} of {} events", seen.len(), log.len());
            };
            let envelope: Value = serde_json::from_str(&event.data).expect("an envelope");
            assert_eq!(event.id, Some(position(&envelope).to_string()), "id: is the position");
            seen.push(envelope);
        }
        assert_eq!(seen, log, "a subscriber's events differ from the log");
        assert!(subscriber.next_within(Duration::from_millis(200)).await.is_none());
    }
}
