//! A domain whose code panics: its rules on one command, its fold on one event. The writer
//! survives on both backends: a command whose rules panic is refused (`rules_failed`) and
//! the others of its push are decided; a request whose events the fold panics on is answered
//! 500 `internal_error`, nothing of it is recorded, and the requests committed with it, and
//! every one after it, are recorded as if it had never come.

use annals_core::{Change, Command, Context, Domain, Event, Json, Rejection, Uuid, stream_name};
use annals_server::on_both_backends;
use annals_server::testing::{Api, Backend, command, error_code};
use serde_json::{Value, json};

/// Counters that hold any count but 13 (the rules panic) and never reach 7 (the fold does).
#[derive(Clone, Debug, Default, PartialEq)]
struct Fragile;

/// Add to a counter.
#[derive(Clone, Debug, PartialEq, Command)]
enum FragileCommand {
    /// Add `by` to the counter.
    Add {
        /// The counter.
        counter: Uuid,
        /// How much.
        by: i64,
    },
}

/// A counter grew.
#[derive(Clone, Debug, PartialEq, Event)]
enum FragileEvent {
    /// It grew by `by`.
    Added {
        /// How much.
        by: i64,
    },
}

/// A counter's total.
#[derive(Clone, Debug, Default, PartialEq, Json)]
struct Total {
    /// The sum so far.
    total: i64,
}

/// The one refusal: a negative amount.
#[derive(Clone, Debug, PartialEq, Rejection)]
enum Never {
    /// Counters only grow.
    #[rejection("A counter only grows.")]
    Shrinks,
}

impl Domain for Fragile {
    const NAME: &'static str = "fragile";
    const CATEGORY: &'static str = "counter";
    const STATE_VERSION: u32 = 1;

    type Command = FragileCommand;
    type Event = FragileEvent;
    type State = Total;
    type Rejection = Never;

    fn streams(command: &FragileCommand) -> Vec<String> {
        let FragileCommand::Add { counter, .. } = command;
        vec![stream_name(Self::CATEGORY, counter)]
    }

    fn decide(
        command: &FragileCommand,
        context: &Context<'_, Self>,
    ) -> Result<Vec<Change<FragileEvent>>, Never> {
        let FragileCommand::Add { by, .. } = command;
        assert!(*by != 13, "thirteen is unlucky");
        if *by < 0 {
            return Err(Never::Shrinks);
        }
        Ok(vec![context.stream(0).append(FragileEvent::Added { by: *by })])
    }

    fn evolve(state: &mut Total, event: &FragileEvent) {
        let FragileEvent::Added { by } = event;
        state.total += by;
        assert!(state.total != 7, "a total of seven");
    }
}

fn add(counter: Uuid, by: i64) -> Value {
    command("Add", json!({ "counter": counter, "by": by }))
}

/// The log's events, as `(stream, by)`.
async fn recorded(api: &Api) -> Vec<(String, i64)> {
    let page = api.get("/v1/events?after=0").await.ok();
    let events = page["events"].as_array().expect("events").iter();
    events
        .map(|e| {
            (e["stream"].as_str().unwrap_or("").to_owned(), e["data"]["by"].as_i64().unwrap_or(0))
        })
        .collect()
}

async fn the_writer_outlives_a_panicking_domain(backend: &Backend) {
    let db = backend.database().await;
    let app = db.app::<Fragile>().await;
    let api = &app.api;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let (stream_a, stream_b) = (stream_name("counter", &a), stream_name("counter", &b));

    // The rules panic on 13: that command is refused, the others of the push are recorded.
    let reply = api.push(&[add(a, 2), add(a, 13), add(b, 1)]).await.ok();
    let statuses: Vec<&str> = reply["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(statuses, ["accepted", "rejected", "accepted"], "{reply}");
    assert_eq!(reply["results"][1]["code"], "rules_failed");
    assert!(
        reply["results"][1]["message"].as_str().is_some_and(|m| m.contains("thirteen is unlucky")),
        "{reply}"
    );

    // The fold panics on a total of 7: that push is answered 500 and records nothing.
    let broken = api.push(&[add(b, 1), add(a, 5)]).await;
    assert_eq!(broken.status, 500, "{}", broken.text());
    assert_eq!(error_code(&broken), "internal_error");
    assert!(broken.header("retry-after").is_none(), "sending it again would fail again");
    assert_eq!(recorded(api).await, [(stream_a.clone(), 2), (stream_b.clone(), 1)]);

    // Pushes sent at the same time as one the fold panics on, and every one after, commit.
    let c = Uuid::new_v4();
    let batches = [[add(b, 10)], [add(a, 5)], [add(c, 1)]];
    let (first, second, third) =
        tokio::join!(api.push(&batches[0]), api.push(&batches[1]), api.push(&batches[2]));
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(second.status, 500, "{}", second.text());
    assert_eq!(third.status, 200, "{}", third.text());
    let after = api.push(&[add(b, 3)]).await.ok();
    assert_eq!(after["results"][0]["status"], "accepted", "{after}");
    let totals: i64 = recorded(api).await.iter().map(|(_, by)| by).sum();
    assert_eq!(totals, 2 + 1 + 10 + 1 + 3);
    let ready = api.get("/healthz/ready").await;
    assert_eq!(ready.status, 200, "{}", ready.text());
}

on_both_backends!(the_writer_outlives_a_panicking_domain => the_writer_outlives_a_panicking_domain_sqlite, the_writer_outlives_a_panicking_domain_postgres);
