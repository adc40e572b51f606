/**
 * Runs the benchmarks: `npm run bench` runs all, `npm run bench -- runtime` only the named ones.
 * Results go to bench/results/<name>.json (not committed: figures belong to the machine they ran on).
 */
const ALL = ["runtime", "tabular", "loader", "server", "batch", "store-startup", "startup", "swap", "onnx", "grpc"] as const;
/** Benchmarks that take minutes: run only when named (`SOAK_MINUTES=30 npm run bench -- soak`). */
const NAMED_ONLY = ["soak"] as const;

const wanted = process.argv.slice(2);
const known: readonly string[] = [...ALL, ...NAMED_ONLY];
const unknown = wanted.filter((w) => !known.includes(w));
if (unknown.length > 0) {
  console.error(`Unknown benchmark(s): ${unknown.join(", ")}. Known: ${known.join(", ")} (${NAMED_ONLY.join(", ")} only when named).`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : ALL) {
  const mod = (await import(`./${name}.ts`)) as { main(): Promise<void> };
  await mod.main();
}
