/**
 * The host matrices of the reliability report (fault matrix, interrupted apply) take minutes, so `npm run
 * verify:reliability -- --check` runs them in CI. Here, quickly: the committed report was made from the plan and the
 * calls the program makes today — every step's calls in a clean run are exactly the faults the report lists, and
 * its interruption table has the plan's waves.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import { FAULT_PLANS, planAllFaults } from "../../tools/reliability/faults";
import { hostTest } from "../host/harness";
import { loadPlanSteps } from "../host/plan-steps";
import { committedSection, stale } from "./report";

/** Rows of a Markdown table in a section: cells of each `| ... |` line after the header. */
function tableRows(section: string, header: string): string[][] {
    const lines = section.split("\n");
    const start = lines.findIndex((l) => l.startsWith(header));
    assert.ok(start >= 0, `no table "${header}" in the report`);
    const rows: string[][] = [];
    for (const line of lines.slice(start + 2)) {
        if (!line.startsWith("|")) break;
        rows.push(line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|")));
    }
    return rows;
}

describe("the committed host matrices match the program", () => {
    hostTest("the fault matrix lists every call of every step of a clean run, and nothing else", async () => {
        const { jobs } = await planAllFaults(await Promise.all(FAULT_PLANS.map((p) => loadPlanSteps(p))));
        const reported = tableRows(committedSection("Fault matrix"), "| stack | step | # | failed call |").map(
            ([stack, step, index, call]) => `${stack}/${step} #${index} ${call}`,
        );
        const expected = jobs.map((j) => `${j.plan.stack}/${j.step.name} #${j.index} \`${j.call.line.replace(/`/g, "'")}\``);
        assert.ok(jobs.some((j) => j.plan.stack === "ha" && j.step.name === "cp2-upload-certs"), "the HA plan faults a control plane's join");
        assert.deepEqual(reported, expected, stale("faults"));
    });

    hostTest("the interrupted-apply table covers every wave of the plan", async () => {
        const plan = await loadPlanSteps({ stack: "dev" });
        const waves = Math.max(...plan.steps.map((s) => s.wave));
        const rows = tableRows(committedSection("Interrupted apply"), "| stopped after wave |");
        assert.deepEqual(
            rows.map(([wave, steps]) => [Number(wave), Number(steps)]),
            Array.from({ length: waves }, (_, i) => [i + 1, plan.steps.filter((s) => s.wave <= i + 1).length]),
            stale("interrupted"),
        );
        for (const [wave, , rerun, resume] of rows) assert.deepEqual([rerun, resume], ["converged", "converged"], `wave ${wave}`);
    });
});
