/**
 * Runs a TypeScript entry point in a fresh Node process (with tsx) and parses the JSON it prints. Evaluations of the
 * program need their own process: the Pulumi runtime and the imported program module are per-process state.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";

/** Options of `runJsonChild`. */
export interface JsonChildOptions {
    /** Text written to the child's stdin (default: none). */
    readonly stdin?: string;
    /** Extra environment variables. */
    readonly env?: NodeJS.ProcessEnv;
}

/** Runs `node --import tsx <script> <args>` from the repository root; resolves with its stdout parsed as JSON. */
export function runJsonChild<T>(script: string, args: readonly string[] = [], options: JsonChildOptions = {}): Promise<T> {
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
        cwd: path.resolve(__dirname, "../.."),
        env: { ...process.env, ...options.env },
    });
    return new Promise((resolve, reject) => {
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (status) => {
            if (status !== 0) reject(new Error(`${path.basename(script)} ${args.join(" ")} exited ${status}:\n${stderr}`));
            else resolve(JSON.parse(stdout) as T);
        });
        child.stdin.on("error", () => undefined);
        child.stdin.end(options.stdin ?? "");
    });
}
