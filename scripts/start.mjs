#!/usr/bin/env node
// `npm start`: build if needed, train the penguins example into the run store (./mlruns, or
// $MLFLOW_TRACKING_URI), then serve the model it registered on http://127.0.0.1:5000 ($PIPESERVE_PORT or $PORT; $PIPESERVE_HOST or $HOST).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "dist", "cli", "bin.js");

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

if (!existsSync(bin) || statSync(bin).mtimeMs < newestSource(join(root, "src"))) {
  console.log("Building pipeserve (tsc, then the bundle of the bin)…");
  const build = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { stdio: "inherit" });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

console.log("Training the penguins example (models/penguins)…");
const run = spawnSync(process.execPath, [bin, "run", "--project", join(root, "models", "penguins"), "--pipeline", "__default__"], { stdio: "inherit" });
if (run.status !== 0) process.exit(run.status ?? 1);

// NB: the port is left to `serve`, which reads PIPESERVE_PORT, then PORT (and names the variable
// of a bad value); the host is PIPESERVE_HOST (which `serve` reads), else HOST, else 127.0.0.1.
const port = process.env.PIPESERVE_PORT ?? process.env.PORT ?? "5000";
const hostFromEnv = process.env.PIPESERVE_HOST === undefined ? process.env.HOST : undefined;
const host = process.env.PIPESERVE_HOST ?? process.env.HOST ?? "127.0.0.1";
console.log(`
Serving models:/penguins/latest on http://${host}:${port} — try:

  curl -s http://${host}:${port}/invocations -H 'Content-Type: application/json' \\
    -d '{"dataframe_split": {"columns": ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"],
         "data": [["Torgersen", 39.1, 18.7, 181.0, 3750.0, "MALE"]]},
         "params": {"threshold": 0.9, "return_probabilities": true}}'
`);
const server = spawn(process.execPath, [bin, "serve", "-m", "models:/penguins/latest", ...(hostFromEnv !== undefined ? ["-h", hostFromEnv] : [])], {
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.kill(signal));
server.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
