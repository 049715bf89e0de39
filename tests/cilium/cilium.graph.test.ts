/**
 * Graph tests for homelab:net:Cilium in the real program (dev stack), plus config variants through the offline plan.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { evaluateDev, type Graph } from "../helpers/graph";
import { entries, mapLimit, planJson } from "../helpers/plan-cli";
import type { PlanDocument } from "../../tools/plan/plan";

let graph: Graph;
before(async () => {
    graph = await evaluateDev();
});

test("one homelab:net:Cilium component owning the release, the CLI install and the check", () => {
    const component = graph.get("cilium");
    assert.equal(component.type, "homelab:net:Cilium");
    const children = graph.resources.filter((r) => r.parent === component.urn).map((r) => `${r.type} ${r.name}`).sort();
    assert.deepEqual(children, [
        "command:remote:Command cilium-check",
        "command:remote:Command cilium-cli",
        "command:remote:Command cilium-version-guard",
        "command:remote:CopyToRemote cilium-check-script",
        "command:remote:CopyToRemote cilium-cli-script",
        "command:remote:CopyToRemote cilium-version-guard-script",
        "kubernetes:helm.sh/v3:Release cilium-release",
    ]);
});

test("the version guard runs on the control plane after init and before the release, for the configured version", () => {
    assert.ok(graph.ancestors("cilium-release").has("cilium-version-guard"), "the release waits for the guard");
    assert.ok(graph.ancestors("cilium-version-guard").has("cp1-init"), "the guard needs the API server");
    assert.equal([...graph.ancestors("cilium-version-guard")].some((n) => n.startsWith("worker")), false, "and nothing else");
    assert.match(String(graph.get("cilium-version-guard").inputs.create), /cilium-version-guard\.sh/);
    assert.equal(graph.get("cilium-version-guard-script").inputs.remotePath, ".homelab/cilium-version-guard.sh");
    assert.match((graph.get("cilium-version-guard-script").inputs.source as { text: string }).text, /readonly TARGET='1\.18\.0'/);
});

test("exactly one Helm release named cilium in kube-system, from helm.cilium.io at the pinned chart version", () => {
    const releases = graph.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.namespace === "kube-system");
    assert.equal(releases.length, 1, "the only release in kube-system");
    const { inputs } = releases[0];
    assert.equal(inputs.name, "cilium", "the cilium CLI looks for exactly this release name");
    assert.equal(inputs.namespace, "kube-system");
    assert.equal(inputs.chart, "cilium");
    assert.equal(inputs.version, "1.18.0");
    assert.deepEqual(inputs.repositoryOpts, { repo: "https://helm.cilium.io" });
    assert.equal(inputs.atomic, false);
    assert.equal(inputs.skipAwait, false);
    assert.ok(typeof inputs.timeout === "number" && inputs.timeout >= 300);
    assert.ok(typeof inputs.maxHistory === "number" && inputs.maxHistory > 0);
});

test("the release uses the provider built from the admin kubeconfig", () => {
    const release = graph.get("cilium-release");
    assert.equal(release.provider, graph.get("cluster").urn);
    assert.ok(graph.ancestors("cilium-release").has("cp1-kubeconfig"));
});

test("the release waits for kubeadm init, not for the workers' joins (joins and install overlap)", () => {
    const before = graph.ancestors("cilium-release");
    assert.ok(before.has("cp1-init"));
    assert.equal([...before].some((n) => /^worker\d-join/.test(n)), false, [...before].join(", "));
    const wave = (name: string): number | undefined => graph.planned.find((p) => p.resource.name === name)?.wave;
    assert.ok((wave("cilium-release") ?? Infinity) <= (wave("worker1-join") ?? -1), "the release does not come after the joins");
});

test("the release comes after every node's leave step, so destroy uninstalls Cilium before draining any node", () => {
    for (const node of ["cp1", "worker1", "worker2"]) {
        assert.ok(graph.ancestors("cilium-release").has(`${node}-leave`), node);
        assert.ok(graph.deletionWave("cilium-release") < graph.deletionWave(`${node}-leave`), node);
    }
});

test("the check runs on the control plane after the release, the CLI and every node's join", () => {
    const before = graph.ancestors("cilium-check");
    for (const step of ["cilium-release", "cilium-cli", "cilium-check-script", "cp1-init", "worker1-join", "worker2-join"]) {
        assert.ok(before.has(step), `cilium-check must wait for ${step}`);
    }
    assert.match(String(graph.get("cilium-check").inputs.create), /cilium-check\.sh/);
    assert.match(String(graph.get("cilium-cli").inputs.create), /cilium-cli\.sh/);
    const triggers = graph.get("cilium-check").inputs.triggers as string[];
    assert.ok(triggers.includes("cp1,worker1,worker2"), "the node set is a trigger: a new node is verified too");
});

test("the staged Cilium scripts carry the pinned CLI version and the Istio checks", () => {
    const text = (name: string): string => (graph.get(name).inputs.source as { text: string }).text;
    assert.match(text("cilium-cli-script"), /readonly CLI_VERSION='v0\.18\.9'/);
    assert.match(text("cilium-check-script"), /expect_config cni-exclusive false/);
    assert.equal(graph.get("cilium-cli-script").inputs.remotePath, ".homelab/cilium-cli.sh");
});

test("the chart version is exported and not secret", async () => {
    const exported = graph.exports as { ciliumChartVersion: pulumi.Output<string> };
    assert.equal(await pulumi.isSecret(exported.ciliumChartVersion), false);
});

// Config variants need their own Pulumi runtime each: evaluate them through the plan CLI.
let plans: Record<string, PlanDocument>;
before(async () => {
    const variants: Record<string, Record<string, string>> = {
        sidecar: {},
        off: { istioEnabled: "false" },
        ambient: { istioMode: "ambient" },
    };
    const docs = await mapLimit(Object.values(variants), 2, (overrides) => planJson(overrides));
    plans = Object.fromEntries(Object.keys(variants).map((k, i) => [k, docs[i]]));
});

test("the Istio-mode values switch with config", () => {
    const values = (plan: PlanDocument): Record<string, unknown> => entries(plan).get("cilium-release")?.inputs.values as Record<string, unknown>;
    assert.deepEqual(values(plans.sidecar).cni, { exclusive: false });
    assert.deepEqual(values(plans.sidecar).socketLB, { hostNamespaceOnly: true });
    assert.equal(values(plans.off).cni, undefined);
    assert.equal(values(plans.off).socketLB, undefined);
    assert.deepEqual(values(plans.ambient).bpf, { masquerade: false });
    const check = (plan: PlanDocument): string => (entries(plan).get("cilium-check-script")?.inputs.source as { text: string }).text;
    assert.doesNotMatch(check(plans.off), /cni-exclusive/);
    assert.match(check(plans.ambient), /expect_config enable-bpf-masquerade false false/);
    assert.notDeepEqual(entries(plans.off).get("cilium-check")?.inputs.triggers, entries(plans.sidecar).get("cilium-check")?.inputs.triggers);
});
