/** The exit code of a command killed by SIGPIPE, as shells report it (128 + 13). */
export const CLOSED_PIPE_EXIT_CODE = 141;

function isClosedPipe(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "EPIPE";
}

/**
 * Ends the process when the reader of its output goes away (`pipeserve predict -o - | head -1`,
 * `pipeserve serve --help | head`): at once, silently, with exit code 141, as a command killed by
 * SIGPIPE ends. NB: Node ignores SIGPIPE; the next write fails with EPIPE instead, an 'error'
 * event that nothing handled: a crash with a stack trace. Another failed write to stdout is said
 * on stderr (exit 1).
 */
export function stopWhenReaderLeaves(stdout: NodeJS.WriteStream, stderr: NodeJS.WriteStream): void {
  stdout.on("error", (error: Error) => {
    if (isClosedPipe(error)) process.exit(CLOSED_PIPE_EXIT_CODE);
    stderr.write(`pipeserve: cannot write to stdout: ${error.message}\n`);
    process.exit(1);
  });
  stderr.on("error", (error: Error) => process.exit(isClosedPipe(error) ? CLOSED_PIPE_EXIT_CODE : 1));
}
