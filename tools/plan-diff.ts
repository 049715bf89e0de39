/**
 * `npm run plan:diff -- --base <git-ref> [--stack S]... [--format text|markdown|json]`
 *
 * What a change would do to each stack, offline: evaluates the plan at the base commit (its tree exported into a
 * temporary folder, with this checkout's node_modules linked in) and in the working tree, each in its own child
 * process with that tree's own `tools/plan.ts`, and prints the resources added, removed, updated and REPLACED with
 * input-level diffs. Without --stack, every `Pulumi.<stack>.yaml` of either side is compared.
 *
 * Exit status: 0 with or without changes; 1 when a stack's config is invalid at the head (the report is still
 * printed); 2 on usage errors, a ref that names no commit, or a plan that could not be evaluated.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { diffPlans, type PlanDiff } from "./plan/diff";
import { renderDiffMarkdown, renderDiffSummaryMarkdown, renderDiffText, type DiffSides } from "./plan/diff-report";
import { exportTree, resolveCommit, type ExportedTree } from "./plan/git";
import type { PlanDocument } from "./plan/plan";
import { exitAfterFlush } from "./plan/exit";

const FORMATS = ["text", "markdown", "json"] as const;
type Format = (typeof FORMATS)[number];

/** Marker the pull-request workflow looks for to update its one comment instead of adding another. */
export const COMMENT_MARKER = "<!-- homelab-plan-diff -->";

const USAGE = "usage: npm run plan:diff -- --base <git-ref> [--stack <name>]... [--format text|markdown|json]";

interface Args {
    base: string;
    stacks: string[];
    format: Format;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args {
    let base: string | undefined;
    const stacks: string[] = [];
    let format: Format = "text";
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = argv[i + 1];
        if (arg === "--base" && value) {
            base = argv[++i];
        } else if (arg === "--stack" && value) {
            stacks.push(argv[++i]);
        } else if (arg === "--format" && value && (FORMATS as readonly string[]).includes(value)) {
            format = argv[++i] as Format;
        } else if (arg === "--json") {
            format = "json";
        } else {
            throw new UsageError(`unknown or incomplete argument "${arg}" — ${USAGE}`);
        }
    }
    if (!base) {
        throw new UsageError(`--base is required — ${USAGE}`);
    }
    return { base, stacks, format };
}

/** Stack names from the `Pulumi.<stack>.yaml` files in a folder. */
export function stacksIn(dir: string): string[] {
    return readdirSync(dir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

function emptyPlan(stack: string, project: string): PlanDocument {
    return { project, stack, errors: [], warnings: [], summary: { resources: 0, components: 0, waves: 0 }, components: [], waves: [] };
}

/** Runs a tree's own `tools/plan.ts --json` in a child process (one Pulumi runtime per evaluation). */
function planIn(dir: string, stack: string): Promise<PlanDocument> {
    const tool = path.join(dir, "tools", "plan.ts");
    if (!existsSync(tool)) {
        return Promise.reject(new Error(`${dir} has no tools/plan.ts: the base predates the offline plan`));
    }
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", tool, "--json", "--stack", stack], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (status) => {
            // 0: planned; 1: planned, with validation errors in the document. Anything else is a failure.
            if (status === 0 || status === 1) {
                try {
                    resolve(JSON.parse(stdout) as PlanDocument);
                    return;
                } catch {
                    // fall through
                }
            }
            reject(new Error(`planning stack ${stack} in ${dir} failed (exit ${status}):\n${stderr.trim().split("\n").slice(-15).join("\n")}`));
        });
    });
}

/** One stack's comparison. */
export interface StackDiff {
    /** Stack name. */
    readonly stack: string;
    /** The diff. */
    readonly diff: PlanDiff;
    /** Stack file only at one side. */
    readonly note?: string;
}

async function diffStack(baseDir: string, headDir: string, stack: string): Promise<StackDiff> {
    const inBase = existsSync(path.join(baseDir, `Pulumi.${stack}.yaml`));
    const inHead = existsSync(path.join(headDir, `Pulumi.${stack}.yaml`));
    if (!inBase && !inHead) {
        throw new UsageError(`no stack file Pulumi.${stack}.yaml at the base or in the working tree`);
    }
    const [base, head] = await Promise.all([
        inBase ? planIn(baseDir, stack) : Promise.resolve(emptyPlan(stack, "")),
        inHead ? planIn(headDir, stack) : Promise.resolve(emptyPlan(stack, "")),
    ]);
    const note = !inBase ? "new stack: no stack file at the base" : !inHead ? "stack file deleted: everything in it would be destroyed" : undefined;
    return { stack, diff: diffPlans(base, head), ...(note ? { note } : {}) };
}

function render(format: Format, results: readonly StackDiff[], sides: DiffSides, commit: string): string {
    if (format === "json") {
        return `${JSON.stringify({ base: { ref: sides.base, commit }, head: sides.head, stacks: results }, null, 2)}\n`;
    }
    if (format === "markdown") {
        const parts = [COMMENT_MARKER, "## Offline plan diff", ""];
        parts.push(
            `What \`pulumi up\` would change, computed offline from the repository (no backend, no lab) by \`npm run plan:diff\`: ` +
                "`update` changes a resource in place, **REPLACE** creates a new one and then runs the old one's delete.",
            "",
        );
        if (results.length > 1) parts.push(renderDiffSummaryMarkdown(results.map((r) => r.diff)));
        for (const r of results) {
            parts.push(renderDiffMarkdown(r.diff, sides), ...(r.note ? [`_${r.note}_`, ""] : []));
        }
        return `${parts.join("\n")}\n`;
    }
    return results.map((r) => `${renderDiffText(r.diff, sides)}${r.note ? `(${r.note})\n` : ""}`).join("\n");
}

async function main(): Promise<number> {
    const args = parseArgs(process.argv.slice(2));
    const headDir = path.resolve(__dirname, "..");
    const commit = resolveCommit(headDir, args.base);
    const tree: ExportedTree = exportTree(headDir, commit, path.join(headDir, "node_modules"));
    const cleanup = (): void => tree.dispose();
    const onSignal = (signal: NodeJS.Signals): void => {
        cleanup();
        process.exit(signal === "SIGINT" ? 130 : 143);
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
        const stacks = args.stacks.length > 0 ? args.stacks : [...new Set([...stacksIn(tree.dir), ...stacksIn(headDir)])].sort();
        const results: StackDiff[] = [];
        // Two stacks at a time: each runs two evaluations, and the machines have two cores.
        for (let i = 0; i < stacks.length; i += 2) {
            results.push(...(await Promise.all(stacks.slice(i, i + 2).map((s) => diffStack(tree.dir, headDir, s)))));
        }
        const sides: DiffSides = { base: `${args.base} (${commit.slice(0, 7)})`, head: "working tree" };
        process.stdout.write(render(args.format, results, sides, commit));
        return results.some((r) => r.diff.errors.head.length > 0) ? 1 : 0;
    } finally {
        cleanup();
    }
}

main().then(
    (code) => exitAfterFlush(code),
    (err: unknown) => {
        process.stderr.write(`plan:diff: ${err instanceof Error ? err.message : String(err)}\n`);
        exitAfterFlush(2);
    },
);
