import { Option } from "commander";
import { parseByteSize } from "../util/index.js";
import { UsageError } from "./errors.js";

/** A whole number within bounds, for numeric flags. */
export function parseInteger(flag: string, min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim())) throw new UsageError(`${flag} must be a whole number, got "${value}".`);
    const n = Number(value);
    if (n < min || n > max) throw new UsageError(`${flag} must be between ${min} and ${max}, got ${n}.`);
    return n;
  };
}

/** A parser of a size flag like `100mb`, `512k`, `2gb` or `1048576` (bytes). */
export function sizeParser(flag: string): (value: string) => number {
  return (value) => {
    const bytes = parseByteSize(value);
    if (bytes === undefined) throw new UsageError(`${flag} must be a size such as 100mb, 512kb or 1048576, got "${value}".`);
    return bytes;
  };
}

/** `--max-body`'s size (see sizeParser). */
export const parseSize = sizeParser("--max-body");

/** Seconds (fractions allowed), as milliseconds. */
export function parseSeconds(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*\d+(\.\d+)?\s*$/.test(value) || !(n > 0)) throw new UsageError(`${flag} must be a positive number of seconds, got "${value}".`);
    return Math.round(n * 1000);
  };
}

/** `--watch SECONDS`: 0 or more (fractions too). @throws UsageError naming `label` and the value. */
export function watchSecondsParser(label: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*\d+(\.\d+)?\s*$/.test(value) || !Number.isFinite(n)) {
      throw new UsageError(`${label} must be a number of seconds, 0 or more (0 checks only on SIGHUP), got "${value}".`);
    }
    return n;
  };
}

/** A yes/no environment variable: 1/true/yes or 0/false/no. @throws UsageError naming it. */
export function booleanParser(label: string): (value: string) => boolean {
  return (value) => {
    const v = value.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off", ""].includes(v)) return false;
    throw new UsageError(`${label} must be true or false (1/0, yes/no), got "${value}".`);
  };
}

/** Collects a repeatable flag. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `--tracking-uri`, which most commands take. */
export const trackingOption = (): Option =>
  new Option(
    "--tracking-uri <uri>",
    "where runs are tracked: a folder (./mlruns), sqlite:///mlflow.db or http(s)://an-mlflow-server (default: $MLFLOW_TRACKING_URI, then ./mlruns)",
  );

/** `--registry-uri`, for commands that read or write the model registry. */
export const registryOption = (): Option =>
  new Option("--registry-uri <uri>", "the model registry, when not the tracking store's (default: $MLFLOW_REGISTRY_URI, then the tracking URI)");

/** `--json`, for commands that print something scripts read. */
/** `--allow-deleted`: the commands that load a model refuse one whose run was deleted unless it is given. */
export const allowDeletedOption = (): Option =>
  new Option("--allow-deleted", "load the model even though its run was deleted (`pipeserve runs delete`); refused by default").default(false);

export const jsonOption = (): Option => new Option("--json", "print JSON for scripts").default(false);

/** A string flag's value when given and not empty. */
export const given = (value: unknown): string | undefined => (value ? (value as string) : undefined);
