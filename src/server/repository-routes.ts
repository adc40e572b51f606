import { HttpError } from "./errors.js";
import { json, readRequestBody, type AddRoute } from "./routing.js";
import { utf8Text } from "../tabular/index.js";

/** An Open Inference repository index entry (the model repository extension). */
export interface RepositoryIndexEntry {
  name: string;
  version?: string;
  state: "READY" | "UNAVAILABLE";
  reason: string;
}

/**
 * A served model's index entry: its state (and why it is not ready), and its registered version,
 * the one its `/versions/{v}` routes take (a model served from a run or a folder lists none).
 */
export function repositoryEntry(
  name: string,
  service: { state: { notReadyReason(): string | undefined }; slot: { current: { registeredVersion: string | undefined } } },
): RepositoryIndexEntry {
  const why = service.state.notReadyReason();
  const version = service.slot.current.registeredVersion;
  return { name, ...(version !== undefined ? { version } : {}), state: why === undefined ? "READY" : "UNAVAILABLE", reason: why ?? "" };
}

/** `GET /v2/repository/index` (`?ready=true`) and the protocol's `POST` (body `{}` or `{"ready": true}`, or none). */
export function repositoryRoutes(route: AddRoute, index: (readyOnly: boolean) => RepositoryIndexEntry[], maxBodyBytes: number): void {
  route("GET", "/v2/repository/index", (c) => json(c, index(c.req.query("ready") === "true")));
  route("POST", "/v2/repository/index", async (c) => {
    // NB: within --max-body like every body, though this one is `{}` or `{"ready": true}`.
    const text = utf8Text(await readRequestBody(c, maxBodyBytes));
    if (text.trim() === "") return json(c, index(false));
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HttpError("BAD_REQUEST", 'The repository index request is not JSON; send {} or {"ready": true}, or no body.');
    }
    const ready = (body as { ready?: unknown } | null)?.ready;
    if (typeof body !== "object" || body === null || Array.isArray(body) || (ready !== undefined && typeof ready !== "boolean")) {
      throw new HttpError("BAD_REQUEST", 'The repository index request must be an object whose "ready", if given, is true or false.');
    }
    return json(c, index(ready === true));
  });
}
