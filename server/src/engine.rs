//! The write path shared by both backends: decide commands with annals-core against the
//! stored state, number their events, fold them into stream states and read models, and hand
//! the backend one set of writes for the transaction.

use std::collections::{BTreeSet, HashMap};
use std::ops::RangeInclusive;

use annals_core::json;
use annals_core::protocol::{
    AppendRequest, AppendResponse, Attached, CommandRequest, CommandResult, ExpectedVersion,
};
use annals_core::{
    CommandData, Domain, Envelope, EventData, Meta, Position, Rejection, StreamState, Uuid,
    Version, ViewSet, category_of, execute,
};
use serde_json::value::RawValue;

use std::sync::atomic::Ordering;

use crate::store::{
    AppendRefusal, EventRow, Progress, RowWrite, StoreError, StoredStream, WriteReply,
    WriteRequest, WriteTx, Writes,
};

/// Most commands of consecutive pushes decided as one, so a large group holds a bounded
/// working set (a single push larger than this is still decided whole).
const DECIDED_TOGETHER: usize = 4096;

/// Carries out a group of write requests inside `tx`, in order, one reply each.
///
/// Consecutive command pushes are decided as one: their streams, read-model rows and earlier
/// results are read once, every command is decided in arrival order against the state the
/// ones before it left, and everything is written once. Raw appends and rebuilds run alone.
pub async fn apply_all<D: Domain, T: WriteTx>(
    tx: &mut T,
    requests: &[&WriteRequest],
) -> Result<Vec<WriteReply>, StoreError> {
    let mut replies = Vec::with_capacity(requests.len());
    let mut rest = requests;
    while let Some(request) = rest.first() {
        let mut commands = 0;
        let pushes: Vec<Push<'_>> = rest
            .iter()
            .map_while(|request| Push::of(request))
            .take_while(|pushed| {
                commands += pushed.commands.len();
                commands <= DECIDED_TOGETHER || commands == pushed.commands.len()
            })
            .collect();
        if pushes.is_empty() {
            replies.push(apply_alone::<D, T>(tx, request).await?);
            rest = &rest[1..];
            continue;
        }
        let (results, head) = push::<D, T>(tx, &pushes).await?;
        let mut results = results.into_iter();
        for pushed in &pushes {
            let results = results.by_ref().take(pushed.commands.len()).collect();
            replies.push(WriteReply::Commands { results, head });
        }
        rest = &rest[pushes.len()..];
    }
    Ok(replies)
}

/// A raw append or a rebuild.
async fn apply_alone<D: Domain, T: WriteTx>(
    tx: &mut T,
    request: &WriteRequest,
) -> Result<WriteReply, StoreError> {
    match request {
        WriteRequest::Commands { actor, at, commands } => {
            let (results, head) = push::<D, T>(tx, &[Push { actor, at: *at, commands }]).await?;
            Ok(WriteReply::Commands { results, head })
        }
        WriteRequest::Append { actor, at, stream, request } => {
            Ok(WriteReply::Append(append::<D, T>(tx, actor, *at, stream, request).await?))
        }
        WriteRequest::Rebuild { progress } => {
            Ok(WriteReply::Rebuilt { events: rebuild::<D, T>(tx, progress).await? })
        }
    }
}

/// One `POST /v1/commands`: who sent the commands, when, and the commands.
struct Push<'a> {
    actor: &'a str,
    at: i64,
    commands: &'a [CommandRequest],
}

impl<'a> Push<'a> {
    fn of(request: &'a WriteRequest) -> Option<Self> {
        match request {
            WriteRequest::Commands { actor, at, commands } => {
                Some(Push { actor, at: *at, commands })
            }
            _ => None,
        }
    }
}

/// The working set of one transaction: stream states as they change, and new events.
struct Batch<D: Domain> {
    head: Position,
    streams: HashMap<String, StreamState<D>>,
    /// The streams this transaction changed, in name order.
    touched: BTreeSet<String>,
    events: Vec<Envelope<D::Event>>,
    empty: StreamState<D>,
}

impl<D: Domain> Batch<D> {
    async fn load<T: WriteTx>(tx: &mut T, names: Vec<String>) -> Result<Self, StoreError> {
        let head = tx.head().await?;
        let stored = tx.streams(&names).await?;
        let mut streams = HashMap::with_capacity(names.len());
        for name in names {
            let state = match stored.get(&name) {
                None => StreamState::default(),
                Some(s) if s.state_version == D::STATE_VERSION => {
                    StreamState { state: json::from_str(&s.state)?, version: s.version }
                }
                // Folded by another reducer version: rebuild it from the log.
                Some(_) => {
                    let rows = tx.stream_events(&name).await?;
                    let events = decode_rows::<D>(&rows)?;
                    StreamState::fold(&events)
                }
            };
            streams.insert(name, state);
        }
        let (touched, events, empty) = (BTreeSet::new(), Vec::new(), StreamState::default());
        Ok(Batch { head, streams, touched, events, empty })
    }

    fn stream(&self, name: &str) -> &StreamState<D> {
        self.streams.get(name).unwrap_or(&self.empty)
    }

    /// Numbers new events, folds them into their streams and keeps them for writing.
    fn record(&mut self, events: Vec<Envelope<D::Event>>) -> Vec<Envelope<D::Event>> {
        events
            .into_iter()
            .map(|mut envelope| {
                self.head += 1;
                envelope.position = Some(self.head);
                let stream = self.streams.entry(envelope.stream.clone()).or_default();
                stream.apply(&envelope);
                if !self.touched.contains(&envelope.stream) {
                    self.touched.insert(envelope.stream.clone());
                }
                self.events.push(envelope.clone());
                envelope
            })
            .collect()
    }

    /// Folds the new events into the read models and gathers every write.
    async fn finish<T: WriteTx>(
        self,
        tx: &mut T,
        results: Vec<(Uuid, String)>,
    ) -> Result<Writes, StoreError> {
        let mut writes = Writes { head: self.head, results, ..Writes::default() };
        if self.events.is_empty() {
            if !writes.results.is_empty() {
                tx.write(&writes).await?;
            }
            return Ok(writes);
        }
        let mut views = ViewSet::<D>::default();
        for view in views.iter_mut() {
            let mut keys: Vec<String> =
                self.events.iter().filter_map(|envelope| view.key_of(envelope)).collect();
            keys.sort();
            keys.dedup();
            for (key, row) in tx.rows(view.name(), &keys).await? {
                view.load(&key, &row)?;
            }
            writes.views.push((view.name(), view.version()));
        }
        for envelope in &self.events {
            views.apply(envelope);
        }
        for view in views.iter_mut() {
            for (key, row) in view.take_changes() {
                let listed = view.is_listed(&key);
                let row = row.map(|row| String::from(row.get()));
                writes.rows.push(RowWrite { view: view.name(), key, row, listed });
            }
        }
        for name in &self.touched {
            let stream = &self.streams[name];
            let state = json::to_string(&stream.state);
            let stored =
                StoredStream { version: stream.version, state_version: D::STATE_VERSION, state };
            writes.streams.push((name.clone(), stored));
        }
        writes.events = self.events.iter().map(event_row).collect::<Result<_, _>>()?;
        tx.write(&writes).await?;
        Ok(writes)
    }
}

/// Decides the commands of one or more pushes in order. A command id seen before returns its
/// first result.
async fn push<D: Domain, T: WriteTx>(
    tx: &mut T,
    pushes: &[Push<'_>],
) -> Result<(Vec<Box<RawValue>>, Position), StoreError> {
    let commands = || pushes.iter().flat_map(|p| p.commands.iter().map(move |c| (p, c)));
    let ids: Vec<Uuid> = commands().map(|(_, c)| c.id).collect();
    let mut known = tx.results(&ids).await?;
    let decoded: Vec<Result<D::Command, Rejection>> = commands()
        .map(|(_, c)| {
            D::Command::decode(&c.command_type, &c.data)
                .map_err(|err| Rejection::new(&err.code, err.message))
        })
        .collect();
    let mut names: Vec<String> = decoded.iter().flatten().flat_map(D::streams).collect();
    // A stream named only in `expected` is read too, so its version can be checked. A name
    // with control characters names no stream (and PostgreSQL text cannot hold NUL): it stays
    // at version 0 without a read.
    let expected = commands().flat_map(|(_, c)| c.expected.iter().flatten());
    let expected = expected.map(|(stream, _)| stream).filter(|s| !s.chars().any(char::is_control));
    names.extend(expected.cloned());
    names.sort();
    names.dedup();
    let mut batch = Batch::<D>::load(tx, names).await?;
    let mut out = Vec::with_capacity(ids.len());
    let mut fresh = Vec::new();
    for ((pushed, request), command) in commands().zip(decoded) {
        if let Some(result) = known.get(&request.id) {
            out.push(RawValue::from_string(result.clone())?);
            continue;
        }
        let meta = Attached::onto(request.meta.as_ref(), request.id, pushed.actor, pushed.at);
        let result = match command
            .and_then(|command| decide_caught(&batch, &command, &meta, request))
        {
            Ok(events) => CommandResult::Accepted { id: request.id, events: batch.record(events) },
            Err(rejection) => CommandResult::Rejected {
                id: request.id,
                code: rejection.code,
                message: rejection.message,
            },
        };
        let json = serde_json::to_string(&result)?;
        known.insert(request.id, json.clone());
        fresh.push((request.id, json.clone()));
        out.push(RawValue::from_string(json)?);
    }
    let writes = batch.finish(tx, fresh).await?;
    Ok((out, writes.head))
}

/// [`decide`], with a panic of the domain's rules made the command's rejection
/// (`rules_failed`): deciding changes nothing, so the other commands go on, and a client's
/// queue is not held up by a command that can never be decided.
fn decide_caught<D: Domain>(
    batch: &Batch<D>,
    command: &D::Command,
    meta: &Meta,
    request: &CommandRequest,
) -> Result<Vec<Envelope<D::Event>>, Rejection> {
    let decided = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decide(batch, command, meta, request)
    }));
    decided.unwrap_or_else(|panic| {
        let text = crate::store::panic_text(panic.as_ref());
        tracing::error!(command = %request.id, panic = text, "the domain's rules panicked deciding a command");
        Err(Rejection::new(
            "rules_failed",
            format!("The rules failed on this command ({text}); it was not recorded."),
        ))
    })
}

fn decide<D: Domain>(
    batch: &Batch<D>,
    command: &D::Command,
    meta: &Meta,
    request: &CommandRequest,
) -> Result<Vec<Envelope<D::Event>>, Rejection> {
    for (stream, expected) in request.expected.iter().flatten() {
        let actual = batch.stream(stream).version;
        if actual != *expected {
            return Err(Rejection::new(
                "wrong_expected_version",
                format!("{stream} is at version {actual}, not {expected}."),
            ));
        }
    }
    let names = D::streams(command);
    let streams: Vec<(&str, &StreamState<D>)> =
        names.iter().map(|name| (name.as_str(), batch.stream(name))).collect();
    execute::<D>(command, meta, &streams)
}

/// Appends raw events to one stream (admin): each must decode into a known event type.
async fn append<D: Domain, T: WriteTx>(
    tx: &mut T,
    actor: &str,
    at: i64,
    stream: &str,
    request: &AppendRequest,
) -> Result<Result<AppendResponse, AppendRefusal>, StoreError> {
    let invalid = |code, message: String| Ok(Err(AppendRefusal::Invalid { code, message }));
    if category_of(stream) != D::CATEGORY || stream.len() <= D::CATEGORY.len() + 1 {
        let message = format!("Streams here are named {}-<id>, not {stream:?}.", D::CATEGORY);
        return invalid("invalid_stream", message);
    }
    if request.events.is_empty() {
        return invalid("invalid_body", "An append needs at least one event.".to_owned());
    }
    let mut events = Vec::with_capacity(request.events.len());
    for (index, new) in request.events.iter().enumerate() {
        let Some(current) = D::Event::schema_of(&new.event_type) else {
            let message = format!("Event {index} has an unknown type {:?}.", new.event_type);
            return invalid("unknown_event_type", message);
        };
        match D::Event::decode(&new.event_type, new.schema.unwrap_or(current), &new.data) {
            Ok(event) => events.push(event),
            Err(err) => return invalid("invalid_event", format!("Event {index}: {}", err.message)),
        }
    }
    let ids: Vec<Uuid> = request.events.iter().map(|e| e.id).collect();
    let seen = tx.events_by_id(stream, &ids, retry_versions(request)).await?;
    if !seen.is_empty() {
        // A retry: answer with what the first append recorded.
        return Ok(Ok(AppendResponse {
            first_version: seen.iter().map(|e| e.version).min().unwrap_or(0),
            last_version: seen.iter().map(|e| e.version).max().unwrap_or(0),
            positions: seen.iter().map(|e| e.position).collect(),
        }));
    }
    let mut batch = Batch::<D>::load(tx, vec![stream.to_owned()]).await?;
    let actual = batch.stream(stream).version;
    if !request.expected_version.admits(actual) {
        let expected = serde_json::to_value(request.expected_version)?;
        return Ok(Err(AppendRefusal::WrongExpectedVersion { expected, actual }));
    }
    let envelopes = request
        .events
        .iter()
        .zip(events)
        .enumerate()
        .map(|(index, (new, event))| Envelope {
            id: new.id,
            stream: stream.to_owned(),
            version: actual + index as u64 + 1,
            position: None,
            event,
            meta: new.meta.clone().unwrap_or_else(|| Meta::new(new.id, actor, at)),
        })
        .collect();
    let recorded = batch.record(envelopes);
    batch.finish(tx, Vec::new()).await?;
    Ok(Ok(AppendResponse {
        first_version: actual + 1,
        last_version: actual + recorded.len() as u64,
        positions: recorded.iter().filter_map(|e| e.position).collect(),
    }))
}

/// Where an earlier copy of this append would have stored its events, if that can be told
/// without reading the whole stream.
///
/// At an exact version `v`, its `n` events went to `v + 1..=v + n`; or, when a client that
/// lost the answer retries with the version it reads now, to `v - n + 1..=v`. Looking only
/// there keeps an import's appends at one cost per event however long the stream. Under
/// other expectations they may be anywhere in the stream.
fn retry_versions(request: &AppendRequest) -> Option<RangeInclusive<Version>> {
    let n = request.events.len() as Version;
    match request.expected_version {
        ExpectedVersion::Exact(v) => Some(v.saturating_sub(n) + 1..=v.saturating_add(n)),
        _ => None,
    }
}

/// Folds the tenant's whole log into fresh read models and replaces the stored ones.
async fn rebuild<D: Domain, T: WriteTx>(
    tx: &mut T,
    progress: &Progress,
) -> Result<u64, StoreError> {
    let head = tx.head().await?;
    progress.total.store(head, Ordering::Relaxed);
    let mut views = ViewSet::<D>::default();
    let mut after = 0;
    loop {
        let page = tx.events_page(after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for row in &page {
            views.apply(&decode_row::<D>(row)?);
        }
        progress.done.store(after, Ordering::Relaxed);
    }
    let mut rows = Vec::new();
    let mut names = Vec::new();
    for view in views.iter_mut() {
        names.push((view.name(), view.version()));
        for (key, row) in view.rows() {
            let listed = view.is_listed(&key);
            rows.push(RowWrite { view: view.name(), key, row: Some(row.get().to_owned()), listed });
        }
    }
    tx.replace_views(&names, &rows, head).await?;
    Ok(after)
}

/// A recorded envelope as a stored row.
pub fn event_row<E: EventData>(envelope: &Envelope<E>) -> Result<EventRow, StoreError> {
    Ok(EventRow {
        position: envelope.position.unwrap_or(0),
        stream: envelope.stream.clone(),
        version: envelope.version,
        id: envelope.id,
        event_type: envelope.event.event_type().to_owned(),
        schema: envelope.event.schema(),
        data: envelope.event.data_json(),
        meta: json::to_string(&envelope.meta),
    })
}

/// Stored rows decoded into a domain's envelopes, upcasting older schemas.
pub fn decode_rows<D: Domain>(rows: &[EventRow]) -> Result<Vec<Envelope<D::Event>>, StoreError> {
    rows.iter().map(decode_row::<D>).collect()
}

/// One stored row decoded into a domain's envelope, upcasting an older schema.
pub fn decode_row<D: Domain>(row: &EventRow) -> Result<Envelope<D::Event>, StoreError> {
    let event = D::Event::decode(&row.event_type, row.schema, &row.data)
        .map_err(|err| StoreError::failed(format!("event at {}: {err}", row.position)))?;
    Ok(Envelope {
        id: row.id,
        stream: row.stream.clone(),
        version: row.version,
        position: Some(row.position),
        event,
        meta: json::from_str(&row.meta)?,
    })
}
