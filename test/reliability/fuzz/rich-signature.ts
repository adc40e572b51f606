// The signature the fuzz suite aims its generated bodies at (no test machinery here, so scripts
// and the generators can import it).
import type { MlflowSignature } from "../../../src/index.js";

/**
 * Every column type, optional but for `a` and `b`, and every param type (a list one too), so
 * generated bodies reach each conversion of the signature's enforcement.
 */
export const RICH_SIGNATURE: MlflowSignature = {
  inputs:
    '[{"type": "long", "name": "a", "required": true}, {"type": "double", "name": "b", "required": true}, ' +
    '{"type": "string", "name": "s", "required": false}, {"type": "boolean", "name": "f", "required": false}, ' +
    '{"type": "datetime", "name": "d", "required": false}, {"type": "binary", "name": "x", "required": false}, ' +
    '{"type": "integer", "name": "i", "required": false}, {"type": "float", "name": "g", "required": false}]',
  outputs: null,
  params:
    '[{"name": "threshold", "default": 0.5, "shape": null, "type": "double"}, {"name": "n", "default": 3, "shape": null, "type": "long"}, ' +
    '{"name": "label", "default": "x", "shape": null, "type": "string"}, {"name": "flag", "default": false, "shape": null, "type": "boolean"}, ' +
    '{"name": "when", "default": "2024-01-01T00:00:00", "shape": null, "type": "datetime"}, ' +
    '{"name": "tags", "default": ["a"], "shape": [-1], "type": "string"}, {"name": "runner", "default": "SequentialRunner", "shape": null, "type": "string"}]',
};

/** Column names of RICH_SIGNATURE, for generators that aim at it. */
export const RICH_COLUMNS = ["a", "b", "s", "f", "d", "x", "i", "g"] as const;
/** Param names of RICH_SIGNATURE. */
export const RICH_PARAMS = ["threshold", "n", "label", "flag", "when", "tags", "runner"] as const;
