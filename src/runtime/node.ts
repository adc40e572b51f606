import { PipelineError } from "./errors.js";
import type { NodeCheck, NodeFunctionFor } from "./node-types.js";

/** How a node names its inputs or outputs: one dataset, datasets by position, datasets by argument name, or none. */
export type NodeIO = string | readonly string[] | Readonly<Record<string, string>> | null;

/** A node function: takes the loaded inputs and returns the outputs, or a promise of them. */
// biome-ignore lint/suspicious/noExplicitAny: parameters must be `any` so that functions with typed parameters are assignable (function parameters are contravariant)
export type NodeFunction = (...args: any[]) => unknown;

export interface NodeOptions {
  inputs: NodeIO;
  outputs: NodeIO;
  /** Unique within a pipeline; defaults to `func([inputs]) -> [outputs]`. */
  name?: string;
  tags?: string | readonly string[];
  /**
   * Pass the run's `AbortSignal` as the function's last argument, after its inputs: it fires when
   * the run is stopped (its deadline passed, the server's timeout, the caller's signal), so a slow
   * or waiting node can stop its work (`signal.throwIfAborted()`, `fetch(url, { signal })`).
   * Off by default, so functions with optional parameters never get an argument they do not expect.
   */
  signal?: boolean;
}

function datasetNames(io: NodeIO): string[] {
  if (io === null) return [];
  if (typeof io === "string") return [io];
  if (Array.isArray(io)) return [...(io as readonly string[])];
  return Object.values(io as Record<string, string>);
}

function checkIO(io: NodeIO, what: string, label: string): void {
  if (io === null || typeof io === "string") return;
  if (Array.isArray(io)) {
    if (!io.every((x) => typeof x === "string" && x !== "")) throw new PipelineError(`Node ${label}: every ${what} must be a non-empty dataset name.`);
    return;
  }
  if (typeof io === "object" && Object.values(io).every((x) => typeof x === "string" && x !== "")) return;
  throw new PipelineError(`Node ${label}: ${what} must be a dataset name, an array of names, an object of argument → name, or null.`);
}

/**
 * One step of a pipeline: a function with named inputs and outputs. Immutable.
 *
 * Inputs call the function as `f(a)` for a string, `f(a, b)` for an array, and `f({ arg: a })` for
 * an object of argument name → dataset name. Outputs store the return value for a string, the
 * returned array by position for an array, and the returned object's keys for an object.
 */
export class Node {
  readonly func: NodeFunction;
  readonly name: string;
  readonly tags: readonly string[];
  readonly inputs: NodeIO;
  readonly outputs: NodeIO;
  /** The dataset names this node reads, in argument order, duplicates removed. */
  readonly inputNames: readonly string[];
  /** The dataset names this node writes. */
  readonly outputNames: readonly string[];
  /** Whether the function takes the run's AbortSignal as its last argument (`signal: true`). */
  readonly takesSignal: boolean;

  constructor(func: NodeFunction, options: NodeOptions) {
    if (typeof func !== "function") throw new PipelineError(`node() needs a function, got ${typeof func}.`);
    const fallback = `${func.name || "<anonymous>"}`;
    checkIO(options.inputs, "inputs", `"${options.name ?? fallback}"`);
    checkIO(options.outputs, "outputs", `"${options.name ?? fallback}"`);
    this.func = func;
    this.inputs = options.inputs;
    this.outputs = options.outputs;
    this.inputNames = [...new Set(datasetNames(options.inputs))];
    const outputNames = datasetNames(options.outputs);
    if (new Set(outputNames).size !== outputNames.length) {
      throw new PipelineError(`Node "${options.name ?? fallback}" names an output twice: [${outputNames.join(", ")}].`);
    }
    this.outputNames = outputNames;
    this.name = options.name ?? `${fallback}([${this.inputNames.join(",")}]) -> [${outputNames.join(",")}]`;
    const tags = options.tags === undefined ? [] : typeof options.tags === "string" ? [options.tags] : [...options.tags];
    this.tags = [...new Set(tags)];
    this.takesSignal = options.signal === true;
    Object.freeze(this);
  }

  /**
   * Calls the function with the inputs (dataset name → value) and returns the outputs (dataset
   * name → value). A return value that does not match the declared outputs is an error naming the node.
   * A node made with `signal: true` gets `signal` after its inputs (one that never fires when none is given).
   */
  async run(inputs: Readonly<Record<string, unknown>>, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const result = await this.call(inputs, this.takesSignal ? (signal ?? new AbortController().signal) : undefined);
    return this.collectOutputs(result);
  }

  private call(inputs: Readonly<Record<string, unknown>>, signal: AbortSignal | undefined): unknown {
    const io = this.inputs;
    if (signal) return this.func(...this.args(inputs), signal);
    // NB: every prediction's path: one input, the common case, is passed without an array.
    if (typeof io === "string") return this.func(inputs[io]);
    return this.func(...this.args(inputs));
  }

  /** The function's arguments: none, one per input, or one object of argument name → value. */
  private args(inputs: Readonly<Record<string, unknown>>): unknown[] {
    const io = this.inputs;
    if (io === null) return [];
    if (typeof io === "string") return [inputs[io]];
    if (Array.isArray(io)) return (io as readonly string[]).map((n) => inputs[n]);
    const args: Record<string, unknown> = {};
    for (const [arg, dataset] of Object.entries(io as Record<string, string>)) args[arg] = inputs[dataset];
    return [args];
  }

  private collectOutputs(result: unknown): Record<string, unknown> {
    const io = this.outputs;
    if (io === null) return {};
    if (typeof io === "string") return { [io]: result };
    if (Array.isArray(io)) {
      const names = io as readonly string[];
      if (!Array.isArray(result) || result.length !== names.length) {
        throw new PipelineError(
          `Node "${this.name}" declares ${names.length} outputs [${names.join(", ")}] but returned ${describe(result)}. Return an array of ${names.length} values.`,
          { code: "OUTPUT_MISMATCH" },
        );
      }
      const out: Record<string, unknown> = {};
      names.forEach((n, i) => (out[n] = result[i]));
      return out;
    }
    const mapping = io as Record<string, string>;
    if (result === null || typeof result !== "object" || Array.isArray(result)) {
      throw new PipelineError(
        `Node "${this.name}" declares outputs {${Object.keys(mapping).join(", ")}} but returned ${describe(result)}. Return an object with those keys.`,
        { code: "OUTPUT_MISMATCH" },
      );
    }
    const missing = Object.keys(mapping).filter((k) => !(k in result));
    if (missing.length > 0) {
      throw new PipelineError(
        `Node "${this.name}" returned an object without the output keys [${missing.join(", ")}]; it has [${Object.keys(result).join(", ")}].`,
        { code: "OUTPUT_MISMATCH" },
      );
    }
    const out: Record<string, unknown> = {};
    for (const [key, dataset] of Object.entries(mapping)) out[dataset] = (result as Record<string, unknown>)[key];
    return out;
  }

  /** A copy of this node with more tags. */
  tag(...tags: string[]): Node {
    return new Node(this.func, { inputs: this.inputs, outputs: this.outputs, name: this.name, tags: [...this.tags, ...tags], signal: this.takesSignal });
  }

  toString(): string {
    return this.name;
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value === null) return "null";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/**
 * Creates a pipeline node (Kedro's `node()`). In TypeScript the function is checked against the
 * options: its parameters against `inputs` (one per name for an array, one object for an object
 * of names, the AbortSignal last with `signal: true`), its result against `outputs` (an array of
 * as many values, or an object with those keys), and `params:` inputs typed from
 * `PipelineParameters` when the project declares it.
 */
export function node<const I extends NodeIO, const O extends NodeIO, F extends NodeFunctionFor<I, S>, S extends boolean = false>(
  func: F & NodeCheck<F, I, O, S>,
  options: NodeOptions & { inputs: I; outputs: O; signal?: S },
): Node {
  return new Node(func as NodeFunction, options);
}
