/**
 * Istio values against the real 1.31 charts in ../shared/upstream/istio: every key path exists in the chart's
 * values.yaml (under _internal_defaults_do_not_set, or a documented top-level key), the gateway values validate
 * against its schema, and the profiles used exist.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import {
    buildIstioValues,
    chartsFor,
    checkIstioValues,
    ISTIO_CHARTS,
    ISTIO_RELEASES,
    istioChainingProblems,
    istioSupportWarning,
    mergeIstioValues,
    type IstioChart,
} from "../../components/istio";
import { keyPaths, valueAt } from "../../components/helm/values";
import { chartKeyPaths, loadChart, UPSTREAM } from "../helpers/chart";

const charts = Object.fromEntries(
    ISTIO_CHARTS.map((c) => [c, chartKeyPaths(readFileSync(path.join(UPSTREAM, "istio", c, "values.yaml"), "utf8"))]),
) as Record<IstioChart, Set<string>>;
const gateway = loadChart("istio/gateway");

/**
 * Whether a key path we set exists in a chart. Istio's charts keep their defaults under
 * `_internal_defaults_do_not_set` and read the same keys at the top level; `profile` selects files/profile-*.yaml;
 * istiod folds the legacy `pilot.*` scope into the top level (templates/zzy_descope_legacy.yaml).
 */
function chartHas(chart: IstioChart, keyPath: string): boolean {
    if (keyPath === "profile") {
        return true;
    }
    const candidates = [keyPath, ...(chart === "istiod" && keyPath.startsWith("pilot.") ? [keyPath.slice("pilot.".length)] : [])];
    return candidates.some((p) => charts[chart].has(`_internal_defaults_do_not_set.${p}`));
}

const variants = {
    sidecar: buildIstioValues({ mode: "sidecar", cniTaint: false }),
    "sidecar with the CNI taint": buildIstioValues({ mode: "sidecar", cniTaint: true }),
    ambient: buildIstioValues({ mode: "ambient", cniTaint: false }),
};

for (const [name, values] of Object.entries(variants)) {
    for (const chart of ISTIO_CHARTS) {
        test(`${name}: every key path set for ${chart} exists in that chart's values.yaml`, () => {
            assert.deepEqual(keyPaths(values[chart]).filter((p) => !chartHas(chart, p)), []);
        });
    }
    test(`${name}: gateway values validate against gateway/values.schema.json`, () => {
        assert.deepEqual(gateway.validate(values.gateway), []);
    });
}

test("istio-base templates its CRDs by default, and the key the guard reads is the chart's", () => {
    // Helm upgrades templated CRDs; a chart's crds/ directory is installed once and never upgraded.
    assert.equal(chartHas("base", "base.enableCRDTemplates"), true);
    assert.equal(valueAt(variants.sidecar.base, "base.enableCRDTemplates"), undefined, "the program leaves the chart default (true)");
});

test("the key-path check is real: typos and unknown keys fail", () => {
    assert.equal(chartHas("cni", "chainedd"), false);
    assert.equal(chartHas("istiod", "pilot.cni.enabld"), false);
    assert.equal(chartHas("istiod", "pilot.cni.enabled"), true, "legacy pilot scope is folded");
    assert.equal(chartHas("ztunnel", "resources.requests.cpu"), true);
    assert.ok(gateway.validate({ autoscaling: { enabled: "no" } }).length > 0, "the gateway schema rejects a wrong type");
    assert.ok(gateway.validate({ replicaCountt: 1 }).length > 0, "the gateway schema rejects unknown top-level keys");
});

test("the profiles the values select exist in helm-profiles/", () => {
    const profiles = new Set(
        Object.values(variants).flatMap((v) => ISTIO_CHARTS.map((c) => valueAt(v[c], "profile")).filter((p): p is string => typeof p === "string")),
    );
    assert.deepEqual([...profiles], ["ambient"]);
    for (const profile of profiles) {
        assert.ok(existsSync(path.join(UPSTREAM, "istio", "helm-profiles", `${profile}.yaml`)), profile);
    }
});

test("sidecar mode: chained istio-cni with repair, istiod using CNI, lab-sized, no autoscaling", () => {
    const v = variants.sidecar;
    assert.equal(valueAt(v.cni, "chained"), true);
    assert.deepEqual(valueAt(v.cni, "repair"), { enabled: true, repairPods: true });
    assert.equal(valueAt(v.istiod, "pilot.cni.enabled"), true);
    assert.equal(valueAt(v.istiod, "pilot.autoscaleEnabled"), false);
    assert.deepEqual(valueAt(v.istiod, "pilot.resources.requests"), { cpu: "10m", memory: "100Mi" });
    assert.equal(valueAt(v.istiod, "pilot.taint"), undefined, "the taint flow is opt-in");
    assert.equal(valueAt(v.istiod, "profile"), undefined);
    assert.equal(valueAt(variants["sidecar with the CNI taint"].istiod, "pilot.taint.enabled"), true);
});

test("ambient mode: the ambient profile on istiod and cni", () => {
    const v = variants.ambient;
    assert.equal(valueAt(v.istiod, "profile"), "ambient");
    assert.equal(valueAt(v.cni, "profile"), "ambient");
});

test("install order and release names follow istio.io's Helm guides", () => {
    const names = (charts: IstioChart[]): string[] => charts.map((c) => ISTIO_RELEASES[c].name);
    assert.deepEqual(names(chartsFor("sidecar", false)), ["istio-base", "istio-cni", "istiod"]);
    assert.deepEqual(names(chartsFor("ambient", true)), ["istio-base", "istiod", "istio-cni", "ztunnel", "istio-ingress"]);
    assert.equal(ISTIO_RELEASES.gateway.namespace, "istio-ingress");
});

test("overrides merge per chart and the guard refuses ones that undo chaining", () => {
    const merged = mergeIstioValues(variants.sidecar, { istiod: { pilot: { replicaCount: 2 } } });
    assert.equal(valueAt(merged.istiod, "pilot.replicaCount"), 2);
    assert.equal(valueAt(merged.istiod, "pilot.cni.enabled"), true);
    assert.deepEqual(checkIstioValues(merged, "sidecar"), []);
    const cases: [Partial<Record<IstioChart, Record<string, unknown>>>, "sidecar" | "ambient", RegExp][] = [
        [{ cni: { chained: false } }, "sidecar", /^istioValues\.cni\.chained: must stay true/],
        [{ istiod: { pilot: { cni: { enabled: false } } } }, "sidecar", /^istioValues\.istiod\.pilot\.cni\.enabled: must stay true/],
        [{ istiod: { cni: { enabled: false } } }, "sidecar", /^istioValues\.istiod\.pilot\.cni\.enabled: must stay true/],
        [{ cni: { profile: "default" } }, "ambient", /^istioValues\.cni\.profile: must be ambient/],
        [{ base: { base: { enableCRDTemplates: false } } }, "ambient", /^istioValues\.base\.base\.enableCRDTemplates: must stay true/],
    ];
    for (const [override, mode, message] of cases) {
        const errors = checkIstioValues(mergeIstioValues(buildIstioValues({ mode, cniTaint: false }), override), mode);
        assert.ok(errors.some((e) => message.test(e)), `${JSON.stringify(override)}: ${errors.join("; ")}`);
    }
});

test("the chaining guard over Cilium's effective values (what istioctl install checks)", () => {
    const good = { kubeProxyReplacement: true, cni: { exclusive: false }, socketLB: { hostNamespaceOnly: true }, bpf: { masquerade: false } };
    assert.deepEqual(istioChainingProblems(good, "ambient"), []);
    assert.deepEqual(istioChainingProblems({ cni: { exclusive: true } }, "off"), [], "nothing to check without Istio");
    const first = (values: Record<string, unknown>, mode: "sidecar" | "ambient"): string => istioChainingProblems(values, mode)[0] ?? "";
    assert.match(first({ ...good, cni: { exclusive: true } }, "sidecar"), /^ciliumValues\.cni\.exclusive: must be false/);
    assert.match(first({ ...good, cni: {} }, "sidecar"), /^ciliumValues\.cni\.exclusive: must be false/, "the chart default (true) counts");
    assert.match(first({ ...good, socketLB: {} }, "sidecar"), /^ciliumValues\.socketLB\.hostNamespaceOnly: must be true/);
    assert.deepEqual(istioChainingProblems({ kubeProxyReplacement: false, cni: { exclusive: false } }, "sidecar"), [], "no socket LB, no hostNamespaceOnly needed");
    assert.match(first({ ...good, bpf: { masquerade: true } }, "ambient"), /^ciliumValues\.bpf\.masquerade: must be false with istioMode ambient/);
    assert.deepEqual(istioChainingProblems({ ...good, bpf: { masquerade: true } }, "sidecar"), []);
});

test("Istio's Kubernetes support window is a warning", () => {
    assert.equal(istioSupportWarning("1.31.1", "1.33.10"), undefined);
    assert.equal(istioSupportWarning("1.31.1", "1.36.0"), undefined);
    assert.match(istioSupportWarning("1.31.1", "1.31.9") ?? "", /^istioVersion: Istio 1\.31 supports Kubernetes 1\.32–1\.36, and kubernetesVersion is 1\.31\.9/);
    assert.match(istioSupportWarning("1.32.0", "1.33.10") ?? "", /^istioVersion: 1\.32\.0 is not in this program's support table/);
});
