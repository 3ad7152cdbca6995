// Entry point for Node 20+: the domain's module is read from disk next to this file when the
// first replica is opened.

import { readFileSync } from "node:fs";
import * as domain from "./domain.js";
import { openReplica } from "./replica.js";

export { AnnalsError, isAnnalsError } from "./errors.js";

let loaded = false;

export async function open(options) {
  if (!loaded) {
    domain.initSync({ module: readFileSync(new URL("./domain_bg.wasm", import.meta.url)) });
    loaded = true;
  }
  return openReplica(options, domain);
}
