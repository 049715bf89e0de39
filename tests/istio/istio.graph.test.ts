/**
 * Graph tests for homelab:mesh:Istio: sidecar in-process (dev stack), ambient through the plan of the labbox stack.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { evaluateDev, type Graph } from "../helpers/graph";
import { entries, planJson } from "../helpers/plan-cli";
import type { PlanDocument } from "../../tools/plan/plan";

let graph: Graph;
let ambient: PlanDocument;
let sidecarGateway: PlanDocument;
before(async () => {
    [graph, ambient, sidecarGateway] = await Promise.all([evaluateDev(), planJson({}, "labbox"), planJson({ istioGateway: "true" })]);
});

const releases = (all: { type: string; name: string; inputs: Readonly<Record<string, unknown>> }[]): string[] =>
    all.filter((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.name !== "cilium").map((r) => String(r.inputs.name));

test("sidecar: exactly istio-base, istio-cni, istiod from blob.istio.io at the pinned version", () => {
    assert.deepEqual(releases(graph.resources).sort(), ["istio-base", "istio-cni", "istiod"]);
    for (const name of ["istio-base", "istio-cni", "istio-istiod"]) {
        const r = graph.get(name);
        assert.equal(r.inputs.version, "1.31.1");
        assert.deepEqual(r.inputs.repositoryOpts, { repo: "https://blob.istio.io/istio-release/charts" });
        assert.equal(r.inputs.namespace, "istio-system");
        assert.equal(r.provider, graph.get("cluster").urn);
        assert.equal(r.parent, graph.get("istio").urn);
    }
    assert.equal(graph.get("istio-base").inputs.chart, "base");
    assert.equal(graph.get("istio-cni").inputs.chart, "cni");
    assert.equal(graph.get("istio-istiod").inputs.chart, "istiod");
});

test("sidecar: base → cni → istiod, all after Cilium is ready on every node", () => {
    assert.ok(graph.ancestors("istio-base").has("cilium-check"));
    assert.ok(graph.ancestors("istio-cni").has("istio-base"));
    assert.ok(graph.ancestors("istio-istiod").has("istio-cni"));
    assert.equal(graph.ancestors("istio-cni").has("istio-istiod"), false);
    assert.deepEqual((graph.get("istio-istiod").inputs.values as { pilot: { cni: unknown } }).pilot.cni, { enabled: true });
});

test("sidecar: the version guard reads the running istiod on the control plane after Cilium, before istio-base", () => {
    assert.ok(graph.ancestors("istio-base").has("istio-version-guard"));
    assert.ok(graph.ancestors("istio-version-guard").has("cilium-check"));
    assert.equal(graph.ancestors("istio-version-guard").has("istio-base"), false);
    assert.match(String(graph.get("istio-version-guard").inputs.create), /istio-version-guard\.sh/);
    const text = (graph.get("istio-version-guard-script").inputs.source as { text: string }).text;
    assert.match(text, /readonly TARGET='1\.31\.1'\nreadonly NS='istio-system'\nreadonly KIND='deployment'\nreadonly NAME='istiod'/);
    assert.equal(graph.get("istio-version-guard-script").inputs.remotePath, ".homelab/istio-version-guard.sh");
});

test("sidecar: the meshed namespace is labelled for injection, and the smoke test runs last", () => {
    const ns = graph.get("istio-namespace-apps");
    assert.equal(ns.type, "kubernetes:core/v1:NamespacePatch", "works on existing namespaces and never deletes one");
    assert.deepEqual(ns.inputs.metadata, { name: "apps", labels: { "istio-injection": "enabled" } });
    for (const step of ["istio-istiod", "istio-namespace-apps", "istio-mesh-check-script", "cilium-check"]) {
        assert.ok(graph.ancestors("istio-mesh-check").has(step), step);
    }
    assert.match(String(graph.get("istio-mesh-check").inputs.create), /mesh-check\.sh/);
    assert.match((graph.get("istio-mesh-check-script").inputs.source as { text: string }).text, /istio-validation/);
});

test("ambient: base → Gateway API CRDs → istiod → cni → ztunnel → gateway, with the ambient profile", () => {
    const all = entries(ambient);
    assert.deepEqual(releases([...all.values()]).sort(), ["istio-base", "istio-cni", "istio-ingress", "istiod", "ztunnel"]);
    const chain = ["istio-base", "istio-gateway-api-crds", "istio-istiod", "istio-cni", "istio-ztunnel", "istio-gateway"];
    for (let i = 1; i < chain.length; i++) {
        assert.ok(all.get(chain[i])?.waitsFor.includes(chain[i - 1]), `${chain[i]} waits for ${chain[i - 1]}`);
        assert.ok((all.get(chain[i])?.wave ?? 0) > (all.get(chain[i - 1])?.wave ?? 0));
    }
    for (const [resource, chart, namespace] of [
        ["istio-base", "base", "istio-system"],
        ["istio-istiod", "istiod", "istio-system"],
        ["istio-cni", "cni", "istio-system"],
        ["istio-ztunnel", "ztunnel", "istio-system"],
        ["istio-gateway", "gateway", "istio-ingress"],
    ]) {
        const inputs = all.get(resource)?.inputs ?? {};
        assert.deepEqual(
            [inputs.chart, inputs.version, inputs.namespace, inputs.repositoryOpts],
            [chart, "1.31.1", namespace, { repo: "https://blob.istio.io/istio-release/charts" }],
            resource,
        );
    }
    assert.equal(all.get("istio-gateway-api-crds")?.type, "kubernetes:yaml/v2:ConfigFile");
    assert.match(String(all.get("istio-gateway-api-crds")?.inputs.file), /gateway-api\/releases\/download\/v1\.6\.0\/standard-install\.yaml$/);
    assert.equal((all.get("istio-istiod")?.inputs.values as { profile?: string }).profile, "ambient");
    assert.equal((all.get("istio-cni")?.inputs.values as { profile?: string }).profile, "ambient");
    assert.equal(all.get("istio-gateway")?.inputs.namespace, "istio-ingress");
    assert.equal(all.get("istio-gateway")?.inputs.createNamespace, true);
});

test("ambient: the meshed namespace is labelled for ambient and the smoke test checks capture", () => {
    const all = entries(ambient);
    assert.deepEqual(all.get("istio-namespace-apps")?.inputs.metadata, { name: "apps", labels: { "istio.io/dataplane-mode": "ambient" } });
    const script = (all.get("istio-mesh-check-script")?.inputs.source as { text: string }).text;
    assert.ok(script.includes(`-o 'jsonpath={.metadata.annotations.ambient\\.istio\\.io/redirection}'`), "the exact jsonpath kubectl needs");
});

test("sidecar with the gateway: istio-ingress last, in its own namespace, after istiod", () => {
    const all = entries(sidecarGateway);
    assert.deepEqual(releases([...all.values()]).sort(), ["istio-base", "istio-cni", "istio-ingress", "istiod"]);
    const gateway = all.get("istio-gateway");
    assert.deepEqual([gateway?.inputs.chart, gateway?.inputs.namespace, gateway?.inputs.createNamespace], ["gateway", "istio-ingress", true]);
    assert.ok(gateway?.waitsFor.includes("istio-istiod"));
    assert.equal(all.has("istio-gateway-api-crds"), false, "sidecar mode installs no Gateway API CRDs");
});
