/**
 * The Cilium values against the real 1.18.0 chart (../shared/upstream/cilium): schema-valid, and every key path we
 * set exists in the chart's values.yaml.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { buildCiliumValues, checkCiliumValues, deepMerge, keyPaths, OPERATOR_DEFAULT_TOLERATIONS, type CiliumValuesInput, type ValueTree } from "../../components/cilium";
import { chartKeyPaths, loadChart, UPSTREAM } from "../helpers/chart";

const chart = loadChart("cilium");
const base: CiliumValuesInput = {
    clusterName: "homelab",
    apiServerHost: "192.0.2.10",
    apiServerPort: 6443,
    podSubnet: "10.244.0.0/16",
    podCidrMaskSize: 24,
    nodeCount: 3,
    hubbleRelay: false,
    hubbleUi: false,
    routingMode: "tunnel",
    istio: "sidecar",
};
const variants: Record<string, CiliumValuesInput> = {
    "default (sidecar, tunnel, 3 nodes)": base,
    "single node, no istio": { ...base, nodeCount: 1, istio: "off" },
    ambient: { ...base, istio: "ambient" },
    "native routing": { ...base, routingMode: "native", nativeRoutingCidr: "10.244.0.0/16" },
    "hubble relay and ui": { ...base, hubbleRelay: true, hubbleUi: true },
    "istio startup taint": { ...base, hubbleRelay: true, hubbleUi: true, startupTaintKeys: ["cni.istio.io/not-ready"] },
};
const tree = (input: CiliumValuesInput): ValueTree => buildCiliumValues(input) as unknown as ValueTree;

for (const [name, input] of Object.entries(variants)) {
    test(`values validate against the chart's values.schema.json: ${name}`, () => {
        assert.deepEqual(chart.validate(tree(input)), []);
    });
    test(`every key path set exists in the chart's values.yaml: ${name}`, () => {
        const missing = keyPaths(tree(input)).filter((p) => !chart.keyPaths.has(p));
        assert.deepEqual(missing, []);
    });
}

test("the schema check is real: a wrong type fails it", () => {
    const errors = chart.validate(deepMerge(tree(base), { operator: { replicas: "two" } }));
    assert.ok(errors.some((e) => e.startsWith("/operator/replicas")), errors.join("\n"));
});

test("the key-path check is real: typos fail, keys that exist only as comments pass", () => {
    for (const typo of ["kubeProxyReplacment", "socketLB.hostNamespaceOnlyy", "ipam.operator.clusterPoolIPv4PodCIDR", "hubble.realy.enabled"]) {
        assert.equal(chart.keyPaths.has(typo), false, typo);
    }
    for (const commented of ["kubeProxyReplacement", "socketLB.hostNamespaceOnly"]) {
        assert.equal(chart.keyPaths.has(commented), true, commented);
    }
    const sample = "a:\n  b: 1\n  # c: 2\n# d: 3\ne:\n  - x\n";
    assert.deepEqual([...chartKeyPaths(sample)].sort(), ["a", "a.b", "a.c", "d", "e"]);
});

test("kube-proxy replacement talks to the API server endpoint, never the ClusterIP", () => {
    const v = buildCiliumValues(base);
    assert.equal(v.kubeProxyReplacement, true);
    assert.equal(v.k8sServiceHost, "192.0.2.10");
    assert.equal(v.k8sServicePort, 6443);
});

test("cluster-pool IPAM uses the configured pod CIDR, not the chart's 10.0.0.0/8", () => {
    assert.deepEqual(buildCiliumValues(base).ipam, {
        mode: "cluster-pool",
        operator: { clusterPoolIPv4PodCIDRList: ["10.244.0.0/16"], clusterPoolIPv4MaskSize: 24 },
    });
});

test("one operator replica on a single node, two otherwise", () => {
    assert.equal(buildCiliumValues({ ...base, nodeCount: 1 }).operator.replicas, 1);
    assert.equal(buildCiliumValues({ ...base, nodeCount: 2 }).operator.replicas, 2);
});

test("envoy DaemonSet, L7 proxy and Hubble are on; relay and UI follow config", () => {
    const v = buildCiliumValues(base);
    assert.deepEqual([v.envoy.enabled, v.l7Proxy, v.hubble.enabled, v.hubble.relay.enabled, v.hubble.ui.enabled], [true, true, true, false, false]);
    const on = buildCiliumValues({ ...base, hubbleRelay: true, hubbleUi: true });
    assert.deepEqual([on.hubble.relay.enabled, on.hubble.ui.enabled], [true, true]);
});

test("Istio chaining values appear exactly when Istio is enabled", () => {
    for (const istio of ["sidecar", "ambient"] as const) {
        const v = buildCiliumValues({ ...base, istio });
        assert.deepEqual([v.cni, v.socketLB, v.bpf], [{ exclusive: false }, { hostNamespaceOnly: true }, { masquerade: false }], istio);
    }
    const off = buildCiliumValues({ ...base, istio: "off" });
    assert.deepEqual([off.cni, off.socketLB, off.bpf], [undefined, undefined, undefined]);
});

test("tunnel is VXLAN; native routing sets the routed CIDR and direct node routes", () => {
    const tunnel = buildCiliumValues(base);
    assert.deepEqual([tunnel.routingMode, tunnel.tunnelProtocol, tunnel.ipv4NativeRoutingCIDR], ["tunnel", "vxlan", undefined]);
    const native = buildCiliumValues({ ...base, routingMode: "native", nativeRoutingCidr: "10.244.0.0/16" });
    assert.deepEqual([native.routingMode, native.tunnelProtocol, native.ipv4NativeRoutingCIDR, native.autoDirectNodeRoutes], ["native", undefined, "10.244.0.0/16", true]);
});

test("with a startup taint the operator and hubble tolerate it, keeping the operator's chart defaults", () => {
    const v = buildCiliumValues(variants["istio startup taint"]);
    const istio = { key: "cni.istio.io/not-ready", operator: "Exists" };
    assert.deepEqual(v.operator.tolerations, [...OPERATOR_DEFAULT_TOLERATIONS, istio]);
    assert.deepEqual(v.hubble.relay.tolerations, [istio]);
    assert.deepEqual(v.hubble.ui.tolerations, [istio]);
    // Without it nothing is overridden: the chart's defaults apply.
    assert.equal(buildCiliumValues(base).operator.tolerations, undefined);
    // The defaults spelled out here are the chart's own.
    const chartDefaults = YAML.parse(readFileSync(path.join(UPSTREAM, "cilium", "values.yaml"), "utf8")) as { operator: { tolerations: unknown } };
    assert.deepEqual(OPERATOR_DEFAULT_TOLERATIONS, chartDefaults.operator.tolerations);
});

test("deepMerge merges maps key by key and replaces lists and scalars, like Helm", () => {
    const merged = deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3], e: true }, d: { x: 1 } });
    assert.deepEqual(merged, { a: { b: 1, c: [3], e: true }, d: { x: 1 } });
});

// The guard over effective values: each broken override and the message that names its key.
const ctx = { nodeCount: 3, hasSchedulableNode: true, istio: "sidecar" as const, podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12" };
const guardCases: { name: string; override: ValueTree; context?: Partial<typeof ctx>; message: RegExp }[] = [
    { name: "kube-proxy replacement off", override: { kubeProxyReplacement: false }, message: /^ciliumValues\.kubeProxyReplacement: must stay true/ },
    { name: "k8sServiceHost auto", override: { k8sServiceHost: "auto" }, message: /^ciliumValues\.k8sServiceHost: must be the API server address/ },
    { name: "k8sServiceHost ClusterIP", override: { k8sServiceHost: "10.96.0.1" }, message: /^ciliumValues\.k8sServiceHost: 10\.96\.0\.1 is a ClusterIP in serviceSubnet/ },
    { name: "pod pool over services", override: { ipam: { operator: { clusterPoolIPv4PodCIDRList: ["10.0.0.0/8"] } } }, message: /^ciliumValues\.ipam\.operator\.clusterPoolIPv4PodCIDRList: 10\.0\.0\.0\/8 overlaps serviceSubnet/ },
    { name: "operator replicas > nodes", override: { operator: { replicas: 4 } }, message: /^ciliumValues\.operator\.replicas: 4 replicas on 3 node\(s\)/ },
    { name: "native without CIDR", override: { routingMode: "native" }, message: /^ciliumNativeRoutingCidr: native routing needs the CIDR/ },
    { name: "native CIDR not covering pods", override: { routingMode: "native", ipv4NativeRoutingCIDR: "10.245.0.0/16" }, message: /^ciliumNativeRoutingCidr: 10\.245\.0\.0\/16 does not contain podSubnet/ },
    { name: "unknown routing mode", override: { routingMode: "bgp" }, message: /^ciliumValues\.routingMode: "bgp" — use tunnel or native/ },
    { name: "istio with exclusive CNI", override: { cni: { exclusive: true } }, message: /^ciliumValues\.cni\.exclusive: must be false while istioEnabled is true/ },
    { name: "istio without hostNamespaceOnly", override: { socketLB: { hostNamespaceOnly: false } }, message: /^ciliumValues\.socketLB\.hostNamespaceOnly: must be true while istioEnabled is true/ },
    { name: "ambient with bpf masquerade", override: { bpf: { masquerade: true } }, context: { istio: "ambient" as never }, message: /^ciliumValues\.bpf\.masquerade: must be false with istioMode ambient/ },
    { name: "ui without relay", override: { hubble: { ui: { enabled: true } } }, message: /^hubbleUi: needs hubbleRelay=true/ },
    { name: "relay without hubble", override: { hubble: { enabled: false, relay: { enabled: true } } }, message: /^hubbleRelay: needs Hubble itself/ },
    { name: "relay with no schedulable node", override: { hubble: { relay: { enabled: true } } }, context: { hasSchedulableNode: false }, message: /^hubbleRelay\/hubbleUi: hubble-relay and hubble-ui tolerate no taints/ },
    { name: "mask size too small", override: { ipam: { operator: { clusterPoolIPv4MaskSize: 16 } } }, message: /^ciliumPodCidrMaskSize: 16 must be larger than podSubnet's \/16/ },
    { name: "mask size too few blocks", override: { ipam: { operator: { clusterPoolIPv4MaskSize: 17 } } }, message: /^ciliumPodCidrMaskSize: \/17 blocks of 10\.244\.0\.0\/16 give fewer than 3 nodes one each/ },
];

test("the built values pass the guard in every variant", () => {
    for (const [name, input] of Object.entries(variants)) {
        assert.deepEqual(checkCiliumValues(tree(input), { ...ctx, istio: input.istio, nodeCount: input.nodeCount }), [], name);
    }
});

for (const { name, override, context, message } of guardCases) {
    test(`the guard refuses effective values: ${name}`, () => {
        const c = { ...ctx, ...context };
        const errors = checkCiliumValues(deepMerge(tree({ ...base, istio: c.istio }), override), c);
        assert.ok(errors.some((e) => message.test(e)), `expected ${String(message)}, got:\n${errors.join("\n")}`);
    });
}

test("upgradeCompatibility: pinned to 1.18, overridable with another minor or null, refused when Helm could not compare it", () => {
    assert.equal(buildCiliumValues(base).upgradeCompatibility, "1.18");
    const check = (v: unknown): string[] => checkCiliumValues(deepMerge(tree(base), { upgradeCompatibility: v }), ctx);
    assert.deepEqual(check("1.17"), []);
    assert.deepEqual(check(null), [], "null leaves the chart default");
    assert.deepEqual(check(""), [], "so does an empty string (Helm's default treats it as unset)");
    for (const v of ["latest", 1.18, "v1.18"]) {
        assert.match(check(v)[0] ?? "", /^ciliumValues\.upgradeCompatibility: .* — use the Cilium minor this cluster was first installed at/, String(v));
    }
});

test("without Istio the chaining keys are not required", () => {
    const off = { ...ctx, istio: "off" as const };
    assert.deepEqual(checkCiliumValues(deepMerge(tree({ ...base, istio: "off" }), { cni: { exclusive: true } }), off), []);
});
