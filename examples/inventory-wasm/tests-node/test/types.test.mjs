// The package's TypeScript types, as a user's project sees them through the `types` export
// condition: precise enough that wrong commands, views and codes do not compile.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, test } from "node:test";

import { installPackage, tempDir } from "../support.mjs";

const run = promisify(execFile);
const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));

// Each package's types, generated from its domain's Rust code.
const CHECK = `import { open, AnnalsError, isAnnalsError } from "annals-inventory";
import type { Command, StockRow, ActivityEntry, ReorderRow, ErrorCode, RejectionCode } from "annals-inventory";
import * as bank from "annals-bank";
import type { Balance, StatementLine } from "annals-bank";

export async function inventory(): Promise<void> {
  const replica = await open({ storage: "memory" });
  const outcome = replica.execute({ type: "ConsumeStock", data: { item: "i", site: "north", qty: 2 } });
  const status: "pending" | "accepted" | "rejected" = outcome.status;
  for (const event of outcome.events) {
    if (event.type === "StockConsumed") {
      const qty: number = event.data.qty;
      const position: number | undefined = event.position;
    }
  }
  const all: Record<string, StockRow> = replica.view("stock");
  const one: StockRow | null = replica.view("low_stock", "i");
  const activity: ActivityEntry[] | null = replica.view("activity");
  const reorders: Record<string, ReorderRow> = replica.view("reorders");
  const level: number | undefined = reorders["i/north"]?.reorder_level;
  const item = replica.stateAt("item-i", 2).state;
  if (item) {
    const held: number | undefined = item.stock["north"];
  }
  const [rejected] = replica.rejected();
  if (rejected) {
    const command: Command = rejected.command;
    const code: string = rejected.code;
    // @ts-expect-error a rejection's code is one the domain or annals gives
    if (rejected.code === "insufficient_funds") return;
  }
  const stop: () => void = replica.subscribe((change) => {
    const source: "local" | "remote" | "status" = change.source;
  });
  // @ts-expect-error a command's data is checked against its type
  replica.execute({ type: "ConsumeStock", data: { item: "i", site: "north" } });
  // @ts-expect-error a field's type is checked
  replica.execute({ type: "ConsumeStock", data: { item: "i", site: "north", qty: "2" } });
  // @ts-expect-error the inventory has no Deposit
  replica.execute({ type: "Deposit", data: { account: "a", amount: 1 } });
  // @ts-expect-error the inventory has no balances view
  replica.view("balances");
}

export async function accounts(): Promise<void> {
  const replica = await bank.open({ server: { url: "http://127.0.0.1:1", live: false } });
  replica.execute({ type: "Transfer", data: { from: "a", to: "b", amount: 100, reference: "rent" } });
  const balance: Balance | null = replica.view("balances", "a");
  const lines: Record<string, StatementLine[]> = replica.view("statement");
  await replica.sync();
  // @ts-expect-error amounts are numbers of cents
  replica.execute({ type: "Deposit", data: { account: "a", amount: "1.00", reference: "" } });
  // @ts-expect-error the bank has no ConsumeStock
  replica.execute({ type: "ConsumeStock", data: { item: "i", site: "north", qty: 2 } });
}

export function errors(error: unknown): ErrorCode | undefined {
  if (error instanceof AnnalsError) {
    if (error.code === "insufficient_stock" || error.code === "storage_full") return error.code;
  }
  if (isAnnalsError(error)) {
    // @ts-expect-error the inventory's package knows no bank rejection
    if (error.code === "insufficient_funds") return undefined;
    return error.code;
  }
  const rule: RejectionCode = "item_exists";
  // @ts-expect-error codes are a closed union
  const wrong: ErrorCode = "no_such_code";
  // @ts-expect-error a rejection code of another domain
  const other: RejectionCode = "insufficient_funds";
  return undefined;
}
`;

let dir;

before(async () => {
  dir = await tempDir("types");
  await installPackage(dir, "inventory", "bank");
  await writeFile(join(dir, "check.ts"), CHECK);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

for (const resolution of ["nodenext", "bundler"]) {
  test(`the types check under moduleResolution ${resolution}`, async () => {
    const module = resolution === "bundler" ? "esnext" : "nodenext";
    const args = [tsc, "--noEmit", "--strict", "--noUnusedLocals", "false", "--target", "es2022"];
    args.push("--lib", "es2022,dom", "--module", module, "--moduleResolution", resolution);
    args.push(join(dir, "check.ts"));
    const result = await run(process.execPath, args, { cwd: dir }).catch((error) => error);
    assert.equal(result.code ?? 0, 0, `${result.stdout ?? ""}${result.stderr ?? ""}`);
  });
}
