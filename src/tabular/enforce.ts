/**
 * Signature enforcement: columns in enforce-columns.ts, params in enforce-params.ts. NB: kept as
 * one import for signature.ts (which reads `checkParamValue` from here) and the folder's index.
 */
export { type EnforcedTable, type EnforceOptions, enforceSchema } from "./enforce-columns.js";
export { type EnforcedParams, type ParamCheck, checkParamValue, enforceParams } from "./enforce-params.js";
