//! The writer's transaction: one tenant, its row locked, read and written for the
//! [`engine`](crate::engine); and how stored rows are read back.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use annals_core::{Position, Uuid, Version};
use tokio_postgres::Row;

use crate::store::{EventRow, RowWrite, StoreError, StoredStream, WriteTx, Writes, version_bounds};

/// A write transaction of one tenant, its row in `tenants` locked.
pub(super) struct PostgresTx<'a> {
    pub(super) tx: &'a tokio_postgres::Transaction<'a>,
    pub(super) tenant: &'a str,
    /// The tenant's head, as written so far.
    pub(super) head: Position,
    /// The events written so far, for subscribers once committed.
    pub(super) events: Vec<EventRow>,
}

/// The columns [`event_row`] reads, in its order.
pub(super) const EVENT_COLUMNS: &str = "position, stream, version, id, type, schema, data, meta";

/// An event read with [`EVENT_COLUMNS`].
pub(super) fn event_row(row: &Row) -> EventRow {
    EventRow {
        position: row.get::<_, i64>(0) as Position,
        stream: row.get(1),
        version: row.get::<_, i64>(2) as Version,
        id: Uuid::from_bytes(*row.get::<_, UuidBytes>(3).0.as_bytes()),
        event_type: row.get(4),
        schema: row.get::<_, i32>(5) as u32,
        data: row.get(6),
        meta: row.get(7),
    }
}

/// A UUID column, read without the postgres `with-uuid` feature.
struct UuidBytes(Uuid);

impl<'a> tokio_postgres::types::FromSql<'a> for UuidBytes {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(UuidBytes(Uuid::from_slice(raw)?))
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        *ty == tokio_postgres::types::Type::UUID
    }
}

fn ids_text(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(Uuid::to_string).collect()
}

impl WriteTx for PostgresTx<'_> {
    async fn events_page(
        &mut self,
        after: Position,
        limit: u32,
    ) -> Result<Vec<EventRow>, StoreError> {
        let rows = self
            .tx
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE tenant = $1 AND position > $2 \
                     ORDER BY position LIMIT $3"
                ),
                &[&self.tenant, &(after as i64), &i64::from(limit)],
            )
            .await?;
        Ok(rows.iter().map(event_row).collect())
    }

    async fn replace_views(
        &mut self,
        views: &[(&'static str, u32)],
        rows: &[RowWrite],
        position: Position,
    ) -> Result<(), StoreError> {
        let (tx, tenant) = (self.tx, self.tenant);
        for (view, version) in views {
            tx.execute("DELETE FROM view_rows WHERE tenant = $1 AND view = $2", &[&tenant, view])
                .await?;
            tx.execute(
                "INSERT INTO views (tenant, view, version, position) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant, view) DO UPDATE SET version = excluded.version, \
                 position = excluded.position",
                &[&tenant, view, &(*version as i32), &(position as i64)],
            )
            .await?;
        }
        for chunk in rows.chunks(10_000) {
            let views: Vec<&str> = chunk.iter().map(|r| r.view).collect();
            let keys: Vec<&str> = chunk.iter().map(|r| r.key.as_str()).collect();
            let values: Vec<&str> = chunk.iter().filter_map(|r| r.row.as_deref()).collect();
            let listed: Vec<bool> = chunk.iter().map(|r| r.listed).collect();
            tx.execute(
                "INSERT INTO view_rows (tenant, view, key, row, listed) \
                 SELECT $1, v, k, r, l FROM UNNEST($2::text[], $3::text[], $4::text[], $5::bool[]) \
                 AS x(v, k, r, l)",
                &[&tenant, &views, &keys, &values, &listed],
            )
            .await?;
        }
        Ok(())
    }

    async fn head(&mut self) -> Result<Position, StoreError> {
        Ok(self.head)
    }

    // Lookups by a list of keys go one key at a time through the primary key: a LATERAL
    // subquery that `OFFSET 0` keeps the planner from flattening. With `key = ANY($n)` a
    // database without statistics yet (a new one) filtered whole views and stream tables.
    async fn results(&mut self, ids: &[Uuid]) -> Result<HashMap<Uuid, String>, StoreError> {
        let rows = self
            .tx
            .query(
                "SELECT c.id::text, c.result FROM unnest($2::text[]::uuid[]) AS k(id) \
                 CROSS JOIN LATERAL (SELECT id, result FROM commands \
                 WHERE tenant = $1 AND id = k.id OFFSET 0) AS c",
                &[&self.tenant, &ids_text(ids)],
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|row| Some((Uuid::parse_str(row.get(0)).ok()?, row.get(1))))
            .collect())
    }

    async fn streams(
        &mut self,
        names: &[String],
    ) -> Result<HashMap<String, StoredStream>, StoreError> {
        let rows = self
            .tx
            .query(
                "SELECT s.stream, s.version, s.state_version, s.state \
                 FROM unnest($2::text[]) AS k(stream) \
                 CROSS JOIN LATERAL (SELECT stream, version, state_version, state FROM streams \
                 WHERE tenant = $1 AND stream = k.stream OFFSET 0) AS s",
                &[&self.tenant, &names],
            )
            .await?;
        Ok(rows.iter().map(|row| (row.get(0), stored_stream(row, 1))).collect())
    }

    async fn stream_events(&mut self, stream: &str) -> Result<Vec<EventRow>, StoreError> {
        let rows = self
            .tx
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE tenant = $1 AND stream = $2 \
                     ORDER BY version"
                ),
                &[&self.tenant, &stream],
            )
            .await?;
        Ok(rows.iter().map(event_row).collect())
    }

    async fn rows(
        &mut self,
        view: &str,
        keys: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let rows = self
            .tx
            .query(
                "SELECT r.key, r.row FROM unnest($3::text[]) AS k(key) \
                 CROSS JOIN LATERAL (SELECT key, row FROM view_rows \
                 WHERE tenant = $1 AND view = $2 AND key = k.key OFFSET 0) AS r",
                &[&self.tenant, &view, &keys],
            )
            .await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    async fn events_by_id(
        &mut self,
        stream: &str,
        ids: &[Uuid],
        versions: Option<RangeInclusive<Version>>,
    ) -> Result<Vec<EventRow>, StoreError> {
        let (low, high) = version_bounds(versions);
        let rows = self
            .tx
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE tenant = $1 AND stream = $2 \
                     AND version BETWEEN $3 AND $4 AND id = ANY($5::text[]::uuid[]) \
                     ORDER BY version"
                ),
                &[&self.tenant, &stream, &low, &high, &ids_text(ids)],
            )
            .await?;
        Ok(rows.iter().map(event_row).collect())
    }

    async fn write(&mut self, writes: &Writes) -> Result<(), StoreError> {
        let (tx, tenant) = (self.tx, self.tenant);
        self.events.extend(writes.events.iter().cloned());
        if !writes.events.is_empty() {
            let e = &writes.events;
            let positions: Vec<i64> = e.iter().map(|e| e.position as i64).collect();
            let streams: Vec<&str> = e.iter().map(|e| e.stream.as_str()).collect();
            let versions: Vec<i64> = e.iter().map(|e| e.version as i64).collect();
            let ids: Vec<String> = e.iter().map(|e| e.id.to_string()).collect();
            let types: Vec<&str> = e.iter().map(|e| e.event_type.as_str()).collect();
            let schemas: Vec<i32> = e.iter().map(|e| e.schema as i32).collect();
            let data: Vec<&str> = e.iter().map(|e| e.data.as_str()).collect();
            let meta: Vec<&str> = e.iter().map(|e| e.meta.as_str()).collect();
            tx.execute(
                "INSERT INTO events (tenant, position, stream, version, id, type, schema, data, meta) \
                 SELECT $1, p, s, v, i::uuid, t, sc, d, m FROM UNNEST($2::bigint[], $3::text[], \
                 $4::bigint[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[]) \
                 AS x(p, s, v, i, t, sc, d, m)",
                &[&tenant, &positions, &streams, &versions, &ids, &types, &schemas, &data, &meta],
            )
            .await?;
        }
        if !writes.streams.is_empty() {
            let names: Vec<&str> = writes.streams.iter().map(|(n, _)| n.as_str()).collect();
            let versions: Vec<i64> = writes.streams.iter().map(|(_, s)| s.version as i64).collect();
            let reducers: Vec<i32> =
                writes.streams.iter().map(|(_, s)| s.state_version as i32).collect();
            let states: Vec<&str> = writes.streams.iter().map(|(_, s)| s.state.as_str()).collect();
            tx.execute(
                "INSERT INTO streams (tenant, stream, version, state_version, state) \
                 SELECT $1, s, v, r, st FROM UNNEST($2::text[], $3::bigint[], $4::int[], $5::text[]) \
                 AS x(s, v, r, st) ON CONFLICT (tenant, stream) DO UPDATE SET \
                 version = excluded.version, state_version = excluded.state_version, state = excluded.state",
                &[&tenant, &names, &versions, &reducers, &states],
            )
            .await?;
        }
        let (kept, gone): (Vec<_>, Vec<_>) = writes.rows.iter().partition(|r| r.row.is_some());
        if !kept.is_empty() {
            let views: Vec<&str> = kept.iter().map(|r| r.view).collect();
            let keys: Vec<&str> = kept.iter().map(|r| r.key.as_str()).collect();
            let rows: Vec<&str> = kept.iter().filter_map(|r| r.row.as_deref()).collect();
            let listed: Vec<bool> = kept.iter().map(|r| r.listed).collect();
            tx.execute(
                "INSERT INTO view_rows (tenant, view, key, row, listed) \
                 SELECT $1, v, k, r, l FROM UNNEST($2::text[], $3::text[], $4::text[], $5::bool[]) \
                 AS x(v, k, r, l) ON CONFLICT (tenant, view, key) DO UPDATE SET \
                 row = excluded.row, listed = excluded.listed",
                &[&tenant, &views, &keys, &rows, &listed],
            )
            .await?;
        }
        for r in gone {
            tx.execute(
                "DELETE FROM view_rows WHERE tenant = $1 AND view = $2 AND key = $3",
                &[&tenant, &r.view, &r.key],
            )
            .await?;
        }
        if !writes.views.is_empty() {
            let names: Vec<&str> = writes.views.iter().map(|(v, _)| *v).collect();
            let versions: Vec<i32> = writes.views.iter().map(|(_, v)| *v as i32).collect();
            tx.execute(
                "INSERT INTO views (tenant, view, version, position) \
                 SELECT $1, v, n, $4 FROM UNNEST($2::text[], $3::int[]) AS x(v, n) \
                 ON CONFLICT (tenant, view) DO UPDATE SET version = excluded.version, \
                 position = excluded.position",
                &[&tenant, &names, &versions, &(writes.head as i64)],
            )
            .await?;
        }
        if !writes.results.is_empty() {
            let ids: Vec<String> = writes.results.iter().map(|(id, _)| id.to_string()).collect();
            let results: Vec<&str> = writes.results.iter().map(|(_, r)| r.as_str()).collect();
            tx.execute(
                "INSERT INTO commands (tenant, id, result) \
                 SELECT $1, i::uuid, r FROM UNNEST($2::text[], $3::text[]) AS x(i, r) \
                 ON CONFLICT (tenant, id) DO NOTHING",
                &[&tenant, &ids, &results],
            )
            .await?;
        }
        tx.execute(
            "UPDATE tenants SET head = $2 WHERE tenant = $1",
            &[&tenant, &(writes.head as i64)],
        )
        .await?;
        self.head = writes.head;
        Ok(())
    }
}

/// A stream's state from three columns, the first at `first`.
pub(super) fn stored_stream(row: &Row, first: usize) -> StoredStream {
    StoredStream {
        version: row.get::<_, i64>(first) as Version,
        state_version: row.get::<_, i32>(first + 1) as u32,
        state: row.get(first + 2),
    }
}
