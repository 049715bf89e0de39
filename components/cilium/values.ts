/**
 * Helm values for the Cilium chart (1.18), built from stack config, and the guard over the effective values
 * (built values deep-merged with the user's `ciliumValues`).
 *
 * Sources: the chart's values.yaml/values.schema.json for 1.18.0; Cilium's kube-proxy-free guide
 * (Documentation/network/kubernetes/kubeproxy-free.rst) for `k8sServiceHost`/`k8sServicePort`; Cilium's Istio
 * integration page (Documentation/network/servicemesh/istio.rst) for `cni.exclusive=false` and
 * `socketLB.hostNamespaceOnly=true`; Istio's ambient platform prerequisites for `bpf.masquerade` staying false.
 */
import { cidrContains, cidrsOverlap, parseIpv4, parseIpv4Cidr } from "../config/net";
import { truthy, valueAt, type ValueTree } from "../helm/values";
import { istioChainingProblems, type IstioMode } from "../istio/guard";

export { deepMerge, keyPaths, valueAt, type ValueTree } from "../helm/values";

export type { IstioMode } from "../istio/guard";
/** Cilium's datapath routing mode. */
export type RoutingMode = "tunnel" | "native";

/** Everything the values depend on. */
export interface CiliumValuesInput {
    /** Cluster name (`cluster.name`). */
    readonly clusterName: string;
    /** API server host the agent talks to without kube-proxy (never the ClusterIP). */
    readonly apiServerHost: string;
    /** API server port. */
    readonly apiServerPort: number;
    /** Pod CIDR handed to Cilium's cluster-pool IPAM. */
    readonly podSubnet: string;
    /** Per-node pod CIDR mask size. */
    readonly podCidrMaskSize: number;
    /** Number of nodes (operator replicas: 1 on one node, else 2). */
    readonly nodeCount: number;
    /** Deploy hubble-relay. */
    readonly hubbleRelay: boolean;
    /** Deploy hubble-ui (needs relay). */
    readonly hubbleUi: boolean;
    /** Tunnel (VXLAN) or native routing. */
    readonly routingMode: RoutingMode;
    /** CIDR routed natively without masquerade; required for native routing. */
    readonly nativeRoutingCidr?: string;
    /** Istio mode; anything but `off` adds the chaining requirements. */
    readonly istio: IstioMode;
    /**
     * Keys of taints nodes register with until a controller lifts them (Istio's `cni.istio.io/not-ready`). Cilium
     * must run on such nodes, or nothing after it could ever lift the taint.
     */
    readonly startupTaintKeys?: readonly string[];
}

/**
 * `upgradeCompatibility`: the chart keeps the defaults of this minor for every value the stack does not set, whatever
 * chart version is installed later. Cilium's upgrade guide: "the upgradeCompatibility option should be set to the
 * initial Cilium version which was installed in this cluster". The chart compares it with `semverCompare` gates
 * (`semverCompare ">=1.16" (default "1.16" .Values.upgradeCompatibility)` for the Envoy DaemonSet; later charts gate
 * newer defaults, such as the Envoy xDS mode, on later minors). Every stack of this program was installed at 1.18,
 * the only line it supports without a warning, and a pin that never moves keeps defaults from changing under a
 * version bump. It stays 1.18 when the supported line moves on: existing clusters were installed at 1.18. Pinning
 * 1.18 on the 1.18 chart renders what the chart's own defaults render (each gate's default is its threshold, at or
 * below 1.18). `ciliumValues.upgradeCompatibility` overrides it for a cluster first installed at another minor.
 */
export const CILIUM_UPGRADE_COMPATIBILITY = "1.18";

/** A pod toleration as the chart takes it. */
export interface Toleration {
    readonly key?: string;
    readonly operator: "Exists" | "Equal";
    readonly effect?: string;
}

/** The operator's tolerations in the 1.18 chart (values.yaml `operator.tolerations`); the agent and envoy tolerate everything. */
export const OPERATOR_DEFAULT_TOLERATIONS: readonly Toleration[] = [
    { key: "node-role.kubernetes.io/control-plane", operator: "Exists" },
    { key: "node-role.kubernetes.io/master", operator: "Exists" },
    { key: "node.kubernetes.io/not-ready", operator: "Exists" },
];

/** The values this program sets, typed. Every key path here must exist in the chart's values.yaml. */
export interface CiliumValues {
    upgradeCompatibility: string;
    kubeProxyReplacement: boolean;
    k8sServiceHost: string;
    k8sServicePort: number;
    cluster: { name: string };
    ipam: { mode: "cluster-pool"; operator: { clusterPoolIPv4PodCIDRList: string[]; clusterPoolIPv4MaskSize: number } };
    operator: { replicas: number; tolerations?: Toleration[] };
    envoy: { enabled: boolean };
    l7Proxy: boolean;
    hubble: { enabled: boolean; relay: { enabled: boolean; tolerations?: Toleration[] }; ui: { enabled: boolean; tolerations?: Toleration[] } };
    routingMode: RoutingMode;
    tunnelProtocol?: "vxlan";
    ipv4NativeRoutingCIDR?: string;
    autoDirectNodeRoutes?: boolean;
    cni?: { exclusive: boolean };
    socketLB?: { hostNamespaceOnly: boolean };
    bpf?: { masquerade: boolean };
}

/** Builds the chart values from config. Pure and deterministic. */
export function buildCiliumValues(input: CiliumValuesInput): CiliumValues {
    const values: CiliumValues = {
        upgradeCompatibility: CILIUM_UPGRADE_COMPATIBILITY,
        // No kube-proxy runs (kubeadm skipped its addon), so Cilium must take over Services.
        kubeProxyReplacement: true,
        // Without kube-proxy nothing serves the kubernetes Service ClusterIP until Cilium does, so the agent must be
        // told the real endpoint. "auto" would need Helm's server-side lookup; the ClusterIP would deadlock.
        k8sServiceHost: input.apiServerHost,
        k8sServicePort: input.apiServerPort,
        cluster: { name: input.clusterName },
        // The chart default pool 10.0.0.0/8 contains kubeadm's service CIDR; use the configured pod CIDR instead.
        ipam: {
            mode: "cluster-pool",
            operator: { clusterPoolIPv4PodCIDRList: [input.podSubnet], clusterPoolIPv4MaskSize: input.podCidrMaskSize },
        },
        // The operator's required pod anti-affinity leaves a second replica Pending on a single node, and then
        // `cilium status --wait` never succeeds.
        operator: { replicas: input.nodeCount === 1 ? 1 : 2 },
        // The lab notes' cilium-envoy DaemonSet: L7 policy and visibility.
        envoy: { enabled: true },
        l7Proxy: true,
        hubble: { enabled: true, relay: { enabled: input.hubbleRelay }, ui: { enabled: input.hubbleUi } },
        routingMode: input.routingMode,
    };
    if (input.routingMode === "tunnel") {
        values.tunnelProtocol = "vxlan";
    } else {
        // Native routing: pods are routed, not encapsulated; every lab node shares one L2 segment, so Cilium can
        // install the direct routes itself. The chart fails without ipv4NativeRoutingCIDR.
        values.ipv4NativeRoutingCIDR = input.nativeRoutingCidr;
        values.autoDirectNodeRoutes = true;
    }
    const startup = (input.startupTaintKeys ?? []).map((key): Toleration => ({ key, operator: "Exists" }));
    if (startup.length > 0) {
        // Helm replaces lists, so the operator's defaults are spelled out. hubble-relay/ui tolerate nothing by default.
        values.operator.tolerations = [...OPERATOR_DEFAULT_TOLERATIONS, ...startup];
        if (input.hubbleRelay) {
            values.hubble.relay.tolerations = startup;
        }
        if (input.hubbleUi) {
            values.hubble.ui.tolerations = startup;
        }
    }
    if (input.istio !== "off") {
        // istio-cni chains its plugin into Cilium's conflist: Cilium must not own /etc/cni/net.d exclusively.
        values.cni = { exclusive: false };
        // With kube-proxy replacement the socket LB rewrites ClusterIPs at connect(), bypassing the sidecar/ztunnel
        // redirection; keep it to the host namespace.
        values.socketLB = { hostNamespaceOnly: true };
        // eBPF masquerade breaks ambient's link-local health probes (169.254.7.127); keep iptables masquerade.
        values.bpf = { masquerade: false };
    }
    return values;
}

/** Facts about the cluster the effective values are checked against. */
export interface CiliumGuardContext {
    /** Number of nodes. */
    readonly nodeCount: number;
    /** Whether any node accepts ordinary pods (hubble-relay/ui tolerate no taints). */
    readonly hasSchedulableNode: boolean;
    /** Istio mode from config. */
    readonly istio: IstioMode;
    /** Service CIDR. */
    readonly serviceSubnet: string;
    /** Pod CIDR. */
    readonly podSubnet: string;
}

/**
 * Refuses effective values that cannot work here — what `istioctl install` and the chart check, plus the kubeadm
 * specifics — with one message per problem naming the key (`ciliumValues.<path>` for anything overridable).
 */
export function checkCiliumValues(values: ValueTree, ctx: CiliumGuardContext): string[] {
    const errors: string[] = [];
    const key = (path: string): string => `ciliumValues.${path}`;

    // The chart feeds it to semverCompare (through `default`, so null and "" mean unset), which fails the whole render
    // on anything but a version string.
    const compat = valueAt(values, "upgradeCompatibility");
    if (compat !== undefined && compat !== null && compat !== "" && !(typeof compat === "string" && /^1\.\d+(\.\d+)?$/.test(compat))) {
        errors.push(`${key("upgradeCompatibility")}: ${JSON.stringify(compat)} — use the Cilium minor this cluster was first installed at, as a string, e.g. "1.18"`);
    }
    if (truthy(valueAt(values, "kubeProxyReplacement")) !== true) {
        errors.push(`${key("kubeProxyReplacement")}: must stay true — kubeadm ran without kube-proxy, so nothing else would serve Services`);
    }
    const host = valueAt(values, "k8sServiceHost");
    const services = parseIpv4Cidr(ctx.serviceSubnet);
    if (typeof host !== "string" || host === "" || host === "auto") {
        errors.push(`${key("k8sServiceHost")}: must be the API server address (controlPlaneEndpoint), not ${JSON.stringify(host)} — remove the override`);
    } else if (services.ok && parseIpv4(host) !== undefined && cidrContains(services.cidr, parseIpv4(host) as number)) {
        errors.push(`${key("k8sServiceHost")}: ${host} is a ClusterIP in serviceSubnet; without kube-proxy only Cilium could serve it — use controlPlaneEndpoint`);
    }

    const pools = valueAt(values, "ipam.operator.clusterPoolIPv4PodCIDRList");
    for (const pool of Array.isArray(pools) ? pools : []) {
        const parsed = parseIpv4Cidr(String(pool));
        if (!parsed.ok) {
            errors.push(`${key("ipam.operator.clusterPoolIPv4PodCIDRList")}: "${String(pool)}" ${parsed.reason}`);
        } else if (services.ok && cidrsOverlap(parsed.cidr, services.cidr)) {
            errors.push(
                `${key("ipam.operator.clusterPoolIPv4PodCIDRList")}: ${String(pool)} overlaps serviceSubnet ${ctx.serviceSubnet} — ` +
                    "the pod pool must not contain Service addresses",
            );
        }
    }
    const mask = valueAt(values, "ipam.operator.clusterPoolIPv4MaskSize");
    const pods = parseIpv4Cidr(ctx.podSubnet);
    if (typeof mask === "number" && pods.ok) {
        if (!Number.isInteger(mask) || mask <= pods.cidr.prefix || mask > 28) {
            errors.push(`ciliumPodCidrMaskSize: ${mask} must be larger than podSubnet's /${pods.cidr.prefix} and at most 28 (24 gives 254 pods per node)`);
        } else if (2 ** (mask - pods.cidr.prefix) < ctx.nodeCount) {
            errors.push(`ciliumPodCidrMaskSize: /${mask} blocks of ${ctx.podSubnet} give fewer than ${ctx.nodeCount} nodes one each — use a smaller mask size`);
        }
    }

    const replicas = valueAt(values, "operator.replicas");
    if (typeof replicas === "number" && replicas > ctx.nodeCount) {
        errors.push(
            `${key("operator.replicas")}: ${replicas} replicas on ${ctx.nodeCount} node(s) — the operator's pod anti-affinity leaves the extra ones ` +
                "Pending and cilium status --wait never succeeds; use at most one per node",
        );
    }

    const routing = valueAt(values, "routingMode");
    if (routing === "native") {
        const cidr = valueAt(values, "ipv4NativeRoutingCIDR");
        const parsed = typeof cidr === "string" && cidr !== "" ? parseIpv4Cidr(cidr) : undefined;
        if (!parsed) {
            errors.push("ciliumNativeRoutingCidr: native routing needs the CIDR that is routed without masquerade (the chart fails without it) — e.g. the podSubnet");
        } else if (!parsed.ok) {
            errors.push(`ciliumNativeRoutingCidr: "${String(cidr)}" ${parsed.reason}`);
        } else if (pods.ok && !(parsed.cidr.prefix <= pods.cidr.prefix && cidrContains(parsed.cidr, pods.cidr.network))) {
            errors.push(`ciliumNativeRoutingCidr: ${String(cidr)} does not contain podSubnet ${ctx.podSubnet} — pod traffic would be masqueraded`);
        }
    } else if (routing !== "tunnel" && routing !== undefined && routing !== "") {
        errors.push(`${key("routingMode")}: ${JSON.stringify(routing)} — use tunnel or native (ciliumRoutingMode)`);
    }

    const hubble = truthy(valueAt(values, "hubble.enabled")) === true;
    const relay = truthy(valueAt(values, "hubble.relay.enabled")) === true;
    const ui = truthy(valueAt(values, "hubble.ui.enabled")) === true;
    if (relay && !hubble) {
        errors.push("hubbleRelay: needs Hubble itself — remove ciliumValues.hubble.enabled=false");
    }
    if (ui && !relay) {
        errors.push("hubbleUi: needs hubbleRelay=true (the UI reads flows from the relay)");
    }
    if ((relay || ui) && !ctx.hasSchedulableNode) {
        errors.push(
            "hubbleRelay/hubbleUi: hubble-relay and hubble-ui tolerate no taints and every node is a tainted control plane — " +
                "set schedulableControlPlane to true (or auto) or add a worker",
        );
    }

    errors.push(...istioChainingProblems(values, ctx.istio));
    return errors;
}
