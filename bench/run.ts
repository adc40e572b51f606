/**
 * Runs the benchmarks: `npm run bench` runs all, `npm run bench -- runtime` only the named ones.
 * Results go to bench/results/<name>.json (not committed: figures belong to the machine they ran on).
 */
const ALL = ["runtime", "tabular", "loader", "server", "batch"] as const;

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(ALL as readonly string[]).includes(w));
if (unknown.length > 0) {
  console.error(`Unknown benchmark(s): ${unknown.join(", ")}. Known: ${ALL.join(", ")}.`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : ALL) {
  const mod = (await import(`./${name}.ts`)) as { main(): Promise<void> };
  await mod.main();
}
