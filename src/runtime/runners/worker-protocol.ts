/** A node to run in a worker thread. */
export interface TaskMessage {
  id: number;
  module: string;
  /** The module that registers the pipeserve API for model code, imported before `module`. */
  hostEntry: string | undefined;
  exportName: string;
  nodeName: string;
  inputs: Record<string, unknown>;
}

/** What a worker thread answers. */
export type ResultMessage =
  | { id: number; ok: true; outputs: Record<string, unknown> }
  | { id: number; ok: false; error: { name: string; message: string; stack: string } };
