/**
 * Runs `tools/plan.ts` in a child process (each evaluation needs its own Pulumi runtime) and parses its output.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import type { PlanDocument, PlanEntry } from "../../tools/plan/plan";
import { ROOT } from "./graph";

/** Exit status and output of one plan run. */
export interface PlanRun {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs `node --import tsx <script> <args>` in `cwd` and collects its exit status and output. */
export function runTsx(script: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<PlanRun> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd, env });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
}

/** Runs the plan CLI with the given arguments. */
export function runPlan(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<PlanRun> {
    return runTsx(path.join(ROOT, "tools/plan.ts"), args, ROOT, env);
}

/** Runs `plan --json` with config overrides and returns the parsed document (fails on a non-zero exit). */
export async function planJson(overrides: Record<string, string> = {}, stack = "dev"): Promise<PlanDocument> {
    const args = ["--json", "--stack", stack, ...Object.entries(overrides).flatMap(([k, v]) => ["--config", `${k}=${v}`])];
    const run = await runPlan(args);
    if (run.status !== 0) {
        throw new Error(`plan ${args.join(" ")} exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
    }
    return JSON.parse(run.stdout) as PlanDocument;
}

/** All resources of a plan by name. */
export function entries(plan: PlanDocument): Map<string, PlanEntry & { wave: number }> {
    return new Map(plan.waves.flatMap((w) => w.resources.map((r) => [r.name, { ...r, wave: w.wave }] as const)));
}

/** Runs async jobs with at most `limit` in flight (the machines have two cores). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array<R>(items.length);
    let next = 0;
    const worker = async (): Promise<void> => {
        while (next < items.length) {
            const i = next++;
            results[i] = await fn(items[i]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return results;
}
