// allInOrder and mapInOrder: a store's files are read side by side, but a failure is reported as
// reading them one at a time would have: the first failing read in the given order, whichever
// failed sooner. mapInOrder holds a bounded number of reads (file descriptors) at once.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { READS_AT_ONCE, allInOrder, mapInOrder } from "../../src/store/fs-utils.js";
import { readKeyFiles } from "../../src/store/logged-model.js";
import { useTempDir } from "./helpers.js";

const tmp = useTempDir("pipeserve-fs-utils-");

describe("allInOrder", () => {
  it("gives the values in the order given, not the order they arrived", async () => {
    const values = await allInOrder([sleep(20).then(() => "slow"), Promise.resolve(2), sleep(5).then(() => ({ fast: true }))]);
    expect(values).toEqual(["slow", 2, { fast: true }]);
  });

  it("throws the first failure in the order given, though a later one failed sooner", async () => {
    const first = sleep(20).then(() => Promise.reject(new Error("meta.yaml is missing")));
    const later = Promise.reject(new Error("a tag file is unreadable"));
    await expect(allInOrder([Promise.resolve(1), first, later])).rejects.toThrow("meta.yaml is missing");
  });

  it("waits for every read before it throws, so none is left running or unhandled", async () => {
    let finished = false;
    const slow = sleep(20).then(() => {
      finished = true;
    });
    await expect(allInOrder([Promise.reject(new Error("first")), slow])).rejects.toThrow("first");
    expect(finished).toBe(true);
  });

  it("gives an empty array for no promises", async () => {
    expect(await allInOrder([])).toEqual([]);
  });
});

describe("mapInOrder", () => {
  it("gives results in the items' order, with at most `limit` reads under way at once", async () => {
    let running = 0;
    let most = 0;
    const items = Array.from({ length: 50 }, (_, i) => i);
    const out = await mapInOrder(
      items,
      async (i) => {
        running++;
        most = Math.max(most, running);
        await sleep((i * 7) % 5);
        running--;
        return i * 2;
      },
      4,
    );
    expect(out).toEqual(items.map((i) => i * 2));
    expect(most).toBe(4);
  });

  it("throws the first failure in order, starts nothing after one is seen, and waits for the reads under way", async () => {
    const started: number[] = [];
    let settled = 0;
    const read = async (i: number): Promise<number> => {
      started.push(i);
      try {
        // NB: item 1 fails late, item 2 at once: item 1's error is the one reading in order gives.
        if (i === 1) await sleep(20);
        if (i === 1 || i === 2) throw new Error(`item ${i} is unreadable`);
        await sleep(5);
        return i;
      } finally {
        settled++;
      }
    };
    await expect(mapInOrder([0, 1, 2, 3, 4, 5, 6, 7], read, 3)).rejects.toThrow("item 1 is unreadable");
    expect(settled).toBe(started.length);
    expect(started.length).toBeLessThan(8);
  });

  it("gives an empty array for no items", async () => {
    expect(await mapInOrder([], async () => 1)).toEqual([]);
  });
});

describe("readKeyFiles", () => {
  it("reads a folder of more files than it reads at once, each under its name, nested folders as key/with/slashes", async () => {
    const dir = join(tmp(), "params");
    await mkdir(join(dir, "nested", "deeper"), { recursive: true });
    const count = READS_AT_ONCE * 4 + 3;
    const expected: Record<string, string> = {};
    for (let i = 0; i < count; i++) {
      await writeFile(join(dir, `p${i}`), `value ${i}`);
      expected[`p${i}`] = `value ${i}`;
    }
    await writeFile(join(dir, "nested", "deeper", "leaf"), "x");
    await writeFile(join(dir, ".hidden.tmp"), "skipped");
    expected["nested/deeper/leaf"] = "x";
    const read = await readKeyFiles(dir, (name) => name.endsWith(".tmp"));
    expect(read).toEqual(expected);
  });
});
