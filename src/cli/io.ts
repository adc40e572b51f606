import { isAbsolute, resolve } from "node:path";
import type { Readable } from "node:stream";

/** A stream the CLI writes to: the process's stdout or stderr in the bin, any writable in tests. */
export type CliOutput = NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };

/**
 * What `main` may touch besides its arguments: the bin passes the real process's streams,
 * environment and working folder; tests pass their own, so commands run in-process.
 * NB: some of the process stays the process's: signals, `serve` (its log goes to fd 1, it
 * exits the process, and commander reads `MODEL_URI`/`PORT` from `process.env`), and the output
 * of `predict -o -` (src/batch writes `process.stdout` itself).
 */
export interface CliIo {
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  readonly stdin: Readable;
  /** `MLFLOW_TRACKING_URI`, `PIPESERVE_DEBUG`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The folder relative paths and `./mlruns` are relative to. */
  readonly cwd: string;
}

/** The real process's io, for the bin. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // NB: a getter, so a command that never reads stdin never opens it.
    get stdin(): Readable {
      return process.stdin;
    },
    env: process.env,
    cwd: process.cwd(),
  };
}

/** Prints one line (adding the newline when missing). */
export type Print = (text: string) => void;

export function printer(out: CliOutput): Print {
  return (text) => void out.write(text.endsWith("\n") ? text : `${text}\n`);
}

/**
 * A path argument as the library should get it: relative to `io.cwd`. NB: when `io.cwd` is the
 * process's own folder (always so in the bin) the path is passed on as typed, so messages echo
 * it as the user wrote it.
 */
export function fromCwd(io: CliIo, path: string): string {
  return path === "-" || isAbsolute(path) || resolve(io.cwd) === process.cwd() ? path : resolve(io.cwd, path);
}

/** A model URI: a path (no `scheme:`) is relative to `io.cwd`; `runs:/`, `models:/`, `file:` URIs are passed on. */
export function modelUriFromCwd(io: CliIo, uri: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.test(uri) ? uri : fromCwd(io, uri);
}

/**
 * The tracking URI the library gets: `--tracking-uri`, then `io.env.MLFLOW_TRACKING_URI`, then
 * `./mlruns` (resolveTrackingUri's order), a plain path taken relative to `io.cwd`. URIs, remote
 * ones included, are passed on as given, for resolveTrackingUri to read or refuse.
 */
export function trackingUriOf(io: CliIo, flag: string | undefined): string {
  return storeUriFromCwd(io, flag ?? (io.env["MLFLOW_TRACKING_URI"] || undefined) ?? "./mlruns");
}

/**
 * The registry URI the library gets: `--registry-uri`, then `io.env.MLFLOW_REGISTRY_URI`, else
 * undefined (the tracking URI's registry, as in MLflow).
 */
export function registryUriOf(io: CliIo, flag: string | undefined): string | undefined {
  const uri = flag ?? (io.env["MLFLOW_REGISTRY_URI"] || undefined);
  return uri === undefined ? undefined : storeUriFromCwd(io, uri);
}

/** A store URI with its relative parts taken from `io.cwd`: a plain path, and `sqlite:///relative.db`. */
function storeUriFromCwd(io: CliIo, uri: string): string {
  const sqlite = /^sqlite:\/\/\/(?!\/)(.+)$/i.exec(uri);
  if (sqlite) return `sqlite:///${fromCwd(io, sqlite[1] as string)}`;
  const isUri = uri.startsWith("file:") || /^[a-z][a-z0-9+.-]*:\/\//i.test(uri) || /^(databricks|uc)(:|$)/.test(uri) || /^sqlite:/i.test(uri);
  return isUri ? uri : fromCwd(io, uri);
}

/** `{ registryUri }` when `--registry-uri` or MLFLOW_REGISTRY_URI gives one, else nothing: spread into a command's options. */
export function optionalRegistry(io: CliIo, o: Record<string, unknown>): { registryUri?: string } {
  const uri = registryUriOf(io, o["registryUri"] ? (o["registryUri"] as string) : undefined);
  return uri === undefined ? {} : { registryUri: uri };
}
