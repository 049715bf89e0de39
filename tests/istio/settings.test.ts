/**
 * Istio's config keys through resolveConfig, the way the program and the offline plan read them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig, type RawConfig } from "../../components/config";
import { ISTIO_BAD_INPUTS } from "./bad-inputs";
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

const bad = ISTIO_BAD_INPUTS;

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

test("the gateway is a NodePort Service; a LoadBalancer override warns that Helm waits for an address", () => {
    const plain = resolve({ istioGateway: "true" });
    assert.deepEqual(plain.errors, []);
    assert.equal(valueAt(plain.config?.istio?.values.gateway ?? {}, "service.type"), "NodePort");
    assert.equal(plain.warnings.some((w) => w.startsWith("istioValues.gateway.service.type")), false);
    const lb = resolve({ istioGateway: "true", istioValues: "gateway: {service: {type: LoadBalancer}}" });
    assert.deepEqual(lb.errors, []);
    assert.ok(
        lb.warnings.some((w) => /^istioValues\.gateway\.service\.type: LoadBalancer — Helm waits for the Service to get a load-balancer address/.test(w)),
        lb.warnings.join("\n"),
    );
    const noGateway = resolve({ istioValues: "gateway: {service: {type: LoadBalancer}}" });
    assert.equal(noGateway.warnings.some((w) => w.startsWith("istioValues.gateway")), false, "no gateway, nothing to wait for");
});
