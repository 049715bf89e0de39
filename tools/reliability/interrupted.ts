/**
 * Interrupted apply: the plan runs on fresh simulated hosts up to the end of wave k and stops (a lost connection, a
 * Ctrl-C between waves), then runs again. Two ways of running again, both must end where a clean single run ends:
 *   - `rerun`: every wave again from the first (every script re-run on a half-bootstrapped cluster);
 *   - `resume`: only the waves after k, as the engine does (what completed is in the state and does not run again).
 */
import { mapLimit } from "../../tests/helpers/plan-cli";
import { PlanRun } from "../../tests/host/plan-run";
import type { PlanSteps } from "../../tests/host/plan-steps";
import type { Snapshot } from "../../tests/host/harness";
import { FAULT_IGNORED } from "./faults";

/** One interruption. */
export interface InterruptedCase {
    /** The last wave that ran before the stop. */
    readonly wave: number;
    readonly mode: "rerun" | "resume";
    /** Steps that had run when it stopped. */
    readonly stepsBefore: number;
    readonly converged: boolean;
    readonly detail?: string;
}

/** The matrix over every wave. */
export interface InterruptedMatrix {
    readonly stack: string;
    readonly nodes: number;
    readonly waves: number;
    readonly cases: readonly InterruptedCase[];
}

/** Runs the matrix: stops after each wave 1..W-1 and after the last one (a full run followed by a re-run). */
export async function interruptedMatrix(plan: PlanSteps, concurrency = 2): Promise<InterruptedMatrix> {
    const end: Snapshot = await PlanRun.with(plan, async (run) => {
        await run.runAll();
        return run.snapshot();
    });
    const waves = Math.max(...plan.steps.map((s) => s.wave));
    const jobs = Array.from({ length: waves }, (_, i) => i + 1).flatMap((wave) => (["rerun", "resume"] as const).map((mode) => ({ wave, mode })));
    const cases = await mapLimit(jobs, concurrency, ({ wave, mode }) =>
        PlanRun.with(plan, async (run): Promise<InterruptedCase> => {
            const before = plan.steps.filter((s) => s.wave <= wave);
            await run.runSteps(before);
            const base = { wave, mode, stepsBefore: before.length };
            try {
                await run.runSteps(mode === "rerun" ? plan.steps : plan.steps.filter((s) => s.wave > wave));
            } catch (error) {
                return { ...base, converged: false, detail: `the second run failed: ${(error as Error).message.split("\n")[0]}` };
            }
            const diff = PlanRun.diff(end, await run.snapshot(), FAULT_IGNORED);
            return { ...base, converged: diff.length === 0, ...(diff.length > 0 ? { detail: diff.slice(0, 4).join("; ") } : {}) };
        }),
    );
    return { stack: plan.stack, nodes: plan.nodes.length, waves, cases };
}
