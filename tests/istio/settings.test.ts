/**
 * Istio's config keys through resolveConfig, the way the program and the offline plan read them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig, type RawConfig } from "../../components/config";
import { valueAt } from "../../components/helm/values";

const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRzXbNm6n+HXQR52zAYPUHlzj1nzBJZEwDuyfdjKpI+";
const nodes = JSON.stringify([
    { name: "cp1", host: "192.0.2.10", role: "control-plane", hostKey: ED25519 },
    { name: "worker1", host: "192.0.2.11", role: "worker", hostKey: ED25519 },
]);
const resolve = (raw: RawConfig): ReturnType<typeof resolveConfig> => resolveConfig({ nodes, ...raw }, { hasPrivateKey: true });

test("defaults: Istio 1.31.1 in sidecar mode, no gateway, no meshed namespace, smoke test on, taint flow off", () => {
    const { config, errors } = resolve({});
    assert.deepEqual(errors, []);
    assert.equal(config?.istio?.version, "1.31.1");
    assert.equal(config?.istio?.mode, "sidecar");
    assert.equal(config?.istio?.gateway, false);
    assert.deepEqual(config?.istio?.meshNamespaces, []);
    assert.equal(config?.istio?.meshCheck, true);
    assert.equal(config?.istio?.cniTaint, false);
});

test("istioEnabled=false: no Istio, and Cilium drops the chaining values", () => {
    const { config } = resolve({ istioEnabled: "false" });
    assert.equal(config?.istio, undefined);
    assert.equal(config?.cilium.istio, "off");
    assert.equal(valueAt(config?.cilium.values ?? {}, "cni.exclusive"), undefined);
});

test("meshNamespaces arrive as the CLI passes arrays (JSON) and istioValues merge per chart", () => {
    const { config, errors } = resolve({ meshNamespaces: '["apps","shop"]', istioValues: "istiod:\n  pilot:\n    replicaCount: 2\n" });
    assert.deepEqual(errors, []);
    assert.deepEqual(config?.istio?.meshNamespaces, ["apps", "shop"]);
    assert.equal(valueAt(config?.istio?.values.istiod ?? {}, "pilot.replicaCount"), 2);
});

const bad: { rule: string; raw: RawConfig; message: RegExp }[] = [
    { rule: "version", raw: { istioVersion: "1.31" }, message: /^istioVersion: "1\.31" is not a chart version — use major\.minor\.patch, e\.g\. 1\.31\.1$/ },
    { rule: "gateway flag", raw: { istioGateway: "maybe" }, message: /^istioGateway: "maybe" — use true or false$/ },
    { rule: "mesh check flag", raw: { istioMeshCheck: "1" }, message: /^istioMeshCheck: "1" — use true or false$/ },
    { rule: "taint flag", raw: { istioCniTaint: "yes" }, message: /^istioCniTaint: "yes" — use true or false$/ },
    { rule: "namespaces not a list", raw: { meshNamespaces: "apps" }, message: /^meshNamespaces: must be a list of namespace names/ },
    { rule: "namespace name", raw: { meshNamespaces: '["Apps"]' }, message: /^meshNamespaces: "Apps" is not a namespace name/ },
    { rule: "system namespace", raw: { meshNamespaces: '["kube-system"]' }, message: /^meshNamespaces: "kube-system" must not be meshed/ },
    { rule: "duplicate namespace", raw: { meshNamespaces: '["apps","apps"]' }, message: /^meshNamespaces: lists a namespace twice/ },
    { rule: "istioValues not a mapping", raw: { istioValues: "- a" }, message: /^istioValues: must be a mapping from chart/ },
    { rule: "istioValues unknown chart", raw: { istioValues: "pilot: {}" }, message: /^istioValues\.pilot: unknown chart — use one of base, cni, istiod, ztunnel, gateway$/ },
    { rule: "istioValues chart not a mapping", raw: { istioValues: "cni: 3" }, message: /^istioValues\.cni: must be a mapping of that chart's values$/ },
    { rule: "override unchains istio-cni", raw: { istioValues: "cni: {chained: false}" }, message: /^istioValues\.cni\.chained: must stay true/ },
    { rule: "override drops pilot.cni", raw: { istioValues: "istiod: {pilot: {cni: {enabled: false}}}" }, message: /^istioValues\.istiod\.pilot\.cni\.enabled: must stay true/ },
    {
        rule: "override moves istio-base's CRDs out of templates (Helm would never upgrade them)",
        raw: { istioValues: "base: {base: {enableCRDTemplates: false}}" },
        message: /^istioValues\.base\.base\.enableCRDTemplates: must stay true — Helm never upgrades CRDs outside templates/,
    },
    { rule: "ambient without its profile", raw: { istioMode: "ambient", istioValues: "istiod: {profile: default}" }, message: /^istioValues\.istiod\.profile: must be ambient/ },
];

for (const { rule, raw, message } of bad) {
    test(`bad Istio config is refused naming the key: ${rule}`, () => {
        const { config, errors } = resolve(raw);
        assert.equal(config, undefined);
        assert.ok(errors.some((e) => message.test(e)), `expected ${String(message)}, got:\n${errors.join("\n")}`);
    });
}

test("an Istio/Kubernetes pair outside Istio's support window is a warning", () => {
    const { config, warnings } = resolve({ kubernetesVersion: "1.31.9" });
    assert.ok(config);
    assert.ok(warnings.some((w) => /^istioVersion: Istio 1\.31 supports Kubernetes 1\.32–1\.36/.test(w)), warnings.join("\n"));
});
