/**
 * The program's whole plan on simulated hosts (plan-run.ts): every step of the dev stack in wave order ends in a
 * bootstrapped cluster, a second run changes nothing, and the executor refuses what it cannot simulate.
 */
import assert from "node:assert/strict";
import { before, describe } from "node:test";
import { diffSnapshots, hostTest } from "./harness";
import { commandSteps, PlanRun, RERUN_PRODUCTS, TRANSIENT_RERUN_MUTATIONS } from "./plan-run";
import { loadPlanSteps, stepKind, type PlanSteps } from "./plan-steps";

describe("the dev stack's plan on simulated hosts", () => {
    let plan: PlanSteps;
    before(async () => {
        plan = await loadPlanSteps({ stack: "dev" });
    });

    hostTest("runs to a bootstrapped, meshed cluster; the re-run changes nothing", async () => {
        assert.deepEqual(plan.errors, []);
        await PlanRun.with(plan, async (run) => {
            const first = await run.runAll();
            assert.ok(first.every((r) => r.status === 0));
            // Every node joined, Cilium is ready on each, the meshed namespace is labelled.
            const cp = run.controlPlane;
            for (const node of plan.nodes) {
                assert.match((await cp.readCluster(`nodes/${node.name}`)) ?? "", / Ready\n$/, `${node.name} did not join`);
                assert.equal(await cp.readCluster(`cilium/ready/${node.name}`), "", `Cilium is not ready on ${node.name}`);
            }
            assert.match((await cp.readCluster("namespaces/apps")) ?? "", /^istio-injection=enabled$/m);
            assert.equal(await cp.exists("/usr/local/bin/cilium"), true);

            const applied = await run.snapshot();
            const rerun = await run.runSteps(commandSteps(plan));
            for (const r of rerun) {
                const mutations = r.calls.filter((c) => c.kind === "mut").map((c) => c.line);
                if (TRANSIENT_RERUN_MUTATIONS[stepKind(r.step)] === undefined) assert.deepEqual(mutations, [], `re-run of ${r.step.name}`);
            }
            assert.deepEqual(diffSnapshots(applied, await run.snapshot(), { ignore: RERUN_PRODUCTS }), []);
        });
    });

    hostTest("a step it cannot simulate fails loudly instead of being skipped", async () => {
        const unknown = { name: "mystery", type: "example:index:Mystery", wave: 1, waitsFor: [], inputs: {} };
        await PlanRun.with({ ...plan, steps: [unknown] }, async (run) => {
            await assert.rejects(run.execute(unknown), /unsupported step mystery \(example:index:Mystery\)/);
        });
    });

    hostTest("a step that needs the output of a step that has not run is an error, not a silent placeholder", async () => {
        const join = plan.steps.find((s) => s.name === "worker1-join-token");
        assert.ok(join);
        await PlanRun.with(plan, async (run) => {
            await assert.rejects(run.execute(join), /needs the output of worker1-preflight, which has not run/);
        });
    });
});
