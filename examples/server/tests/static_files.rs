//! The app's static files (`--static DIR`): each with its content type; hashed assets cached
//! for a year and every other file revalidated, with a 304 for a conditional request; the
//! app's shell for its routes; nothing outside the folder; the API's paths left to the API;
//! and the Host/Origin guard in front of the files as in front of the API.

mod common;

use std::path::PathBuf;

use annals_server::Limits;
use annals_server::routes::with_static;
use common::*;

const SHELL: &str = "<!doctype html><meta charset=utf-8><title>Cafeteria stock</title>";
const SCRIPT: &str = "export const answer = 42;\n";
const MODULE: &[u8] = b"\0asm\x01\0\0\0";
const STYLE: &str = "body { margin: 0 }\n";
const WORKER: &str = "self.addEventListener('fetch', () => {});\n";
const MANIFEST: &str = r#"{"name": "Cafeteria stock", "start_url": "/"}"#;
const ICON: &str = r#"<svg xmlns="http://www.w3.org/2000/svg"/>"#;
/// What sits beside the app's folder and must never be served.
const SECRET: &str = "[package]\nname = \"not-for-the-web\"\n";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

/// A built app in `app/` of a temporary folder, as Vite lays it out (hashed files under
/// `assets/`), with a `Cargo.toml` beside it that no request may reach.
struct Built {
    root: TempDir,
}

impl Built {
    fn new() -> Built {
        let root = TempDir::new("annals-test-static");
        let files: [(&str, &[u8]); 8] = [
            ("Cargo.toml", SECRET.as_bytes()),
            ("app/index.html", SHELL.as_bytes()),
            ("app/assets/app-abc123.js", SCRIPT.as_bytes()),
            ("app/assets/mod-abc123.wasm", MODULE),
            ("app/assets/index-abc123.css", STYLE.as_bytes()),
            ("app/sw.js", WORKER.as_bytes()),
            ("app/manifest.webmanifest", MANIFEST.as_bytes()),
            ("app/icon.svg", ICON.as_bytes()),
        ];
        for (path, bytes) in files {
            let path = root.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("create a folder");
            std::fs::write(&path, bytes).expect("write a file");
        }
        Built { root }
    }

    fn dir(&self) -> PathBuf {
        self.root.path().join("app")
    }

    /// The inventory's server in process, in local mode unless `keys` are given, serving the
    /// app.
    async fn serve(&self, db: &Database, keys: Option<annals_server::auth::Keys>) -> TestApp {
        let limits = Limits { allowed_hosts: vec!["app.example".to_owned()], ..Limits::default() };
        let app = db.app_with::<Inventory>(keys, limits).await;
        let router = with_static(app.router.clone(), self.dir());
        TestApp { api: Api::router(router.clone()), router, store: app.store }
    }
}

/// What a static path must answer: status, content type, `Cache-Control` and body.
struct Expected {
    status: u16,
    content_type: Option<&'static str>,
    cache: &'static str,
    body: &'static [u8],
}

const fn file(content_type: &'static str, cache: &'static str, body: &'static [u8]) -> Expected {
    Expected { status: 200, content_type: Some(content_type), cache, body }
}

const SHELL_PAGE: Expected = file("text/html; charset=utf-8", NO_CACHE, SHELL.as_bytes());
const MISSING: Expected = Expected { status: 404, content_type: None, cache: NO_CACHE, body: b"" };

#[track_caller]
fn check(reply: &Reply, path: &str, expected: &Expected) {
    assert_eq!(reply.status, expected.status, "{path}: {}", reply.text());
    assert_eq!(reply.header("content-type"), expected.content_type, "{path}");
    assert_eq!(reply.header("cache-control"), Some(expected.cache), "{path}");
    assert_eq!(reply.body, expected.body, "{path}");
}

/// Every kind of file, over a real socket: its type, its caching, and the shell for the app's
/// own routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_keep_their_types_and_hashed_ones_are_cached_for_good() {
    run_scenario(async {
        let built = Built::new();
        let db = Backend::Sqlite.database().await;
        let served = built.serve(&db, None).await.serve().await;
        let cases = [
            ("/", SHELL_PAGE),
            ("/index.html", SHELL_PAGE),
            ("/assets/app-abc123.js", file("text/javascript", IMMUTABLE, SCRIPT.as_bytes())),
            ("/assets/mod-abc123.wasm", file("application/wasm", IMMUTABLE, MODULE)),
            ("/assets/index-abc123.css", file("text/css", IMMUTABLE, STYLE.as_bytes())),
            ("/sw.js", file("text/javascript", NO_CACHE, WORKER.as_bytes())),
            (
                "/manifest.webmanifest",
                file("application/manifest+json", NO_CACHE, MANIFEST.as_bytes()),
            ),
            ("/icon.svg", file("image/svg+xml", NO_CACHE, ICON.as_bytes())),
            // The app's routes are the shell's to draw; the shell is never cached for good,
            // even where its path is under assets/.
            ("/items/42", SHELL_PAGE),
            ("/items/42/", SHELL_PAGE),
            ("/items/42?tab=history", SHELL_PAGE),
            ("/assets", SHELL_PAGE),
            ("/assets/", SHELL_PAGE),
            ("/assets/later", SHELL_PAGE),
            // A file with an extension is there or not.
            ("/nope.js", MISSING),
            ("/assets/gone-abc123.wasm", MISSING),
            ("/items/42.json", MISSING),
        ];
        for (path, expected) in &cases {
            check(&served.api.get(path).await, path, expected);
        }
        // HEAD gives the headers of GET without the body.
        let in_process = built.serve(&db, None).await.api;
        let reply = in_process.send("HEAD", "/assets/mod-abc123.wasm", &[], None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-length"), Some(MODULE.len().to_string().as_str()));
        assert_eq!(reply.header("cache-control"), Some(IMMUTABLE));
        assert!(reply.body.is_empty());
    })
    .await;
}

/// Each file carries validators, and a conditional request for an unchanged file gets a 304
/// with no body and the same caching.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_requests_for_unchanged_files_get_304() {
    run_scenario(async {
        let built = Built::new();
        let db = Backend::Sqlite.database().await;
        let served = built.serve(&db, None).await.serve().await;
        let api = &served.api;
        for (path, cache) in [
            ("/", NO_CACHE),
            ("/sw.js", NO_CACHE),
            ("/manifest.webmanifest", NO_CACHE),
            ("/assets/mod-abc123.wasm", IMMUTABLE),
        ] {
            let first = api.get(path).await;
            assert_eq!(first.status, 200, "{path}");
            let etag = first.header("etag").unwrap_or_else(|| panic!("{path} has no ETag"));
            let modified = first.header("last-modified").expect("Last-Modified");
            for condition in [("If-None-Match", etag), ("If-Modified-Since", modified)] {
                let again = api.send("GET", path, &[condition], None).await;
                assert_eq!(again.status, 304, "{path} with {condition:?}: {}", again.text());
                assert!(again.body.is_empty(), "{path}");
                assert_eq!(again.header("etag"), Some(etag), "{path}");
                assert_eq!(again.header("cache-control"), Some(cache), "{path}");
            }
            // Another version of the file is sent whole.
            let other = api.send("GET", path, &[("If-None-Match", "\"other\"")], None).await;
            assert_eq!((other.status, &other.body), (200, &first.body), "{path}");
        }
        // A changed file gets a new validator, so a browser's revalidation fetches it.
        let first = api.get("/sw.js").await;
        std::fs::write(built.dir().join("sw.js"), "// the next version, longer\n").expect("write");
        let etag = first.header("etag").expect("ETag");
        let again = api.send("GET", "/sw.js", &[("If-None-Match", etag)], None).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.text(), "// the next version, longer\n");
    })
    .await;
}

/// No path, however written, reaches a file outside the app's folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_outside_the_folder_is_served() {
    run_scenario(async {
        let built = Built::new();
        assert!(built.dir().join("../Cargo.toml").is_file());
        let db = Backend::Sqlite.database().await;
        let app = built.serve(&db, None).await;
        let served = app.serve().await;
        let paths = [
            "/../Cargo.toml",
            "/assets/../../Cargo.toml",
            "/%2e%2e/Cargo.toml",
            "/%2E%2E/Cargo.toml",
            "/..%2fCargo.toml",
            "/..%2FCargo.toml",
            "/%2e%2e%2fCargo.toml",
            "/assets/..%2f..%2fCargo.toml",
            "/..%5cCargo.toml",
            "/%252e%252e/Cargo.toml",
            "//../Cargo.toml",
        ];
        // Sent as written, over a socket and into the router.
        for api in [&served.api, &app.api] {
            for path in paths {
                let reply = api.get(path).await;
                assert_eq!(reply.status, 404, "{path}: {}", reply.text());
                assert!(!reply.text().contains("not-for-the-web"), "{path} leaks a file");
            }
            // Without an extension such a path is an app route: the shell, never the file.
            let reply = api.get("/../Cargo").await;
            assert_eq!(reply.text(), SHELL, "/../Cargo");
        }
    })
    .await;
}

/// `/v1` and everything under it stay the API's, with its JSON errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_keeps_its_paths() {
    run_scenario(async {
        let built = Built::new();
        std::fs::create_dir_all(built.dir().join("v1")).expect("a folder");
        std::fs::write(built.dir().join("v1/nope.js"), SCRIPT).expect("write");
        let db = Backend::Sqlite.database().await;
        let api = built.serve(&db, None).await.api;
        for path in ["/v1/nope", "/v1", "/v1/", "/v1/nope.js", "/v1/items/42"] {
            assert_error(&api.get(path).await, 404, "route_not_found");
        }
        assert_error(&api.post("/v1/nope", &serde_json::json!({})).await, 404, "route_not_found");
        assert_eq!(api.get("/v1/events").await.ok()["head"], 0);
        assert_eq!(api.get("/healthz").await.status, 200);
        // Files are only read.
        let reply = api.send("POST", "/items/42", &[], Some(b"{}")).await;
        assert_eq!(reply.status, 405);
    })
    .await;
}

/// A page whose name was rebound to 127.0.0.1 gets not even the app, nor does a page on
/// another origin; the server's own names and origin get it, and a liveness probe is
/// answered whatever the name. In token mode the app's files need no token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_covers_the_app_files() {
    run_scenario(async {
        let built = Built::new();
        let db = Backend::Sqlite.database().await;
        let served = built.serve(&db, None).await.serve().await;
        let api = &served.api;
        let port = served.addr.port();
        let evil_host = format!("evil.example:{port}");
        let evil_origin = format!("http://{evil_host}");
        let own_host = format!("localhost:{port}");
        let own_origin = format!("http://{own_host}");
        for path in ["/", "/index.html", "/assets/mod-abc123.wasm", "/sw.js", "/items/42", "/x.js"]
        {
            for headers in [
                vec![("Host", evil_host.as_str())],
                vec![("Host", evil_host.as_str()), ("Origin", evil_origin.as_str())],
            ] {
                let reply = api.send("GET", path, &headers, None).await;
                assert_error(&reply, 421, "forbidden_host");
                assert!(!reply.text().contains(SHELL), "{path} leaks the app");
            }
            let headers = [("Host", own_host.as_str()), ("Origin", "http://evil.example")];
            assert_error(&api.send("GET", path, &headers, None).await, 403, "forbidden_origin");
        }
        for headers in [
            vec![("Host", own_host.as_str())],
            vec![("Host", own_host.as_str()), ("Origin", own_origin.as_str())],
            vec![("Host", "app.example")],
        ] {
            let reply = api.send("GET", "/", &headers, None).await;
            assert_eq!((reply.status, reply.text()), (200, SHELL.to_owned()), "{headers:?}");
        }
        let reply = api.send("GET", "/healthz", &[("Host", evil_host.as_str())], None).await;
        assert_eq!(reply.status, 200);

        // Token mode with the public name given: the app needs no token, other names get
        // nothing.
        let served = built.serve(&db, Some(keys())).await.serve().await;
        for (host, status) in [("app.example", 200), ("evil.example", 421)] {
            for path in ["/", "/assets/app-abc123.js", "/items/42"] {
                let reply = served.api.send("GET", path, &[("Host", host)], None).await;
                assert_eq!(reply.status, status, "{host} {path}: {}", reply.text());
            }
        }
    })
    .await;
}

/// The flag, through the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_static_flag_serves_the_app() {
    run_scenario(async {
        let built = Built::new();
        let db = Backend::Sqlite.database().await;
        let logs = TempDir::new("annals-test-static-logs");
        let dir = built.dir().display().to_string();
        let server = start_server(&db.url, &["--static", &dir], logs.path()).await;
        let api = &server.api;
        check(&api.get("/items/42").await, "/items/42", &SHELL_PAGE);
        let wasm = file("application/wasm", IMMUTABLE, MODULE);
        check(&api.get("/assets/mod-abc123.wasm").await, "/assets/mod-abc123.wasm", &wasm);
        assert_error(&api.get("/v1/nope").await, 404, "route_not_found");
        let reply = api.send("GET", "/", &[("Host", "evil.example")], None).await;
        assert_error(&reply, 421, "forbidden_host");
    })
    .await;
}
