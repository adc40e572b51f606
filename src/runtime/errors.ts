import { type DatasetErrorCode, type PartErrorOptions, type PipelineErrorCode, PipeserveError } from "../errors/index.js";

/** Base of the errors about how a pipeline is built or run. */
export class PipelineError extends PipeserveError<PipelineErrorCode> {
  constructor(message: string, options: PartErrorOptions<PipelineErrorCode> = {}) {
    super(message, { ...options, code: options.code ?? "PIPELINE_ERROR" });
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
export class DatasetError extends PipeserveError<DatasetErrorCode> {
  constructor(message: string, options: PartErrorOptions<DatasetErrorCode> = {}) {
    super(message, { ...options, code: options.code ?? "DATASET_ERROR" });
  }
}
