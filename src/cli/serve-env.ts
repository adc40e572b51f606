import { UsageError } from "./errors.js";
import { booleanParser, parseInteger, parseSeconds, sizeParser, watchSecondsParser } from "./parse-options.js";

/** A comma-separated list (`--allow-runner` given several times). */
const listParser = (): ((value: string) => string[]) => (value) =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

const text = (): ((value: string) => string) => (value) => value;

/** The log levels `serve` takes (pino's). */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** A log level. @throws UsageError naming `label` and the value for another. */
export function logLevelParser(label: string): (value: string) => string {
  return (value) => {
    if (!LOG_LEVELS.includes(value)) throw new UsageError(`${label} must be one of ${LOG_LEVELS.join(", ")}; got "${value}".`);
    return value;
  };
}

/**
 * The environment variable of each `serve` flag (Kubernetes manifests configure it so), read when
 * the flag is not on the command line; the flag wins. MLflow's keep their names: MODEL_URI for
 * -m, PORT (below PIPESERVE_PORT), MLFLOW_TRACKING_URI, MLFLOW_REGISTRY_URI and
 * MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT (below PIPESERVE_TIMEOUT).
 */
export const SERVE_ENV: readonly {
  key: string;
  env: string;
  /** A variable read when `env` is not set (MLflow's name for it). */
  fallback?: string;
  flag: string;
  parse: (label: string) => (value: string) => unknown;
}[] = [
  { key: "port", env: "PIPESERVE_PORT", fallback: "PORT", flag: "--port", parse: (l) => parseInteger(l, 0, 65535) },
  { key: "host", env: "PIPESERVE_HOST", flag: "--host", parse: text },
  { key: "grpcPort", env: "PIPESERVE_GRPC_PORT", flag: "--grpc-port", parse: (l) => parseInteger(l, 0, 65535) },
  { key: "workers", env: "PIPESERVE_WORKERS", flag: "--workers", parse: (l) => parseInteger(l, 1, 256) },
  { key: "allowRunner", env: "PIPESERVE_ALLOW_RUNNER", flag: "--allow-runner", parse: listParser },
  { key: "timeout", env: "PIPESERVE_TIMEOUT", fallback: "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT", flag: "--timeout", parse: parseSeconds },
  { key: "maxBody", env: "PIPESERVE_MAX_BODY", flag: "--max-body", parse: sizeParser },
  { key: "maxQueue", env: "PIPESERVE_MAX_QUEUE", flag: "--max-queue", parse: (l) => parseInteger(l, 1) },
  { key: "maxBatchRows", env: "PIPESERVE_MAX_BATCH_ROWS", flag: "--max-batch-rows", parse: (l) => parseInteger(l, 1) },
  { key: "maxRows", env: "PIPESERVE_MAX_ROWS", flag: "--max-rows", parse: (l) => parseInteger(l, 1) },
  { key: "maxCells", env: "PIPESERVE_MAX_CELLS", flag: "--max-cells", parse: (l) => parseInteger(l, 1) },
  { key: "maxConnections", env: "PIPESERVE_MAX_CONNECTIONS", flag: "--max-connections", parse: (l) => parseInteger(l, 1) },
  { key: "watch", env: "PIPESERVE_WATCH", flag: "--watch", parse: watchSecondsParser },
  { key: "modelName", env: "PIPESERVE_MODEL_NAME", flag: "--model-name", parse: text },
  { key: "allowPartialStart", env: "PIPESERVE_ALLOW_PARTIAL_START", flag: "--allow-partial-start", parse: booleanParser },
  { key: "ui", env: "PIPESERVE_UI", flag: "--no-ui", parse: booleanParser },
  { key: "logLevel", env: "PIPESERVE_LOG_LEVEL", flag: "--log-level", parse: logLevelParser },
  // NB: not PIPESERVE_DEBUG, which prints the CLI's own stack traces: sending them to clients is a separate choice.
  { key: "debug", env: "PIPESERVE_DEBUG_RESPONSES", flag: "--debug", parse: booleanParser },
  { key: "allowDeleted", env: "PIPESERVE_ALLOW_DELETED", flag: "--allow-deleted", parse: booleanParser },
];

/**
 * `o` (commander's parsed flags) with each flag not given on the command line taken from its
 * environment variable, when set.
 * @throws UsageError naming the variable for a value its flag would refuse.
 */
export function withServeEnv(
  o: Record<string, unknown>,
  sourceOf: (key: string) => string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, unknown> {
  const out = { ...o };
  for (const { key, env: own, fallback, parse } of SERVE_ENV) {
    // NB: the fallback only when the variable is not set: PIPESERVE_PORT=0 with PORT=abc serves on a free port.
    const name = env[own] === undefined && fallback !== undefined ? fallback : own;
    const value = env[name];
    if (value === undefined || sourceOf(key) === "cli") continue;
    out[key] = parse(name)(value);
  }
  return out;
}

/** The `--help` lines that list the variables. */
export function serveEnvHelp(): string {
  return SERVE_ENV.map((e) => `  ${e.env.padEnd(30)} ${e.flag}`).join("\n");
}
