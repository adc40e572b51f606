import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, freePort, root, spawnNode, stop, waitForServing } from "./helpers.js";

let tracking: string;
beforeAll(async () => {
  ensureBuilt();
  tracking = await mkdtemp(join(tmpdir(), "pipeserve-start-"));
});
afterAll(async () => {
  await rm(tracking, { recursive: true, force: true });
});

describe("npm start (the README's main job)", () => {
  it("trains penguins, prints the model URI, serves it, and answers the README's curl request", async () => {
    const port = await freePort();
    const child = spawnNode([join(root, "scripts", "start.mjs")], { env: { MLFLOW_TRACKING_URI: join(tracking, "mlruns"), PORT: String(port) } });
    let output = "";
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    try {
      const url = await waitForServing(child);
      expect(url).toBe(`http://127.0.0.1:${port}`);
      // The README's request, byte for byte the body it shows.
      const readme = await readFile(join(root, "README.md"), "utf8");
      const curl = /curl -s http:\/\/127\.0\.0\.1:5000\/invocations -H 'Content-Type: application\/json' -d '([\s\S]*?)'\n/.exec(readme);
      expect(curl, "the README shows a curl request").not.toBeNull();
      const response = await fetch(`${url}/invocations`, { method: "POST", headers: { "Content-Type": "application/json" }, body: curl![1] as string });
      expect(response.status, output).toBe(200);
      const body = (await response.json()) as { predictions: { species: string; probability: number; probability_Adelie: number }[] };
      expect(body.predictions).toHaveLength(2);
      expect(body.predictions[0]!.species).toBe("Adelie");
      expect(body.predictions[0]!.probability).toBeGreaterThan(0.9);
      expect(body.predictions[0]!.probability_Adelie).toBe(body.predictions[0]!.probability);
    } finally {
      expect(await stop(child)).toBe(0);
    }
  }, 120_000);
});
