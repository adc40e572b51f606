/**
 * The parts of a danfojs DataFrame and Series that pipeserve's own types name: every danfojs
 * DataFrame (and Series) is one. NB: not danfojs-node's own types, which import packages that ship
 * none (request, papaparse, plotly.js-dist-min): a project whose compilation included them failed
 * without `skipLibCheck`. In your nodes, import `DataFrame` from danfojs-node for its whole API;
 * such a frame is accepted wherever pipeserve takes one of these.
 */
export interface DataFrame {
  readonly $isSeries: boolean;
  readonly columns: string[];
  readonly index: Array<string | number>;
  readonly shape: Array<number>;
  readonly dtypes: Array<string>;
  readonly values: unknown[];
}

/** A danfojs Series, as pipeserve's types name it (see `DataFrame`). */
export interface Series {
  readonly $isSeries: boolean;
  readonly columns: string[];
  readonly index: Array<string | number>;
  readonly shape: Array<number>;
  readonly dtypes: Array<string>;
  readonly values: unknown[];
}
