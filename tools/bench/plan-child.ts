/**
 * One offline plan evaluation in a fresh process (`node --import tsx tools/bench/plan-child.ts N`): builds the dev
 * stack's plan for a synthetic inventory of N nodes and prints one JSON line of measurements.
 *
 * A fresh process per evaluation is required, not a convenience: `evaluateProgram` imports `index.ts`, and a second
 * `buildPlan` in the same process gets the cached module and registers nothing (0 resources, no error). It also
 * makes `process.resourceUsage().maxRSS` the peak of exactly one evaluation.
 */
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { buildPlan } from "../plan/plan";
import { syntheticNodes } from "./inventory";

/** What one evaluation measured. */
export interface PlanSample {
    readonly nodes: number;
    /** Wall time of `buildPlan` (validation, mock evaluation, waves), in milliseconds. */
    readonly ms: number;
    /** Peak resident set size of the process (KiB), from `process.resourceUsage().maxRSS`. */
    readonly peakRssKiB: number;
    /** RSS right before `buildPlan` (KiB): node, tsx and the plan modules, the part that does not depend on N. */
    readonly baseRssKiB: number;
    readonly resources: number;
    readonly components: number;
    readonly waves: number;
    /**
     * Waves of the bootstrap itself: every resource outside the rolling upgrade chain (`homelab:k8s:ClusterUpgrade`),
     * whose steps are serial by design (one batch of nodes at a time) and, on a fresh install, only confirm the
     * version. Nothing of the bootstrap waits for the chain.
     */
    readonly bootstrapWaves: number;
    /** Waves the upgrade chain spans (first to last of its steps); 0 without one. */
    readonly upgradeChainWaves: number;
    /** Dependency edges (sum of every resource's `waitsFor`). */
    readonly edges: number;
    /** Waves of the worker joins (min and max) and of the Cilium release. */
    readonly joinWaves: readonly [number, number] | null;
    readonly ciliumReleaseWave: number | null;
    readonly errors: readonly string[];
}

async function main(): Promise<void> {
    const count = Number(process.argv[2]);
    const overrides = { nodes: syntheticNodes(count) };
    const env = { ...process.env, SSH_AUTH_SOCK: "/dev/null" };
    const baseRssKiB = Math.round(process.memoryUsage().rss / 1024);
    const started = performance.now();
    const plan = await buildPlan({ projectDir: path.resolve(__dirname, "../.."), stack: "dev", overrides, env });
    const ms = performance.now() - started;
    const entries = plan.waves.flatMap((w) => w.resources.map((r) => ({ ...r, wave: w.wave })));
    const upgradeComponents = new Set(plan.components.filter((c) => c.type === "homelab:k8s:ClusterUpgrade").map((c) => c.name));
    const inChain = (e: (typeof entries)[number]): boolean => e.parent !== null && upgradeComponents.has(e.parent);
    const chainWaves = entries.filter(inChain).map((e) => e.wave);
    const joins = entries.filter((e) => /^worker\d+-join$/.test(e.name)).map((e) => e.wave);
    const sample: PlanSample = {
        nodes: count,
        ms,
        peakRssKiB: process.resourceUsage().maxRSS,
        baseRssKiB,
        resources: plan.summary.resources,
        components: plan.summary.components,
        waves: plan.summary.waves,
        bootstrapWaves: Math.max(0, ...entries.filter((e) => !inChain(e)).map((e) => e.wave)),
        upgradeChainWaves: chainWaves.length > 0 ? Math.max(...chainWaves) - Math.min(...chainWaves) + 1 : 0,
        edges: entries.reduce((n, e) => n + e.waitsFor.length, 0),
        joinWaves: joins.length > 0 ? [Math.min(...joins), Math.max(...joins)] : null,
        ciliumReleaseWave: entries.find((e) => e.name === "cilium-release")?.wave ?? null,
        errors: plan.errors,
    };
    process.stdout.write(`${JSON.stringify(sample)}\n`);
}

main().then(
    () => process.exit(0),
    (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(2);
    },
);
