//! Tokens × endpoints × tenants: every endpoint but the probes (`/healthz`, `/healthz/live`,
//! `/healthz/ready`) refuses a request without a valid token carrying the scope it needs,
//! with a JSON error and without touching data; a token is valid from its `nbf` to its
//! `exp`, give or take a minute of clock leeway, and its scheme may be written in any case;
//! one tenant never sees another's log, streams, views or live events; and the binary
//! refuses a secret under 32 bytes.

mod common;

use std::time::Duration;

use annals_core::Uuid;
use annals_server::Limits;
use annals_server::auth::{CLOCK_LEEWAY_SECONDS, Keys, Scope};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use serde_json::{Value, json};

on_both_backends!(token_matrix => token_matrix_sqlite, token_matrix_postgres);
on_both_backends!(tenant_isolation => tenant_isolation_sqlite, tenant_isolation_postgres);

const SITE: &str = "crossroads";

/// One endpoint: method, path, body, and the scope it needs.
struct Endpoint {
    method: &'static str,
    path: String,
    body: Option<Value>,
    needs: Scope,
}

fn endpoints(item: Uuid) -> Vec<Endpoint> {
    let stream = item_stream(item);
    let get = |path: String, needs| Endpoint { method: "GET", path, body: None, needs };
    vec![
        Endpoint {
            method: "POST",
            path: "/v1/commands".into(),
            body: Some(json!({ "commands": [receive(item, SITE, 1)] })),
            needs: Scope::Write,
        },
        get("/v1/events".into(), Scope::Read),
        get("/v1/subscribe?after=0".into(), Scope::Read),
        get(format!("/v1/streams/{stream}"), Scope::Read),
        get(format!("/v1/streams/{stream}/state"), Scope::Read),
        Endpoint {
            method: "POST",
            path: format!("/v1/streams/{stream}/events"),
            body: Some(json!({ "expected_version": "any", "events": [received_event(SITE, 1)] })),
            needs: Scope::Admin,
        },
        get("/v1/views/stock".into(), Scope::Read),
        get(format!("/v1/views/stock/{item}"), Scope::Read),
        get("/metrics".into(), Scope::Admin),
        get("/v1/openapi.json".into(), Scope::Read),
    ]
}

/// An unsigned token (`alg: none`) with valid claims.
fn unsigned(tenant: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let claims = json!({ "sub": "mallory", "tenant": tenant, "scopes": ["read", "write", "admin"],
                         "exp": now_seconds() + 3600 });
    format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
}

/// A valid token with its claims swapped for another tenant's, keeping the signature.
fn forged(tenant: &str) -> String {
    let genuine = token("north", &ALL_SCOPES);
    let parts: Vec<&str> = genuine.split('.').collect();
    let claims = json!({ "sub": "mallory", "tenant": tenant, "scopes": ["read", "write", "admin"],
                         "exp": now_seconds() + 3600 });
    format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2])
}

/// Authorization headers, each named by what it holds.
struct Authorizations {
    /// Those no endpoint accepts (401); `None` sends no header.
    refused: Vec<(&'static str, Option<String>)>,
    /// Those every endpoint accepts when the token has the scope it needs.
    accepted: Vec<(&'static str, String)>,
}

/// The token states of the matrix. Made again for each endpoint, so the states near the
/// leeway's edges keep their margin however long the matrix runs.
fn authorizations() -> Authorizations {
    let now = now_seconds();
    let leeway = CLOCK_LEEWAY_SECONDS;
    let good = token("north", &ALL_SCOPES);
    let bearer = |token: String| Some(format!("Bearer {token}"));
    let truncated = good[..good.len() - 5].to_owned();
    let no_signature = good[..good.rfind('.').expect("a dot")].to_owned();
    let valid = |exp| token_with(SECRET, "north", &ALL_SCOPES, exp);
    let between = |nbf, exp| token_between(SECRET, "north", &ALL_SCOPES, nbf, exp);
    let refused = vec![
        ("no token", None),
        ("expired an hour ago", bearer(valid(now - 3600))),
        ("expired just beyond the leeway", bearer(valid(now - leeway - 10))),
        ("nbf in the future", bearer(between(now + 3600, now + 7200))),
        ("nbf just beyond the leeway", bearer(between(now + leeway + 10, now + 3600))),
        ("bad signature", bearer(token_with(ANOTHER_SECRET, "north", &ALL_SCOPES, now + 3600))),
        ("forged claims", bearer(forged("south"))),
        ("unsigned", bearer(unsigned("north"))),
        ("truncated signature", bearer(truncated)),
        ("no signature", bearer(no_signature)),
        ("malformed", Some("Bearer not-a-token".into())),
        ("malformed parts", Some("Bearer a.b.c".into())),
        ("malformed base64", Some("Bearer !!!.@@@.###".into())),
        ("empty bearer", Some("Bearer ".into())),
        ("another scheme", Some(format!("Basic {good}"))),
        ("no scheme", Some(good.clone())),
    ];
    let accepted = vec![
        ("nbf in the past", format!("Bearer {}", between(now - 600, now + 3600))),
        ("nbf within the leeway", format!("Bearer {}", between(now + leeway / 2, now + 3600))),
        ("expired within the leeway", format!("Bearer {}", valid(now - leeway / 2))),
        ("lower-case scheme", format!("bearer {good}")),
        ("upper-case scheme", format!("BEARER {good}")),
    ];
    Authorizations { refused, accepted }
}

/// A secret other than [`SECRET`], as long as a secret must be.
const ANOTHER_SECRET: &str = "another secret, also 32 bytes or more";

async fn token_matrix(backend: &Backend) {
    let db = backend.database().await;
    let app = db.app_with::<Inventory>(Some(keys()), Limits::default()).await;
    let owner = app.api.with_token(&token("north", &ALL_SCOPES));
    let item = Uuid::new_v4();
    owner.push_accepted(&[add_item(item, "Jam", 0), receive(item, SITE, 9)]).await;
    let before = owner.log().await;

    for endpoint in endpoints(item) {
        let body = endpoint.body.as_ref().map(|b| b.to_string().into_bytes());
        let call = |authorization: Option<String>| {
            let (api, body) = (app.api.clone(), body.clone());
            let (method, path) = (endpoint.method, endpoint.path.clone());
            async move {
                let headers: Vec<(&str, &str)> =
                    authorization.iter().map(|a| ("Authorization", a.as_str())).collect();
                api.send(method, &path, &headers, body.as_deref()).await
            }
        };
        // Token states that are not a valid token at all, or not at this time: 401.
        let Authorizations { refused, accepted } = authorizations();
        for (state, authorization) in refused {
            let reply = call(authorization).await;
            let what = format!("{} {} with {state}", endpoint.method, endpoint.path);
            assert_eq!(reply.status, 401, "{what}: {}", reply.text());
            assert_eq!(error_code(&reply), "unauthorized", "{what}");
            assert!(!reply.text().contains(&item.to_string()), "{what} leaks data");
        }
        // Valid tokens without the needed scope: 403.
        let others: Vec<Scope> = ALL_SCOPES.into_iter().filter(|s| *s != endpoint.needs).collect();
        for scopes in [vec![], others] {
            let reply = call(Some(format!("Bearer {}", token("north", &scopes)))).await;
            let what = format!("{} {} with scopes {scopes:?}", endpoint.method, endpoint.path);
            assert_eq!(reply.status, 403, "{what}: {}", reply.text());
            assert_eq!(error_code(&reply), "forbidden", "{what}");
        }
        // With the scope it needs, or a token valid give or take the clock leeway, or the
        // scheme in another case, it answers (a subscription is an endless stream: skipped).
        if !endpoint.path.starts_with("/v1/subscribe") {
            let needed = format!("Bearer {}", token("north", &[endpoint.needs]));
            for (state, authorization) in
                [("the scope it needs", needed)].into_iter().chain(accepted)
            {
                let reply = call(Some(authorization)).await;
                let what = format!("{} {} with {state}", endpoint.method, endpoint.path);
                assert_eq!(reply.status, 200, "{what}: {}", reply.text());
            }
        }
    }
    for (probe, status) in
        [("/healthz", "ok"), ("/healthz/live", "ok"), ("/healthz/ready", "ready")]
    {
        let health = app.api.get(probe).await;
        assert_eq!(health.json()["status"], status, "{probe} needs no token");
    }

    // The refused writes wrote nothing; the accepted ones, each sent again and again with
    // the same command id or event id, wrote once each.
    let (events, head) = owner.log().await;
    assert_eq!(head, before.1 + 2);
    assert_eq!(&events[..before.0.len()], &before.0[..]);
}

/// A token refused by its time says which claim, and what the server's clock reads.
#[test]
fn a_token_refused_for_its_time_says_why() {
    run_scenario_blocking(time_messages());
}

async fn time_messages() {
    let db = Backend::Sqlite.database().await;
    let app = db.app_with::<Inventory>(Some(keys()), Limits::default()).await;
    let now = now_seconds();
    let early = token_between(SECRET, "north", &ALL_SCOPES, now + 3600, now + 7200);
    let reply = app.api.with_token(&early).get("/v1/events").await;
    assert_error(&reply, 401, "unauthorized");
    let message = reply.json()["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("not valid yet"), "{message}");
    assert!(message.contains(&format!("its nbf is {}", now + 3600)), "{message}");
    let late = token_with(SECRET, "north", &ALL_SCOPES, now - 3600);
    let reply = app.api.with_token(&late).get("/v1/events").await;
    assert_error(&reply, 401, "unauthorized");
    assert!(reply.text().contains("expired"), "{}", reply.text());
}

async fn tenant_isolation(backend: &Backend) {
    let db = backend.database().await;
    let app = db.app_with::<Inventory>(Some(keys()), Limits::default()).await;
    let server = app.serve().await;
    let north = server.api.with_token(&token("north", &ALL_SCOPES));
    let south = server.api.with_token(&token("south", &ALL_SCOPES));
    let mut south_live = south.subscribe(0).await;
    let mut north_live = north.subscribe(0).await;

    let item = Uuid::new_v4();
    let stream = item_stream(item);
    let north_commands = [add_item(item, "Honey", 5), receive(item, SITE, 3)];
    north.push_accepted(&north_commands).await;
    let appended = north.append(&stream, json!(2), &[received_event(SITE, 1)]).await.ok();
    assert_eq!(appended["positions"], json!([3]));
    let north_log = north.log().await;
    assert_eq!(north_log.1, 3);

    // South sees none of it.
    assert_eq!(south.get("/v1/events").await.ok(), json!({ "events": [], "head": 0 }));
    assert_error(&south.get(&format!("/v1/streams/{stream}")).await, 404, "stream_not_found");
    let state = south.get(&format!("/v1/streams/{stream}/state")).await;
    assert_error(&state, 404, "stream_not_found");
    let state_at = south.get(&format!("/v1/streams/{stream}/state?at=1")).await;
    assert_error(&state_at, 404, "stream_not_found");
    let nothing = json!({ "position": 0, "value": {}, "next": null });
    assert_eq!(south.view("stock").await, nothing);
    assert_eq!(south.view("low_stock").await, nothing);
    assert_eq!(south.view("activity").await, json!({ "position": 0, "value": null, "next": null }));
    assert_eq!(south.view("history").await, nothing);
    for view in ["stock", "low_stock", "history"] {
        let row = south.get(&format!("/v1/views/{view}/{item}")).await;
        assert_error(&row, 404, "row_not_found");
    }

    // South reusing north's command id gets its own decision, not north's result: south has
    // no such item.
    let reused = south.push(&north_commands[1..]).await.ok();
    assert_eq!(reused["results"][0]["status"], "rejected", "{reused}");
    assert_eq!(reused["results"][0]["code"], "unknown_item");
    // South's own stream of the same name is its own, and starts empty.
    let own = south
        .append(
            &stream,
            json!("no_stream"),
            &[json!({ "id": Uuid::new_v4(), "type": "ItemAdded",
            "data": { "name": "South honey", "unit": "jar", "reorder_level": 0 } })],
        )
        .await
        .ok();
    assert_eq!(own, json!({ "first_version": 1, "last_version": 1, "positions": [1] }));
    south.push_accepted(&[receive(item, "south-site", 2)]).await;

    // North is untouched.
    assert_eq!(north.log().await, north_log);
    let north_state = north.get(&format!("/v1/streams/{stream}/state")).await.ok();
    assert_eq!(north_state["state"]["name"], "Honey");
    assert_eq!(north_state["state"]["stock"], json!({ SITE: 4 }));

    // Each live subscription carries its own tenant's events only.
    let south_log = south.log().await;
    assert_eq!(south_log.1, 2);
    for (live, (log, _)) in [(&mut south_live, &south_log), (&mut north_live, &north_log)] {
        for expected in log {
            let event = live.next_within(Duration::from_secs(10)).await.expect("a live event");
            let event: Value = serde_json::from_str(&event.data).expect("an envelope");
            assert_eq!(&event, expected);
        }
        assert!(live.next_within(Duration::from_millis(300)).await.is_none(), "an extra event");
    }
}

/// A run of the binary: its arguments and variables.
type Run<'a> = (Vec<&'a str>, &'a [(&'a str, &'a str)]);

/// `serve` and `token` refuse a secret under 32 bytes, from the flag or the variable, before
/// anything else, saying how to make a good one; a 32-byte secret signs tokens it verifies.
#[test]
fn the_binary_refuses_a_secret_under_32_bytes() {
    let dir = TempDir::new("annals-short-secret");
    let file = dir.path().join("annals.db");
    let database = format!("sqlite://{}", file.display());
    let listen = format!("127.0.0.1:{}", free_port());
    let serve = ["serve", "--listen", &listen, "--database", &database, "--domain", "inventory"];
    let short = "short";
    let in_env = [("ANNALS_AUTH_SECRET", short)];
    let runs: Vec<Run<'_>> = vec![
        ([&serve[..], &["--auth-secret", short]].concat(), &[]),
        (serve.to_vec(), &in_env),
        (vec!["token", "--auth-secret", short], &[]),
        (vec!["token"], &in_env),
        (vec!["token", "--auth-secret", &SECRET[..31]], &[]),
    ];
    for (args, env) in runs {
        let output = run_binary(&args, env);
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} {env:?} succeeded: {said}");
        assert!(said.starts_with("annals-server: refusing --auth-secret"), "{args:?}: {said}");
        assert!(said.contains("fewer than the 32 it needs"), "{args:?}: {said}");
        assert!(said.contains("openssl rand -base64 32"), "{args:?}: {said}");
        assert!(output.stdout.is_empty(), "{args:?} printed a token");
    }
    assert!(!file.exists(), "serve opened the database before refusing the secret");

    let secret = &SECRET[..32];
    let output = run_binary(&["token", "--auth-secret", secret, "--tenant", "north"], &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let minted = String::from_utf8(output.stdout).expect("a token is text");
    let keys = Keys::new(secret).expect("32 bytes are enough");
    let caller = keys.verify(minted.trim(), now_seconds()).expect("the token verifies");
    assert_eq!(caller.tenant, "north");
}
