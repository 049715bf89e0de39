/**
 * Ending a CLI without losing output: `process.exit` drops whatever is still queued for a pipe (a plan piped into
 * `jq` or `head` was cut at 64 KiB), so exit only once stdout and stderr have flushed.
 */

/** Exits with `code` after everything written so far to stdout and stderr has been handed to the OS. */
export function exitAfterFlush(code: number): void {
    process.exitCode = code;
    let pending = 2;
    const done = (): void => {
        pending--;
        if (pending === 0) {
            process.exit(code);
        }
    };
    process.stdout.write("", done);
    process.stderr.write("", done);
}
