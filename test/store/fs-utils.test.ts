// allInOrder: a store's files are read side by side, but a failure is reported as reading them one
// at a time would have: the first failing read in the given order, whichever failed sooner.
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { allInOrder } from "../../src/store/fs-utils.js";

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
