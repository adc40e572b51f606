import { PipelineError } from "./errors.js";
import { Node } from "./node.js";

/** Where a pipeline can be imported from again: a module URL and an export path (`inference` or `pipelines.inference`). Worker threads need it to find node functions. */
export interface PipelineSource {
  readonly module: string;
  readonly exportName: string;
}

export interface PipelineOptions {
  source?: PipelineSource;
}

/** `params:x` inputs and the whole `parameters` object come from the catalog's parameters. */
export function isParameterInput(name: string): boolean {
  return name === "parameters" || name.startsWith("params:");
}

/**
 * An immutable DAG of nodes (Kedro's `Pipeline`), validated when built: node names are unique,
 * every dataset is produced by at most one node, and there is no cycle. `nodes` is in topological
 * order (ties keep the order nodes were given in). Filters return new pipelines.
 */
export class Pipeline {
  readonly nodes: readonly Node[];
  readonly source: PipelineSource | undefined;
  readonly #producers = new Map<string, Node>();
  readonly #consumers = new Map<string, Node[]>();
  // NB: computed once: runners read them on every run.
  readonly #freeInputs: readonly string[];
  readonly #freeOutputs: readonly string[];

  constructor(items: readonly (Node | Pipeline)[], options: PipelineOptions = {}) {
    const flat: Node[] = [];
    for (const item of items) {
      if (item instanceof Pipeline) flat.push(...item.nodes);
      else if (item instanceof Node) flat.push(item);
      else throw new PipelineError(`pipeline() takes nodes and pipelines; got ${item === null ? "null" : typeof item}.`);
    }
    const names = new Map<string, Node>();
    for (const n of flat) {
      if (names.has(n.name)) {
        throw new PipelineError(`Two nodes are named "${n.name}". Node names must be unique: pass a distinct \`name\` to one of them.`, {
          code: "DUPLICATE_NODE",
        });
      }
      names.set(n.name, n);
      for (const out of n.outputNames) {
        const other = this.#producers.get(out);
        if (other) {
          throw new PipelineError(`Dataset "${out}" is an output of both "${other.name}" and "${n.name}". Each dataset may be produced by one node only.`, {
            code: "DUPLICATE_OUTPUT",
          });
        }
        this.#producers.set(out, n);
      }
      for (const input of n.inputNames) {
        const list = this.#consumers.get(input);
        if (list) list.push(n);
        else this.#consumers.set(input, [n]);
      }
    }
    this.nodes = Object.freeze(this.#toposort(flat));
    const freeInputs = new Set<string>();
    const freeOutputs: string[] = [];
    for (const n of this.nodes) {
      for (const i of n.inputNames) if (!this.#producers.has(i)) freeInputs.add(i);
      for (const o of n.outputNames) if (!this.#consumers.has(o)) freeOutputs.push(o);
    }
    this.#freeInputs = [...freeInputs];
    this.#freeOutputs = freeOutputs;
    this.source = options.source;
    // NB: subclasses (PipelineML) add fields, then freeze themselves.
    if (new.target === Pipeline) Object.freeze(this);
  }

  #toposort(nodes: readonly Node[]): Node[] {
    const pending = new Map<Node, number>();
    for (const n of nodes) pending.set(n, n.inputNames.filter((i) => this.#producers.has(i)).length);
    const order: Node[] = [];
    const ready = nodes.filter((n) => pending.get(n) === 0);
    const position = new Map(nodes.map((n, i) => [n, i]));
    while (ready.length > 0) {
      const n = ready.shift() as Node;
      order.push(n);
      const unlocked: Node[] = [];
      for (const out of n.outputNames) {
        for (const consumer of this.#consumers.get(out) ?? []) {
          const left = (pending.get(consumer) as number) - 1;
          pending.set(consumer, left);
          if (left === 0) unlocked.push(consumer);
        }
      }
      if (unlocked.length > 0) {
        ready.push(...unlocked);
        ready.sort((a, b) => (position.get(a) as number) - (position.get(b) as number));
      }
    }
    if (order.length !== nodes.length) {
      const stuck = nodes.filter((n) => (pending.get(n) as number) > 0);
      throw new PipelineError(`The pipeline has a cycle: ${this.#cycle(stuck).join(" → ")}. Break it so that no node depends on its own output.`, {
        code: "CYCLE",
      });
    }
    return order;
  }

  /**
   * One cycle among the nodes a topological sort could not place, as node → dataset → node … →
   * the first node again, from its node that comes first in the order given. NB: every such node
   * reads a dataset that another of them produces (else it would have been placed), so walking
   * from producer to producer must come back to a node already met: from there on is a cycle,
   * without the nodes that merely depend on one.
   */
  #cycle(stuck: readonly Node[]): string[] {
    const unplaced = new Set(stuck);
    // Against the edges: each step is a node and the dataset it reads from another unplaced node.
    const steps: { node: Node; reads: string }[] = [];
    const stepOf = new Map<Node, number>();
    let current = stuck[0] as Node;
    while (!stepOf.has(current)) {
      const reads = current.inputNames.find((i) => unplaced.has(this.#producers.get(i) as Node)) as string;
      stepOf.set(current, steps.length);
      steps.push({ node: current, reads });
      current = this.#producers.get(reads) as Node;
    }
    // Along the edges, from the cycle's node that comes first in the pipeline.
    const loop = steps.slice(stepOf.get(current)).reverse();
    const start = loop.findIndex((step) => step.node === stuck.find((n) => loop.some((s) => s.node === n)));
    const ordered = [...loop.slice(start), ...loop.slice(0, start)];
    // NB: what the next node reads is what this one writes.
    return [
      ...ordered.flatMap((step, i) => [step.node.name, (ordered[(i + 1) % ordered.length] as { reads: string }).reads]),
      (ordered[0] as { node: Node }).node.name,
    ];
  }

  /** The datasets the pipeline reads but no node of it produces (parameters included), in first-use order. */
  inputs(): string[] {
    return [...this.#freeInputs];
  }

  /** The datasets the pipeline produces but no node of it reads. */
  outputs(): string[] {
    return [...this.#freeOutputs];
  }

  /** Every dataset any node reads or writes. */
  datasets(): string[] {
    const out = new Set<string>();
    for (const n of this.nodes) {
      for (const i of n.inputNames) out.add(i);
      for (const o of n.outputNames) out.add(o);
    }
    return [...out];
  }

  /** The node that produces a dataset, if any. */
  producerOf(dataset: string): Node | undefined {
    return this.#producers.get(dataset);
  }

  /** The nodes that read a dataset. */
  consumersOf(dataset: string): readonly Node[] {
    return this.#consumers.get(dataset) ?? [];
  }

  #derive(nodes: readonly Node[]): Pipeline {
    return new Pipeline(nodes, this.source ? { source: this.source } : {});
  }

  /** Nodes that carry any of the tags. */
  onlyNodesWithTags(...tags: string[]): Pipeline {
    const wanted = new Set(tags);
    return this.#derive(this.nodes.filter((n) => n.tags.some((t) => wanted.has(t))));
  }

  /** The named nodes; an unknown name is an error listing the pipeline's nodes. */
  onlyNodes(...names: string[]): Pipeline {
    const byName = new Map(this.nodes.map((n) => [n.name, n]));
    const unknown = names.filter((n) => !byName.has(n));
    if (unknown.length > 0) {
      throw new PipelineError(`Unknown node(s) [${unknown.join(", ")}]. The pipeline has [${[...byName.keys()].join(", ")}].`, { code: "UNKNOWN_NODE" });
    }
    const wanted = new Set(names);
    return this.#derive(this.nodes.filter((n) => wanted.has(n.name)));
  }

  #checkDatasets(names: readonly string[], what: string): void {
    const known = new Set(this.datasets());
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length > 0) throw new PipelineError(`Unknown ${what} [${unknown.join(", ")}]: no node of the pipeline uses them.`, { code: "UNKNOWN_DATASET" });
  }

  /** The nodes that depend, directly or not, on any of the datasets. */
  fromInputs(...datasets: string[]): Pipeline {
    this.#checkDatasets(datasets, "input(s)");
    const reached = new Set(datasets);
    const picked = new Set<Node>();
    for (const n of this.nodes) {
      if (n.inputNames.some((i) => reached.has(i))) {
        picked.add(n);
        for (const o of n.outputNames) reached.add(o);
      }
    }
    return this.#derive(this.nodes.filter((n) => picked.has(n)));
  }

  /** The nodes needed to produce the datasets. */
  toOutputs(...datasets: string[]): Pipeline {
    this.#checkDatasets(datasets, "output(s)");
    const needed = new Set(datasets);
    const picked = new Set<Node>();
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i] as Node;
      if (n.outputNames.some((o) => needed.has(o))) {
        picked.add(n);
        for (const input of n.inputNames) needed.add(input);
      }
    }
    return this.#derive(this.nodes.filter((n) => picked.has(n)));
  }

  /** This pipeline and another, as one (the same validation applies). */
  plus(other: Pipeline): Pipeline {
    return new Pipeline([this, other], this.source ? { source: this.source } : {});
  }

  /** This pipeline, marked as importable from `module` under `exportName` (needed by `WorkerRunner`). */
  withSource(source: PipelineSource): Pipeline {
    return new Pipeline(this.nodes, { source });
  }

  /** Every tag used by a node. */
  tags(): string[] {
    return [...new Set(this.nodes.flatMap((n) => n.tags))];
  }

  /** The graph as data: nodes in order with their inputs, outputs and tags. */
  describe(): { name: string; inputs: Node["inputs"]; outputs: Node["outputs"]; tags: string[] }[] {
    return this.nodes.map((n) => ({ name: n.name, inputs: n.inputs, outputs: n.outputs, tags: [...n.tags] }));
  }

  toString(): string {
    return `Pipeline([${this.nodes.map((n) => n.name).join(", ")}])`;
  }
}

/** Creates a pipeline from nodes and pipelines (Kedro's `pipeline()`). */
export function pipeline(items: readonly (Node | Pipeline)[], options: PipelineOptions = {}): Pipeline {
  return new Pipeline(items, options);
}
