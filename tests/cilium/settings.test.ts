/**
 * Cilium's config keys through resolveConfig, the way the program and the offline plan read them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig, type RawConfig } from "../../components/config";
import { CILIUM_BAD_INPUTS } from "./bad-inputs";
import { valueAt } from "../../components/cilium";

const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRzXbNm6n+HXQR52zAYPUHlzj1nzBJZEwDuyfdjKpI+";
const nodes = JSON.stringify([
    { name: "cp1", host: "192.0.2.10", role: "control-plane", hostKey: ED25519 },
    { name: "worker1", host: "192.0.2.11", role: "worker", hostKey: ED25519 },
]);
const single = JSON.stringify([{ name: "cp1", host: "192.0.2.10", role: "control-plane", hostKey: ED25519 }]);
const resolve = (raw: RawConfig): ReturnType<typeof resolveConfig> => resolveConfig({ nodes, ...raw }, { hasPrivateKey: true });

test("defaults: chart 1.18.0, CLI v0.18.9, sidecar Istio chaining, tunnel routing", () => {
    const { config, errors, warnings } = resolve({});
    assert.deepEqual(errors, []);
    assert.deepEqual(warnings, []);
    assert.equal(config?.cilium.chartVersion, "1.18.0");
    assert.equal(config?.cilium.cliVersion, "v0.18.9");
    assert.equal(config?.cilium.istio, "sidecar");
    const values = config?.cilium.values ?? {};
    assert.equal(valueAt(values, "cni.exclusive"), false);
    assert.equal(valueAt(values, "routingMode"), "tunnel");
    assert.equal(valueAt(values, "operator.replicas"), 2);
    assert.equal(valueAt(values, "k8sServiceHost"), "192.0.2.10");
});

test("config switches: no Istio, ambient, native routing, hubble, mask size, a single node", () => {
    assert.equal(valueAt(resolve({ istioEnabled: "false" }).config?.cilium.values ?? {}, "cni"), undefined);
    assert.equal(resolve({ istioMode: "ambient" }).config?.cilium.istio, "ambient");
    const native = resolve({ ciliumRoutingMode: "native", ciliumNativeRoutingCidr: "10.244.0.0/16" }).config?.cilium.values ?? {};
    assert.equal(valueAt(native, "ipv4NativeRoutingCIDR"), "10.244.0.0/16");
    const hubble = resolve({ hubbleRelay: "true", hubbleUi: "true" }).config?.cilium.values ?? {};
    assert.deepEqual([valueAt(hubble, "hubble.relay.enabled"), valueAt(hubble, "hubble.ui.enabled")], [true, true]);
    assert.equal(valueAt(resolve({ ciliumPodCidrMaskSize: "26" }).config?.cilium.values ?? {}, "ipam.operator.clusterPoolIPv4MaskSize"), 26);
    assert.equal(valueAt(resolve({ nodes: single }).config?.cilium.values ?? {}, "operator.replicas"), 1);
});

test("istioCniTaint: Cilium's operator tolerates the startup taint, or nothing could ever lift it", () => {
    const values = resolve({ istioCniTaint: "true" }).config?.cilium.values ?? {};
    const tolerations = valueAt(values, "operator.tolerations") as { key?: string }[];
    assert.ok(tolerations.some((t) => t.key === "cni.istio.io/not-ready"), JSON.stringify(tolerations));
    assert.ok(tolerations.some((t) => t.key === "node-role.kubernetes.io/control-plane"), "the chart's defaults stay");
});

test("ciliumValues overrides are deep-merged over the generated values", () => {
    const { config, errors } = resolve({ ciliumValues: "hubble:\n  metrics:\n    enabled: [dns, drop]\noperator:\n  replicas: 1\n" });
    assert.deepEqual(errors, []);
    const values = config?.cilium.values ?? {};
    assert.deepEqual(valueAt(values, "hubble.metrics.enabled"), ["dns", "drop"]);
    assert.equal(valueAt(values, "hubble.enabled"), true, "sibling keys survive the merge");
    assert.equal(valueAt(values, "operator.replicas"), 1);
});

const bad = CILIUM_BAD_INPUTS;

for (const { rule, raw, message } of bad) {
    test(`bad Cilium config is refused naming the key: ${rule}`, () => {
        const { config, errors } = resolve(raw);
        assert.equal(config, undefined);
        assert.ok(errors.some((e) => message.test(e)), `expected ${String(message)}, got:\n${errors.join("\n")}`);
    });
}

test("a chart outside the tested 1.18 line is a warning, not an error", () => {
    const { config, warnings } = resolve({ ciliumVersion: "1.19.2" });
    assert.equal(config?.cilium.chartVersion, "1.19.2");
    assert.ok(warnings.some((w) => /^ciliumVersion: 1\.19\.2 is outside the tested 1\.18 line/.test(w)), warnings.join("\n"));
});

test("key errors are reported even when the cluster part is invalid", () => {
    const { errors } = resolve({ podSubnet: "10.0.0.0/8", ciliumRoutingMode: "bgp" });
    assert.ok(errors.some((e) => e.startsWith("podSubnet/serviceSubnet")));
    assert.ok(errors.some((e) => e.startsWith("ciliumRoutingMode")));
});
