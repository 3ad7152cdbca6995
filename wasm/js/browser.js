// Entry point for browsers and bundlers (Vite, webpack, plain ESM). Each domain is a module of
// its own, fetched next to this file when a replica of that domain is first opened; bundlers
// see the modules through `import()` and `new URL(..., import.meta.url)`.

import { openReplica } from "./replica.js";

export { AnnalsError, isAnnalsError } from "./errors.js";

const MODULES = {
  inventory: () =>
    import("./annals_inventory.js").then((glue) =>
      glue
        .default({ module_or_path: new URL("./annals_inventory_bg.wasm", import.meta.url) })
        .then(() => glue.Replica),
    ),
  bank: () =>
    import("./annals_bank.js").then((glue) =>
      glue
        .default({ module_or_path: new URL("./annals_bank_bg.wasm", import.meta.url) })
        .then(() => glue.Replica),
    ),
};

const loaded = {};

export async function open(options) {
  const domain = options?.domain;
  const load = Object.hasOwn(MODULES, domain) ? MODULES[domain] : undefined;
  const Core = load ? await (loaded[domain] ??= load()) : undefined;
  return openReplica(options, Core);
}
