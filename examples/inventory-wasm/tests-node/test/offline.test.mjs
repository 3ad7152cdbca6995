// The packed package in Node, with no server: commands apply at once, rules refuse with a
// typed error, views, streams, time travel, undo and redo work from memory.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";

import { installPackage, tempDir } from "../support.mjs";

let annals;
let dir;

before(async () => {
  dir = await tempDir("offline");
  annals = await installPackage(dir);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("offline, in memory", () => {
  test("a command applies at once and shows in the views", async () => {
    const replica = await annals.open({ storage: "memory" });
    const item = randomUUID();
    const added = replica.execute({
      type: "AddItem",
      data: { item, name: "Rice", unit: "kg", reorder_level: 5 },
    });
    assert.equal(added.status, "pending");
    assert.equal(added.events[0].type, "ItemAdded");
    assert.equal(added.events[0].stream, `item-${item}`);
    assert.equal(added.events[0].position, undefined);
    replica.execute({ type: "ReceiveStock", data: { item, site: "crossroads", qty: 3 } });
    assert.deepEqual(replica.view("stock", item), {
      name: "Rice",
      unit: "kg",
      reorder_level: 5,
      sites: { crossroads: 3 },
      total: 3,
      retired: false,
    });
    assert.deepEqual(Object.keys(replica.view("low_stock")), [item]);
    assert.equal(replica.view("activity")[0].event.type, "StockReceived");
    assert.deepEqual(replica.view("history", item), { crossroads: [[null, 3]] });
    assert.equal(replica.pending().length, 2);
    assert.equal(replica.status(added.id), "pending");
    replica.close();
  });

  test("a rule that refuses throws an AnnalsError with its code and message", async () => {
    const replica = await annals.open({ storage: "memory" });
    const item = randomUUID();
    replica.execute({ type: "AddItem", data: { item, name: "Rice", unit: "kg" } });
    replica.execute({ type: "ReceiveStock", data: { item, site: "crossroads", qty: 1 } });
    let caught;
    try {
      replica.execute({ type: "ConsumeStock", data: { item, site: "crossroads", qty: 2 } });
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof Error, "a real Error");
    assert.ok(caught instanceof annals.AnnalsError);
    assert.ok(annals.isAnnalsError(caught));
    assert.equal(caught.name, "AnnalsError");
    assert.equal(caught.code, "insufficient_stock");
    assert.equal(caught.message, "Only 1 kg of Rice left at crossroads; cannot use 2.");
    assert.equal(replica.pending().length, 2, "the refused command is not queued");
    assert.equal(replica.view("stock", item).total, 1);
    replica.close();
  });

  test("malformed commands are refused with codes, not crashes", async () => {
    const replica = await annals.open({ storage: "memory" });
    const codeOf = (command) => {
      try {
        replica.execute(command);
      } catch (error) {
        return error.code;
      }
      return "accepted";
    };
    assert.equal(codeOf({ type: "Explode", data: {} }), "unknown_command_type");
    assert.equal(codeOf({ type: "AddItem", data: { item: "not-a-uuid", name: "x" } }), "invalid_command");
    assert.equal(codeOf({ type: "AddItem", data: { item: randomUUID(), name: "  " } }), "invalid_name");
    assert.equal(codeOf({ data: {} }), "invalid_command");
    assert.equal(codeOf({ id: "nope", type: "RetireItem", data: { item: randomUUID() } }), "invalid_id");
    assert.throws(() => replica.view("nothing"), { code: "unknown_view" });
    assert.equal(replica.pending().length, 0);
    replica.close();
  });

  test("streams, time travel, undo and redo", async () => {
    const replica = await annals.open({ storage: "memory" });
    const item = randomUUID();
    const stream = `item-${item}`;
    replica.execute({ type: "AddItem", data: { item, name: "Oats", unit: "kg" } });
    replica.execute({ type: "ReceiveStock", data: { item, site: "north", qty: 10 } });
    replica.execute({ type: "ConsumeStock", data: { item, site: "north", qty: 4 } });
    assert.equal(replica.stream(stream).version, 3);
    assert.equal(replica.stream(stream).state.stock.north, 6);
    assert.equal(replica.stateAt(stream, 2).state.stock.north, 10);
    assert.equal(replica.stateAt(stream, 0).state, null);
    assert.ok(replica.summary().canUndo);
    const undone = replica.undo();
    assert.equal(undone.events[0].type, "StockReceived", "undo is a compensating command");
    assert.equal(replica.stream(stream).state.stock.north, 10);
    replica.redo();
    assert.equal(replica.stream(stream).state.stock.north, 6);
    assert.equal(replica.stream(stream).version, 5, "history is kept");
    replica.close();
    assert.throws(() => replica.view("stock"), { code: "closed" });
  });

  test("a command id given twice runs once", async () => {
    const replica = await annals.open({ storage: "memory" });
    const id = randomUUID();
    const command = { id, type: "AddItem", data: { item: randomUUID(), name: "Tea" } };
    const first = replica.execute(command);
    const again = replica.execute(command);
    assert.equal(first.id, id);
    assert.deepEqual(again, first);
    assert.equal(replica.pending().length, 1);
    replica.close();
  });

  test("another package: the bank domain's cents, credit lines and transfers", async () => {
    const bank = await installPackage(await tempDir("bank"), "bank");
    const replica = await bank.open({ storage: "memory" });
    assert.equal(replica.domain, "bank");
    assert.equal(replica.key, "annals/bank");
    const alice = randomUUID();
    const bob = randomUUID();
    replica.execute({ type: "OpenAccount", data: { account: alice, owner: "Alice" } });
    replica.execute({ type: "OpenAccount", data: { account: bob, owner: "Bob" } });
    replica.execute({ type: "Deposit", data: { account: alice, amount: 1000, reference: "pay" } });
    replica.execute({ type: "ChangeCreditLine", data: { account: alice, limit: 500 } });
    const transfer = replica.execute({
      type: "Transfer",
      data: { from: alice, to: bob, amount: 1500, reference: "rent" },
    });
    assert.deepEqual(
      transfer.events.map((e) => [e.type, e.stream]),
      [
        ["TransferredOut", `account-${alice}`],
        ["TransferredIn", `account-${bob}`],
      ],
    );
    assert.equal(replica.view("balances", alice).balance, -500);
    assert.equal(replica.view("balances", bob).balance, 1500);
    assert.throws(
      () => replica.execute({ type: "Withdraw", data: { account: alice, amount: 1, reference: "" } }),
      { name: "AnnalsError", code: "insufficient_funds" },
    );
    assert.deepEqual(
      replica.view("statement", alice).map((line) => [line.kind, line.amount, line.balance]),
      [
        ["MoneyDeposited", 1000, 1000],
        ["TransferredOut", -1500, -500],
      ],
    );
    replica.close();
  });

  test("options are checked", async () => {
    await assert.rejects(annals.open({ storage: "disk" }), { code: "invalid_option" });
    await assert.rejects(annals.open({ key: 7 }), { code: "invalid_option" });
    await assert.rejects(annals.open({ storage: "local" }), {
      code: "storage_unavailable",
    });
    const replica = await annals.open({});
    await assert.rejects(replica.sync(), { code: "no_server" });
    replica.close();
  });
});
