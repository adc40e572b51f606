import { cloneDataFrame, isDataFrame } from "../tabular/index.js";
import { DatasetError } from "./errors.js";

/** How a memory dataset hands out its data: the same reference, a shallow copy, or a full clone. */
export const COPY_MODES = ["assign", "copy", "deepcopy"] as const;
export type CopyMode = (typeof COPY_MODES)[number];

/** One mode for every dataset, or a map of dataset name → mode with an optional `default`. */
export type CopyModeSpec = CopyMode | Readonly<Record<string, CopyMode>>;

/**
 * Marks an object that is one shared resource (an ONNX session, a native handle): every copy
 * mode hands out the object itself, since a copy would be broken or a second resource.
 */
export const SHARED_RESOURCE: unique symbol = Symbol.for("pipeserve.sharedResource") as never;

/** Objects shared without a mark of their own (a library's model loaded by a folder codec). */
const sharedObjects = new WeakSet<object>();

/**
 * Marks a library's object as shared, as `SHARED_RESOURCE` marks pipeserve's own: every copy mode
 * hands over the object itself. For objects a deep copy would break (a TensorFlow.js model's
 * tensors live in its engine), without touching the object.
 */
export function shareResource(value: unknown): void {
  if (value !== null && (typeof value === "object" || typeof value === "function")) sharedObjects.add(value as object);
}

/** Whether `value` is marked `SHARED_RESOURCE` or shared with `shareResource`. */
export function isSharedResource(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  return (value as { [SHARED_RESOURCE]?: unknown })[SHARED_RESOURCE] === true || sharedObjects.has(value);
}

/** Checks a copy mode named by a user. */
export function parseCopyMode(value: unknown, dataset?: string): CopyMode {
  if (typeof value === "string" && (COPY_MODES as readonly string[]).includes(value)) return value as CopyMode;
  const where = dataset === undefined ? "" : ` for dataset "${dataset}"`;
  throw new DatasetError(`Invalid copy mode ${JSON.stringify(value)}${where}. Use one of: ${COPY_MODES.join(", ")}.`, { code: "INVALID_COPY_MODE" });
}

/** Checks a whole copy-mode spec (a mode, or a map of modes). */
export function parseCopyModeSpec(spec: unknown): CopyModeSpec {
  if (typeof spec === "string") return parseCopyMode(spec);
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new DatasetError(`Invalid copy mode ${JSON.stringify(spec)}. Use one of ${COPY_MODES.join(", ")}, or an object of dataset name → mode.`, {
      code: "INVALID_COPY_MODE",
    });
  }
  const out: Record<string, CopyMode> = {};
  for (const [name, mode] of Object.entries(spec)) out[name] = parseCopyMode(mode, name);
  return out;
}

/** The mode a spec gives a dataset: its own entry, else the map's `default`, else `undefined` (infer from the data). */
export function copyModeFor(spec: CopyModeSpec | undefined, dataset: string): CopyMode | undefined {
  if (spec === undefined) return undefined;
  if (typeof spec === "string") return spec;
  return spec[dataset] ?? spec["default"];
}

/**
 * Kedro's rule when no mode is given: tables and arrays are copied, primitives assigned, other
 * objects deep-copied.
 */
export function inferCopyMode(data: unknown): CopyMode {
  if (data === null || typeof data !== "object" || isSharedResource(data)) return "assign";
  if (isDataFrame(data) || Array.isArray(data) || ArrayBuffer.isView(data)) return "copy";
  return "deepcopy";
}

/** A full clone that keeps prototypes (class instances stay instances) and DataFrames DataFrames. */
export function deepClone<T>(value: T, seen = new Map<unknown, unknown>()): T {
  if (value === null || typeof value !== "object" || isSharedResource(value)) return value;
  if (seen.has(value)) return seen.get(value) as T;
  if (isDataFrame(value)) return cloneDataFrame(value, true) as T;
  if (ArrayBuffer.isView(value)) return (value as unknown as { slice(): T }).slice();
  if (value instanceof ArrayBuffer) return value.slice(0) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (value instanceof RegExp) return new RegExp(value.source, value.flags) as T;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    seen.set(value, out);
    for (let i = 0; i < value.length; i++) out[i] = deepClone(value[i], seen);
    return out as T;
  }
  if (value instanceof Map) {
    const out = new Map();
    seen.set(value, out);
    for (const [k, v] of value) out.set(deepClone(k, seen), deepClone(v, seen));
    return out as T;
  }
  if (value instanceof Set) {
    const out = new Set();
    seen.set(value, out);
    for (const v of value) out.add(deepClone(v, seen));
    return out as T;
  }
  const out = Object.create(Object.getPrototypeOf(value) as object | null) as Record<PropertyKey, unknown>;
  seen.set(value, out);
  for (const key of Reflect.ownKeys(value)) {
    const desc = Object.getOwnPropertyDescriptor(value, key) as PropertyDescriptor;
    if ("value" in desc) desc.value = deepClone(desc.value, seen);
    Object.defineProperty(out, key, desc);
  }
  return out as T;
}

/** A shallow copy: a DataFrame copy, an array or typed-array slice, an object spread (keeping its prototype). */
export function shallowCopy<T>(value: T): T {
  if (value === null || typeof value !== "object" || isSharedResource(value)) return value;
  if (isDataFrame(value)) return cloneDataFrame(value, false) as T;
  if (Array.isArray(value)) return value.slice() as T;
  if (ArrayBuffer.isView(value)) return (value as unknown as { slice(): T }).slice();
  if (value instanceof Map) return new Map(value) as T;
  if (value instanceof Set) return new Set(value) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  return Object.assign(Object.create(Object.getPrototypeOf(value) as object | null) as object, value) as T;
}

/** Applies a copy mode to data. */
export function copyData<T>(data: T, mode: CopyMode): T {
  switch (mode) {
    case "assign":
      return data;
    case "copy":
      return shallowCopy(data);
    case "deepcopy":
      return deepClone(data);
  }
}
