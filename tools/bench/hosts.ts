/**
 * Simulated-host cost: the stack's plan executed on simulated hosts (tests/host/plan-run.ts) with the real generated
 * scripts, then executed again (the re-run), then destroyed twice (the `delete` scripts: the membership reset and the
 * staging cleanup). Per command step: wall time and stub calls, mutating ones apart. The step list is the plan itself,
 * so scripts added to the program are measured without being listed here.
 */
import { diffSnapshots, namespaceSupport } from "../../tests/host/harness";
import { commandSteps, PlanRun, RERUN_PRODUCTS, TRANSIENT_RERUN_MUTATIONS, type StepRun } from "../../tests/host/plan-run";
import { loadPlanSteps, stepKind } from "../../tests/host/plan-steps";

/** One command step's cost. */
export interface StepCost {
    readonly step: string;
    readonly node: string;
    /** `create` or `delete`. */
    readonly phase: "create" | "delete";
    readonly firstMs: number;
    readonly firstCalls: number;
    readonly firstMutating: number;
    readonly rerunMs: number;
    readonly rerunCalls: number;
    readonly rerunMutating: number;
    /** Why re-run mutations are allowed for this step (and proven net-zero), when they are. */
    readonly transient?: string;
    /** Whether the re-run left the hosts and cluster byte-identical (checked for steps with re-run mutations). */
    readonly rerunIdentical?: boolean;
}

/** The cost of one stack. */
export interface StackCost {
    readonly stack: string;
    readonly nodes: number;
    readonly steps: readonly StepCost[];
    readonly firstRunMs: number;
    readonly rerunMs: number;
    /** Differences between the hosts after the first run and after the re-run (must be none). */
    readonly rerunDiff: readonly string[];
    /** Problems found: re-run mutations that are not transient, a re-run that changed the hosts. */
    readonly problems: readonly string[];
}

const mutating = (run: StepRun): number => run.calls.filter((c) => c.kind === "mut").length;
const sum = (runs: readonly StepRun[]): number => runs.reduce((t, r) => t + r.ms, 0);

/** Runs the stack's plan twice and destroys it twice on fresh simulated hosts. */
export async function benchStack(stack: string): Promise<StackCost> {
    const plan = await loadPlanSteps({ stack });
    return PlanRun.with(plan, async (run) => {
        const first = await run.runAll();
        const applied = await run.snapshot();
        const rerun: StepRun[] = [];
        const identical = new Map<string, boolean>();
        for (const step of plan.steps) {
            const watch = TRANSIENT_RERUN_MUTATIONS[stepKind(step)] !== undefined;
            const before = watch ? await run.snapshot() : undefined;
            const result = await run.execute(step);
            if (result.status !== 0) throw new Error(`re-run of ${step.name} exited ${result.status}: ${result.stderr}`);
            if (before && mutating(result) > 0) identical.set(step.name, diffSnapshots(before, await run.snapshot(), { ignore: RERUN_PRODUCTS }).length === 0);
            rerun.push(result);
        }
        const rerunDiff = diffSnapshots(applied, await run.snapshot(), { ignore: RERUN_PRODUCTS });
        const reversed = [...plan.steps].reverse().filter((s) => typeof s.inputs.delete === "string");
        const destroy = await run.runSteps(reversed, { destroy: true });
        const redestroy = await run.runSteps(reversed, { destroy: true });

        const problems: string[] = rerunDiff.map((d) => `the re-run changed the hosts: ${d}`);
        const costs: StepCost[] = [];
        const commands = new Set(commandSteps(plan).map((s) => s.name));
        const add = (phase: "create" | "delete", a: StepRun, b: StepRun): void => {
            const transient = phase === "create" ? TRANSIENT_RERUN_MUTATIONS[stepKind(a.step)] : undefined;
            const rerunIdentical = identical.get(a.step.name);
            costs.push({
                step: a.step.name,
                node: a.step.node ?? "",
                phase,
                firstMs: a.ms,
                firstCalls: a.calls.length,
                firstMutating: mutating(a),
                rerunMs: b.ms,
                rerunCalls: b.calls.length,
                rerunMutating: mutating(b),
                ...(transient !== undefined ? { transient } : {}),
                ...(rerunIdentical !== undefined ? { rerunIdentical } : {}),
            });
            if (mutating(b) > 0 && (transient === undefined || rerunIdentical === false)) {
                problems.push(`${phase} ${a.step.name}: the re-run made ${mutating(b)} mutating call(s): ${b.calls.filter((c) => c.kind === "mut").map((c) => c.line).join("; ")}`);
            }
        };
        first.forEach((a, i) => commands.has(a.step.name) && add("create", a, rerun[i]));
        destroy.forEach((a, i) => add("delete", a, redestroy[i]));
        return {
            stack,
            nodes: plan.nodes.length,
            steps: costs,
            firstRunMs: sum(first),
            rerunMs: sum(rerun),
            rerunDiff,
            problems,
        };
    });
}

/** Whether simulated hosts can run here, and why not. */
export async function hostsAvailable(): Promise<string | undefined> {
    const support = await namespaceSupport();
    return support.ok ? undefined : support.reason;
}
