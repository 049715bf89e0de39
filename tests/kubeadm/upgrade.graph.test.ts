/**
 * Graph tests of the Kubernetes upgrade chain and the etcd snapshots on the dev stack (cp1, worker1, worker2): the
 * order of the chain, and what a version bump (patch and minor) or a batch-size change replaces, compared plan to plan
 * with diffPlans.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { diffPlans, type PlanDiff } from "../../tools/plan/diff";
import type { PlanDocument } from "../../tools/plan/plan";
import { entries, mapLimit, planJson } from "../helpers/plan-cli";
import { ancestors } from "../helpers/transition";

let base: PlanDocument;
let patch: PlanDocument;
let minor: PlanDocument;
let batch2: PlanDocument;
let schedule: PlanDocument;
before(async () => {
    const variants: Record<string, string>[] = [
        {},
        { kubernetesVersion: "1.33.11" },
        { kubernetesVersion: "1.34.1" },
        { upgradeWorkerBatch: "2" },
        { etcdSnapshotSchedule: "daily" },
    ];
    [base, patch, minor, batch2, schedule] = await mapLimit(
        variants,
        3,
        (overrides) => planJson(overrides),
    );
});

function before_(plan: PlanDocument, first: string, then: string): void {
    assert.ok(ancestors(plan, then).has(first), `${then} must wait for ${first}`);
}
const replaced = (diff: PlanDiff): string[] => diff.changed.filter((c) => c.replace).map((c) => c.name).sort();
const UPGRADE_STEPS = [
    "upgrade-snapshot",
    "cp1-upgrade",
    "worker1-upgrade-drain",
    "worker1-upgrade",
    "worker1-upgrade-uncordon",
    "worker2-upgrade-drain",
    "worker2-upgrade",
    "worker2-upgrade-uncordon",
    "upgrade-verify",
];

test("the chain runs in kubeadm's order: snapshot, first control plane, then one worker at a time, then the check", () => {
    for (let i = 1; i < UPGRADE_STEPS.length; i++) before_(base, UPGRADE_STEPS[i - 1], UPGRADE_STEPS[i]);
    // The snapshot waits for every node to be a member and for the installed snapshot tool.
    for (const node of ["cp1-init", "worker1-join", "worker2-join", "etcd-snapshot-install"]) before_(base, node, "upgrade-snapshot");
    // A worker's upgrade follows its own prepare (re-run with the new version first) and its drain.
    before_(base, "worker1-prepare", "worker1-upgrade");
    const all = entries(base);
    assert.deepEqual(all.get("worker1-upgrade")?.inputs.connection, all.get("worker1-join")?.inputs.connection, "runs on the worker");
    assert.deepEqual(all.get("worker1-upgrade-drain")?.inputs.connection, all.get("cp1-init")?.inputs.connection, "drains from the control plane");
    assert.match(String(all.get("worker1-upgrade-drain")?.inputs.create), /upgrade-worker\.sh' 'drain' 'worker1'/);
    // Uploads are off the critical path: a worker's script goes up as soon as it has joined.
    assert.deepEqual(all.get("worker1-upgrade-script")?.waitsFor, ["worker1-join"]);
});

test("component and resource names are unique across the plan (helpers resolve parents by name)", () => {
    const names = [...base.components.map((c) => c.name), ...entries(base).keys()];
    assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), []);
    assert.ok(entries(base).has("etcd-snapshot-on-demand"));
});

test("no upgrade or snapshot step has a delete, and Cilium's check and Istio still follow every node", () => {
    for (const [name, entry] of entries(base)) {
        if (/upgrade|etcd-snapshot/.test(name)) assert.equal(entry.inputs.delete, undefined, name);
    }
    // Cilium's release goes in once the API server is up; its check, and everything of Istio, wait for every node.
    before_(base, "cp1-init", "cilium-release");
    for (const step of ["cilium-check", "istio-base", "istio-istiod", "istio-mesh-check"]) {
        for (const node of ["cp1-init", "worker1-join", "worker2-join"]) before_(base, node, step);
    }
});

test("with upgradeWorkerBatch 2 both workers drain together, after the control plane", () => {
    assert.equal(ancestors(batch2, "worker2-upgrade-drain").has("worker1-upgrade-uncordon"), false);
    assert.equal(ancestors(batch2, "worker1-upgrade-drain").has("worker2-upgrade-uncordon"), false);
    for (const w of ["worker1", "worker2"]) {
        before_(batch2, "cp1-upgrade", `${w}-upgrade-drain`);
        before_(batch2, `${w}-upgrade-uncordon`, "upgrade-verify");
    }
    const diff = diffPlans(base, batch2);
    assert.deepEqual(replaced(diff), [], "the batch size only re-orders; nothing re-runs");
    assert.deepEqual(diff.added, []);
    assert.deepEqual(diff.removed, []);
});

for (const [what, plan] of [["a patch bump", () => patch], ["a minor bump", () => minor]] as const) {
    test(`${what} re-runs every upgrade step and the host steps whose script changed, replaces nothing destructive`, () => {
        const diff = diffPlans(base, plan());
        assert.deepEqual(diff.errors, { base: [], head: [] });
        assert.deepEqual(diff.added, [], "no resource appears");
        assert.deepEqual(diff.removed, [], "no resource disappears");
        assert.deepEqual(diff.hazards, [], "no destructive delete runs");
        const names = replaced(diff);
        for (const step of UPGRADE_STEPS) assert.ok(names.includes(step), `${step} re-runs: ${names.join(", ")}`);
        for (const step of ["cp1-prepare", "worker1-prepare", "worker2-prepare", "cp1-init"]) assert.ok(names.includes(step), step);
        assert.equal(names.some((n) => n.endsWith("-membership")), false, "membership is never replaced");
        assert.equal(names.some((n) => n.endsWith("-join") || n.endsWith("-join-token")), false, "joined workers do not re-join");
        assert.equal(names.some((n) => n.startsWith("etcd-snapshot")), false, "the on-demand snapshot does not re-run");
        for (const name of names) {
            const change = diff.changed.find((c) => c.name === name);
            assert.ok(change?.replaceBecause.every((p) => p.startsWith("triggers")), `${name} is replaced by its triggers only`);
        }
    });
}

test("an etcdSnapshotSchedule re-runs only the snapshot install", () => {
    const diff = diffPlans(base, schedule);
    assert.deepEqual(replaced(diff), ["etcd-snapshot-install"]);
});
