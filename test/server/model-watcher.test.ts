// The ModelWatcher's own paths, which the process-level hot-swap tests (test/reliability/hot-swap)
// cannot reach on purpose: a request still using the old version when the swap comes, a version
// whose warm-up prediction fails, a registry that cannot be read, and a refused version tried again
// only once the alias has moved. The watcher is given the version the registry names as a number
// (`currentVersion`); loading and serving are the real ModelSlot and scoring core of an app.
import { describe, expect, it, vi } from "vitest";
import type { PipelineModel } from "../../src/index.js";
import { ModelWatcher, ServerMetrics, createServingApp } from "../../src/server/index.js";
import { capturingLogger } from "./fixtures/http.js";
import { SIGNATURES, buildModel } from "./fixtures/models.js";

async function setUp(versions: Record<number, () => Promise<PipelineModel>>) {
  const { lines: logLines, logger } = capturingLogger();
  const lines = (): { level: number; msg: string }[] => logLines() as { level: number; msg: string }[];
  const metrics = new ServerMetrics();
  const { slot } = createServingApp(await buildModel("echo", SIGNATURES.ab), { logger, metrics });
  const registry = { version: 1, loads: [] as number[], unreadable: false };
  const watcher = new ModelWatcher({
    uri: "models:/m@champion",
    currentVersion: async () => {
      if (registry.unreadable) throw new Error("connection refused");
      return registry.version;
    },
    load: async (v) => {
      registry.loads.push(v);
      const make = versions[v];
      if (!make) throw new Error(`no version ${v}`);
      return make();
    },
    servedVersion: 1,
    slot,
    logger,
    metrics,
    intervalSeconds: 0,
  });
  const logged = (start: string): number => lines().filter((l) => l.msg.startsWith(start)).length;
  const swaps = async (result: string): Promise<number> => (await metrics.modelSwaps.get()).values.find((v) => v.labels["result"] === result)?.value ?? 0;
  return { slot, watcher, registry, lines, logged, swaps };
}

describe("ModelWatcher", () => {
  it("a request using the old version when the swap comes finishes on it; the old version closes only after it", async () => {
    const v2 = await buildModel("row_count", SIGNATURES.ab);
    const { slot, watcher, registry, logged } = await setUp({ 2: async () => v2 });
    const old = slot.acquire();
    registry.version = 2;
    const checked = watcher.check();
    await vi.waitUntil(() => slot.current.model === v2, { timeout: 2_000 });
    expect(old.model).not.toBe(v2);
    expect(logged("Serving version 2")).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(logged("Version 1 of models:/m@champion closed"), "closed while a request still uses it").toBe(0);
    slot.release(old);
    await checked;
    expect(logged("Version 1 of models:/m@champion closed")).toBe(1);
  });

  it("a version whose warm-up prediction fails is not served, and is logged with the reason and counted", async () => {
    const failing = await buildModel("raise_generic", SIGNATURES.ab, { inputExample: { a: [1], b: [0.5] } });
    const { slot, watcher, registry, lines, swaps } = await setUp({ 2: async () => failing });
    const before = slot.current;
    registry.version = 2;
    await watcher.check();
    expect(slot.current).toBe(before);
    const refusal = lines().find((l) => l.msg.startsWith("Not serving version 2"));
    expect(refusal?.level).toBe(50);
    expect(refusal?.msg).toContain("its warm-up prediction on its input example failed");
    expect(refusal?.msg).toContain("Still serving version 1");
    expect(await swaps("failed")).toBe(1);
  });

  it("a registry that cannot be read: a warning, and the version serving keeps serving", async () => {
    const { slot, watcher, registry, lines } = await setUp({});
    const before = slot.current;
    registry.unreadable = true;
    await watcher.check();
    expect(slot.current).toBe(before);
    expect(lines().find((l) => l.msg.startsWith("Could not read which version models:/m@champion names"))?.level).toBe(40);
    expect(registry.loads).toEqual([]);
  });

  // Found by an audit: a deleted alias logged a warning with its stack at every poll, for ever.
  it("a registry that stays unreadable is warned about once (again when the reason changes), and said readable again", async () => {
    const { watcher, registry, lines } = await setUp({});
    const warnings = (): number => lines().filter((l) => l.level === 40 && l.msg.startsWith("Could not read which version")).length;
    registry.unreadable = true;
    for (let i = 0; i < 5; i++) await watcher.check();
    expect(warnings()).toBe(1);
    registry.unreadable = false;
    await watcher.check();
    expect(lines().some((l) => l.msg === "models:/m@champion can be read again: it names version 1")).toBe(true);
    registry.unreadable = true;
    await watcher.check();
    expect(warnings()).toBe(2);
  });

  it("start says once how the URI is followed, however often it is called", async () => {
    const { watcher, logged } = await setUp({});
    watcher.start();
    watcher.start();
    expect(logged("Following models:/m@champion (version 1 now): checked only on SIGHUP (--watch 0)")).toBe(1);
    watcher.stop();
  });

  it("a refused version is tried again only once the alias has moved away and back", async () => {
    const { watcher, registry, logged, swaps } = await setUp({});
    registry.version = 3;
    await watcher.check();
    await watcher.check();
    await watcher.check();
    expect(registry.loads, "checked three times, loaded once").toEqual([3]);
    expect(logged("Not serving version 3")).toBe(1);
    registry.version = 1;
    await watcher.check();
    registry.version = 3;
    await watcher.check();
    expect(registry.loads).toEqual([3, 3]);
    expect(await swaps("failed")).toBe(2);
  });
});
