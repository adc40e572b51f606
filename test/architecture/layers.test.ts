/**
 * The one-way layers of ARCHITECTURE.md, kept true by reading every import in src/ (as Kedro's
 * import linter does). src/batch is the batch part beside the server: it may use the loader and
 * tabular, like the server. Two leaf parts sit under every part: src/errors (the error foundation)
 * and src/util (helpers such as an atomic write that parts which may not import each other, store
 * and tabular, share). Every part may import them, and they import no part.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src");

/** Leaf parts that import no other part and that every part may import. */
const LEAVES: readonly string[] = ["errors", "util"];

const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  errors: [],
  util: [],
  tabular: [],
  store: [],
  runtime: ["tabular"],
  packager: ["runtime", "tabular", "store"],
  loader: ["runtime", "tabular", "store"],
  server: ["loader", "tabular"],
  batch: ["loader", "tabular"],
  cli: ["runtime", "tabular", "store", "packager", "loader", "server", "batch", "index"],
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => join(e.parentPath, e.name));
}

/** The parts a file imports: `../loader/index.js` from src/server is "loader"; the root index is "index". */
function importedParts(file: string): { part: string; specifier: string }[] {
  const text = readFileSync(file, "utf8");
  const out: { part: string; specifier: string }[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
    const specifier = (m[1] ?? m[2]) as string;
    if (!specifier.startsWith(".")) continue;
    const target = relative(src, join(dirname(file), specifier));
    const [first] = target.split(sep);
    out.push({ part: first === "index.js" ? "index" : (first as string), specifier });
  }
  return out;
}

describe("the layers of ARCHITECTURE.md", () => {
  const parts = Object.keys(ALLOWED);

  it("has a rule for every folder of src/", () => {
    const folders = readdirSync(src, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(folders.sort()).toEqual([...parts].sort());
  });

  it.each(parts)("src/%s imports only the parts it may", (part) => {
    const violations: string[] = [];
    for (const file of files(join(src, part))) {
      for (const { part: imported, specifier } of importedParts(file)) {
        const mayImport = ALLOWED[part]!.includes(imported) || (LEAVES.includes(imported) && !LEAVES.includes(part));
        if (imported !== part && !mayImport) violations.push(`${relative(src, file)} imports ${specifier}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("reaches other parts only through their index.ts", () => {
    const deep: string[] = [];
    for (const part of parts) {
      for (const file of files(join(src, part))) {
        for (const { part: imported, specifier } of importedParts(file)) {
          if (imported !== part && imported !== "index" && !specifier.endsWith(`${imported}/index.js`))
            deep.push(`${relative(src, file)} imports ${specifier}`);
        }
      }
    }
    expect(deep).toEqual([]);
  });

  it("has no default exports in src/", () => {
    const offenders = [...files(src)].filter((f) => /^export default /m.test(readFileSync(f, "utf8"))).map((f) => relative(src, f));
    expect(offenders).toEqual([]);
  });
});
