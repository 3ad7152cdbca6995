// Entry point for browsers and bundlers (Vite, webpack, plain ESM). The domain's module is
// fetched next to this file when the first replica is opened; bundlers see it through
// `new URL(..., import.meta.url)`.

import init, * as domain from "./domain.js";
import { openReplica } from "./replica.js";

export { AnnalsError, isAnnalsError } from "./errors.js";

let loaded;

export async function open(options) {
  await (loaded ??= init({ module_or_path: new URL("./domain_bg.wasm", import.meta.url) }));
  return openReplica(options, domain);
}
