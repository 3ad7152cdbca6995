// Entry point for browsers and bundlers (Vite, webpack, plain ESM): the module is fetched
// next to this file, which bundlers see through `new URL(..., import.meta.url)`.

import init from "./annals_wasm.js";
import { openReplica } from "./replica.js";

export { AnnalsError, isAnnalsError } from "./errors.js";

let ready;

export async function open(options) {
  ready ??= init({ module_or_path: new URL("./annals_wasm_bg.wasm", import.meta.url) });
  await ready;
  return openReplica(options);
}
