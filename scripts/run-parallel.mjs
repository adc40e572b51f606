// Runs npm scripts side by side (`node scripts/run-parallel.mjs typecheck:code typecheck:ui build`)
// and fails if any fails: `npm test` type-checks and builds at once instead of one after the other.
// Each script's output is printed whole when it ends, so they never interleave.
import { spawn } from "node:child_process";

const names = process.argv.slice(2);
const results = await Promise.all(
  names.map(
    (name) =>
      new Promise((resolve) => {
        const child = spawn("npm", ["run", "--silent", name], { stdio: ["ignore", "pipe", "pipe"], shell: process.platform === "win32" });
        let output = "";
        child.stdout.on("data", (d) => (output += d));
        child.stderr.on("data", (d) => (output += d));
        child.on("close", (code) => {
          process.stdout.write(`> ${name}${code === 0 ? "" : ` (failed, exit ${code})`}\n${output}`);
          resolve(code);
        });
      }),
  ),
);
process.exit(results.every((code) => code === 0) ? 0 : 1);
