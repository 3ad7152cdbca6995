//! Long jobs an operator runs: export and import the log as NDJSON, and rebuild read models
//! (also at start when a view's reducer version changed). Each shows a progress bar.

use std::io::{BufRead, Write};
use std::sync::atomic::Ordering;
use std::time::Duration;

use annals_core::protocol::{AppendRequest, ExpectedVersion, NewEvent};
use annals_core::{Envelope, RawEvent};
use indicatif::{ProgressBar, ProgressStyle};

use crate::hosted::Hosted;
use crate::store::{AppendRefusal, Progress, Store, StoreError, WriteReply, WriteRequest};

fn bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(&format!(
        "{what} [{{bar:40}}] {{pos}}/{{len}} events ({{per_sec}}, {{eta}} left)"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar
}

/// Writes every event of `tenant` to `out`, one envelope per line, in position order.
pub async fn export(store: &dyn Store, tenant: &str, out: &mut dyn Write) -> Result<u64, String> {
    let head = store.events_after(tenant, 0, 1).await.map_err(|e| e.to_string())?.head;
    let progress = bar(head, "export");
    let mut after = 0;
    loop {
        let page = store.events_after(tenant, after, 10_000).await.map_err(|e| e.to_string())?;
        let Some(last) = page.events.last() else {
            break;
        };
        after = last.position;
        for event in &page.events {
            writeln!(out, "{}", event.to_json()).map_err(|e| format!("cannot write: {e}"))?;
        }
        progress.set_position(after);
    }
    out.flush().map_err(|e| format!("cannot write: {e}"))?;
    progress.finish();
    Ok(after)
}

/// Appends the envelopes of an NDJSON export to `tenant`, keeping ids, versions, schemas and
/// metadata. Events already present (same id in the same stream) are skipped, so an import
/// can be run again after an interruption.
pub async fn import(
    store: &dyn Store,
    tenant: &str,
    input: &mut dyn BufRead,
) -> Result<u64, String> {
    let progress = ProgressBar::new_spinner();
    progress.set_message("import");
    let mut run: Vec<Envelope<RawEvent>> = Vec::new();
    let mut count = 0;
    for (number, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read line {}: {e}", number + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let envelope: Envelope<RawEvent> =
            serde_json::from_str(&line).map_err(|e| format!("line {}: {e}", number + 1))?;
        let same_stream = run.last().is_none_or(|last| {
            last.stream == envelope.stream && last.version + 1 == envelope.version
        });
        if !same_stream || run.len() >= 1000 {
            count += append_run(store, tenant, std::mem::take(&mut run)).await?;
            progress.set_position(count);
        }
        run.push(envelope);
    }
    count += append_run(store, tenant, run).await?;
    progress.finish_with_message(format!("imported {count} events"));
    Ok(count)
}

async fn append_run(
    store: &dyn Store,
    tenant: &str,
    run: Vec<Envelope<RawEvent>>,
) -> Result<u64, String> {
    let Some(first) = run.first() else {
        return Ok(0);
    };
    let stream = first.stream.clone();
    let expected = ExpectedVersion::Exact(first.version - 1);
    let count = run.len() as u64;
    let events = run
        .into_iter()
        .map(|e| NewEvent {
            id: e.id,
            event_type: e.event.event_type,
            schema: Some(e.event.schema),
            data: e.event.data,
            meta: Some(e.meta),
        })
        .collect();
    let request = WriteRequest::Append {
        actor: "import".to_owned(),
        at: 0,
        stream: stream.clone(),
        request: AppendRequest { expected_version: expected, events },
    };
    match store.submit(tenant, request).await.map_err(|e| e.to_string())? {
        WriteReply::Append(Ok(_)) => Ok(count),
        WriteReply::Append(Err(AppendRefusal::Invalid { message, .. })) => {
            Err(format!("{stream}: {message}"))
        }
        WriteReply::Append(Err(AppendRefusal::WrongExpectedVersion { expected, actual })) => {
            Err(format!(
                "{stream} is at version {actual}, the export continues it from {expected}: import into an empty tenant"
            ))
        }
        _ => Err("the writer answered an import with another reply".to_owned()),
    }
}

/// Rebuilds every read model of `tenant` from its log, showing progress.
pub async fn rebuild(store: &dyn Store, tenant: &str) -> Result<u64, StoreError> {
    let progress = Progress::default();
    let watcher = progress.clone();
    let bar = bar(0, &format!("rebuild {tenant}"));
    let shown = bar.clone();
    let ticker = tokio::spawn(async move {
        loop {
            shown.set_length(watcher.total.load(Ordering::Relaxed));
            shown.set_position(watcher.done.load(Ordering::Relaxed));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let reply = store.submit(tenant, WriteRequest::Rebuild { progress }).await;
    ticker.abort();
    match reply? {
        WriteReply::Rebuilt { events } => {
            bar.set_position(events);
            bar.finish();
            Ok(events)
        }
        _ => Err(StoreError::failed("the writer answered a rebuild with another reply")),
    }
}

/// Rebuilds, at start, the views of every tenant whose stored reducer version differs from
/// the code's (or that are missing while the tenant has events).
pub async fn rebuild_stale(store: &dyn Store, domain: &dyn Hosted) -> Result<(), StoreError> {
    for tenant in store.tenants().await? {
        let stored = store.view_versions(&tenant).await?;
        let stale: Vec<&str> = domain
            .views()
            .iter()
            .filter(|view| {
                !stored.iter().any(|(name, version)| name == view.name && *version == view.version)
            })
            .map(|view| view.name)
            .collect();
        if stale.is_empty() || store.events_after(&tenant, 0, 1).await?.head == 0 {
            continue;
        }
        tracing::info!(tenant = %tenant, views = ?stale, "views changed; rebuilding them from the log");
        let events = rebuild(store, &tenant).await?;
        tracing::info!(tenant = %tenant, events, "views rebuilt");
    }
    Ok(())
}

/// The reactions' checkpoints as a table for people: per tenant and reaction, its position,
/// lag, failures and parked events (of `tenant` only, when given).
pub async fn list_reactions(store: &dyn Store, tenant: Option<&str>) -> Result<String, StoreError> {
    let rows = crate::store::reactions::consumers(store.reactions()).await?;
    let mut text = format!(
        "{:<16} {:<24} {:>10} {:>10} {:>8} {:>7}  last error\n",
        "tenant", "reaction", "position", "lag", "failures", "parked"
    );
    for row in rows.iter().filter(|row| tenant.is_none_or(|t| t == row.tenant)) {
        let head = crate::store::head(store, &row.tenant).await?;
        let checkpoint = &row.checkpoint;
        text.push_str(&format!(
            "{:<16} {:<24} {:>10} {:>10} {:>8} {:>7}  {}\n",
            row.tenant,
            row.name,
            checkpoint.position,
            head.saturating_sub(checkpoint.position),
            checkpoint.failures,
            row.parked,
            checkpoint.error.as_deref().unwrap_or("-"),
        ));
    }
    Ok(text)
}
