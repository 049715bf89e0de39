/**
 * The fault matrix: for every command step of the plan, every stub call it makes in a clean run is made to fail in
 * turn (`failAtCall`: the tool exits non-zero the way the real one fails, read-only calls included) on fresh simulated
 * hosts that ran the plan up to that step. Then, as the next `pulumi up` would, the failed step and everything after
 * it run again without the fault (a step that tolerated the fault and succeeded is not re-run). The end state must
 * equal a clean run's, except for content that differs between any two clusters and kubeadm's own logs.
 *
 * Steps whose calls are the same on every node (a worker's prepare is the control plane's) are faulted once. Two plans:
 * the dev stack, then an HA stack whose steps the first did not cover (kube-vip's init, the certificate upload, a
 * control plane's join token and join, a control plane's upgrade step) are faulted too.
 */
import { mapLimit } from "../../tests/helpers/plan-cli";
import { commandSteps, PlanRun, RERUN_PRODUCTS } from "../../tests/host/plan-run";
import { stepKind, type PlanStep, type PlanSteps } from "../../tests/host/plan-steps";
import type { Snapshot } from "../../tests/host/harness";

/** The plan the matrix runs: the dev stack with one control plane and one worker (a second worker adds no new calls). */
export const FAULT_PLAN = {
    stack: "dev",
    overrides: {
        nodes: JSON.stringify([
            { name: "cp1", host: "192.0.2.10", role: "control-plane" },
            { name: "worker1", host: "192.0.2.11", role: "worker" },
        ]),
    },
} as const;

/** The HA plan: the ha stack (kube-vip) with two control planes and one worker (a third adds no new calls). */
export const HA_FAULT_PLAN = {
    stack: "ha",
    overrides: {
        nodes: JSON.stringify([
            { name: "cp1", host: "192.0.2.10", role: "control-plane" },
            { name: "cp2", host: "192.0.2.20", role: "control-plane" },
            { name: "worker1", host: "192.0.2.11", role: "worker" },
        ]),
    },
} as const;

/** The plans of the matrix, in order: a step with the same calls as one of an earlier plan is faulted once. */
export const FAULT_PLANS = [FAULT_PLAN, HA_FAULT_PLAN] as const;

/**
 * Left out of end-state comparisons: kubeadm's logs (a failed run leaves its own), the kubelet package's placeholders,
 * and the on-demand etcd snapshot (`RERUN_PRODUCTS`: its file name carries the time it was taken).
 */
export const FAULT_IGNORED: readonly RegExp[] = [/\|\/var\/log:\/homelab(\/|$)/, /\/\.kubelet-keep$/, ...RERUN_PRODUCTS];

/**
 * Faults after which the program does not converge by itself, found by this matrix and not fixed yet (the scripts
 * belong to their components). Each is reported with its reason; a case matching none of them that does not
 * converge fails `npm run verify:reliability`, and so does an entry that no longer matches a failing case.
 */
export const KNOWN_FAULT_FINDINGS: readonly { readonly step: string; readonly call: RegExp; readonly why: string }[] = [];

/** The known finding a non-converging case matches, if any. */
export function knownFinding(c: { readonly step: string; readonly call: string }, kind: string): string | undefined {
    return KNOWN_FAULT_FINDINGS.find((k) => k.step === kind && k.call.test(c.call))?.why;
}

/** A call line with the run's temporary paths replaced, so lines compare and report the same on every run. */
export function normalizeCall(line: string): string {
    return line.replace(/\/tmp\/homelab-sim-host-[^/\s]+\/mnt\/tmp\/tmp\.[A-Za-z0-9]+/g, "$TMPDIR/tmp.XXXXXXXXXX");
}

/** One injected fault and what came of it. */
export interface FaultCase {
    /** The stack whose plan ran. */
    readonly stack: string;
    readonly step: string;
    /** The step's kind (`stepKind`): what KNOWN_FAULT_FINDINGS match. */
    readonly kind: string;
    /** 1-based index of the failed call among the step's calls. */
    readonly index: number;
    /** The failed call, `tool arg...`, and whether it mutates. */
    readonly call: string;
    readonly mutating: boolean;
    /** `failed`: the step exited non-zero; `tolerated`: it handled the failure and succeeded. */
    readonly outcome: "failed" | "tolerated";
    /** Whether the end state equals the clean run's after the re-run. */
    readonly converged: boolean;
    /** Why not, when it did not converge (differences or the error of the re-run). */
    readonly detail?: string;
}

/** A step of the matrix: its clean-run calls and whether another step with the same calls stands for it. */
export interface FaultStep {
    readonly stack: string;
    readonly step: string;
    readonly node: string;
    readonly calls: readonly string[];
    /** The step faulted in its place (same kind, same calls), when deduplicated. */
    readonly sameAs?: string;
}

/** The whole matrix: the plans it ran, their steps and the cases. */
export interface FaultMatrix {
    readonly plans: readonly { readonly stack: string; readonly nodes: number }[];
    readonly steps: readonly FaultStep[];
    readonly cases: readonly FaultCase[];
}

const firstLines = (lines: readonly string[], n = 4): string => lines.slice(0, n).join("; ") + (lines.length > n ? `; … (${lines.length} in all)` : "");

/** A clean run: every command step's calls, and the end state. */
async function cleanRun(plan: PlanSteps): Promise<{ calls: Map<string, { line: string; kind: string }[]>; end: Snapshot }> {
    return PlanRun.with(plan, async (run) => {
        const calls = new Map<string, { line: string; kind: string }[]>();
        for (const result of await run.runAll()) {
            if (result.step.type === "command:remote:Command") {
                calls.set(result.step.name, result.calls.map((c) => ({ line: normalizeCall(c.line), kind: c.kind })));
            }
        }
        return { calls, end: await run.snapshot() };
    });
}

/** Injects one fault at call `index` (1-based) of `step` and re-runs. */
async function faultCase(plan: PlanSteps, step: PlanStep, index: number, expected: { line: string; kind: string }, end: Snapshot): Promise<FaultCase> {
    return PlanRun.with(plan, async (run) => {
        const position = plan.steps.indexOf(step);
        await run.runSteps(plan.steps.slice(0, position));
        const host = run.hostOf(step);
        await host.failAtCall(index);
        const faulted = await run.execute(step);
        await host.clearFaults();
        const base = { stack: plan.stack, step: step.name, kind: stepKind(step), index, call: expected.line, mutating: expected.kind === "mut" };
        const raw = faulted.calls[index - 1]?.line;
        const hit = raw === undefined ? undefined : normalizeCall(raw);
        if (hit !== expected.line) {
            return { ...base, outcome: faulted.status === 0 ? "tolerated" : "failed", converged: false, detail: `the fault hit "${hit ?? "nothing"}" instead` };
        }
        const outcome = faulted.status === 0 ? "tolerated" : "failed";
        try {
            await run.runSteps(plan.steps.slice(outcome === "failed" ? position : position + 1));
        } catch (error) {
            return { ...base, outcome, converged: false, detail: `the re-run failed: ${(error as Error).message.split("\n")[0]}` };
        }
        const diff = PlanRun.diff(end, await run.snapshot(), FAULT_IGNORED);
        return { ...base, outcome, converged: diff.length === 0, ...(diff.length > 0 ? { detail: firstLines(diff) } : {}) };
    });
}

/** One fault to inject: call `index` (1-based) of `step`, expected to be `call`. */
export interface FaultJob {
    readonly plan: PlanSteps;
    readonly step: PlanStep;
    readonly index: number;
    readonly call: { readonly line: string; readonly kind: string };
}

/**
 * The matrix's plan from a clean run: every command step with its calls (deduplicated: a step with the same kind and
 * calls as an earlier one is faulted once) and the faults to inject, plus the clean end state. `representative` carries
 * the steps of earlier plans (`stack/step` by kind and calls), so a later plan faults only what is new.
 */
export async function planFaults(
    plan: PlanSteps,
    representative = new Map<string, string>(),
): Promise<{ steps: FaultStep[]; jobs: FaultJob[]; end: Snapshot }> {
    const clean = await cleanRun(plan);
    const steps: FaultStep[] = [];
    const jobs: FaultJob[] = [];
    for (const step of commandSteps(plan)) {
        const calls = clean.calls.get(step.name) ?? [];
        const key = `${stepKind(step)}\n${calls.map((c) => c.line).join("\n")}`;
        const sameAs = representative.get(key);
        steps.push({ stack: plan.stack, step: step.name, node: step.node ?? "", calls: calls.map((c) => c.line), ...(sameAs !== undefined ? { sameAs } : {}) });
        if (sameAs !== undefined) continue;
        representative.set(key, `${plan.stack}/${step.name}`);
        calls.forEach((call, i) => jobs.push({ plan, step, index: i + 1, call }));
    }
    return { steps, jobs, end: clean.end };
}

/** The jobs of every plan, in order, each plan faulting only the steps the earlier ones did not cover. */
export async function planAllFaults(plans: readonly PlanSteps[]): Promise<{ steps: FaultStep[]; jobs: FaultJob[]; ends: Map<string, Snapshot> }> {
    const representative = new Map<string, string>();
    const steps: FaultStep[] = [];
    const jobs: FaultJob[] = [];
    const ends = new Map<string, Snapshot>();
    for (const plan of plans) {
        const planned = await planFaults(plan, representative);
        steps.push(...planned.steps);
        jobs.push(...planned.jobs);
        ends.set(plan.stack, planned.end);
    }
    return { steps, jobs, ends };
}

/** Runs the matrix over the plans. */
export async function faultMatrix(
    plans: readonly PlanSteps[],
    options: { concurrency?: number; onCase?: (c: FaultCase) => void } = {},
): Promise<FaultMatrix> {
    const { steps, jobs, ends } = await planAllFaults(plans);
    const cases = await mapLimit(jobs, options.concurrency ?? 2, async (job) => {
        const result = await faultCase(job.plan, job.step, job.index, job.call, ends.get(job.plan.stack) as Snapshot);
        options.onCase?.(result);
        return result;
    });
    return { plans: plans.map((p) => ({ stack: p.stack, nodes: p.nodes.length })), steps, cases };
}
