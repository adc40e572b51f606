/**
 * The code each `WorkerRunner` thread runs: import the pipeline's module once, then run the
 * nodes it is sent, by name, and send back their outputs.
 */
import { parentPort } from "node:worker_threads";
import { onceByKey } from "../../util/index.js";
import { type AnyCodec, moduleCodecs } from "../datasets/artifact-codec.js";
import { decodeRecord, encodeRecord, settleRecord } from "./transfer.js";
import type { TaskMessage, ResultMessage } from "./worker-protocol.js";

interface RunnableNode {
  name: string;
  run(inputs: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** A pipeline module as a thread uses it: its nodes by name, and the artifact codecs it exports. */
interface LoadedPipeline {
  nodes: Map<string, RunnableNode>;
  codecs: Readonly<Record<string, AnyCodec>>;
}

const pipelines = new Map<string, Promise<LoadedPipeline>>();

let hostReady: Promise<unknown> | undefined;

function pipelineOf(module: string, exportName: string, hostEntry: string | undefined): Promise<LoadedPipeline> {
  // NB: a failed import (a file not there yet, a module that threw) is not kept: the next task retries.
  return onceByKey(pipelines, `${module}#${exportName}`, async () => {
    if (hostEntry) {
      hostReady ??= import(hostEntry).catch((error: unknown) => {
        hostReady = undefined;
        throw error;
      });
    }
    await hostReady;
    const mod = (await import(module)) as Record<string, unknown>;
    let value: unknown = mod;
    for (const part of exportName.split(".")) value = (value as Record<string, unknown> | undefined)?.[part];
    const nodes = (value as { nodes?: unknown } | undefined)?.nodes;
    if (!Array.isArray(nodes)) throw new Error(`Module ${module} has no pipeline under the export "${exportName}".`);
    return { nodes: new Map((nodes as RunnableNode[]).map((n) => [n.name, n])), codecs: moduleCodecs(mod) };
  });
}

parentPort?.on("message", (task: TaskMessage) => {
  void (async (): Promise<void> => {
    let reply: ResultMessage;
    const transfer: import("node:worker_threads").TransferListItem[] = [];
    try {
      const { nodes, codecs } = await pipelineOf(task.module, task.exportName, task.hostEntry);
      const node = nodes.get(task.nodeName);
      if (!node) throw new Error(`Node "${task.nodeName}" is not in the pipeline exported as "${task.exportName}" by ${task.module}.`);
      const outputs = await node.run(await settleRecord(decodeRecord(task.inputs, codecs)));
      reply = { id: task.id, ok: true, outputs: encodeRecord(outputs, transfer) };
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      reply = { id: task.id, ok: false, error: { name: e.name, message: e.message, stack: e.stack ?? "" } };
    }
    try {
      parentPort?.postMessage(reply, transfer);
    } catch (error) {
      parentPort?.postMessage({
        id: task.id,
        ok: false,
        error: { name: "DataCloneError", message: `The outputs cannot be sent back from the worker thread: ${(error as Error).message}`, stack: "" },
      } satisfies ResultMessage);
    }
  })();
});
