/**
 * A password in a URL's user info (`http://user:secret@host`, which MLflow's clients accept in a
 * tracking URI) shown as `***`. NB: found by an audit: such a URI reached error messages, the
 * `serve --watch` log, `pipeserve run`'s summary and a run's tags (which MLflow's UI shows), while
 * the password is only needed in the request's Authorization header.
 */
// NB: the password runs to the last "@" before the host, as URL parsers split it (found by a review: "p@ss" showed "ss").
const USERINFO_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*):[^\s/?#]*@/gi;

/** `text` with the password of every URL in it replaced by `***` (the user name kept, to say whose). */
export function redactCredentials(text: string): string {
  return text.includes("@") ? text.replace(USERINFO_PASSWORD, "$1:***@") : text;
}
