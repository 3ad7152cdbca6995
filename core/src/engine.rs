//! Running a command: decide it against its streams and number the resulting events.

use uuid::Uuid;

use crate::context::Context;
use crate::domain::{Domain, Reason, Rejection};
use crate::envelope::{Envelope, Meta, event_id};
use crate::stream::StreamState;

/// Decides `command` against the current states of its streams (in [`Domain::streams`] order,
/// `None` for a stream with no events) and returns its events as envelopes: ids derived from
/// the command id, versions following each stream's, no position yet.
///
/// This is the one place where a command becomes events, on the client and on the server.
pub fn execute<D: Domain>(
    command: &D::Command,
    meta: &Meta,
    streams: &[(&str, &StreamState<D>)],
) -> Result<Vec<Envelope<D::Event>>, Rejection> {
    let changes = D::decide(command, &Context::new(meta, streams)).map_err(|reason| Rejection {
        code: reason.code().to_owned(),
        message: reason.message(),
    })?;
    let mut versions: Vec<u64> = streams.iter().map(|(_, stream)| stream.version).collect();
    changes
        .into_iter()
        .enumerate()
        .map(|(index, (stream, event))| {
            let slot = streams.iter().position(|(name, _)| *name == stream).ok_or_else(|| {
                Rejection::new(
                    "undeclared_stream",
                    format!("the command appended to {stream}, which it did not name"),
                )
            })?;
            // A command may name one stream twice (e.g. a transfer to the same account);
            // every event for that stream counts against the first slot.
            versions[slot] += 1;
            Ok(Envelope {
                id: event_id(&meta.command, index),
                stream,
                version: versions[slot],
                position: None,
                event,
                meta: meta.clone(),
            })
        })
        .collect()
}

/// Calls `f` with the streams `command` names, in [`Domain::streams`] order, each as
/// `lookup` finds it; a stream it does not find has no events.
pub(crate) fn with_streams<'s, D: Domain, R>(
    command: &D::Command,
    lookup: impl Fn(&str) -> Option<&'s StreamState<D>>,
    f: impl FnOnce(&[(&str, &StreamState<D>)]) -> R,
) -> R {
    let names = D::streams(command);
    let empty = StreamState::default();
    let streams: Vec<(&str, &StreamState<D>)> =
        names.iter().map(|name| (name.as_str(), lookup(name).unwrap_or(&empty))).collect();
    f(&streams)
}

/// The metadata of a command: its id, who sent it and when (milliseconds since the epoch).
pub fn meta(command: Uuid, actor: impl Into<String>, at: i64) -> Meta {
    Meta::new(command, actor, at)
}
