//! What a hostile web page can do to a server on the user's machine: nothing. Cross-site
//! "simple" writes (text/plain or form bodies, sent with no preflight) are refused, and so
//! is any request from an origin that is neither the server's own nor allowed; a page whose
//! name was rebound to 127.0.0.1 (DNS rebinding) is refused by its Host. Allowed origins pass
//! their CORS preflight, and names given with `--allowed-host` are served.

mod common;

use annals_core::Uuid;
use annals_server::Limits;
use common::*;
use serde_json::json;

on_both_backends!(cross_site_writes => cross_site_writes_sqlite, cross_site_writes_postgres);
on_both_backends!(dns_rebinding => dns_rebinding_sqlite, dns_rebinding_postgres);
on_both_backends!(preflights => preflights_sqlite, preflights_postgres);
on_both_backends!(allowed_hosts => allowed_hosts_sqlite, allowed_hosts_postgres);

const EVIL: &str = "http://evil.example";

fn push_body(item: Uuid) -> Vec<u8> {
    json!({ "commands": [add_item(item, "Flour", 1)] }).to_string().into_bytes()
}

async fn cross_site_writes(backend: &Backend) {
    let db = backend.database().await;
    let app = db.app::<Inventory>().await;
    let served = app.serve().await;
    let api = &served.api;
    let item = Uuid::new_v4();
    let body = push_body(item);
    let append = json!({ "expected_version": "any", "events": [received_event("north", 1)] });
    let append = append.to_string().into_bytes();
    let stream = format!("/v1/streams/{}/events", item_stream(item));

    // What `fetch(url, {mode: "no-cors", method: "POST", body})` or a form sends: a simple
    // request with no preflight, from another site.
    for content_type in
        ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded"]
    {
        let headers = [("Origin", EVIL), ("Content-Type", content_type)];
        let reply = api.send("POST", "/v1/commands", &headers, Some(&body)).await;
        assert_error(&reply, 403, "forbidden_origin");
        // Even with no Origin (an old browser, a proxy that drops it), no body but JSON is read.
        let reply = api.send("POST", "/v1/commands", &headers[1..], Some(&body)).await;
        assert_error(&reply, 415, "unsupported_media_type");
        assert!(
            reply.json()["error"]["message"].as_str().is_some_and(|m| m.contains(content_type))
        );
        let reply = api.send("POST", &stream, &headers[1..], Some(&append)).await;
        assert_error(&reply, 415, "unsupported_media_type");
    }
    let reply = api.send("POST", "/v1/commands", &[("Content-Type", "")], Some(&body)).await;
    assert_error(&reply, 415, "unsupported_media_type");
    // JSON from another origin is refused before anything is decided, and reads are refused
    // before anything is read.
    let reply = api.send("POST", "/v1/commands", &[("Origin", EVIL)], Some(&body)).await;
    assert_error(&reply, 403, "forbidden_origin");
    for path in ["/v1/events", "/v1/views/stock", "/v1/subscribe?after=0", "/metrics"] {
        let reply = api.send("GET", path, &[("Origin", EVIL)], None).await;
        assert_error(&reply, 403, "forbidden_origin");
    }
    let reply = api.send("GET", "/v1/events", &[("Origin", "null")], None).await;
    assert_error(&reply, 403, "forbidden_origin");
    let (events, head) = api.log().await;
    assert_eq!((events.len(), head), (0, 0), "nothing was written");

    // The server's own origin, as its app sends it, is served.
    let own = format!("http://{}", served.addr);
    let headers = [("Origin", own.as_str()), ("Content-Type", "application/json; charset=utf-8")];
    let reply = api.send("POST", "/v1/commands", &headers, Some(&body)).await;
    assert_eq!(reply.ok()["results"][0]["status"], "accepted");
    let reply = api.send("GET", "/v1/events", &headers[..1], None).await;
    assert_eq!(reply.ok()["head"], 1);
}

async fn dns_rebinding(backend: &Backend) {
    let db = backend.database().await;
    let app = db.app::<Inventory>().await;
    let served = app.serve().await;
    let api = &served.api;
    let port = served.addr.port();
    let item = Uuid::new_v4();
    api.push_accepted(&[add_item(item, "Secret recipe", 1)]).await;

    // After a rebinding, the attacker's page is same-origin with the server under its own name.
    let evil_host = format!("evil.example:{port}");
    let evil_origin = format!("http://{evil_host}");
    for path in ["/v1/events", "/v1/views/stock", "/v1/subscribe?after=0", "/v1/openapi.json"] {
        for headers in [
            vec![("Host", evil_host.as_str())],
            vec![("Host", evil_host.as_str()), ("Origin", evil_origin.as_str())],
        ] {
            let reply = api.send("GET", path, &headers, None).await;
            assert_error(&reply, 421, "forbidden_host");
            assert!(!reply.text().contains(&item.to_string()), "{path} leaks the log");
        }
    }
    let headers = [("Host", evil_host.as_str()), ("Origin", evil_origin.as_str())];
    let reply = api.send("POST", "/v1/commands", &headers, Some(&push_body(Uuid::new_v4()))).await;
    assert_error(&reply, 421, "forbidden_host");
    assert_eq!(api.log().await.1, 1, "nothing was written");

    // Names that always mean this machine are served, with or without a port.
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "localhost".to_owned(),
    ] {
        let reply = api.send("GET", "/v1/events", &[("Host", host.as_str())], None).await;
        assert_eq!(reply.ok()["head"], 1, "{host}");
    }
    // A liveness probe reads nothing and is answered whatever the name.
    let reply = api.send("GET", "/healthz", &[("Host", evil_host.as_str())], None).await;
    assert_eq!(reply.status, 200);
}

async fn preflights(backend: &Backend) {
    let db = backend.database().await;
    let app_origin = "http://app.example:5173";
    let limits = Limits { cors_origins: vec![app_origin.to_owned()], ..Limits::default() };
    for token_keys in [None, Some(keys())] {
        let app = db.app_with::<Inventory>(token_keys.clone(), limits.clone()).await;
        let served = app.serve().await;
        let api = &served.api;
        let preflight = |origin: &'static str| {
            let api = api.clone();
            async move {
                let headers = [
                    ("Origin", origin),
                    ("Access-Control-Request-Method", "POST"),
                    ("Access-Control-Request-Headers", "authorization,content-type"),
                ];
                api.send("OPTIONS", "/v1/commands", &headers, None).await
            }
        };
        // An allowed origin's preflight passes, with no token (a preflight never carries one).
        let reply = preflight(app_origin).await;
        assert!(reply.status == 200 || reply.status == 204, "{}: {}", reply.status, reply.text());
        assert_eq!(reply.header("access-control-allow-origin"), Some(app_origin));
        let methods = reply.header("access-control-allow-methods").unwrap_or_default();
        assert!(methods.contains("POST"), "{methods}");
        let allowed = reply.header("access-control-allow-headers").unwrap_or_default();
        assert!(allowed.contains("content-type") && allowed.contains("authorization"), "{allowed}");
        // Another origin's preflight is refused outright.
        assert_error(&preflight(EVIL).await, 403, "forbidden_origin");

        // The allowed origin's request itself.
        let api = match &token_keys {
            Some(_) => api.with_token(&token("default", &ALL_SCOPES)),
            None => api.clone(),
        };
        let body = push_body(Uuid::new_v4());
        let reply = api.send("POST", "/v1/commands", &[("Origin", app_origin)], Some(&body)).await;
        assert_eq!(reply.ok()["results"][0]["status"], "accepted");
        assert_eq!(reply.header("access-control-allow-origin"), Some(app_origin));
    }
}

async fn allowed_hosts(backend: &Backend) {
    let db = backend.database().await;
    // Local mode behind a proxy that sends its own name.
    let limits = Limits { allowed_hosts: vec!["annals.internal".to_owned()], ..Limits::default() };
    let served = db.app_with::<Inventory>(None, limits.clone()).await.serve().await;
    for (host, status) in [
        ("annals.internal:8080", 200),
        ("ANNALS.internal", 200),
        ("localhost", 200),
        ("evil.example", 421),
    ] {
        let reply = served.api.send("GET", "/v1/events", &[("Host", host)], None).await;
        assert_eq!(reply.status, status, "{host}: {}", reply.text());
    }
    // Token mode serves any name, until the operator names the public ones.
    let owner = token("default", &ALL_SCOPES);
    let served = db.app_with::<Inventory>(Some(keys()), Limits::default()).await.serve().await;
    let reply = served
        .api
        .with_token(&owner)
        .send("GET", "/v1/events", &[("Host", "api.example.com")], None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let limits = Limits { allowed_hosts: vec!["api.example.com".to_owned()], ..Limits::default() };
    let served = db.app_with::<Inventory>(Some(keys()), limits).await.serve().await;
    let api = served.api.with_token(&owner);
    for (host, status) in [
        ("api.example.com", 200),
        ("api.example.com:443", 200),
        ("localhost", 421),
        ("evil.example", 421),
    ] {
        let reply = api.send("GET", "/v1/events", &[("Host", host)], None).await;
        assert_eq!(reply.status, status, "{host}: {}", reply.text());
    }
}

/// The flag, through the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_allowed_host_flag_names_more_hosts() {
    run_scenario(async {
        let db = Backend::Sqlite.database().await;
        let logs = TempDir::new("annals-test-hosts");
        let server = start_server(
            &db.url,
            &["--allowed-host", "annals.internal,other.internal"],
            logs.path(),
        )
        .await;
        for (host, status) in
            [("annals.internal", 200), ("other.internal:80", 200), ("evil.example", 421)]
        {
            let reply = server.api.send("GET", "/v1/events", &[("Host", host)], None).await;
            assert_eq!(reply.status, status, "{host}: {}", reply.text());
        }
    })
    .await;
}
