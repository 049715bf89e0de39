/**
 * Safety of config changes on a live cluster, through the same diff a pull request shows: one realistic change per
 * config key, planned offline and compared with the dev stack as it is. For each key the test says which resources
 * may change; for every key, no resource whose delete runs `kubeadm reset` is replaced or removed, and no Helm
 * release is replaced (a replace is an uninstall). Node changes keep every other node's resource names.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { CONFIG_KEYS } from "../../components/config";
import { diffPlans, isEmptyDiff, type PlanDiff } from "../../tools/plan/diff";
import type { PlanDocument } from "../../tools/plan/plan";
import { ROOT } from "../helpers/graph";
import { mapLimit, runPlan } from "../helpers/plan-cli";

const devNodes = YAML.parse(
    (YAML.parse(readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, string> }).config["homelab:nodes"],
) as Record<string, unknown>[];
const nodes = (list: Record<string, unknown>[]): string[] => ["--config", `nodes=${JSON.stringify(list)}`];
const set = (...pairs: string[]): string[] => pairs.flatMap((p) => ["--config", p]);

interface Variant {
    /** Config keys this variant changes (every key in CONFIG_KEYS must be covered by one). */
    readonly keys: readonly string[];
    /** plan CLI arguments. */
    readonly args: readonly string[];
    /** Every added, removed or changed resource must match. */
    readonly scope: RegExp;
    /** Resources that must be added, removed or changed ("name" or "name:update" / "name:replace" / "name:add" / "name:remove"). */
    readonly expect: readonly string[];
    /** The change only re-orders resources: the engine runs no operation (the order is asserted elsewhere). */
    readonly orderOnly?: true;
}

/** Node steps and the upgrade chain (its steps are named after the nodes, plus upgrade-snapshot/-verify). */
const NODE_OR_UPGRADE = /^(cp1|worker\d)-|^upgrade-/;
/** Everything that runs over SSH: nodes, the upgrade chain, etcd snapshots, and the Cilium/Istio host steps. */
const SSH = /^(cp1|worker\d|cilium|istio|upgrade|etcd-snapshot)-/;
const variants: Record<string, Variant> = {
    kubernetesVersion: {
        keys: ["kubernetesVersion"],
        args: set("kubernetesVersion=1.33.9"),
        scope: NODE_OR_UPGRADE,
        expect: ["cp1-prepare-script:update", "worker2-prepare:replace", "cp1-init:replace", "upgrade-snapshot:replace", "worker2-upgrade:replace", "upgrade-verify:replace"],
    },
    clusterName: { keys: ["clusterName"], args: set("clusterName=lab-renamed"), scope: /^cp1-|^cilium-/, expect: ["cp1-init:replace", "cilium-release:update"] },
    podSubnet: { keys: ["podSubnet"], args: set("podSubnet=10.245.0.0/16"), scope: /^cp1-|^cilium-/, expect: ["cp1-init:replace", "cilium-release:update"] },
    serviceSubnet: { keys: ["serviceSubnet"], args: set("serviceSubnet=10.112.0.0/12"), scope: /^cp1-/, expect: ["cp1-init:replace"] },
    controlPlaneEndpoint: {
        keys: ["controlPlaneEndpoint"],
        args: set("controlPlaneEndpoint=k8s.lab.example:6443"),
        scope: /^(cp1|worker\d|cilium)-/,
        expect: ["cp1-init:replace", "worker1-join:replace", "cilium-release:update"],
    },
    kubeVip: {
        keys: ["kubeVipAddress", "kubeVipInterface", "kubeVipVersion"],
        args: set("kubeVipAddress=192.0.2.100", "kubeVipInterface=eth1", "kubeVipVersion=v1.2.2"),
        // The endpoint becomes the address (which init's drift check then refuses on a live cluster): the init and
        // join configs, kube-vip in init.sh, and Cilium's k8sServiceHost.
        scope: /^(cp1|worker\d|cilium)-/,
        expect: ["cp1-init-script:update", "cp1-init:replace", "worker1-join:replace", "cilium-release:update"],
    },
    schedulableControlPlane: { keys: ["schedulableControlPlane"], args: set("schedulableControlPlane=true"), scope: /^cp1-/, expect: ["cp1-init-script:update", "cp1-init:replace"] },
    sshUser: { keys: ["sshUser"], args: set("sshUser=admin"), scope: SSH, expect: ["cp1-prepare-script:replace", "cp1-membership:update", "worker2-membership:update"] },
    sshPrivateKey: {
        keys: ["sshPrivateKey"],
        args: ["--config-secret", "sshPrivateKey=-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----"],
        scope: SSH,
        expect: ["cp1-membership:update", "cp1-init:update", "cilium-check:update"],
    },
    ciliumVersion: { keys: ["ciliumVersion"], args: set("ciliumVersion=1.18.1"), scope: /^cilium-/, expect: ["cilium-release:update"] },
    ciliumCliVersion: { keys: ["ciliumCliVersion"], args: set("ciliumCliVersion=v0.18.8"), scope: /^cilium-cli/, expect: ["cilium-cli-script:update", "cilium-cli:replace"] },
    hubble: { keys: ["hubbleRelay", "hubbleUi"], args: set("hubbleRelay=true", "hubbleUi=true"), scope: /^cilium-/, expect: ["cilium-release:update"] },
    routing: {
        keys: ["ciliumRoutingMode", "ciliumNativeRoutingCidr"],
        args: set("ciliumRoutingMode=native", "ciliumNativeRoutingCidr=10.244.0.0/16"),
        scope: /^cilium-/,
        expect: ["cilium-release:update"],
    },
    ciliumPodCidrMaskSize: { keys: ["ciliumPodCidrMaskSize"], args: set("ciliumPodCidrMaskSize=25"), scope: /^cilium-/, expect: ["cilium-release:update"] },
    ciliumValues: { keys: ["ciliumValues"], args: set("ciliumValues=hubble: {relay: {enabled: true}}"), scope: /^cilium-/, expect: ["cilium-release:update"] },
    istioEnabled: { keys: ["istioEnabled"], args: set("istioEnabled=false"), scope: /^(istio|cilium)-/, expect: ["istio-istiod:remove", "istio-cni:remove", "cilium-release:update"] },
    istioMode: { keys: ["istioMode"], args: set("istioMode=ambient"), scope: /^(istio|cilium)-/, expect: ["istio-ztunnel:add", "istio-gateway-api-crds:add", "istio-cni:update"] },
    istioVersion: { keys: ["istioVersion"], args: set("istioVersion=1.31.0"), scope: /^istio-/, expect: ["istio-base:update", "istio-istiod:update"] },
    istioGateway: { keys: ["istioGateway"], args: set("istioGateway=true"), scope: /^istio-gateway$/, expect: ["istio-gateway:add"] },
    meshNamespaces: { keys: ["meshNamespaces"], args: set('meshNamespaces=["apps","web"]'), scope: /^istio-namespace-web$/, expect: ["istio-namespace-web:add"] },
    istioValues: { keys: ["istioValues"], args: set("istioValues={istiod: {pilot: {traceSampling: 10}}}"), scope: /^istio-/, expect: ["istio-istiod:update"] },
    istioMeshCheck: { keys: ["istioMeshCheck"], args: set("istioMeshCheck=false"), scope: /^istio-mesh-check/, expect: ["istio-mesh-check:remove"] },
    istioCniTaint: {
        keys: ["istioCniTaint"],
        args: set("istioCniTaint=true"),
        scope: /^(cp1|worker\d|cilium|istio)-/,
        expect: ["cp1-init:replace", "worker1-join:replace", "istio-istiod:update"],
    },
    nodesAppend: {
        keys: ["nodes"],
        args: nodes([...devNodes, { name: "worker3", host: "192.0.2.13", role: "worker" }]),
        scope: /^worker3-|^cilium-check$|^upgrade-/,
        expect: ["worker3-membership:add", "worker3-join:add", "worker3-upgrade:add"],
    },
    nodesInsertMiddle: {
        keys: ["nodes"],
        args: nodes([devNodes[0], devNodes[1], { name: "worker1b", host: "192.0.2.14", role: "worker" }, devNodes[2]]),
        // worker2 now also checks its identity against worker1b (peers declared before it).
        scope: /^worker1b-|^worker2-|^cilium-check$|^upgrade-/,
        expect: ["worker1b-membership:add"],
    },
    nodesRemove: {
        keys: ["nodes"],
        args: nodes(devNodes.slice(0, 2)),
        scope: /^worker2-|^cilium-check$|^upgrade-/,
        expect: ["worker2-membership:remove", "worker2-upgrade:remove"],
    },
    // Only the batches' order changes (tests/kubeadm/upgrade.graph.test.ts asserts the new order).
    upgradeWorkerBatch: { keys: ["upgradeWorkerBatch"], args: set("upgradeWorkerBatch=2"), scope: /^$/, expect: [], orderOnly: true },
    etcdSnapshotDir: {
        keys: ["etcdSnapshotDir"],
        args: set("etcdSnapshotDir=/srv/etcd-snapshots"),
        scope: /^etcd-snapshot-/,
        expect: ["etcd-snapshot-tool-script:update", "etcd-snapshot-install:replace", "etcd-snapshot-on-demand:replace"],
    },
    etcdSnapshotRetain: {
        keys: ["etcdSnapshotRetain"],
        args: set("etcdSnapshotRetain=7"),
        scope: /^etcd-snapshot-/,
        expect: ["etcd-snapshot-tool-script:update", "etcd-snapshot-install:replace", "etcd-snapshot-on-demand:replace"],
    },
    etcdSnapshotSchedule: {
        keys: ["etcdSnapshotSchedule"],
        args: set("etcdSnapshotSchedule=daily"),
        scope: /^etcd-snapshot-install/,
        expect: ["etcd-snapshot-install-script:update", "etcd-snapshot-install:replace"],
    },
    nodeIp: { keys: ["nodes"], args: nodes([devNodes[0], devNodes[1], { ...devNodes[2], nodeIp: "192.0.2.22" }]), scope: /^worker2-/, expect: ["worker2-join:replace"] },
};

let base: PlanDocument;
const diffs: Record<string, PlanDiff> = {};
before(async () => {
    const names = Object.keys(variants);
    const runs = await mapLimit([[], ...names.map((n) => variants[n].args)], 2, (args) => runPlan(["--json", ...args]));
    const docs = runs.map((r, i) => {
        assert.equal(r.status, 0, `${i === 0 ? "base" : names[i - 1]}: ${r.stdout.slice(0, 500)} ${r.stderr}`);
        return JSON.parse(r.stdout) as PlanDocument;
    });
    base = docs[0];
    names.forEach((n, i) => (diffs[n] = diffPlans(base, docs[i + 1])));
});

test("every config key is exercised by a variant", () => {
    const covered = new Set(Object.values(variants).flatMap((v) => v.keys));
    assert.deepEqual(
        CONFIG_KEYS.filter((k) => !covered.has(k)),
        [],
    );
    const declared = Object.keys((YAML.parse(readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, unknown> }).config);
    assert.deepEqual(declared.filter((k) => !covered.has(k)), [], "every key of Pulumi.yaml too");
});

test("the dev stack has one kubeadm-reset resource per node", () => {
    const resets = base.waves.flatMap((w) => w.resources).filter((r) => typeof r.inputs.delete === "string" && r.inputs.delete.includes("kubeadm reset"));
    assert.deepEqual(resets.map((r) => r.name).sort(), ["cp1-membership", "worker1-membership", "worker2-membership"]);
});

/** The destructive operations a variant may run, because removing something is what it asks for. */
const EXPECTED_HAZARDS: Readonly<Record<string, readonly string[]>> = {
    nodesRemove: ["worker2-leave:remove", "worker2-membership:remove"],
    // istioEnabled: false uninstalls the mesh.
    istioEnabled: ["istio-base:remove", "istio-cni:remove", "istio-istiod:remove"],
};

for (const [name, variant] of Object.entries(variants)) {
    test(`${name}: changes only ${variant.scope.source}, replaces nothing destructive`, () => {
        const diff = diffs[name];
        if (variant.orderOnly) {
            assert.equal(isEmptyDiff(diff), true, "an order-only change runs no operation");
            return;
        }
        assert.equal(isEmptyDiff(diff), false, "the variant must change something, or this test proves nothing");
        const touched = new Map<string, string>([
            ...diff.added.map((a) => [a.entry.name, "add"] as const),
            ...diff.removed.map((r) => [r.entry.name, "remove"] as const),
            ...diff.changed.map((c) => [c.name, c.replace ? "replace" : "update"] as const),
        ]);
        for (const [resource, action] of touched) {
            assert.match(resource, variant.scope, `${resource} (${action}) is outside what ${name} may touch`);
        }
        for (const want of variant.expect) {
            const [resource, action] = want.split(":");
            assert.ok(touched.has(resource), `${resource} should change; changed: ${[...touched].map(([r, a]) => `${r}:${a}`).join(", ")}`);
            if (action) {
                assert.equal(touched.get(resource), action, resource);
            }
        }
        // The invariant: nothing destructive runs (a reset, a node's drain and removal, an uninstall), except for what
        // the change removes on purpose: the node that leaves, Istio turned off.
        assert.deepEqual(
            diff.hazards.map((h) => `${h.name}:${h.action}`).sort(),
            [...(EXPECTED_HAZARDS[name] ?? [])].sort(),
            diff.hazards.map((h) => `${h.name}: ${h.hazard}`).join("\n"),
        );
        // A replaced release is an uninstall (with Cilium: the cluster without a network).
        assert.deepEqual(diff.changed.filter((c) => c.replace && c.type === "kubernetes:helm.sh/v3:Release").map((c) => c.name), []);
        // Names come from node names: nothing is renamed, so nothing is removed unless its node or feature left.
        if (!["nodesRemove", "istioEnabled", "istioMeshCheck"].includes(name)) {
            assert.deepEqual(diff.removed.map((r) => r.entry.name), []);
        }
    });
}

test("an SSH key change updates connections in place and replaces nothing", () => {
    assert.deepEqual(diffs.sshPrivateKey.changed.filter((c) => c.replace).map((c) => c.name), []);
    assert.ok(diffs.sshPrivateKey.changed.every((c) => c.inputs.every((i) => i.key === "connection" && i.secret)));
});

test("a version upgrade keeps the kubeconfig step, so preview can still diff the releases", () => {
    // admin.conf does not change in an upgrade; re-reading it would leave the provider's kubeconfig unknown in preview,
    // which then shows the provider and every release as replaced.
    assert.ok(diffs.kubernetesVersion.changed.some((c) => c.name === "cp1-init"));
    assert.ok(!diffs.kubernetesVersion.changed.some((c) => c.name === "cp1-kubeconfig" || c.name === "cp1-ca-cert-hash"));
    for (const key of ["kubernetesVersion", "podSubnet", "serviceSubnet", "schedulableControlPlane", "istioCniTaint", "istioGateway"]) {
        assert.deepEqual(diffs[key].previewNotes, [], key);
    }
});

test("a change that re-creates the kubeconfig step warns that preview may show the provider replaced", () => {
    assert.ok(diffs.controlPlaneEndpoint.changed.some((c) => c.name === "cp1-kubeconfig"));
    assert.match(diffs.controlPlaneEndpoint.previewNotes.join("\n"), /^provider cluster takes inputs from changed cp1-kubeconfig:/);
    assert.match(diffs.clusterName.previewNotes.join("\n"), /^provider cluster takes inputs from changed cp1-kubeconfig:/);
});
