// P8: the package's weight in a browser, gzipped: the .wasm and the JavaScript a browser
// loads from the package's browser entry.
//
//   node size.mjs --pkg examples/inventory-wasm/pkg
//
// Prints one line of JSON: {gzip_bytes, raw_bytes, files: [{file, bytes, gzip}]}.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';
import { browserFiles, entry } from './entry.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).flatMap((arg, i, all) => (arg.startsWith('--') ? [[arg.slice(2), all[i + 1]]] : [])),
);
const pkg = args.pkg;
const start = entry(pkg, ['browser', 'import', 'module']);
const files = browserFiles(pkg, start).map((file) => {
  const bytes = readFileSync(join(pkg, file));
  const gzip = gzipSync(bytes, { level: constants.Z_BEST_COMPRESSION }).length;
  return { file, bytes: bytes.length, gzip };
});
const sum = (key) => files.reduce((total, f) => total + f[key], 0);
process.stdout.write(JSON.stringify({ entry: start, gzip_bytes: sum('gzip'), raw_bytes: sum('bytes'), files }) + '\n');
