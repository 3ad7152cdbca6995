// P8: the package's weight in a browser, gzipped: the .wasm and the JavaScript a browser
// loads from the package's browser entry for an app of one domain (a package with one module
// per domain, `annals_<domain>.js` and `annals_<domain>_bg.wasm`, loads only that domain's).
//
//   node size.mjs --pkg wasm/pkg [--domain inventory]
//
// Prints one line of JSON: {gzip_bytes, raw_bytes, files: [{file, bytes, gzip}]}.

import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';
import { browserFiles, entry } from './entry.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).flatMap((arg, i, all) => (arg.startsWith('--') ? [[arg.slice(2), all[i + 1]]] : [])),
);
const pkg = args.pkg;
const domain = args.domain ?? 'inventory';
const start = entry(pkg, ['browser', 'import', 'module']);
const MODULE = /^annals_([a-z]+)(?:_bg\.wasm|\.js)$/;
const loaded = browserFiles(pkg, start).filter((file) => {
  const module = basename(file).match(MODULE);
  return !module || module[1] === domain;
});
const files = loaded.map((file) => {
  const bytes = readFileSync(join(pkg, file));
  const gzip = gzipSync(bytes, { level: constants.Z_BEST_COMPRESSION }).length;
  return { file, bytes: bytes.length, gzip };
});
const sum = (key) => files.reduce((total, f) => total + f[key], 0);
process.stdout.write(JSON.stringify({ entry: start, domain, gzip_bytes: sum('gzip'), raw_bytes: sum('bytes'), files }) + '\n');
