// Entry point for Node 20+: the module is read from disk next to this file, synchronously,
// when the package is imported.

import { readFileSync } from "node:fs";
import { initSync } from "./annals_wasm.js";
import { openReplica } from "./replica.js";

export { AnnalsError, isAnnalsError } from "./errors.js";

initSync({ module: readFileSync(new URL("./annals_wasm_bg.wasm", import.meta.url)) });

export async function open(options) {
  return openReplica(options);
}
