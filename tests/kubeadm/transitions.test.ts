/**
 * Node transitions on the HA stack, planned offline (one child process per config): what a node added to or removed
 * from `nodes` adds, removes and changes, and in which order the removed resources' deletes run. A resource whose
 * inputs are unchanged is not touched by `pulumi up`; one missing from the new plan is deleted, after everything that
 * waited for it (the engine deletes in reverse dependency order).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as YAML from "yaml";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { PlanDocument, PlanEntry } from "../../tools/plan/plan";
import { ROOT } from "../helpers/graph";
import { entries, mapLimit, planJson } from "../helpers/plan-cli";
import { ancestors } from "../helpers/transition";
import { diffPlans } from "../../tools/plan/diff";

type Node = Record<string, unknown> & { name: string };
const haNodes = YAML.parse(
    (YAML.parse(readFileSync(path.join(ROOT, "Pulumi.ha.yaml"), "utf8")) as { config: Record<string, string> }).config["homelab:nodes"],
) as Node[];
const without = (name: string): Node[] => haNodes.filter((n) => n.name !== name);
const worker3 = { name: "worker3", host: "192.0.2.13", role: "worker" };
const cp4 = { name: "cp4", host: "192.0.2.40", role: "control-plane" };
const cp0 = { name: "cp0", host: "192.0.2.9", role: "control-plane" };

const variants = {
    workerAdded: [...haNodes, worker3],
    workerRemoved: without("worker2"),
    controlPlaneAdded: [...haNodes.slice(0, 3), cp4, ...haNodes.slice(3)],
    controlPlaneRemoved: without("cp3"),
    primaryInserted: [cp0, ...haNodes],
    primaryRemoved: without("cp1"),
};
type Variant = keyof typeof variants;

let base: PlanDocument;
const plans = {} as Record<Variant, PlanDocument>;
before(async () => {
    const names = Object.keys(variants) as Variant[];
    const results = await mapLimit([undefined, ...names], 3, (key) =>
        planJson(key ? { nodes: JSON.stringify(variants[key]) } : {}, "ha"),
    );
    base = results[0];
    names.forEach((key, i) => (plans[key] = results[i + 1]));
});

/** What a plan change adds, removes (by logical name) and updates in place, and the destructive deletes it runs. */
function diff(before: PlanDocument, after: PlanDocument): { added: string[]; removed: string[]; changed: string[]; hazards: string[] } {
    const d = diffPlans(before, after);
    return {
        added: d.added.map((a) => a.entry.name).sort(),
        removed: d.removed.map((r) => r.entry.name).sort(),
        changed: d.changed.map((c) => c.name).sort(),
        hazards: d.hazards.map((h) => `${h.action} ${h.name}`).sort(),
    };
}

/** Removed resources that run a command when deleted. */
function deletes(plan: PlanDocument, removed: readonly string[]): PlanEntry[] {
    const byName = entries(plan);
    return removed.map((n) => byName.get(n) as PlanEntry).filter((r) => typeof r.inputs.delete === "string");
}

test("the HA stack plans without errors", () => {
    assert.deepEqual(base.errors, []);
    for (const key of Object.keys(variants) as Variant[]) {
        assert.deepEqual(plans[key].errors, [], key);
    }
});

test("a worker added months later: only its resources are added; the rest is untouched but the Cilium check", () => {
    const { added, removed, changed, hazards } = diff(base, plans.workerAdded);
    assert.deepEqual(removed, []);
    assert.deepEqual(hazards, [], "nothing destructive runs");
    assert.ok(added.length > 0 && added.every((n) => n === "worker3" || n.startsWith("worker3-")), added.join(", "));
    assert.deepEqual(changed, ["cilium-check"], "only the check re-runs, to verify Cilium on the new node too");
});

test("a worker added months later joins with a token minted right before its join, on the primary", () => {
    const plan = entries(plans.workerAdded);
    const token = plan.get("worker3-join-token") as PlanEntry;
    const join = plan.get("worker3-join") as PlanEntry;
    assert.ok(join.waitsFor.includes("worker3-join-token"), "the join waits for the freshly minted token");
    assert.ok(ancestors(plans.workerAdded, "worker3-join-token").has("cp1-token-script"));
    assert.deepEqual(token.inputs.connection, (plan.get("cp1-init") as PlanEntry).inputs.connection, "minted on the primary");
    // Same triggers as the join (plus the token script's hash): whenever the join runs again, so does the token.
    const joinTriggers = join.inputs.triggers as string[];
    assert.deepEqual((token.inputs.triggers as string[]).slice(0, joinTriggers.length), joinTriggers);
    // Nothing else mints a token for it, and it is not minted before the node is a member-to-be on its host.
    assert.ok(ancestors(plans.workerAdded, "worker3-join-token").has("worker3-membership"));
    assert.equal((plan.get("worker3-join-token") as PlanEntry).secretInputs.includes("stdin"), true, "the token goes in as a secret");
});

test("a worker removed: only its resources go; leave (drain, Node) runs before membership (reset)", () => {
    const { added, removed, changed, hazards } = diff(base, plans.workerRemoved);
    assert.deepEqual(added, []);
    assert.deepEqual(hazards, ["remove worker2-leave", "remove worker2-membership"], "only the removed node's own deletes are destructive");
    assert.ok(removed.every((n) => n === "worker2" || n.startsWith("worker2-")), removed.join(", "));
    assert.deepEqual(changed, ["cilium-check"]);
    const withDelete = deletes(base, removed);
    assert.deepEqual(withDelete.map((r) => r.name).sort(), ["worker2-leave", "worker2-membership", "worker2-stage"]);
    assert.ok(ancestors(base, "worker2-leave").has("worker2-membership"), "leave waits for membership, so it is deleted first");
    const leave = String((entries(base).get("worker2-leave") as PlanEntry).inputs.delete);
    assert.match(leave, /readonly NODE='worker2'/);
    assert.match(leave, /kube drain "\$NODE" --ignore-daemonsets --delete-emptydir-data --force --timeout="\$DRAIN_TIMEOUT"/);
    assert.doesNotMatch(leave, /etcdctl/);
    assert.deepEqual((entries(base).get("worker2-leave") as PlanEntry).inputs.connection, (entries(base).get("cp1-init") as PlanEntry).inputs.connection);
});

test("a control plane added: only its resources, joining after the last control plane", () => {
    const { added, removed, changed, hazards } = diff(base, plans.controlPlaneAdded);
    assert.deepEqual(removed, []);
    assert.deepEqual(hazards, []);
    assert.ok(added.every((n) => n === "cp4" || n.startsWith("cp4-")), added.join(", "));
    assert.ok(added.includes("cp4-upload-certs"));
    assert.deepEqual(changed, ["cilium-check"]);
    assert.ok(ancestors(plans.controlPlaneAdded, "cp4-join").has("cp3-join"));
    assert.ok(plans.controlPlaneAdded.warnings.some((w) => /^nodes: 4 control planes/.test(w)), "an even count warns");
});

test("a control plane removed: its leave removes the etcd member and the Node before its reset", () => {
    const { added, removed, changed, hazards } = diff(base, plans.controlPlaneRemoved);
    assert.deepEqual(added, []);
    assert.deepEqual(hazards, ["remove cp3-leave", "remove cp3-membership"]);
    assert.ok(removed.every((n) => n === "cp3" || n.startsWith("cp3-")), removed.join(", "));
    assert.deepEqual(changed, ["cilium-check"]);
    assert.deepEqual(deletes(base, removed).map((r) => r.name).sort(), ["cp3-leave", "cp3-membership", "cp3-stage"]);
    assert.ok(ancestors(base, "cp3-leave").has("cp3-membership"));
    const leave = String((entries(base).get("cp3-leave") as PlanEntry).inputs.delete);
    const at = (text: string): number => leave.lastIndexOf(text);
    assert.ok(at("kube drain") < at("\nremove_etcd_member\n") && at("\nremove_etcd_member\n") < at("kube delete node"), "drain, etcd member, Node");
    const reset = String((entries(base).get("cp3-membership") as PlanEntry).inputs.delete);
    assert.match(reset, /kubeadm reset -f/);
});

test("a control plane inserted before the primary is planned as a new init, which its script refuses on a live cluster", () => {
    const { added, changed, hazards } = diff(base, plans.primaryInserted);
    assert.equal(hazards.some((h) => h.startsWith("replace ")), false, "nothing destructive is replaced");
    assert.ok(added.includes("cp0-init") && added.includes("cp1-join"), "cp0 would run kubeadm init; cp1 becomes a joiner");
    // Nothing destructive changes for cp1: its membership keeps its inputs; its leave would now run on cp0 (the
    // connection, an in-place update of a resource with nothing to create), its delete script unchanged.
    assert.equal(changed.includes("cp1-membership"), false);
    const leave = diffPlans(base, plans.primaryInserted).changed.find((c) => c.name === "cp1-leave");
    assert.deepEqual(leave && { replace: leave.replace, keys: leave.inputs.map((i) => i.key) }, { replace: false, keys: ["connection"] });
    const init = String(((entries(plans.primaryInserted).get("cp0-init-script") as PlanEntry).inputs.source as { text: string }).text);
    assert.match(init, /refuse_serving_endpoint\nkube_vip_manifest super-admin/, "the endpoint probe runs before anything is written");
    assert.match(init, /move the node that did back to the front of nodes/);
});

test("the primary removed while others remain: cp2 becomes the primary; only cp1 leaves and is reset", () => {
    const { added, removed, hazards } = diff(base, plans.primaryRemoved);
    assert.deepEqual(hazards, ["remove cp1-leave", "remove cp1-membership"], "only cp1 is drained and reset");
    assert.ok(added.includes("cp2-init") && removed.includes("cp2-join"), "cp2's init step runs (and finds it joined)");
    assert.deepEqual(deletes(base, removed).map((r) => r.name).sort(), ["cp1-leave", "cp1-membership", "cp1-stage"]);
    const before = entries(base);
    const after = entries(plans.primaryRemoved);
    for (const node of ["cp2", "cp3", "worker1", "worker2"]) {
        for (const step of ["membership", "leave"]) {
            const old = before.get(`${node}-${step}`) as PlanEntry;
            const next = after.get(`${node}-${step}`) as PlanEntry;
            assert.ok(next, `${node}-${step} keeps its name`);
            assert.equal(next.inputs.triggers, undefined);
            assert.equal(next.inputs.delete, old.inputs.delete, `${node}-${step}: same delete`);
            assert.equal(next.inputs.create, old.inputs.create, `${node}-${step}: same create`);
        }
    }
    // The leave steps now run on cp2, the new primary (an in-place update of a resource with nothing to create).
    assert.deepEqual((after.get("worker1-leave") as PlanEntry).inputs.connection, (after.get("cp2-init") as PlanEntry).inputs.connection);
});
