const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1024,
  k: 1024,
  mb: 1024 ** 2,
  m: 1024 ** 2,
  gb: 1024 ** 3,
  g: 1024 ** 3,
  tb: 1024 ** 4,
  t: 1024 ** 4,
};

/** A size like `100mb`, `512k`, `2gb` or `1048576` (bytes; units are powers of 1024) in bytes, or undefined when it is not one. */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = UNITS[(m?.[2] ?? "").toLowerCase() || "b"];
  if (!m || unit === undefined || !(Number(m[1]) > 0)) return undefined;
  return Math.floor(Number(m[1]) * unit);
}

/** A byte count for people: `2 GB`, `1.5 MB`, `812 bytes` (units are powers of 1024, as `parseByteSize` reads them). */
export function formatByteSize(bytes: number): string {
  for (const [unit, size] of [
    ["TB", 1024 ** 4],
    ["GB", 1024 ** 3],
    ["MB", 1024 ** 2],
    ["KB", 1024],
  ] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`;
  }
  return `${bytes} bytes`;
}
