import { ClientAbortError, HttpError } from "./errors.js";

/** Whether reading failed because the client went away (its request is aborted, or its socket reset). */
function clientGone(request: Request, error: unknown): boolean {
  if (request.signal.aborted) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE" || (error instanceof Error && error.name === "AbortError");
}

/**
 * Reads a request's body, refusing more than `limit` bytes without buffering the excess.
 * Framework-free: any web `Request` (Hono's `c.req.raw`).
 * @throws HttpError REQUEST_TOO_LARGE (413) when the declared or the streamed length is over the limit;
 * ClientAbortError when the client closes its connection before the body is read.
 */
export async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  try {
    return await readWhole(request, limit);
  } catch (error) {
    if (error instanceof HttpError || !clientGone(request, error)) throw error;
    throw new ClientAbortError();
  }
}

async function readWhole(request: Request, limit: number): Promise<Uint8Array> {
  const length = request.headers.get("content-length");
  const tooLarge = (): HttpError => new HttpError("REQUEST_TOO_LARGE", `The request body is larger than the limit of ${limit} bytes (--max-body).`);
  if (length !== null && /^\d+$/.test(length)) {
    if (Number(length) > limit) throw tooLarge();
    // NB: the HTTP parser holds the body to its declared length; reading it whole skips web streams.
    return new Uint8Array(await request.arrayBuffer());
  }
  const stream = request.body;
  if (!stream) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
