import { isAbsolute, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { isDirectory } from "./fs-utils.js";
import { toFileUri } from "./tracking-uri.js";

/**
 * A folder location a store recorded (`artifact_uri`, `artifact_location`: absolute `file://`
 * URIs, as MLflow writes them), or the same folder inside this store when the store has moved:
 * copied to another machine, restored elsewhere, or mounted at another path in a container, where
 * the recorded path does not exist. `own` is where this store keeps that folder itself; it is
 * used only when the recorded path is missing, `own` exists, and both end in the same last
 * `segments` folder names (`<run_id>/artifacts`, `models/<model_id>/artifacts`), so a location
 * recorded elsewhere on purpose (an artifact root on another disk) is never swapped for another folder.
 */
export async function inMovedStore(recorded: string, own: string, segments: number): Promise<string> {
  let path: string;
  if (recorded.startsWith("file:")) {
    try {
      path = fileURLToPath(recorded);
    } catch {
      return recorded;
    }
  } else if (isAbsolute(recorded)) path = recorded;
  else return recorded;
  if (path === own || (await isDirectory(path))) return recorded;
  const tail = (p: string): string => p.split(sep).filter(Boolean).slice(-segments).join(sep);
  if (tail(path) !== tail(own) || !(await isDirectory(own))) return recorded;
  return toFileUri(own);
}
