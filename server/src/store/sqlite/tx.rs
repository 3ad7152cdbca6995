//! The writer's transaction, and the reads it shares with the read connections.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use annals_core::{Position, Uuid, Version};
use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{
    EventRow, RowWrite, StoreError, StoredStream, WriteTx, Writes, sql_integer, version_bounds,
};

/// A write transaction of one tenant (`BEGIN IMMEDIATE`: the database's write lock held).
pub(super) struct SqliteTx<'a> {
    pub(super) tx: &'a rusqlite::Transaction<'a>,
    pub(super) tenant: &'a str,
    /// The events written so far, for subscribers once committed.
    pub(super) events: Vec<EventRow>,
}

/// An event read with [`EVENT_COLUMNS`].
pub(super) fn event_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
    let id: String = row.get(3)?;
    Ok(EventRow {
        position: row.get(0)?,
        stream: row.get(1)?,
        version: row.get(2)?,
        id: Uuid::parse_str(&id).unwrap_or_default(),
        event_type: row.get(4)?,
        schema: row.get(5)?,
        data: row.get(6)?,
        meta: row.get(7)?,
    })
}

/// The columns [`event_row`] reads, in its order.
pub(super) const EVENT_COLUMNS: &str = "position, stream, version, id, type, schema, data, meta";

fn events_page(
    conn: &Connection,
    tenant: &str,
    after: Position,
    limit: u32,
) -> Result<Vec<EventRow>, StoreError> {
    let mut select = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE tenant = ?1 AND position > ?2 \
         ORDER BY position LIMIT ?3"
    ))?;
    let rows = select.query_map(params![tenant, after, limit], event_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

impl WriteTx for SqliteTx<'_> {
    async fn events_page(
        &mut self,
        after: Position,
        limit: u32,
    ) -> Result<Vec<EventRow>, StoreError> {
        events_page(self.tx, self.tenant, after, limit)
    }

    async fn replace_views(
        &mut self,
        views: &[(&'static str, u32)],
        rows: &[RowWrite],
        position: Position,
    ) -> Result<(), StoreError> {
        let (tx, tenant) = (self.tx, self.tenant);
        for (view, version) in views {
            tx.execute(
                "DELETE FROM view_rows WHERE tenant = ?1 AND view = ?2",
                params![tenant, view],
            )?;
            tx.execute(
                "INSERT INTO views (tenant, view, version, position) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (tenant, view) DO UPDATE SET version = excluded.version, \
                 position = excluded.position",
                params![tenant, view, version, position],
            )?;
        }
        let mut insert = tx.prepare_cached(
            "INSERT INTO view_rows (tenant, view, key, row, listed) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for r in rows {
            insert.execute(params![tenant, r.view, r.key, r.row, r.listed])?;
        }
        Ok(())
    }

    async fn head(&mut self) -> Result<Position, StoreError> {
        head(self.tx, self.tenant)
    }

    async fn results(&mut self, ids: &[Uuid]) -> Result<HashMap<Uuid, String>, StoreError> {
        let mut select =
            self.tx.prepare_cached("SELECT result FROM commands WHERE tenant = ?1 AND id = ?2")?;
        let mut found = HashMap::new();
        for id in ids {
            let result: Option<String> = select
                .query_row(params![self.tenant, id.to_string()], |row| row.get(0))
                .optional()?;
            if let Some(result) = result {
                found.insert(*id, result);
            }
        }
        Ok(found)
    }

    async fn streams(
        &mut self,
        names: &[String],
    ) -> Result<HashMap<String, StoredStream>, StoreError> {
        let mut found = HashMap::new();
        for name in names {
            if let Some(stream) = stream_state(self.tx, self.tenant, name)? {
                found.insert(name.clone(), stream);
            }
        }
        Ok(found)
    }

    async fn stream_events(&mut self, stream: &str) -> Result<Vec<EventRow>, StoreError> {
        Ok(stream_events(self.tx, self.tenant, stream, 1, u32::MAX)?.0)
    }

    async fn rows(
        &mut self,
        view: &str,
        keys: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut select = self.tx.prepare_cached(
            "SELECT row FROM view_rows WHERE tenant = ?1 AND view = ?2 AND key = ?3",
        )?;
        let mut found = HashMap::new();
        for key in keys {
            let row: Option<String> =
                select.query_row(params![self.tenant, view, key], |row| row.get(0)).optional()?;
            if let Some(row) = row {
                found.insert(key.clone(), row);
            }
        }
        Ok(found)
    }

    async fn events_by_id(
        &mut self,
        stream: &str,
        ids: &[Uuid],
        versions: Option<RangeInclusive<Version>>,
    ) -> Result<Vec<EventRow>, StoreError> {
        // One range of `events_by_stream` (asked for by id alone, SQLite walks the tenant's
        // whole log by its primary key); the ids come as one JSON array.
        let (low, high) = version_bounds(versions);
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let mut select = self.tx.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE tenant = ?1 AND stream = ?2 \
             AND version BETWEEN ?3 AND ?4 AND id IN (SELECT value FROM json_each(?5)) \
             ORDER BY version"
        ))?;
        let rows = select.query_map(
            params![self.tenant, stream, low, high, serde_json::to_string(&ids)?],
            event_row,
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    async fn write(&mut self, writes: &Writes) -> Result<(), StoreError> {
        let tx = self.tx;
        let tenant = self.tenant;
        self.events.extend(writes.events.iter().cloned());
        let mut insert = tx.prepare_cached(
            "INSERT INTO events (tenant, position, stream, version, id, type, schema, data, meta) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for e in &writes.events {
            insert.execute(params![
                tenant,
                e.position,
                e.stream,
                e.version,
                e.id.to_string(),
                e.event_type,
                e.schema,
                e.data,
                e.meta
            ])?;
        }
        let mut upsert = tx.prepare_cached(
            "INSERT INTO streams (tenant, stream, version, state_version, state) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant, stream) DO UPDATE SET \
             version = excluded.version, state_version = excluded.state_version, \
             state = excluded.state",
        )?;
        for (name, s) in &writes.streams {
            upsert.execute(params![tenant, name, s.version, s.state_version, s.state])?;
        }
        let mut put_row = tx.prepare_cached(
            "INSERT INTO view_rows (tenant, view, key, row, listed) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (tenant, view, key) DO UPDATE SET row = excluded.row, \
             listed = excluded.listed",
        )?;
        let mut delete_row = tx
            .prepare_cached("DELETE FROM view_rows WHERE tenant = ?1 AND view = ?2 AND key = ?3")?;
        for r in &writes.rows {
            match &r.row {
                Some(row) => put_row.execute(params![tenant, r.view, r.key, row, r.listed])?,
                None => delete_row.execute(params![tenant, r.view, r.key])?,
            };
        }
        let mut put_view = tx.prepare_cached(
            "INSERT INTO views (tenant, view, version, position) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (tenant, view) DO UPDATE SET version = excluded.version, \
             position = excluded.position",
        )?;
        for (view, version) in &writes.views {
            put_view.execute(params![tenant, view, version, writes.head])?;
        }
        let mut remember = tx.prepare_cached(
            "INSERT INTO commands (tenant, id, result) VALUES (?1, ?2, ?3) \
             ON CONFLICT (tenant, id) DO NOTHING",
        )?;
        for (id, result) in &writes.results {
            remember.execute(params![tenant, id.to_string(), result])?;
        }
        tx.prepare_cached(
            "INSERT INTO tenants (tenant, head) VALUES (?1, ?2) \
             ON CONFLICT (tenant) DO UPDATE SET head = excluded.head",
        )?
        .execute(params![tenant, writes.head])?;
        Ok(())
    }
}

/// The tenant's head (0 before its first event).
pub(super) fn head(conn: &Connection, tenant: &str) -> Result<Position, StoreError> {
    let head: Option<Position> = conn
        .prepare_cached("SELECT head FROM tenants WHERE tenant = ?1")?
        .query_row(params![tenant], |row| row.get(0))
        .optional()?;
    Ok(head.unwrap_or(0))
}

/// A stream's stored state.
pub(super) fn stream_state(
    conn: &Connection,
    tenant: &str,
    stream: &str,
) -> Result<Option<StoredStream>, StoreError> {
    let found = conn
        .prepare_cached(
            "SELECT version, state_version, state FROM streams WHERE tenant = ?1 AND stream = ?2",
        )?
        .query_row(params![tenant, stream], |row| {
            Ok(StoredStream {
                version: row.get(0)?,
                state_version: row.get(1)?,
                state: row.get(2)?,
            })
        })
        .optional()?;
    Ok(found)
}

/// Up to `limit` events of a stream from version `from`, and its version.
pub(super) fn stream_events(
    conn: &Connection,
    tenant: &str,
    stream: &str,
    from: Version,
    limit: u32,
) -> Result<(Vec<EventRow>, Version), StoreError> {
    let mut select = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE tenant = ?1 AND stream = ?2 AND version >= ?3 \
         ORDER BY version LIMIT ?4"
    ))?;
    let rows = select
        .query_map(params![tenant, stream, sql_integer(from), limit], event_row)?
        .collect::<Result<Vec<_>, _>>()?;
    let version = stream_state(conn, tenant, stream)?.map_or(0, |s| s.version);
    Ok((rows, version))
}
