import type { Logger } from "pino";
import type { PipelineModel } from "../loader/index.js";
import type { ServerMetrics } from "./metrics.js";
import type { ModelSlot } from "./model-slot.js";

export interface ModelWatcherOptions {
  /** The moving URI served (`models:/NAME@ALIAS`, `models:/NAME/latest`), for the log. */
  uri: string;
  /** The registered version that URI names now (one registry read). */
  currentVersion: () => Promise<number>;
  /** Loads (resolves, downloads, verifies every sha256, imports) one registered version. */
  load: (version: number) => Promise<PipelineModel>;
  /** The version being served when the watcher starts. */
  servedVersion: number;
  slot: ModelSlot;
  logger: Logger;
  metrics: ServerMetrics;
  /** Seconds between checks; 0 checks only when `check()` is called (SIGHUP). */
  intervalSeconds: number;
}

/**
 * Follows a moving registry URI: when it names another version, that version is loaded and warmed
 * up (one prediction on its input example) beside the one serving, then swapped in (see
 * `ModelSlot.swap`). A version that fails to load, verify or warm up is never served: the failure
 * is logged and counted, the old version keeps serving, and that version is not tried again until
 * the URI names another one.
 */
export class ModelWatcher {
  readonly #options: ModelWatcherOptions;
  #served: number;
  #refused: number | undefined;
  #checking: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #started = false;

  constructor(options: ModelWatcherOptions) {
    this.#options = options;
    this.#served = options.servedVersion;
  }

  /** The registered version being served. */
  get servedVersion(): number {
    return this.#served;
  }

  /** Checks every `intervalSeconds` (none when 0). */
  start(): void {
    const { intervalSeconds, uri, logger } = this.#options;
    if (this.#started) return;
    this.#started = true;
    const when = intervalSeconds > 0 ? `every ${intervalSeconds} s (--watch) and on SIGHUP` : "only on SIGHUP (--watch 0)";
    logger.info({ uri, version: this.#served, watchSeconds: intervalSeconds }, `Following ${uri} (version ${this.#served} now): checked ${when}`);
    if (intervalSeconds <= 0) return;
    this.#timer = setInterval(() => void this.check(), intervalSeconds * 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#started = false;
  }

  /**
   * Checks now (and swaps if the URI names another version). One check runs at a time; a check
   * asked for while one runs runs once after it. Never throws: failures are logged and counted.
   */
  check(): Promise<void> {
    if (this.#checking !== undefined) {
      this.#again = true;
      return this.#checking;
    }
    this.#checking = (async () => {
      do {
        this.#again = false;
        await this.#checkOnce();
      } while (this.#again);
    })().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  /** Why the registry could not be read at the last check, if it could not (said once). */
  #unreadable: string | undefined;

  async #checkOnce(): Promise<void> {
    const { uri, logger, metrics, slot } = this.#options;
    let version: number;
    try {
      version = await this.#options.currentVersion();
    } catch (error) {
      // NB: said once per reason, and again when it changes (found by an audit: a deleted alias
      // logged a stack every poll, for ever); the rest at debug.
      const why = (error as Error)?.message ?? String(error);
      const level = why === this.#unreadable ? "debug" : "warn";
      this.#unreadable = why;
      logger[level]({ uri, err: error }, `Could not read which version ${uri} names; still serving version ${this.#served}`);
      return;
    }
    if (this.#unreadable !== undefined) {
      logger.info({ uri, version }, `${uri} can be read again: it names version ${version}`);
      this.#unreadable = undefined;
    }
    if (version === this.#served) {
      this.#refused = undefined;
      return;
    }
    if (version === this.#refused) return;
    logger.info({ uri, from: this.#served, to: version }, `${uri} now names version ${version}: loading it beside version ${this.#served}`);
    let model: PipelineModel;
    try {
      model = await this.#options.load(version);
    } catch (error) {
      this.#refuse(version, "it could not be loaded", error);
      return;
    }
    try {
      await warmUp(model);
    } catch (error) {
      await model.close().catch(() => undefined);
      this.#refuse(version, "its warm-up prediction on its input example failed", error);
      return;
    }
    const from = this.#served;
    this.#served = version;
    this.#refused = undefined;
    const closed = slot.swap(model);
    metrics.modelSwaps.inc({ result: "swapped" });
    metrics.serving(slot.current.versionHeader);
    logger.info({ uri, from, to: version }, `Serving version ${version} of ${uri}; version ${from} closes when its requests are done`);
    try {
      await closed;
      logger.info({ uri, version: from }, `Version ${from} of ${uri} closed: its requests are answered and its resources released`);
    } catch (error) {
      logger.warn({ err: error, version: from }, `Closing version ${from} failed`);
    }
  }

  #refuse(version: number, why: string, error: unknown): void {
    this.#refused = version;
    this.#options.metrics.modelSwaps.inc({ result: "failed" });
    this.#options.logger.error(
      { uri: this.#options.uri, version, err: error },
      `Not serving version ${version} of ${this.#options.uri}: ${why} (${(error as Error).message}). Still serving version ${this.#served}; version ${version} is not tried again until the alias moves.`,
    );
  }
}

/** One prediction on the model's input example, when it has one, so its first request is not its first run. */
async function warmUp(model: PipelineModel): Promise<void> {
  const example = model.inputExample;
  if (!example) return;
  await model.predict({ dataframe_split: { columns: example.columns, data: example.data } });
}
