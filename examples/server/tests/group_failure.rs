//! A database error in one request of a group commit fails that request alone: the others
//! committed with it are committed and answered. The error is forced by a trigger that only
//! writes to one stream break.

mod common;

use annals_core::Uuid;
use common::*;
use serde_json::Value;

on_both_backends!(one_bad_request => one_bad_request_sqlite, one_bad_request_postgres);

const POISON: Uuid = Uuid::from_u128(0xbad);

/// Makes every insert of an event of `stream` fail in the database.
async fn poison(url: &str, stream: &str) {
    if let Some(path) = sqlite_path(url) {
        let sql = format!(
            "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.stream = '{stream}' \
             BEGIN SELECT RAISE(ABORT, 'poisoned stream'); END;"
        );
        sqlite(path).execute_batch(&sql).expect("the trigger");
    } else {
        let client = postgres(url).await;
        let sql = format!(
            "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN \
               IF NEW.stream = '{stream}' THEN RAISE EXCEPTION 'poisoned stream'; END IF; \
               RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION poison();"
        );
        client.batch_execute(&sql).await.expect("the trigger");
    }
}

async fn one_bad_request(backend: &Backend) {
    let db = backend.database().await;
    let app = db.app::<Inventory>().await;
    poison(&db.url, &item_stream(POISON)).await;
    let mut accepted = 0;
    // Many concurrent pushes, so that the writer commits several in one transaction; each
    // round has one that writes to the poisoned stream.
    for round in 0..5 {
        let mut pushes = Vec::new();
        for n in 0..40 {
            let item = if n == 20 { POISON } else { Uuid::new_v4() };
            let api = app.api.clone();
            pushes.push(tokio::spawn(async move {
                (item, api.push(&[add_item(item, "Jam", 0)]).await)
            }));
        }
        for push in pushes {
            let (item, reply) = push.await.expect("the push ran");
            if item == POISON {
                assert_error(&reply, 503, "unavailable");
            } else {
                let body: Value = reply.ok();
                assert_eq!(body["results"][0]["status"], "accepted", "round {round}: {body}");
                accepted += 1;
            }
        }
    }
    let (events, head) = app.api.log().await;
    assert_eq!(events.len(), accepted);
    assert_eq!(head, accepted as u64);
    assert_whole_log(&events, head);
    assert!(events.iter().all(|e| e["stream"] != item_stream(POISON)));
}
