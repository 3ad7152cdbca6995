//! `GET /v1/views/{name}` answers a bounded page of rows in key order, with the key to read
//! the next page after; every row comes once across the pages.

mod common;

use std::collections::BTreeMap;

use annals_core::Uuid;
use annals_server::on_both_backends;
use annals_server::testing::{Backend, assert_error};
use common::*;
use serde_json::Value;

on_both_backends!(pages => pages_sqlite, pages_postgres);

async fn pages(backend: &Backend) {
    let db = backend.database().await;
    let app = db.app::<annals_inventory::Inventory>().await;
    let api = &app.api;
    let items: Vec<Uuid> = (0..25).map(|_| Uuid::new_v4()).collect();
    let adds: Vec<Value> = items.iter().map(|item| add_item(*item, "Jam", 0)).collect();
    api.push_accepted(&adds).await;

    // Pages of 10: 10, 10, 5, each in key order, the cursor the last key of the page.
    let mut seen = BTreeMap::new();
    let mut after: Option<String> = None;
    let mut sizes = Vec::new();
    loop {
        let path = match &after {
            Some(key) => format!("/v1/views/stock?limit=10&after={key}"),
            None => "/v1/views/stock?limit=10".to_owned(),
        };
        let page = api.get(&path).await.ok();
        assert_eq!(page["position"], 25, "{page}");
        let rows = page["value"].as_object().expect("rows by key");
        let keys: Vec<&String> = rows.keys().collect();
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]), "in key order: {keys:?}");
        sizes.push(rows.len());
        for (key, row) in rows {
            assert!(seen.insert(key.clone(), row.clone()).is_none(), "{key} came twice");
        }
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(
                    Some(&next.to_owned()),
                    keys.last().copied(),
                    "the cursor is the last key"
                );
                after = Some(next.to_owned());
            }
            None => {
                assert!(page["next"].is_null());
                break;
            }
        }
    }
    assert_eq!(sizes, [10, 10, 5]);
    let mut expected: Vec<String> = items.iter().map(Uuid::to_string).collect();
    expected.sort();
    assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), expected);

    // By default a page holds up to 1,000 rows: all 25 here, and no next page.
    let whole = api.get("/v1/views/stock").await.ok();
    assert_eq!(whole["value"].as_object().map(|rows| rows.len()), Some(25));
    assert!(whole["next"].is_null());
    // A single-value view is one value, whatever the page.
    let activity = api.get("/v1/views/activity?limit=1").await.ok();
    assert!(activity["value"].is_array() || activity["value"].is_object(), "{activity}");

    for bad in ["limit=0", "limit=10001", "limit=ten", "after=%00", "after=a%0Ab"] {
        let reply = api.get(&format!("/v1/views/stock?{bad}")).await;
        assert_error(&reply, 400, "invalid_parameter");
    }
}
