/** Base of the errors about how a pipeline is built or run. */
export class PipelineError extends Error {
  readonly code: string;
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options?.code ?? "PIPELINE_ERROR";
  }
}

/** A node function failed while running; names the node and keeps the original error as `cause`. */
export class NodeError extends PipelineError {
  readonly nodeName: string;
  constructor(nodeName: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Node "${nodeName}" failed: ${reason}`, { code: "NODE_FAILED", cause });
    this.nodeName = nodeName;
  }
}

/** Base of the errors about datasets and the catalog: a missing dataset, a failed load or save, an unknown parameter. */
export class DatasetError extends Error {
  readonly code: string;
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options?.code ?? "DATASET_ERROR";
  }
}
