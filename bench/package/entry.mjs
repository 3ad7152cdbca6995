// Where the npm package "annals" (built into wasm/pkg) starts for Node or for a browser,
// read from its package.json the way Node and bundlers resolve conditional exports, and the
// files a browser loads from there.

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** The package's manifest. */
export function manifest(pkg) {
  return JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
}

/** The entry file (relative to the package) for these conditions, in order of preference. */
export function entry(pkg, conditions) {
  const json = manifest(pkg);
  const pick = (target) => {
    if (typeof target === 'string') return target;
    if (Array.isArray(target)) return target.map(pick).find(Boolean);
    if (target && typeof target === 'object') {
      for (const [condition, value] of Object.entries(target)) {
        if (conditions.includes(condition) || condition === 'default') {
          const found = pick(value);
          if (found) return found;
        }
      }
    }
    return undefined;
  };
  const exported = json.exports && (typeof json.exports === 'string' || json.exports['.'] === undefined
    ? pick(json.exports)
    : pick(json.exports['.']));
  const legacy = conditions.includes('browser') && typeof json.browser === 'string' ? json.browser : undefined;
  const found = exported ?? legacy ?? json.module ?? json.main;
  if (!found) throw new Error('the package names no entry point');
  return found.replace(/^\.\//, '');
}

const IMPORT = /(?:import|export)\s[^;]*?from\s*['"](\.[^'"]+)['"]|import\s*\(\s*['"](\.[^'"]+)['"]\s*\)|import\s*['"](\.[^'"]+)['"]|new URL\(\s*['"](\.[^'"]+)['"]\s*,\s*import\.meta\.url/g;

/** The package's files a browser loads from `start`: scripts it imports and wasm it fetches. */
export function browserFiles(pkg, start) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file) || !existsSync(join(pkg, file))) return;
    seen.add(file);
    if (!/\.(m?js|cjs)$/.test(file)) return;
    const text = readFileSync(join(pkg, file), 'utf8');
    for (const match of text.matchAll(IMPORT)) {
      const target = match.slice(1).find(Boolean);
      visit(relative(pkg, join(pkg, dirname(file), target)));
    }
  };
  visit(start);
  const files = [...seen];
  if (!files.some((f) => f.endsWith('.wasm'))) {
    // Glue that builds the wasm URL another way: take the module beside the entry.
    const beside = readdirSync(join(pkg, dirname(start))).filter((f) => f.endsWith('.wasm'));
    files.push(...beside.map((f) => join(dirname(start), f)));
  }
  return files;
}

/** The wasm-bindgen glue of the package: the module exporting the `Replica` class. */
export function glue(pkg) {
  const found = readdirSync(pkg)
    .filter((f) => /\.m?js$/.test(f))
    .find((f) => /export class Replica\b/.test(readFileSync(join(pkg, f), 'utf8')));
  if (!found) throw new Error('the package has no wasm-bindgen glue exporting Replica');
  return found;
}
