import type { DataCatalog } from "./catalog.js";
import type { Node } from "./node.js";
import type { Pipeline } from "./pipeline.js";

/** What every hook call is told about the run. */
export interface RunContext {
  readonly runId: string;
  readonly pipeline: Pipeline;
  readonly catalog: DataCatalog;
}

export interface NodeContext extends RunContext {
  readonly node: Node;
  /** The loaded inputs, by dataset name. */
  readonly inputs: Readonly<Record<string, unknown>>;
}

/**
 * Optional callbacks around a run, called in this order: `beforePipelineRun`, then per node
 * `beforeNodeRun` → (`afterNodeRun` | `onNodeError`), then `afterPipelineRun` or
 * `onPipelineError`. A hook may be async; the runner awaits it.
 */
export interface Hooks {
  beforePipelineRun?(context: RunContext): void | Promise<void>;
  afterPipelineRun?(context: RunContext & { readonly outputs: Readonly<Record<string, unknown>> }): void | Promise<void>;
  onPipelineError?(context: RunContext & { readonly error: Error }): void | Promise<void>;
  beforeNodeRun?(context: NodeContext): void | Promise<void>;
  /** `seconds`: how long the node function ran. */
  afterNodeRun?(context: NodeContext & { readonly outputs: Readonly<Record<string, unknown>>; readonly seconds: number }): void | Promise<void>;
  onNodeError?(context: NodeContext & { readonly error: Error; readonly seconds: number }): void | Promise<void>;
}
