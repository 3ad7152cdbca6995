//! A database migrated by a newer annals-server is refused, not written to: opening it through
//! the store or through the real binary fails with a message naming both schema versions, and
//! the database is left as it was.

mod common;

use std::collections::BTreeMap;

use annals_core::Uuid;
use annals_server::hosted;
use common::*;

on_both_backends!(newer_schema => newer_schema_sqlite, newer_schema_postgres);

/// How many migrations ahead of this code the database claims to be.
const AHEAD: u64 = 3;

async fn newer_schema(backend: &Backend) {
    let db = backend.database().await;
    {
        let app = db.app::<Inventory>().await;
        app.api.push_accepted(&[add_item(Uuid::new_v4(), "Jam", 0)]).await;
    }
    // A fresh database, just migrated, is at this code's schema.
    let known = recorded_schema(&db.url).await;
    assert!(known >= 1, "a migrated database records schema {known}");
    let newer = known + AHEAD;
    record_schema(&db.url, newer).await;
    let before = contents(&db.url).await;
    assert_eq!(before.0, newer);
    let events = before.1.get("events").map_or(0, |rows| rows.len() - 1);
    assert_eq!(events, 1, "the database holds the event written before: {before:?}");
    let expected = format!(
        "the database is at schema {newer}, this annals-server knows schema {known}: \
         upgrade annals-server"
    );

    let opened = hosted::host::<Inventory>().open(&db.url).await;
    let refused = opened.err().expect("the store refuses a database of a newer schema");
    assert_eq!(refused.to_string(), expected);

    let listen = format!("127.0.0.1:{}", free_port());
    let domain = ["--domain", "inventory"];
    let database = ["--database", db.url.as_str()];
    let runs = [
        [&["serve", "--listen", &listen][..], &database, &domain].concat(),
        [&["rebuild"][..], &database, &domain].concat(),
        [&["export"][..], &database, &domain].concat(),
    ];
    for args in runs {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let output = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            (run_binary(&args, &[]), args.join(" "))
        });
        let (output, args) = output.await.expect("the binary ran");
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args} succeeded: {said}");
        let line = format!("annals-server: cannot open {}: {expected}", db.url);
        assert!(said.contains(&line), "{args} said: {said}");
    }

    assert_eq!(contents(&db.url).await, before, "the refused database was changed");
}

/// The schema version the database records: SQLite's `user_version`, or the highest version
/// in PostgreSQL's `annals_migrations`.
async fn recorded_schema(url: &str) -> u64 {
    if let Some(path) = sqlite_path(url) {
        let version: i64 =
            sqlite(path).query_row("PRAGMA user_version", [], |row| row.get(0)).expect("version");
        u64::try_from(version).expect("a positive version")
    } else {
        let client = postgres(url).await;
        let row = client
            .query_one("SELECT MAX(version) FROM annals_migrations", &[])
            .await
            .expect("annals_migrations");
        u64::try_from(row.get::<_, i32>(0)).expect("a positive version")
    }
}

/// Records `version` as the database's schema, as a newer annals-server would.
async fn record_schema(url: &str, version: u64) {
    if let Some(path) = sqlite_path(url) {
        let set = format!("PRAGMA user_version = {version}");
        sqlite(path).execute_batch(&set).expect("record a schema version");
    } else {
        let client = postgres(url).await;
        let version = i32::try_from(version).expect("a small version");
        client
            .execute("INSERT INTO annals_migrations (version) VALUES ($1)", &[&version])
            .await
            .expect("record a migration");
    }
}

/// Everything the database holds: its recorded schema version, the definition of each table
/// and index, and every table's rows, as text.
async fn contents(url: &str) -> (u64, BTreeMap<String, Vec<String>>) {
    let version = recorded_schema(url).await;
    let mut tables = BTreeMap::new();
    if let Some(path) = sqlite_path(url) {
        let conn = sqlite(path);
        let mut select = conn
            .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name")
            .expect("sqlite_master");
        let objects: Vec<(String, String, Option<String>)> = select
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .expect("sqlite_master")
            .collect::<Result<_, _>>()
            .expect("sqlite_master");
        for (kind, name, sql) in objects {
            let mut rows = vec![format!("{kind}: {}", sql.unwrap_or_default())];
            if kind == "table" {
                let mut select = conn.prepare(&format!("SELECT * FROM \"{name}\"")).expect("rows");
                let columns = select.column_count();
                let mut found = select.query([]).expect("rows");
                while let Some(row) = found.next().expect("a row") {
                    let values: Vec<String> = (0..columns)
                        .map(|i| format!("{:?}", row.get_ref(i).expect("a value")))
                        .collect();
                    rows.push(values.join(" | "));
                }
            }
            tables.insert(name, rows);
        }
    } else {
        let client = postgres(url).await;
        let definitions = client.query(PG_TABLES, &[]).await.expect("the tables");
        for definition in definitions {
            let name: String = definition.get(0);
            let select = format!("SELECT row_to_json(t)::text FROM \"{name}\" t ORDER BY 1");
            let mut rows: Vec<String> = client
                .query(&select, &[])
                .await
                .expect("rows")
                .iter()
                .map(|row| row.get(0))
                .collect();
            rows.insert(0, format!("table: {}", definition.get::<_, String>(1)));
            tables.insert(name, rows);
        }
        let indexes = client.query(PG_INDEXES, &[]).await.expect("the indexes");
        for index in indexes {
            tables.insert(index.get(0), vec![format!("index: {}", index.get::<_, String>(1))]);
        }
    }
    (version, tables)
}

/// Each PostgreSQL table's name and columns.
const PG_TABLES: &str = "SELECT table_name::text, \
    string_agg(column_name::text || ' ' || data_type::text, ', ' ORDER BY ordinal_position) \
    FROM information_schema.columns WHERE table_schema = 'public' GROUP BY table_name";

/// Each PostgreSQL index's name and definition.
const PG_INDEXES: &str =
    "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public'";
