// Runs npm scripts side by side (`node scripts/run-parallel.mjs typecheck:code typecheck:ui build:emit`)
// and fails if any fails: `npm test` type-checks and builds at once on its two cores instead of one
// after the other. The build there skips type-checking (`tsc --noCheck`, same JavaScript), since the
// type-check covers src: that was src checked twice, ~7 s of the two cores.
// Each script's output is printed whole when it ends, so the two never interleave.
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
