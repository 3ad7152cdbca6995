// Emmett doing the jobs annals is measured on, the way Emmett's own docs show them: commands
// through `CommandHandler` (read the stream, decide, append with the expected version) on
// its SQLite and PostgreSQL event stores, and the whole log read back in global order
// (`readMessagesBatch`, what Emmett's consumers poll) and folded into a stock view.
//
//   node bench.mjs append --store sqlite|postgres --database FILE|URL --clients 64
//        --items 16 --seconds 5 --runs 5 --warmup 1
//   node bench.mjs read --store sqlite|postgres --database FILE|URL --log LOG.ndjson
//        --events N --runs 3
//
// Prints one line of JSON on stdout; `annals-bench` reads it.

import { CommandHandler } from '@event-driven-io/emmett';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const [mode, ...rest] = process.argv.slice(2);
const args = {};
for (let i = 0; i < rest.length; i += 2) args[rest[i].replace(/^--/, '')] = rest[i + 1];
const number = (name, fallback) => (args[name] === undefined ? fallback : Number(args[name]));

const SITES = ['crossroads', 'harbour', 'hilltop', 'meadow'];

// The inventory's rules for the commands the load sends, as an Emmett decider.
const initialState = () => ({ exists: false, retired: false, stock: {} });
const evolve = (state, { type, data }) => {
  switch (type) {
    case 'ItemAdded':
      return { ...state, exists: true, name: data.name, unit: data.unit, reorder_level: data.reorder_level };
    case 'ItemRenamed':
      return { ...state, name: data.name };
    case 'StockReceived':
      return { ...state, stock: { ...state.stock, [data.site]: (state.stock[data.site] ?? 0) + data.qty } };
    case 'StockConsumed':
      return { ...state, stock: { ...state.stock, [data.site]: (state.stock[data.site] ?? 0) - data.qty } };
    case 'StockCounted':
      return { ...state, stock: { ...state.stock, [data.site]: data.counted } };
    case 'ItemRetired':
      return { ...state, retired: true };
    default:
      return state;
  }
};
const decide = (command, state) => {
  const { type, data } = command;
  if (type === 'AddItem') {
    if (state.exists) throw new Error('item_exists');
    return { type: 'ItemAdded', data: { name: data.name, unit: data.unit, reorder_level: data.reorder_level } };
  }
  if (!state.exists) throw new Error('unknown_item');
  if (state.retired) throw new Error('item_retired');
  if (!(data.qty > 0)) throw new Error('invalid_quantity');
  if (type === 'ReceiveStock') return { type: 'StockReceived', data: { site: data.site, qty: data.qty } };
  if (type === 'ConsumeStock') {
    if ((state.stock[data.site] ?? 0) < data.qty) throw new Error('insufficient_stock');
    return { type: 'StockConsumed', data: { site: data.site, qty: data.qty } };
  }
  throw new Error(`unknown command ${type}`);
};
const handle = CommandHandler({ evolve, initialState });

// The ids annals-bench uses, so both see the same streams.
const uuid = (kind, n) => {
  const big = BigInt(n);
  const hex = (value, width) => value.toString(16).padStart(width, '0');
  return `${hex(0x5eed0000 | kind, 8)}-${hex((big >> 48n) & 0xffffn, 4)}-4${hex((big >> 36n) & 0xfffn, 3)}-8${hex((big >> 24n) & 0xfffn, 3)}-${hex(big & 0xffffffffffn, 12)}`;
};
const stream = (n) => `item-${uuid(1, n)}`;

async function openStore() {
  if (args.store === 'sqlite') {
    const { getSQLiteEventStore, sqliteConnection } = await import('@event-driven-io/emmett-sqlite');
    // One connection for the process, shared by every writer: SQLite takes one writer at a
    // time, and a connection opened per operation (the default for a file) fails concurrent
    // writers with SQLITE_BUSY, as it sets no busy timeout.
    const connection = sqliteConnection({ fileName: args.database });
    const store = getSQLiteEventStore({
      fileName: args.database,
      connectionOptions: { singleton: true, connection },
    });
    await store.schema.migrate();
    return { store, close: async () => connection.close() };
  }
  const { getPostgreSQLEventStore } = await import('@event-driven-io/emmett-postgresql');
  const store = getPostgreSQLEventStore(args.database);
  await store.schema.migrate();
  return { store, close: () => store.close() };
}

// A command that lost a race on its stream (or met a busy database) is tried again, as an
// application would; each retry is counted.
async function execute(store, id, command, counters) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await handle(store, id, (state) => decide(command, state));
    } catch (error) {
      if (attempt >= 50) throw error;
      counters.retries++;
      await new Promise((resolve) => setTimeout(resolve, attempt));
    }
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
}

// 64 writers, each owning its items: receive, receive, consume, one command at a time.
async function append() {
  const clients = number('clients', 64);
  const items = number('items', 16);
  const { store, close } = await openStore();
  const setupStarted = performance.now();
  // One item after another: the setup is not measured, and emmett-sqlite's one connection
  // refuses a transaction while another is open, so concurrent setup appends only retry.
  for (let n = 0; n < clients * items; n++) {
    const data = { item: uuid(1, n), name: `Item ${n}`, unit: 'each', reorder_level: 10 };
    await execute(store, stream(n), { type: 'AddItem', data }, { retries: 0 });
  }
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  const counters = Array.from({ length: clients }, () => ({ k: 0, retries: 0 }));
  const run = async (seconds) => {
    const latencies = [];
    let events = 0;
    let retries = 0;
    const started = performance.now();
    const deadline = started + seconds * 1000;
    await Promise.all(
      counters.map(async (counter, c) => {
        const before = counter.retries;
        while (performance.now() < deadline) {
          const k = counter.k++;
          const n = c * items + (Math.floor(k / 3) % items);
          const site = SITES[Math.floor(k / 3 / items) % SITES.length];
          const type = k % 3 === 2 ? 'ConsumeStock' : 'ReceiveStock';
          const sent = performance.now();
          const result = await execute(store, stream(n), { type, data: { item: uuid(1, n), site, qty: 1 } }, counter);
          latencies.push(performance.now() - sent);
          events += result.newEvents.length;
        }
        retries += counter.retries - before;
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return { events, seconds: elapsed, p50_ms: percentile(latencies, 50), p99_ms: percentile(latencies, 99), retries };
  };
  await run(number('warmup', 1));
  const runs = [];
  for (let r = 0; r < number('runs', 3); r++) runs.push(await run(number('seconds', 5)));
  await close();
  return { setup_seconds: setupSeconds, runs };
}

// The generated log appended stream by stream, then read back whole in global order and
// folded into a stock view (per item: name, quantity per site, total).
async function read() {
  const events = number('events', 50000);
  const { store, close } = await openStore();
  const lines = readFileSync(args.log, 'utf8').split('\n');
  const loadStarted = performance.now();
  let batch = [];
  let current = null;
  const flush = async () => {
    if (batch.length > 0) await store.appendToStream(current, batch);
    batch = [];
  };
  for (let i = 0; i < events && i < lines.length; i++) {
    const envelope = JSON.parse(lines[i]);
    if (envelope.stream !== current || batch.length >= 1000) {
      await flush();
      current = envelope.stream;
    }
    batch.push({ type: envelope.type, data: envelope.data, metadata: { command: envelope.meta.command } });
  }
  await flush();
  const loadSeconds = (performance.now() - loadStarted) / 1000;

  let readBatch;
  let closeReader = async () => {};
  if (args.store === 'sqlite') {
    const { readMessagesBatch, sqliteConnection } = await import('@event-driven-io/emmett-sqlite');
    const connection = sqliteConnection({ fileName: args.database });
    readBatch = (after) => readMessagesBatch(connection, { after, batchSize: 10000 });
    closeReader = async () => connection.close();
  } else {
    const { readMessagesBatch } = await import('@event-driven-io/emmett-postgresql');
    const { dumbo } = await import('@event-driven-io/dumbo');
    const pool = dumbo({ connectionString: args.database });
    readBatch = (after) => readMessagesBatch(pool.execute, { after, batchSize: 10000 });
    closeReader = () => pool.close();
  }
  const runs = [];
  for (let r = 0; r < number('runs', 3); r++) {
    const started = performance.now();
    const stock = new Map();
    let after = 0n;
    let count = 0;
    for (;;) {
      const { messages, currentGlobalPosition } = await readBatch(after);
      if (messages.length === 0) break;
      for (const message of messages) {
        const key = message.metadata.streamName;
        let row = stock.get(key);
        if (row === undefined) {
          row = { name: '', sites: {}, total: 0 };
          stock.set(key, row);
        }
        const { type, data } = message;
        if (type === 'ItemAdded' || type === 'ItemRenamed') row.name = data.name;
        else if (type === 'StockReceived') { row.sites[data.site] = (row.sites[data.site] ?? 0) + data.qty; row.total += data.qty; }
        else if (type === 'StockConsumed') { row.sites[data.site] = (row.sites[data.site] ?? 0) - data.qty; row.total -= data.qty; }
        else if (type === 'StockCounted') { row.sites[data.site] = data.counted; row.total += data.delta; }
      }
      count += messages.length;
      after = currentGlobalPosition;
    }
    runs.push({ events: count, seconds: (performance.now() - started) / 1000, items: stock.size });
  }
  await closeReader();
  await close();
  return { load_seconds: loadSeconds, runs };
}

const outcome = mode === 'append' ? await append() : mode === 'read' ? await read() : null;
if (outcome === null) {
  console.error('usage: node bench.mjs append|read --store sqlite|postgres --database ...');
  process.exit(2);
}
process.stdout.write(JSON.stringify(outcome) + '\n');
process.exit(0);
