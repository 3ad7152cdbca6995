// The package's Server-Sent Events parser (exported by sync.js, which is not among the
// package's exports, so it is imported from the installed package's folder): one stream of
// several events, with LF, CR, CRLF and mixed line endings, cut into two chunks at every byte
// and into one-byte chunks, always gives the same events, each as soon as its line is ended.

import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";

import { installPackage, tempDir } from "../support.mjs";

let eventStream;
let dir;

before(async () => {
  dir = await tempDir("sse");
  await installPackage(dir);
  ({ eventStream } = await import(pathToFileURL(join(dir, "node_modules/annals-inventory/sync.js")).href));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// The stream, line by line, with what each line makes the parser report once it is ended.
const event = (type, data, id) => ["event", { type, data, id }];
const LINES = [
  [": a comment first", ["comment", "a comment first"]],
  ["retry: 2500", ["retry", 2500]],
  ["id: 1"],
  ['data: {"position":1}'],
  ["", event("message", '{"position":1}', "1")],
  ["id: 2"],
  ["event: message"],
  ["data: first line"],
  ["data:second line, no space"],
  ["data:  two spaces, one kept"],
  ["data"],
  [":between fields", ["comment", "between fields"]],
  ["", event("message", "first line\nsecond line, no space\n two spaces, one kept\n", "2")],
  [""],
  ["id: 3\0with a NUL"],
  ["event: notice"],
  ["data: café, 🥕, ✓"],
  ["retry: soon"],
  ["unknown: field"],
  ["unknown"],
  ["", event("notice", "café, 🥕, ✓", "2")],
  ["id"],
  ["data: after an empty id"],
  ["", event("message", "after an empty id", "")],
  ["id: 5"],
  [""],
  [":", ["comment", ""]],
  [""],
  ["data:"],
  ["", event("message", "", "5")],
  ["data: carries id 5"],
  ["", event("message", "carries id 5", "5")],
  ["data: cut off: the stream ends before its blank line"],
];

const ENDINGS = {
  LF: () => "\n",
  CR: () => "\r",
  CRLF: () => "\r\n",
  mixed: (i) => ["\r\n", "\n", "\r"][i % 3],
};

const encoder = new TextEncoder();

// The stream's bytes (a UTF-8 BOM first), and for each report the number of bytes after which
// it is due: its line and the first character of the line's ending.
function build(ending) {
  let text = "\uFEFF";
  const due = [];
  LINES.forEach(([line, report], i) => {
    text += line;
    if (report) due.push({ report, bytes: encoder.encode(text).length + 1, chars: text.length + 1 });
    if (i < LINES.length - 1) text += ending(i);
  });
  return { text, bytes: encoder.encode(text), due };
}

function parser() {
  const reports = [];
  const feed = eventStream({
    event: (e) => reports.push(["event", e]),
    comment: (text) => reports.push(["comment", text]),
    retry: (ms) => reports.push(["retry", ms]),
  });
  return { reports, feed };
}

// Bytes go through a streaming UTF-8 decoder that keeps the BOM, as sync.js reads them.
function byteParser() {
  const { reports, feed } = parser();
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  return {
    reports,
    push: (bytes) => feed(decoder.decode(bytes, { stream: true })),
    end: () => feed(decoder.decode()),
  };
}

const expected = (due, upTo, unit) => due.filter((d) => d[unit] <= upTo).map((d) => d.report);

describe("the Server-Sent Events parser", () => {
  for (const [name, ending] of Object.entries(ENDINGS)) {
    const { text, bytes, due } = build(ending);
    const all = due.map((d) => d.report);

    test(`${name} endings, in two chunks cut at every byte`, () => {
      for (let cut = 0; cut <= bytes.length; cut += 1) {
        const p = byteParser();
        p.push(bytes.subarray(0, cut));
        assert.deepEqual(p.reports, expected(due, cut, "bytes"), `${name}, first ${cut} bytes`);
        p.push(bytes.subarray(cut));
        p.end();
        assert.deepEqual(p.reports, all, `${name}, cut after byte ${cut}`);
      }
    });

    test(`${name} endings, one byte at a time`, () => {
      const p = byteParser();
      for (let i = 0; i < bytes.length; i += 1) {
        p.push(bytes.subarray(i, i + 1));
        assert.deepEqual(p.reports, expected(due, i + 1, "bytes"), `${name}, first ${i + 1} bytes`);
      }
      p.end();
      assert.deepEqual(p.reports, all);
    });

    test(`${name} endings, as text cut at every character`, () => {
      for (let cut = 0; cut <= text.length; cut += 1) {
        const { reports, feed } = parser();
        feed(text.slice(0, cut));
        assert.deepEqual(reports, expected(due, cut, "chars"), `${name}, first ${cut} characters`);
        feed("");
        feed(text.slice(cut));
        assert.deepEqual(reports, all, `${name}, cut after character ${cut}`);
      }
    });
  }

  test("only the first BOM is skipped, and only at the start", () => {
    const { reports, feed } = parser();
    feed("\uFEFF\uFEFFdata: x\n\n\uFEFFdata: y\n\n");
    assert.deepEqual(reports, []);
    feed("data: z\n\n");
    assert.deepEqual(reports, [event("message", "z", "")]);
  });
});
