// P7: a browser's cold start from localStorage, in headless Chromium. A first page opens the
// replica, takes in confirmed server events (its snapshot) and queues pending commands
// offline; then each run loads a new page that opens the replica from localStorage and
// reads its first state.
//
//   node cold-start.mjs --pkg wasm/pkg --log LOG.ndjson --pending 1000 --runs 5
//
// Prints one line of JSON: {first_state_ms, open_ms, reopen_ms: [...], pending, stored_bytes},
// or
// {not_measured: "why"}.

import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname, normalize } from 'node:path';
import { entry, glue } from './entry.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).flatMap((arg, i, all) => (arg.startsWith('--') ? [[arg.slice(2), all[i + 1]]] : [])),
);
const pkg = args.pkg;
const pending = Number(args.pending ?? 1000);
const runs = Number(args.runs ?? 5);
const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  process.stdout.write(JSON.stringify({ not_measured: `no Chromium at ${CHROMIUM}` }) + '\n');
  process.exit(0);
}
const { chromium } = await import('playwright-core');

// The confirmed part of the stored replica: the first 2,000 events of the log (8 items).
const confirmed = readFileSync(args.log, 'utf8').split('\n', 2000);
const snapshotPage = `{"events":[${confirmed.join(',')}],"head":${confirmed.length}}`;
const items = [...new Set(confirmed.map((line) => JSON.parse(line).stream.slice(5)))];

const start = entry(pkg, ['browser', 'import', 'module']);
const glueFile = glue(pkg);
// The package's wasm modules, beside its entry.
const entryDir = start.includes('/') ? start.slice(0, start.lastIndexOf('/')) : '.';
const wasmFiles = [...new Set(['.', entryDir])].flatMap((dir) =>
  readdirSync(join(pkg, dir)).filter((name) => name.endsWith('.wasm')).map((name) => normalize(join(dir, name))),
);
// The glue's own module.
const glueWasm = wasmFiles.find((f) => f.endsWith(glueFile.replace(/\.m?js$/, '_bg.wasm'))) ?? wasmFiles[0];

// A bundler lets `import * as wasm from "./x_bg.wasm"` work; a browser does not. For glue
// built that way, the import map sends the .wasm import to a module doing what the bundler
// would: instantiate it with the glue's imports and export what it exports.
function shim(file) {
  const bytes = readFileSync(join(pkg, file));
  const module = new WebAssembly.Module(bytes);
  const imports = [...new Set(WebAssembly.Module.imports(module).map((i) => i.module))];
  const lines = imports.map((m, i) => `import * as i${i} from ${JSON.stringify(new URL(m, `http://x/pkg/${file}`).pathname)};`);
  lines.push(`const { instance } = await WebAssembly.instantiateStreaming(fetch(${JSON.stringify(`/pkg/${file}`)}), {${imports.map((m, i) => `${JSON.stringify(m)}: i${i}`).join(', ')}});`);
  for (const e of WebAssembly.Module.exports(module)) {
    lines.push(`export const ${e.name} = instance.exports[${JSON.stringify(e.name)}];`);
  }
  return lines.join('\n');
}

const page = (phase) => `<!doctype html><meta charset="utf-8"><title>annals cold start</title>
<script type="importmap">${JSON.stringify({
  imports: Object.fromEntries([
    ['annals', `/pkg/${start}`],
    ...wasmFiles.map((f) => [`/pkg/${f}`, `/shim/${f}.mjs`]),
  ]),
})}</script>
<script type="module">
${phase === 'setup' ? SETUP : COLD}
</script>`;

// Opens the replica the package's way: `open` from SPEC section 7.
const OPEN = `
async function openReplica(mod) {
  return mod.open({ storage: 'local', key: 'annals/bench' });
}`;

// The stored replica is made with the wasm glue's \`open\`, whose replica takes in server events
// (\`receive\`, what the package's sync does with each page it pulls) and executes commands
// offline; every change is written to localStorage.
const SETUP = `
window.setup = async (page, items, pending) => {
  localStorage.clear();
  const glue = await import(${JSON.stringify(`/pkg/${glueFile}`)});
  if (typeof glue.default === 'function') await glue.default({ module_or_path: ${JSON.stringify(`/pkg/${glueWasm ?? ''}`)} });
  const replica = glue.open('local', 'annals/bench');
  replica.receive(page);
  for (let k = 0; k < pending; k++) {
    const data = { item: items[k % items.length], site: 'crossroads', qty: 1 + (k % 3) };
    replica.execute(JSON.stringify({ type: 'ReceiveStock', data }));
  }
  const result = { pending: JSON.parse(replica.pending()).length, bytes: JSON.stringify(localStorage).length };
  replica.free();
  return result;
};
window.ready = true;`;

const COLD = `${OPEN}
const opened = performance.now();
try {
  const mod = await import('annals');
  const replica = await openReplica(mod);
  const stock = replica.view('stock');
  const first = performance.now();
  const pending = replica.pending();
  // The same again with the module loaded: what restoring the stored replica alone costs.
  const again = performance.now();
  const second = await openReplica(mod);
  second.view('stock');
  const reopen = performance.now() - again;
  second.close?.();
  window.result = {
    first_state_ms: first,
    open_ms: first - opened,
    reopen_ms: reopen,
    pending: (typeof pending === 'string' ? JSON.parse(pending) : pending).length,
    stock: typeof stock === 'string' ? stock.length : JSON.stringify(stock).length,
  };
} catch (error) {
  window.result = { error: String(error && error.stack || error) };
}`;

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.html': 'text/html' };
const server = createServer((request, response) => {
  const url = new URL(request.url, 'http://x');
  const send = (status, type, body) => {
    response.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache' });
    response.end(body);
  };
  if (url.pathname === '/setup' || url.pathname === '/cold') return send(200, TYPES['.html'], page(url.pathname.slice(1)));
  if (url.pathname.startsWith('/shim/')) return send(200, TYPES['.js'], shim(url.pathname.slice(6).replace(/\.mjs$/, '')));
  if (url.pathname.startsWith('/pkg/')) {
    const file = normalize(url.pathname.slice(5));
    if (file.startsWith('..') || !existsSync(join(pkg, file))) return send(404, 'text/plain', 'not found');
    return send(200, TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(join(pkg, file)));
  }
  send(404, 'text/plain', 'not found');
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

const profile = mkdtempSync(join(tmpdir(), 'annals-bench-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let outcome;
try {
  const setup = await context.newPage();
  const errors = [];
  setup.on('pageerror', (error) => errors.push(String(error)));
  await setup.goto(`${base}/setup`);
  await setup.waitForFunction(() => window.ready === true || false, null, { timeout: 30000 }).catch(() => {
    throw new Error(`the setup page did not load the package: ${errors.join('; ') || 'no error reported'}`);
  });
  const stored = await setup.evaluate(([text, ids, count]) => window.setup(text, ids, count), [snapshotPage, items, pending]);
  await setup.close();
  const first = [];
  const open = [];
  const reopen = [];
  for (let run = 0; run <= runs; run++) {
    const cold = await context.newPage();
    await cold.goto(`${base}/cold`);
    await cold.waitForFunction(() => window.result !== undefined, null, { timeout: 30000 });
    const result = await cold.evaluate(() => window.result);
    await cold.close();
    if (result.error) throw new Error(result.error);
    if (result.pending !== pending) throw new Error(`the replica came back with ${result.pending} pending commands, not ${pending}`);
    // Run 0 fills the browser's caches as an earlier visit would; it is not counted.
    if (run > 0) {
      first.push(result.first_state_ms);
      open.push(result.open_ms);
      reopen.push(result.reopen_ms);
    }
  }
  outcome = { first_state_ms: first, open_ms: open, reopen_ms: reopen, pending, stored_bytes: stored.bytes };
} finally {
  await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(outcome) + '\n');
process.exit(0);
