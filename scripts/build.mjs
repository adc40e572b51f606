#!/usr/bin/env node
// `npm run build`: tsc, then the bundle of the bin (./bundle-cli.mjs). The one build that
// `npm run build`, `npm start`, the tests and the Docker image's `npm pack` run.
// `--allow-type-errors`: a dist/ that tsc emitted despite type errors is bundled all the same (the
// tests use it: they test dist/ as emitted, and typecheck apart).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const allowTypeErrors = process.argv.includes("--allow-type-errors");

const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.build.json")], {
  stdio: "inherit",
});
if (tsc.status !== 0) {
  if (!allowTypeErrors || !existsSync(join(root, "dist", "cli", "bin.js"))) process.exit(tsc.status ?? 1);
  process.stderr.write("warning: tsc -p tsconfig.build.json reported errors; bundling dist/ as emitted.\n");
}
const bundle = spawnSync(process.execPath, [fileURLToPath(new URL("./bundle-cli.mjs", import.meta.url))], { stdio: "inherit" });
process.exit(bundle.status ?? 1);
