/**
 * A change to any config key must never replace a resource that carries a destructive delete: replacing it would run
 * the old resource's `delete` on a live node (membership: kubeadm reset -f; leave: drain, etcd member removal and
 * `kubectl delete node`). A remote Command is replaced exactly when its
 * `triggers` change (the SDK sets replaceOnChanges: ["triggers[*]"]); any other input change is an in-place update.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as YAML from "yaml";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { PlanDocument } from "../../tools/plan/plan";
import { ROOT } from "../helpers/graph";
import { entries, mapLimit, planJson } from "../helpers/plan-cli";

const devNodes = YAML.parse(
    (YAML.parse(readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, string> }).config["homelab:nodes"],
) as Record<string, unknown>[];

/** One change per config key, each a realistic edit of the dev stack. */
const variants: Record<string, Record<string, string>> = {
    kubernetesVersion: { kubernetesVersion: "1.33.9" },
    clusterName: { clusterName: "lab-renamed" },
    podSubnet: { podSubnet: "10.245.0.0/16" },
    serviceSubnet: { serviceSubnet: "10.112.0.0/12" },
    controlPlaneEndpoint: { controlPlaneEndpoint: "k8s.lab.example:6443" },
    schedulableControlPlane: { schedulableControlPlane: "true" },
    sshUser: { sshUser: "admin" },
    istioMode: { istioMode: "ambient" },
    istioEnabled: { istioEnabled: "false" },
    istioCniTaint: { istioCniTaint: "true" },
    ciliumValues: { ciliumValues: "hubble: {relay: {enabled: true}}" },
    kubeVipAddress: { kubeVipAddress: "192.0.2.100" },
    kubeVipInterface: { kubeVipAddress: "192.0.2.100", kubeVipInterface: "eth1" },
    kubeVipVersion: { kubeVipAddress: "192.0.2.100", kubeVipVersion: "v1.2.2" },
    nodes: {
        nodes: JSON.stringify([
            ...devNodes.slice(0, 2),
            { ...devNodes[2], nodeIp: "192.0.2.22" },
            { name: "worker3", host: "192.0.2.13", role: "worker" },
        ]),
    },
};

let base: PlanDocument;
const changed: Record<string, PlanDocument> = {};
before(async () => {
    const names = Object.keys(variants);
    const plans = await mapLimit([undefined, ...names], 3, (key) => planJson(key ? variants[key] : {}));
    base = plans[0];
    names.forEach((key, i) => (changed[key] = plans[i + 1]));
});

function destructive(plan: PlanDocument): string[] {
    return [...entries(plan).values()]
        .filter((r) => typeof r.inputs.delete === "string" && /kubeadm reset|kubectl/.test(r.inputs.delete))
        .map((r) => r.name)
        .sort();
}

test("the dev stack has two destructive resources per node (leave, membership), none with triggers", () => {
    assert.deepEqual(destructive(base), ["cp1-leave", "cp1-membership", "worker1-leave", "worker1-membership", "worker2-leave", "worker2-membership"]);
    for (const name of destructive(base)) {
        assert.equal(entries(base).get(name)?.inputs.triggers, undefined, name);
    }
});

for (const key of Object.keys(variants)) {
    test(`changing ${key} replaces no resource that runs kubeadm reset`, () => {
        const before = entries(base);
        const after = entries(changed[key]);
        // The variant really changed something, or this test would prove nothing.
        const same = JSON.stringify([...after.values()].map((r) => r.inputs)) === JSON.stringify([...before.values()].map((r) => r.inputs));
        assert.equal(same, false, `the ${key} variant changed nothing`);
        for (const name of destructive(base)) {
            const old = before.get(name);
            const next = after.get(name);
            assert.ok(old && next, `${name} must keep its name (a rename is a delete + create)`);
            assert.equal(next.inputs.triggers, undefined, `${name} must have no triggers`);
            assert.equal(next.inputs.delete, old.inputs.delete, `${name}: delete command changed`);
            assert.equal(next.inputs.create, old.inputs.create, `${name}: create command changed`);
            // The leave runs on the primary: its connection may be updated in place (it has no create to re-run).
        }
    });
}

test("a version change re-runs the host steps whose script or config changed (by trigger), never membership", () => {
    const before = entries(base);
    const after = entries(changed.kubernetesVersion);
    const retriggered = [...after.values()]
        .filter((r) => JSON.stringify(r.inputs.triggers) !== JSON.stringify(before.get(r.name)?.inputs.triggers))
        .map((r) => r.name)
        .sort();
    assert.ok(retriggered.includes("cp1-prepare") && retriggered.includes("worker1-prepare"), retriggered.join(", "));
    assert.ok(retriggered.includes("cp1-init"), "the init config hash carries the version");
    assert.equal(retriggered.some((n) => /-(membership|leave)$/.test(n)), false);
});

test("a new SSH login re-uploads the staged files into the new home, and re-runs nothing destructive", () => {
    const before = entries(base);
    const after = entries(changed.sshUser);
    const retriggered = [...after.values()]
        .filter((r) => JSON.stringify(r.inputs.triggers) !== JSON.stringify(before.get(r.name)?.inputs.triggers))
        .map((r) => r.name);
    assert.ok(retriggered.includes("cp1-init-script") && retriggered.includes("cp1-kubeadm-config"), retriggered.join(", "));
    assert.equal(retriggered.some((n) => /-(membership|leave)$/.test(n)), false);
});

test("adding a node changes no other resource's name", () => {
    const before = new Set(entries(base).keys());
    const after = new Set(entries(changed.nodes).keys());
    for (const name of before) {
        assert.ok(after.has(name), `${name} disappeared when worker3 was added`);
    }
    const added = [...after].filter((n) => !before.has(n));
    assert.ok(added.length > 0 && added.every((n) => n.startsWith("worker3-")), added.join(", "));
});
