// Entry point for Node 20+: each domain's module is read from disk next to this file when a
// replica of that domain is first opened.

import { readFileSync } from "node:fs";
import { openReplica } from "./replica.js";

export { AnnalsError, isAnnalsError } from "./errors.js";

const MODULES = {
  inventory: async () => {
    const glue = await import("./annals_inventory.js");
    glue.initSync({ module: readFileSync(new URL("./annals_inventory_bg.wasm", import.meta.url)) });
    return glue.Replica;
  },
  bank: async () => {
    const glue = await import("./annals_bank.js");
    glue.initSync({ module: readFileSync(new URL("./annals_bank_bg.wasm", import.meta.url)) });
    return glue.Replica;
  },
};

const loaded = {};

export async function open(options) {
  const domain = options?.domain;
  const load = Object.hasOwn(MODULES, domain) ? MODULES[domain] : undefined;
  const Core = load ? await (loaded[domain] ??= load()) : undefined;
  return openReplica(options, Core);
}
