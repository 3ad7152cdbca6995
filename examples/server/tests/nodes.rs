//! PostgreSQL only: two server processes on one database. A command sent through either one
//! reaches the other's live subscribers within a few seconds, well before the periodic
//! re-read that would otherwise find it, so the nodes notify each other.

mod common;

use std::time::Duration;

use annals_core::Uuid;
use common::*;
use serde_json::Value;

/// Well under the subscriptions' fallback re-read (5 s): a delivery in time came by notice.
const DELIVERY: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_through_one_node_reaches_the_other_postgres() {
    run_scenario(two_nodes(&Backend::Postgres)).await;
}

/// The next event of `subscriber`, which must come within `wait` and be `expected`.
async fn delivered(
    subscriber: &mut EventStream,
    wait: Duration,
    expected: &Value,
    node: &ServerProcess,
) {
    let Some(event) = subscriber.next_within(wait).await else {
        panic!("{expected} was not delivered within {wait:?}; the node logged:\n{}", node.log());
    };
    let envelope: Value = serde_json::from_str(&event.data).expect("an envelope");
    assert_eq!(&envelope, expected);
}

async fn two_nodes(backend: &Backend) {
    let db = backend.database().await;
    let logs = TempDir::new("annals-test-nodes");
    let nodes = [
        start_server(&db.url, &[], logs.path()).await,
        start_server(&db.url, &[], logs.path()).await,
    ];
    let mut subscribers = [nodes[0].api.subscribe(0).await, nodes[1].api.subscribe(0).await];
    let item = Uuid::new_v4();

    // A first command with a generous wait: a node starts listening for notices in the
    // background as it starts, so this one may still come by the periodic re-read.
    let reply = nodes[0].api.push_accepted(&[add_item(item, "Tea", 0)]).await;
    let event = &reply["results"][0]["events"][0];
    for (subscriber, node) in subscribers.iter_mut().zip(&nodes) {
        delivered(subscriber, Duration::from_secs(15), event, node).await;
    }

    // Then through one node and the other in turn, each seen on both within `DELIVERY`.
    for round in 0..4 {
        let sender = round % 2;
        let reply = nodes[sender].api.push_accepted(&[receive(item, "crossroads", 5)]).await;
        let event = &reply["results"][0]["events"][0];
        for node in [1 - sender, sender] {
            delivered(&mut subscribers[node], DELIVERY, event, &nodes[node]).await;
        }
    }
}
