//! The listener: follows `NOTIFY annals` so that commits made through any node wake this
//! node's subscribers, and catches up whenever it connects again.
//!
//! Notifications sent while a listener is not connected are lost for it. So on every
//! connection it first runs `LISTEN`, then reads every tenant's head and moves this node's
//! heads to them: a commit before that read is in it, a commit after it is notified (both,
//! for one in between: moving a head is idempotent). A moved head wakes the subscribers,
//! and each reads the log after the last position it delivered, so they miss nothing and
//! see nothing twice, whatever notifications were lost.

use std::sync::{Arc, Weak};

use annals_core::Position;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Config};

use super::link::Connector;
use crate::store::{Fault, Heads, Health, Part, StoreError};

/// Follows notifications until the store is dropped, reconnecting with backoff. The listener
/// is down (and the node not ready) from its start until it listens, and whenever it has lost
/// its connection.
pub(super) async fn listen(config: Arc<Config>, heads: Weak<Heads>, health: Arc<Health>) {
    let mut connector = Connector::new(config, Part::Listener, health.clone());
    loop {
        tokio::time::sleep(connector.wait()).await;
        if heads.strong_count() == 0 {
            return;
        }
        let lost = match follow(&mut connector, &heads, &health).await {
            Ok(()) => StoreError::new(Fault::Unreachable, "the listener lost its connection"),
            Err(err) => err,
        };
        if heads.strong_count() == 0 {
            return;
        }
        tracing::warn!(error = %lost, "the postgres listener is not listening; reconnecting");
        health.set_down(Part::Listener, &lost);
    }
}

/// Listens on one connection until it ends.
async fn follow(
    connector: &mut Connector,
    heads: &Weak<Heads>,
    health: &Health,
) -> Result<(), StoreError> {
    let (client, mut connection) = connector.open().await?;
    let (notes, mut incoming) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(note)) => {
                    let _ = notes.send(note.payload().to_owned());
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::debug!(error = %err, "the postgres listener's connection ended");
                    break;
                }
            }
        }
    });
    let caught_up = async {
        client.batch_execute("LISTEN annals").await?;
        client.query("SELECT tenant, head FROM tenants", &[]).await
    };
    let tenants = match caught_up.await {
        Ok(tenants) => tenants,
        Err(err) => {
            driver.abort();
            return Err(connector.failed(StoreError::from(err)));
        }
    };
    let Some(strong) = heads.upgrade() else { return Ok(()) };
    for row in &tenants {
        strong.advance(row.get(0), row.get::<_, i64>(1) as Position);
    }
    drop(strong);
    health.set_up(Part::Listener);
    tracing::info!(tenants = tenants.len(), "the postgres listener listens and has caught up");
    while let Some(payload) = incoming.recv().await {
        let Some(heads) = heads.upgrade() else { break };
        if let Some((tenant, head)) = payload.rsplit_once(' ')
            && let Ok(head) = head.parse()
        {
            heads.advance(tenant, head);
        }
    }
    driver.abort();
    Ok(())
}
