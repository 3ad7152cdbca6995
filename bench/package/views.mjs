// P6: server events, as the JSON text of `GET /v1/events` pages, fed into the package's
// replica (its stream states and its five inventory views) in Node, against a hand-written
// JavaScript reducer doing the same folds (JSON.parse, then reduce).
//
//   node views.mjs --pkg wasm/pkg --log LOG.ndjson --events 100000 --runs 5
//
// Prints one line of JSON: {package_ms: [...], js_ms: [...], api, check}, or
// {not_measured: "why"}.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { entry, glue } from './entry.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).flatMap((arg, i, all) => (arg.startsWith('--') ? [[arg.slice(2), all[i + 1]]] : [])),
);
const events = Number(args.events ?? 100000);
const runs = Number(args.runs ?? 5);
const PAGE = 1000;

// The events as a client receives them: pages of 1,000 envelopes, `{events, head}`.
const lines = readFileSync(args.log, 'utf8').split('\n', events);
const pages = [];
for (let i = 0; i < lines.length; i += PAGE) {
  const chunk = lines.slice(i, i + PAGE);
  pages.push(`{"events":[${chunk.join(',')}],"head":${events}}`);
}

// ---- The hand-written reducer: the inventory's stream states and views, in plain JS. ----
const ACTIVITY = 200;
const HISTORY = 500;
function reduceAll(pages) {
  const streams = new Map();
  const stock = new Map();
  const activity = [];
  const history = new Map();
  const reorders = new Map();
  for (const text of pages) {
    const page = JSON.parse(text);
    for (const e of page.events) {
      const item = e.stream.slice(e.stream.indexOf('-') + 1);
      const d = e.data;
      // The item's decided state.
      let state = streams.get(e.stream);
      if (state === undefined) {
        state = { version: 0, item: null };
        streams.set(e.stream, state);
      }
      state.version = e.version;
      // The stock row (low_stock is the same rows, filtered when read).
      let row = stock.get(item);
      if (row === undefined) {
        row = { name: '', unit: '', reorder_level: 0, sites: {}, total: 0, retired: false };
        stock.set(item, row);
      }
      let change = null;
      switch (e.type) {
        case 'ItemAdded': {
          const added = e.schema === 1 ? { name: d.item_name, unit: 'each', reorder_level: 0 } : d;
          state.item = { name: added.name, unit: added.unit, reorder_level: added.reorder_level, stock: {}, retired: false };
          row.name = added.name;
          row.unit = added.unit;
          row.reorder_level = added.reorder_level;
          break;
        }
        case 'ItemRenamed':
          state.item.name = d.name;
          row.name = d.name;
          break;
        case 'StockReceived':
          state.item.stock[d.site] = (state.item.stock[d.site] ?? 0) + d.qty;
          row.sites[d.site] = (row.sites[d.site] ?? 0) + d.qty;
          row.total += d.qty;
          change = [d.site, 'by', d.qty];
          break;
        case 'StockConsumed':
          state.item.stock[d.site] = (state.item.stock[d.site] ?? 0) - d.qty;
          row.sites[d.site] = (row.sites[d.site] ?? 0) - d.qty;
          row.total -= d.qty;
          change = [d.site, 'by', -d.qty];
          break;
        case 'StockCounted':
          state.item.stock[d.site] = d.counted;
          row.sites[d.site] = (row.sites[d.site] ?? 0) + d.delta;
          row.total += d.delta;
          change = [d.site, 'to', d.counted];
          break;
        case 'ItemRetired':
          state.item.retired = true;
          row.retired = true;
          break;
        case 'ReorderRequested':
          reorders.set(`${item}/${d.site}`, { item, site: d.site, held: d.held, reorder_level: d.reorder_level, requested: e.position });
          break;
      }
      activity.unshift({ position: e.position, item, version: e.version, event: { type: e.type, data: d }, actor: e.meta.actor, at: e.meta.at });
      if (activity.length > ACTIVITY) activity.length = ACTIVITY;
      if (change !== null) {
        const [site, how, qty] = change;
        let sites = history.get(item);
        if (sites === undefined) {
          sites = {};
          history.set(item, sites);
        }
        const points = (sites[site] ??= []);
        const last = points.length > 0 ? points[points.length - 1][1] : 0;
        points.push([e.position, how === 'by' ? last + qty : qty]);
        if (points.length > HISTORY) points.shift();
        // The reorder request of this site, if there is one, follows its stock.
        const request = reorders.get(`${item}/${site}`);
        if (request !== undefined) request.held = how === 'by' ? request.held + qty : qty;
      }
    }
  }
  return { streams, stock, activity, history, reorders };
}

// ---- The package. ----
// Server pages reach the replica through the `receive` of its WebAssembly `Replica`, which
// the package's sync calls with each page it pulls. The package's entry is imported first
// (it loads the wasm module); the glue it loaded is then the same module instance.
async function openPackage() {
  const pkg = args.pkg;
  const mod = await import(pathToFileURL(join(pkg, entry(pkg, ['node', 'import', 'module']))).href);
  const parse = (value) => (typeof value === 'string' ? JSON.parse(value) : value);
  if (typeof mod.open === 'function') {
    const probe = await mod.open({ storage: 'memory', key: 'annals/bench' });
    if (typeof probe.receive === 'function') {
      return {
        api: 'the replica\'s `receive(page)`',
        fresh: () => mod.open({ storage: 'memory', key: 'annals/bench' }),
        feed: (replica, text) => replica.receive(text),
        stock: (replica) => parse(replica.view('stock')),
      };
    }
  }
  const domain = await import(pathToFileURL(join(pkg, glue(pkg))).href);
  if (typeof domain.open === 'function') {
    return {
      api: '`Replica.receive(page)` of the wasm glue (what the package\'s sync calls with each page)',
      fresh: () => domain.open('memory', 'annals/bench'),
      feed: (replica, text) => replica.receive(text),
      stock: (replica) => parse(replica.view('stock')),
    };
  }
  return null;
}

const api = await openPackage();
if (api === null) {
  process.stdout.write(JSON.stringify({ not_measured: 'the package offers no way to take in server events (replica.receive)' }) + '\n');
  process.exit(0);
}

const packageMs = [];
const jsMs = [];
let check = null;
for (let run = 0; run <= runs; run++) {
  // Run 0 warms both up and is not counted.
  const replica = await api.fresh();
  let started = performance.now();
  for (const text of pages) api.feed(replica, text);
  const viewed = api.stock(replica);
  const packageTime = performance.now() - started;
  started = performance.now();
  const reduced = reduceAll(pages);
  const jsTime = performance.now() - started;
  if (run > 0) {
    packageMs.push(packageTime);
    jsMs.push(jsTime);
  }
  if (check === null) {
    const rows = viewed && typeof viewed === 'object' ? (Array.isArray(viewed) ? viewed : Object.values(viewed.value ?? viewed)) : [];
    const total = (list) => list.reduce((sum, row) => sum + (row?.total ?? 0), 0);
    check = { package_total: total(rows), js_total: total([...reduced.stock.values()]), package_rows: rows.length, js_rows: reduced.stock.size };
  }
  replica.close?.();
  replica.free?.();
}
process.stdout.write(JSON.stringify({ api: api.api, package_ms: packageMs, js_ms: jsMs, check }) + '\n');
process.exit(0);
