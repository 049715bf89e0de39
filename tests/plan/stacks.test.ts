/**
 * Every environment in the repository (every Pulumi.<stack>.yaml, found by name, not listed here) plans without a
 * validation error.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import type { PlanDocument } from "../../tools/plan/plan";
import { ROOT } from "../helpers/graph";
import { mapLimit, runPlan } from "../helpers/plan-cli";

const stacks = readdirSync(ROOT)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();

test("the repository ships at least two environments", () => {
    assert.ok(stacks.length >= 2, stacks.join(", "));
    assert.ok(stacks.includes("dev") && stacks.includes("labbox"));
});

test("every Pulumi.<stack>.yaml plans with zero errors", async () => {
    const runs = await mapLimit(stacks, 2, (stack) => runPlan(["--json", "--stack", stack]));
    stacks.forEach((stack, i) => {
        const plan = JSON.parse(runs[i].stdout) as PlanDocument;
        assert.deepEqual(plan.errors, [], `stack ${stack}`);
        assert.equal(runs[i].status, 0, `stack ${stack}`);
        assert.ok(plan.summary.resources > 20, `stack ${stack} plans a cluster`);
        assert.equal(plan.stack, stack);
    });
});
