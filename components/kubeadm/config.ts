/**
 * kubeadm configuration documents (API `kubeadm.k8s.io/v1beta4`, read by kubeadm ≥ 1.31).
 *
 * Reference: https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/ — in particular
 * `ClusterConfiguration.proxy.disabled` ("disable the kube-proxy addon during cluster initialization") and
 * `InitConfiguration.skipPhases`. We set both: `skipPhases: [addon/kube-proxy]` is what the lab notes do by hand,
 * and `proxy.disabled: true` is stored in the `kubeadm-config` ConfigMap, so later `kubeadm upgrade` runs keep
 * kube-proxy off (kubernetes/kubeadm#1318, #3137).
 */
import * as YAML from "yaml";

/** The CRI socket of containerd, which `prepare` installs. */
export const CRI_SOCKET = "unix:///run/containerd/containerd.sock";
/** Token lifetime: joins mint their own right before joining, so the init token only needs to outlive the first run. */
export const BOOTSTRAP_TOKEN_TTL = "1h0m0s";
/** Placeholder used where a secret would go when rendering a document only to hash it. */
export const REDACTED = "<redacted>";

/** Cluster-wide settings every node needs. */
export interface ClusterSettings {
    /** Exact Kubernetes version, `1.33.10`. */
    readonly kubernetesVersion: string;
    /** Cluster name. */
    readonly clusterName: string;
    /** `host:port` clients use to reach the API server. */
    readonly controlPlaneEndpoint: string;
    /** Host part of the endpoint, added to the API server certificate SANs. */
    readonly endpointHost: string;
    /** Pod CIDR. */
    readonly podSubnet: string;
    /** Service CIDR. */
    readonly serviceSubnet: string;
    /** Leave the control-plane taint off so ordinary pods schedule on control planes. */
    readonly schedulableControlPlane: boolean;
    /** Taints every node registers with, for a controller to remove later (e.g. Istio's `cni.istio.io/not-ready`). */
    readonly startupTaints?: readonly Taint[];
    /** The kube-vip virtual IP every control plane runs as a static pod, when the program manages one. */
    readonly kubeVip?: KubeVipSettings;
}

/** kube-vip on the control planes: the API server's virtual IP. */
export interface KubeVipSettings {
    /** The virtual IPv4 address (the host part of `controlPlaneEndpoint`). */
    readonly address: string;
    /** Interface it is announced on; absent: the default route's. */
    readonly interface?: string;
    /** Image tag, `v1.2.3`. */
    readonly version: string;
}

/** A node taint as kubeadm's nodeRegistration takes it. */
export interface Taint {
    /** Taint key. */
    readonly key: string;
    /** NoSchedule, PreferNoSchedule or NoExecute. */
    readonly effect: string;
}

/** The taint kubeadm puts on control planes by default. */
export const CONTROL_PLANE_TAINT: Taint = { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" };

/**
 * nodeRegistration.taints for a node. In v1beta4 an absent field means kubeadm's default (the control-plane taint
 * on control planes, none on workers) and a list replaces that default, so the list spells the default out.
 */
export function nodeTaints(controlPlane: boolean, schedulable: boolean, startup: readonly Taint[] = []): Taint[] | undefined {
    const base = controlPlane && !schedulable ? [CONTROL_PLANE_TAINT] : [];
    if (startup.length === 0) {
        return controlPlane && schedulable ? [] : undefined;
    }
    return [...base, ...startup];
}

/** What the init configuration needs to know: the cluster settings and this node. */
export interface InitConfigInput extends ClusterSettings {
    /** Kubernetes node name. */
    readonly nodeName: string;
    /** Address the kubelet and the API server advertise; omitted lets kubeadm pick the default-route address. */
    readonly nodeIp?: string;
    /** Bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}` (secret). */
    readonly token: string;
    /**
     * 64 hex characters (secret): the key `kubeadm init --upload-certs` encrypts the control-plane certificates
     * with (the `kubeadm-certs` Secret) and joining control planes decrypt them with.
     */
    readonly certificateKey: string;
}

/** What a node's join configuration needs to know. */
export interface JoinConfigInput {
    /** Kubernetes node name. */
    readonly nodeName: string;
    /** Address the kubelet advertises. */
    readonly nodeIp?: string;
    /** `host:port` of the API server. */
    readonly apiServerEndpoint: string;
    /** Bootstrap token (secret). */
    readonly token: string;
    /** `sha256:<hex>` of the cluster CA's public key (the config-file form of `--discovery-token-ca-cert-hash`). */
    readonly caCertHash: string;
    /** Taints the node registers with. */
    readonly startupTaints?: readonly Taint[];
    /** Joining as a control plane (`kubeadm join --control-plane`): its certificate key and API endpoint. */
    readonly controlPlane?: {
        /** The key the primary uploaded the certificates with (secret). */
        readonly certificateKey: string;
        /** Address this node's API server advertises; omitted lets kubeadm pick the default-route address. */
        readonly advertiseAddress?: string;
        /** Leave the control-plane taint off. */
        readonly schedulable: boolean;
    };
}

function kubeletExtraArgs(nodeIp: string | undefined): { name: string; value: string }[] | undefined {
    return nodeIp ? [{ name: "node-ip", value: nodeIp }] : undefined;
}

function taintsField(taints: Taint[] | undefined): { taints?: { key: string; effect: string }[] } {
    return taints ? { taints: taints.map((t) => ({ key: t.key, effect: t.effect })) } : {};
}

function toYamlDocuments(docs: readonly object[]): string {
    return docs.map((d) => YAML.stringify(d, { lineWidth: 0 })).join("---\n");
}

/**
 * Renders `InitConfiguration` + `ClusterConfiguration` + `KubeletConfiguration` for `kubeadm init --config`.
 * Deterministic: the same input gives byte-identical YAML, so its hash is a stable trigger.
 */
export function renderInitConfig(input: InitConfigInput): string {
    const init = {
        apiVersion: "kubeadm.k8s.io/v1beta4",
        kind: "InitConfiguration",
        bootstrapTokens: [
            {
                token: input.token,
                description: "homelab: kubeadm init (joins mint their own fresh token)",
                ttl: BOOTSTRAP_TOKEN_TTL,
                usages: ["signing", "authentication"],
                groups: ["system:bootstrappers:kubeadm:default-node-token"],
            },
        ],
        ...(input.nodeIp ? { localAPIEndpoint: { advertiseAddress: input.nodeIp, bindPort: 6443 } } : {}),
        nodeRegistration: {
            name: input.nodeName,
            criSocket: CRI_SOCKET,
            ...(kubeletExtraArgs(input.nodeIp) ? { kubeletExtraArgs: kubeletExtraArgs(input.nodeIp) } : {}),
            ...taintsField(nodeTaints(true, input.schedulableControlPlane, input.startupTaints)),
        },
        // Used by `kubeadm init --upload-certs` and `kubeadm init phase upload-certs --config` (the config-file form:
        // kubeadm refuses --certificate-key together with --config, kubernetes#78542).
        certificateKey: input.certificateKey,
        skipPhases: ["addon/kube-proxy"],
    };
    const cluster = {
        apiVersion: "kubeadm.k8s.io/v1beta4",
        kind: "ClusterConfiguration",
        clusterName: input.clusterName,
        kubernetesVersion: `v${input.kubernetesVersion}`,
        controlPlaneEndpoint: input.controlPlaneEndpoint,
        networking: {
            podSubnet: input.podSubnet,
            serviceSubnet: input.serviceSubnet,
            dnsDomain: "cluster.local",
        },
        apiServer: {
            certSANs: [...new Set([input.endpointHost, ...(input.nodeIp ? [input.nodeIp] : [])])],
        },
        proxy: { disabled: true },
    };
    const kubelet = {
        apiVersion: "kubelet.config.k8s.io/v1beta1",
        kind: "KubeletConfiguration",
        cgroupDriver: "systemd",
    };
    return toYamlDocuments([init, cluster, kubelet]);
}

/**
 * Renders the `JoinConfiguration` for `kubeadm join --config`: a worker, or with `controlPlane` another control plane
 * (the config-file form of `--control-plane --certificate-key`).
 */
export function renderJoinConfig(input: JoinConfigInput): string {
    const join = {
        apiVersion: "kubeadm.k8s.io/v1beta4",
        kind: "JoinConfiguration",
        discovery: {
            bootstrapToken: {
                apiServerEndpoint: input.apiServerEndpoint,
                token: input.token,
                caCertHashes: [input.caCertHash],
            },
        },
        nodeRegistration: {
            name: input.nodeName,
            criSocket: CRI_SOCKET,
            ...(kubeletExtraArgs(input.nodeIp) ? { kubeletExtraArgs: kubeletExtraArgs(input.nodeIp) } : {}),
            ...taintsField(nodeTaints(input.controlPlane !== undefined, input.controlPlane?.schedulable ?? false, input.startupTaints)),
        },
        ...(input.controlPlane
            ? {
                  controlPlane: {
                      ...(input.controlPlane.advertiseAddress
                          ? { localAPIEndpoint: { advertiseAddress: input.controlPlane.advertiseAddress, bindPort: 6443 } }
                          : {}),
                      certificateKey: input.controlPlane.certificateKey,
                  },
              }
            : {}),
    };
    return toYamlDocuments([join]);
}
