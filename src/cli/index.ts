/**
 * @module The `pipeserve` command line as a function: `main(argv, io)` runs one command against
 * an io (stdout, stderr, stdin, env, cwd) and returns its exit code. bin.ts calls it with the real
 * process; tests and other hosts call it in-process with their own io.
 */
export type { CliIo, CliOutput } from "./io.js";
export { processIo } from "./io.js";
export { buildProgram, main } from "./main.js";
