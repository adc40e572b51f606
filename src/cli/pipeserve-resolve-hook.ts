import type { InitializeHook, ResolveHook } from "node:module";

/**
 * A module hook (`module.register`, run on Node's hooks thread) that resolves a bare `pipeserve`
 * to the module the server registered as the package's API. See `allowedRunnersSeePipeserve`.
 */
let pipeserve: string | undefined;

export const initialize: InitializeHook<{ pipeserve: string }> = (data) => {
  pipeserve = data.pipeserve;
};

export const resolve: ResolveHook = (specifier, context, next) => {
  if (specifier === "pipeserve" && pipeserve !== undefined) return { url: pipeserve, shortCircuit: true };
  return next(specifier, context);
};
