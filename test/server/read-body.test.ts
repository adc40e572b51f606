// readBody reads a big declared body from the Node request itself when one is given (read-body.ts
// readIncoming): the bytes whole; a stream that ends short of its declared length, or a request
// already torn down, is a client that went away — never a partial body, never a wait forever.
import { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { ClientAbortError } from "../../src/server/errors.js";
import { readBody } from "../../src/server/read-body.js";

const DECLARED = 2 ** 20 + 5;

function requestDeclaring(length: number): Request {
  return new Request("http://localhost/invocations", { method: "POST", headers: { "content-length": String(length) }, body: "unused" });
}

function incomingWith(chunks: Buffer[], end: boolean): IncomingMessage {
  const incoming = new IncomingMessage(new Socket());
  for (const chunk of chunks) incoming.push(chunk);
  if (end) incoming.push(null);
  return incoming;
}

describe("readBody from the Node request", () => {
  it("reads a declared body whole, chunk by chunk", async () => {
    const bytes = Buffer.alloc(DECLARED, 7);
    const incoming = incomingWith([bytes.subarray(0, 1000), bytes.subarray(1000)], true);
    const body = await readBody(requestDeclaring(DECLARED), 10 * DECLARED, incoming);
    expect(body.byteLength).toBe(DECLARED);
    expect(Buffer.from(body).equals(bytes)).toBe(true);
  });

  it("reads a body of any declared size from the Node request (one copy, not a join and a copy)", async () => {
    const bytes = Buffer.alloc(20_000, 9);
    const big = await readBody(requestDeclaring(bytes.length), 10 * DECLARED, incomingWith([bytes.subarray(0, 7000), bytes.subarray(7000)], true));
    expect(Buffer.from(big).equals(bytes)).toBe(true);
    // NB: the web Request's own body is "unused": a small body too is read from the Node request, not from it.
    const small = await readBody(requestDeclaring(6), 10 * DECLARED, incomingWith([Buffer.from("nodejs")], true));
    expect(Buffer.from(small).toString()).toBe("nodejs");
    const empty = await readBody(requestDeclaring(0), 10 * DECLARED, incomingWith([], true));
    expect(empty.byteLength).toBe(0);
  });

  it("without a Node request (a web Request alone, as app.fetch gets it), reads the Request's own body", async () => {
    const small = await readBody(requestDeclaring(6), 10 * DECLARED);
    expect(Buffer.from(small).toString()).toBe("unused");
  });

  it("a stream that ends short of its declared length is a client that went away", async () => {
    const incoming = incomingWith([Buffer.alloc(1000)], true);
    await expect(readBody(requestDeclaring(DECLARED), 10 * DECLARED, incoming)).rejects.toBeInstanceOf(ClientAbortError);
  });

  it("a request already torn down is refused at once, not waited on", async () => {
    const incoming = incomingWith([], false);
    incoming.destroy();
    await expect(readBody(requestDeclaring(DECLARED), 10 * DECLARED, incoming)).rejects.toBeInstanceOf(ClientAbortError);
  });

  it("a request torn down mid-body is a client that went away", async () => {
    const incoming = incomingWith([Buffer.alloc(1000)], false);
    const reading = readBody(requestDeclaring(DECLARED), 10 * DECLARED, incoming);
    setTimeout(() => incoming.destroy(), 10);
    await expect(reading).rejects.toBeInstanceOf(ClientAbortError);
  });
});
