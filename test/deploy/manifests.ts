// Reads a kustomization under deploy/ as kustomize would: kustomization.yaml, then every document
// of every file its `resources` list (each must parse without errors).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { parseAllDocuments } from "yaml";

export type Doc = Record<string, any>;

/** The documents of one YAML file of `deploy/<folder>/`, each checked to parse. */
export function readManifest(folder: string, file: string): Doc[] {
  const dir = fileURLToPath(new URL(`../../deploy/${folder}/`, import.meta.url));
  return parseAllDocuments(readFileSync(join(dir, file), "utf8")).map((d) => {
    expect(d.errors, file).toEqual([]);
    return d.toJSON() as Doc;
  });
}

/** `deploy/<folder>/kustomization.yaml` and the documents of the resources it lists. */
export function readKustomization(folder: string): { kustomization: Doc; docs: Doc[] } {
  const kustomization = readManifest(folder, "kustomization.yaml")[0] as Doc;
  return { kustomization, docs: (kustomization["resources"] as string[]).flatMap((file) => readManifest(folder, file)) };
}
