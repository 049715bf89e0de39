/**
 * Stack configuration: the typed model, its defaults, and validation.
 *
 * Everything host- or environment-specific comes from stack config (`Pulumi.<stack>.yaml`). `resolveConfig` is pure:
 * it takes the raw key/value strings exactly as the Pulumi engine hands them to the program and returns either a
 * typed `ClusterConfig` or one message per problem, each naming the key and the fix. `index.ts` calls it before any
 * resource is registered, and the offline plan calls it to print the same errors and warnings.
 */
import * as YAML from "yaml";
import { cidrContains, cidrsOverlap, isDnsName, parseIpv4, parseIpv4Cidr, type Ipv4Cidr } from "./net";
import { parseBoolean } from "./parse";
import { checkKubernetesVersion } from "./versions";
import { OPERATIONS_DEFAULTS, resolveOperationsConfig, type OperationsConfig } from "./operations";
import { DEFAULT_CILIUM_CLI_VERSION, DEFAULT_CILIUM_VERSION, resolveCiliumConfig, type CiliumConfig } from "../cilium/settings";
import { DEFAULT_ISTIO_VERSION, resolveIstioConfig, type IstioConfig } from "../istio/settings";
import { ISTIO_CNI_TAINT } from "../istio/values";

export * from "./versions";
export * from "./operations";

/** The role a host plays in the cluster. */
export type NodeRole = "control-plane" | "worker";

/** One lab host as configured in `nodes`. */
export interface NodeConfig {
    /** Kubernetes node name (lowercase RFC 1123); also the prefix of every resource name for this host. */
    readonly name: string;
    /** Address the program reaches the host on over SSH (IPv4 address or DNS name). */
    readonly host: string;
    /** `control-plane` or `worker`. */
    readonly role: NodeRole;
    /** SSH port. */
    readonly port: number;
    /** SSH user (falls back to `sshUser`). Must be root or have password-less sudo. */
    readonly user: string;
    /** Pinned SSH host public key (`ssh-ed25519 AAAA…`); unpinned keys are not checked by the provider. */
    readonly hostKey?: string;
    /** IPv4 address the kubelet advertises (`--node-ip`); defaults to `host` when that is an IPv4 address. */
    readonly nodeIp?: string;
}

/** The API server endpoint every component talks to (`controlPlaneEndpoint` in kubeadm terms). */
export interface Endpoint {
    /** IPv4 address or DNS name. */
    readonly host: string;
    /** TCP port. */
    readonly port: number;
}

/**
 * A virtual IP for the API server that kube-vip keeps on one control plane at a time (ARP mode, leader election
 * through a Lease, control-plane load balancing only: kube-vip's Service load balancer stays off).
 */
export interface KubeVipConfig {
    /** IPv4 address on the control planes' L2 segment, used by nobody else; `controlPlaneEndpoint` is `<address>:6443`. */
    readonly address: string;
    /** Network interface the address is announced on; absent lets kube-vip use the default route's interface. */
    readonly interface?: string;
    /** kube-vip image tag (`ghcr.io/kube-vip/kube-vip:<version>`). */
    readonly version: string;
}

/** Validated, fully defaulted stack configuration. */
export interface ClusterConfig {
    /** Name of the cluster (kubeadm `clusterName`, kubeconfig cluster/context name). */
    readonly clusterName: string;
    /** Exact Kubernetes patch version without a leading `v`, e.g. `1.33.10`. */
    readonly kubernetesVersion: string;
    /** Pod CIDR (kubeadm `networking.podSubnet`; Cilium's cluster-pool uses the same block). */
    readonly podSubnet: string;
    /** Service CIDR (kubeadm `networking.serviceSubnet`). */
    readonly serviceSubnet: string;
    /** API server endpoint. */
    readonly controlPlaneEndpoint: Endpoint;
    /** The kube-vip virtual IP the endpoint points at, when the program manages one (`kubeVipAddress`). */
    readonly kubeVip?: KubeVipConfig;
    /** Whether ordinary pods may run on control-plane nodes (the control-plane taint is left off). */
    readonly schedulableControlPlane: boolean;
    /**
     * All hosts, in config order. The first control plane is the primary: it runs `kubeadm init` and the others
     * join it, so it must stay first (see README "HA control plane").
     */
    readonly nodes: readonly NodeConfig[];
    /** Default SSH user. */
    readonly sshUser: string;
    /** Cilium: chart and CLI versions, effective values. */
    readonly cilium: CiliumConfig;
    /** Istio, when `istioEnabled`. */
    readonly istio?: IstioConfig;
    /** Upgrade rollout and etcd snapshot settings. */
    readonly operations: OperationsConfig;
}

/** The result of resolving raw config: a typed config when there are no errors, plus warnings either way. */
export interface ResolvedConfig {
    /** Present only when `errors` is empty. */
    readonly config?: ClusterConfig;
    /** One message per problem, each naming the config key and the fix. */
    readonly errors: readonly string[];
    /** Things that work but deserve a look (untested versions, unpinned host keys, …). */
    readonly warnings: readonly string[];
}

/** Raw config values as strings, keyed by the un-namespaced key (`nodes`, not `homelab:nodes`). */
export type RawConfig = Readonly<Record<string, string | undefined>>;

/** Facts about the environment the program runs in that validation needs. */
export interface ConfigEnvironment {
    /** Whether an SSH private key is configured (`sshPrivateKey`); its value never enters validation. */
    readonly hasPrivateKey: boolean;
    /** `SSH_AUTH_SOCK` of the process, used when no private key is configured. */
    readonly sshAuthSock?: string;
}

/**
 * Defaults for every optional key. `Pulumi.yaml` declares the same defaults for the CLI (a test keeps the two equal);
 * the program applies them too so that tests and the offline plan behave like the CLI.
 */
export const CONFIG_DEFAULTS = {
    // Newest 1.33 patch found: kubernetes.io/releases/1.33/ lists 1.33.10 (released 2026-03-19) as the latest
    // patch of 1.33, the minor on both Cilium 1.18's e2e-tested list and Istio 1.31's supported window.
    kubernetesVersion: "1.33.10",
    clusterName: "homelab",
    podSubnet: "10.244.0.0/16",
    serviceSubnet: "10.96.0.0/12",
    controlPlaneEndpoint: "",
    kubeVipAddress: "",
    kubeVipInterface: "",
    // Newest kube-vip release found (sylva-core MR 8025, "Update ghcr.io/kube-vip/kube-vip Docker tag to v1.2.3":
    // v1.1.2 -> v1.2.3, a patch release fixing 1.2 regressions); amd64 and arm64 images on ghcr.io.
    kubeVipVersion: "v1.2.3",
    schedulableControlPlane: "auto",
    sshUser: "root",
    sshPrivateKey: "",
    ciliumVersion: DEFAULT_CILIUM_VERSION,
    ciliumCliVersion: DEFAULT_CILIUM_CLI_VERSION,
    hubbleRelay: "false",
    hubbleUi: "false",
    ciliumRoutingMode: "tunnel",
    ciliumNativeRoutingCidr: "",
    ciliumPodCidrMaskSize: "24",
    ciliumValues: "",
    istioEnabled: "true",
    istioMode: "sidecar",
    istioVersion: DEFAULT_ISTIO_VERSION,
    istioGateway: "false",
    meshNamespaces: "[]",
    istioValues: "",
    istioMeshCheck: "true",
    istioCniTaint: "false",
    ...OPERATIONS_DEFAULTS,
} as const;

/** Every key this project reads. */
export const CONFIG_KEYS = [
    "kubernetesVersion",
    "clusterName",
    "podSubnet",
    "serviceSubnet",
    "controlPlaneEndpoint",
    "kubeVipAddress",
    "kubeVipInterface",
    "kubeVipVersion",
    "nodes",
    "schedulableControlPlane",
    "sshUser",
    "sshPrivateKey",
    "ciliumVersion",
    "ciliumCliVersion",
    "hubbleRelay",
    "hubbleUi",
    "ciliumRoutingMode",
    "ciliumNativeRoutingCidr",
    "ciliumPodCidrMaskSize",
    "ciliumValues",
    "istioEnabled",
    "istioMode",
    "istioVersion",
    "istioGateway",
    "meshNamespaces",
    "istioValues",
    "istioMeshCheck",
    "istioCniTaint",
    "upgradeWorkerBatch",
    "etcdSnapshotDir",
    "etcdSnapshotRetain",
    "etcdSnapshotSchedule",
] as const;

const NODE_FIELDS = ["name", "host", "role", "port", "user", "hostKey", "nodeIp"] as const;
const ROLES: readonly NodeRole[] = ["control-plane", "worker"];
const API_SERVER_PORT = 6443;

/** SSH host-key algorithms OpenSSH offers, as they appear in `known_hosts` and `ssh-keyscan` output. */
const HOST_KEY_TYPES = [
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/** Thrown by `index.ts` when config is invalid; the message lists every problem. */
export class ConfigError extends Error {
    /** One message per problem. */
    public readonly problems: readonly string[];

    constructor(problems: readonly string[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
        this.problems = problems;
    }
}

/**
 * Checks an OpenSSH public host key (`<type> <base64>`, optional comment): known algorithm, valid base64, and the
 * algorithm name embedded in the key blob matching the declared one. Returns the problem, or undefined when valid.
 */
export function hostKeyProblem(hostKey: string): string | undefined {
    const parts = hostKey.trim().split(/\s+/);
    if (parts.length < 2) {
        return 'is not "<type> <base64-key>"';
    }
    const [type, blob] = parts;
    if (!HOST_KEY_TYPES.includes(type)) {
        return `has unknown key type "${type}" (expected one of ${HOST_KEY_TYPES.join(", ")})`;
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob) || blob.length % 4 !== 0) {
        return "has a key that is not valid base64";
    }
    const bytes = Buffer.from(blob, "base64");
    const nameLength = bytes.length >= 4 ? bytes.readUInt32BE(0) : -1;
    const embedded = nameLength >= 0 && nameLength <= bytes.length - 4 ? bytes.subarray(4, 4 + nameLength).toString() : "";
    if (embedded !== type) {
        return `declares "${type}" but the key blob is ${embedded ? `"${embedded}"` : "not an SSH public key"}`;
    }
    return undefined;
}

/** Parses `host`, `host:port` or `[v6]:port`; returns the endpoint or the reason it is malformed. */
function parseEndpoint(text: string): Endpoint | string {
    const match = /^([^:]+)(?::(\d+))?$/.exec(text.trim());
    if (!match) {
        return 'is not "host" or "host:port" (IPv6 endpoints are not supported)';
    }
    const host = match[1];
    const port = match[2] === undefined ? API_SERVER_PORT : Number(match[2]);
    if (parseIpv4(host) === undefined && (!isDnsName(host) || /^[\d.]+$/.test(host))) {
        return `has host "${host}", which is neither an IPv4 address nor a DNS name`;
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        return `has port ${match[2]}; use 1–65535`;
    }
    return { host, port };
}

/** Reads one node entry; pushes problems and returns the node when it is usable. */
function parseNode(raw: unknown, index: number, sshUser: string, errors: string[]): NodeConfig | undefined {
    const key = `nodes[${index}]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        errors.push(`${key}: must be a mapping with name, host and role — e.g. {name: cp1, host: 192.0.2.10, role: control-plane}`);
        return undefined;
    }
    const entry = raw as Record<string, unknown>;
    const before = errors.length;
    for (const field of Object.keys(entry)) {
        if (!(NODE_FIELDS as readonly string[]).includes(field)) {
            errors.push(`${key}.${field}: unknown field — use one of ${NODE_FIELDS.join(", ")}`);
        }
    }
    const text = (field: string): string | undefined => {
        const value = entry[field];
        if (value === undefined || value === null) {
            return undefined;
        }
        if (typeof value !== "string" && typeof value !== "number") {
            errors.push(`${key}.${field}: must be a string — quote the value`);
            return undefined;
        }
        return String(value).trim();
    };
    const name = text("name");
    const host = text("host");
    const role = text("role");
    const portText = text("port");
    const user = text("user");
    const hostKey = text("hostKey");
    const nodeIp = text("nodeIp");

    if (!name) {
        errors.push(`${key}.name: missing — give each node a unique Kubernetes node name, e.g. cp1`);
    } else if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name) || name.length > 63) {
        errors.push(
            `${key}.name: "${name}" is not a valid Kubernetes node name — use lowercase letters, digits and '-' ` +
                "(at most 63 characters), e.g. worker-1",
        );
    }
    if (!host) {
        errors.push(`${key}.host: missing — set the host's SSH address, e.g. 192.0.2.10 or cp1.lab.example`);
    } else if (parseIpv4(host) === undefined && (!isDnsName(host) || /^[\d.]+$/.test(host))) {
        errors.push(`${key}.host: "${host}" is neither an IPv4 address nor a DNS name — use e.g. 192.0.2.10`);
    }
    if (!role) {
        errors.push(`${key}.role: missing — use control-plane or worker`);
    } else if (!(ROLES as readonly string[]).includes(role)) {
        errors.push(`${key}.role: unknown role "${role}" — use control-plane or worker`);
    }
    let port = 22;
    if (portText !== undefined) {
        port = Number(portText);
        if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
            errors.push(`${key}.port: "${portText}" is not a TCP port — use an integer 1–65535 (22 for standard SSH)`);
        }
    }
    if (hostKey !== undefined) {
        const problem = hostKeyProblem(hostKey);
        if (problem) {
            errors.push(
                `${key}.hostKey: ${problem} — paste the key as printed by \`ssh-keyscan -t ed25519 ${host ?? "<host>"}\` ` +
                    "without the leading host name",
            );
        }
    }
    if (nodeIp !== undefined && parseIpv4(nodeIp) === undefined) {
        errors.push(`${key}.nodeIp: "${nodeIp}" is not an IPv4 address — use the address the kubelet should advertise`);
    }
    if (errors.length > before || !name || !host || !role) {
        return undefined;
    }
    return {
        name,
        host,
        role: role as NodeRole,
        port,
        user: user || sshUser,
        ...(hostKey !== undefined ? { hostKey } : {}),
        ...(nodeIp !== undefined ? { nodeIp } : {}),
    };
}

/** The IPv4 address a node is known by inside the cluster, when one can be determined from config. */
export function nodeAddress(node: NodeConfig): string | undefined {
    return node.nodeIp ?? (parseIpv4(node.host) !== undefined ? node.host : undefined);
}

function parseNodes(text: string | undefined, sshUser: string, errors: string[]): NodeConfig[] {
    const example = 'e.g. pulumi config set nodes \'[{"name":"cp1","host":"192.0.2.10","role":"control-plane"}]\'';
    if (text === undefined || text.trim() === "") {
        errors.push(`nodes: missing — list the lab hosts as a YAML or JSON array, ${example}`);
        return [];
    }
    let parsed: unknown;
    try {
        parsed = YAML.parse(text);
    } catch (err) {
        errors.push(`nodes: not valid YAML/JSON (${(err as Error).message.split("\n")[0]}) — ${example}`);
        return [];
    }
    if (!Array.isArray(parsed) || parsed.length === 0) {
        errors.push(`nodes: must be a non-empty array of hosts — ${example}`);
        return [];
    }
    return parsed
        .map((entry, i) => parseNode(entry, i, sshUser, errors))
        .filter((n): n is NodeConfig => n !== undefined);
}

/** Raw kube-vip keys. */
interface KubeVipRaw {
    readonly address: string;
    readonly interface: string;
    readonly version: string;
}

/**
 * Validates `kubeVipAddress`/`kubeVipInterface`/`kubeVipVersion`. The address must be a free IPv4 address: not a
 * node's, and outside the pod and service CIDRs (kube-vip would answer ARP for an address something else owns).
 */
function resolveKubeVip(
    raw: KubeVipRaw,
    nodes: readonly NodeConfig[],
    blocks: readonly (readonly [string, Ipv4Cidr | undefined, string])[],
    errors: string[],
): KubeVipConfig | undefined {
    if (!/^v\d+\.\d+\.\d+$/.test(raw.version)) {
        errors.push(`kubeVipVersion: "${raw.version}" is not a kube-vip release tag — use e.g. ${CONFIG_DEFAULTS.kubeVipVersion}`);
    }
    if (raw.interface !== "" && !/^[A-Za-z0-9_.@:-]{1,15}$/.test(raw.interface)) {
        errors.push(`kubeVipInterface: "${raw.interface}" is not a network interface name — use the name \`ip -br link\` shows, e.g. eth0`);
    }
    if (raw.address === "") {
        if (raw.interface !== "") {
            errors.push("kubeVipInterface: set without kubeVipAddress — set kubeVipAddress too, or unset kubeVipInterface");
        }
        return undefined;
    }
    const ip = parseIpv4(raw.address);
    if (ip === undefined) {
        errors.push(`kubeVipAddress: "${raw.address}" is not an IPv4 address — use a free address on the control planes' network, e.g. 192.0.2.100`);
        return undefined;
    }
    const before = errors.length;
    for (const node of nodes) {
        if (node.host === raw.address || nodeAddress(node) === raw.address) {
            errors.push(
                `kubeVipAddress: ${raw.address} is node ${node.name}'s address — the virtual IP must be an address no ` +
                    "host uses: pick a free one on the same network",
            );
        }
    }
    for (const [key, block, text] of blocks) {
        if (block && cidrContains(block, ip)) {
            errors.push(`kubeVipAddress: ${raw.address} lies inside ${key} ${text} — use an address on the nodes' network, outside ${key}`);
        }
    }
    if (errors.length > before) {
        return undefined;
    }
    return { address: raw.address, ...(raw.interface !== "" ? { interface: raw.interface } : {}), version: raw.version };
}

function checkSubnet(key: string, text: string, errors: string[]): Ipv4Cidr | undefined {
    const parsed = parseIpv4Cidr(text);
    if (!parsed.ok) {
        const fix = parsed.suggestion ? `use ${parsed.suggestion}` : "use an IPv4 CIDR such as 10.244.0.0/16";
        errors.push(`${key}: "${text}" ${parsed.reason} — ${fix}`);
        return undefined;
    }
    return parsed.cidr;
}

function findDuplicates(values: readonly string[]): string[] {
    const seen = new Set<string>();
    const dups = new Set<string>();
    for (const v of values) {
        (seen.has(v) ? dups : seen).add(v);
    }
    return [...dups];
}

/**
 * Validates and defaults raw stack config. Pure: the same input always gives the same output, and nothing here
 * touches Pulumi, the network or the file system.
 */
export function resolveConfig(raw: RawConfig, env: ConfigEnvironment): ResolvedConfig {
    const errors: string[] = [];
    const warnings: string[] = [];
    const get = (key: keyof typeof CONFIG_DEFAULTS): string => {
        const value = raw[key];
        return value === undefined ? CONFIG_DEFAULTS[key] : value.trim();
    };

    const version = checkKubernetesVersion(get("kubernetesVersion"));
    if (version.error) {
        errors.push(version.error);
    }
    if (version.warning) {
        warnings.push(version.warning);
    }

    const clusterName = get("clusterName");
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(clusterName) || clusterName.length > 63) {
        errors.push(`clusterName: "${clusterName}" must be a lowercase DNS label (letters, digits, '-'), e.g. homelab`);
    }

    const sshUser = get("sshUser");
    if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(sshUser)) {
        errors.push(`sshUser: "${sshUser}" is not a valid login name — use the account you SSH in as, e.g. debian`);
    }

    const podSubnet = get("podSubnet");
    const serviceSubnet = get("serviceSubnet");
    const pods = checkSubnet("podSubnet", podSubnet, errors);
    const services = checkSubnet("serviceSubnet", serviceSubnet, errors);
    if (pods && services && cidrsOverlap(pods, services)) {
        errors.push(
            `podSubnet/serviceSubnet: ${podSubnet} and ${serviceSubnet} overlap — pick disjoint blocks, ` +
                "e.g. podSubnet 10.244.0.0/16 with serviceSubnet 10.96.0.0/12",
        );
    }
    if (services && services.prefix < 12) {
        // kube-apiserver: "specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be >= 12".
        errors.push(`serviceSubnet: ${serviceSubnet} is larger than the API server accepts (a /12 at most) — use e.g. 10.96.0.0/12`);
    }
    if (pods && pods.prefix > 24) {
        errors.push(`podSubnet: ${podSubnet} is smaller than one /24 per node — use a /16 such as 10.244.0.0/16`);
    }

    const nodes = parseNodes(raw.nodes, sshUser, errors);
    for (const dup of findDuplicates(nodes.map((n) => n.name))) {
        errors.push(`nodes: name "${dup}" is used by more than one node — node names must be unique`);
    }
    for (const dup of findDuplicates(nodes.map((n) => `${n.host}:${n.port}`))) {
        errors.push(`nodes: host ${dup} is listed more than once — each host may appear once`);
    }
    for (const dup of findDuplicates(nodes.map(nodeAddress).filter((a): a is string => a !== undefined))) {
        errors.push(`nodes: node address ${dup} is used by more than one node — set a distinct nodeIp per node`);
    }

    const controlPlanes = nodes.filter((n) => n.role === "control-plane");
    const workers = nodes.filter((n) => n.role === "worker");
    if (nodes.length > 0 && controlPlanes.length === 0) {
        errors.push(
            'nodes: no node has role "control-plane" — mark one host (or three, for HA) as control-plane; the first ' +
                "one runs kubeadm init",
        );
    } else if (controlPlanes.length > 1 && controlPlanes.length % 2 === 0) {
        warnings.push(
            `nodes: ${controlPlanes.length} control planes (${controlPlanes.map((n) => n.name).join(", ")}) — etcd needs a ` +
                `majority of them up, so ${controlPlanes.length} tolerate no more failures than ${controlPlanes.length - 1}; ` +
                "use an odd number (3 or 5)",
        );
    }

    for (const [i, node] of nodes.entries()) {
        if (node.hostKey === undefined) {
            warnings.push(
                `nodes[${i}].hostKey: not set for ${node.name} — the SSH host key is not verified; pin it with ` +
                    `the output of \`ssh-keyscan -t ed25519 ${node.host}\``,
            );
        }
        const address = nodeAddress(node);
        const ip = address === undefined ? undefined : parseIpv4(address);
        if (ip === undefined) {
            warnings.push(
                `nodes[${i}].nodeIp: ${node.name} is reached by name (${node.host}) and has no nodeIp — the kubelet ` +
                    "will pick its default-route address; set nodeIp on multi-NIC hosts",
            );
            continue;
        }
        for (const [key, block, text] of [["podSubnet", pods, podSubnet], ["serviceSubnet", services, serviceSubnet]] as const) {
            if (block && cidrContains(block, ip)) {
                errors.push(
                    `${key}: ${text} contains node ${node.name}'s address ${address} — choose a ${key} that no lab ` +
                        "host uses (pods and services must not shadow node addresses)",
                );
            }
        }
    }

    const kubeVip = resolveKubeVip(
        { address: get("kubeVipAddress"), interface: get("kubeVipInterface"), version: get("kubeVipVersion") },
        nodes,
        [["podSubnet", pods, podSubnet], ["serviceSubnet", services, serviceSubnet]],
        errors,
    );

    let controlPlaneEndpoint: Endpoint | undefined;
    const endpointText = get("controlPlaneEndpoint");
    if (endpointText === "") {
        const first = controlPlanes[0];
        if (kubeVip) {
            controlPlaneEndpoint = { host: kubeVip.address, port: API_SERVER_PORT };
        } else if (first) {
            controlPlaneEndpoint = { host: nodeAddress(first) ?? first.host, port: API_SERVER_PORT };
        }
    } else {
        const parsed = parseEndpoint(endpointText);
        if (typeof parsed === "string") {
            errors.push(`controlPlaneEndpoint: "${endpointText}" ${parsed} — e.g. 192.0.2.10:6443 or k8s.lab.example:6443`);
        } else {
            controlPlaneEndpoint = parsed;
            const ip = parseIpv4(parsed.host);
            for (const [key, block] of [["podSubnet", pods], ["serviceSubnet", services]] as const) {
                if (ip !== undefined && block && cidrContains(block, ip)) {
                    errors.push(`controlPlaneEndpoint: ${parsed.host} lies inside ${key} — use an address outside it`);
                }
            }
            if (kubeVip && (parsed.host !== kubeVip.address || parsed.port !== API_SERVER_PORT)) {
                errors.push(
                    `controlPlaneEndpoint: "${endpointText}" is not the kube-vip address — with kubeVipAddress the ` +
                        `endpoint is ${kubeVip.address}:${API_SERVER_PORT} (kube-vip moves the address, the API servers ` +
                        "listen on 6443): leave controlPlaneEndpoint empty",
                );
            }
        }
    }
    if (controlPlanes.length > 1 && controlPlaneEndpoint) {
        const endpointHost = controlPlaneEndpoint.host;
        const owner = controlPlanes.find((n) => n.host === endpointHost || nodeAddress(n) === endpointHost);
        if (owner) {
            errors.push(
                `controlPlaneEndpoint: ${endpointText === "" ? "not set, so it is" : "is"} ${endpointHost}, ` +
                    `control plane ${owner.name}'s own address — with ${controlPlanes.length} ` +
                    "control planes the API must stay reachable when any one is down: set kubeVipAddress to a free " +
                    "address on their network (the program runs kube-vip), or set controlPlaneEndpoint to a DNS name " +
                    "or load balancer in front of all of them. A cluster keeps the endpoint it was created with, so " +
                    "an HA cluster starts with one",
            );
        }
    }

    const schedulableText = get("schedulableControlPlane");
    let schedulableControlPlane = workers.length === 0;
    if (schedulableText.toLowerCase() !== "auto") {
        const parsed = parseBoolean(schedulableText);
        if (parsed === undefined) {
            errors.push(`schedulableControlPlane: "${schedulableText}" — use true, false or auto (true when there is no worker)`);
        } else {
            schedulableControlPlane = parsed;
            if (!parsed && workers.length === 0 && nodes.length > 0) {
                warnings.push(
                    "schedulableControlPlane: false with no worker node — only pods that tolerate the control-plane " +
                        "taint will ever run; set it to auto or add a worker",
                );
            }
        }
    }

    if (!env.hasPrivateKey && !env.sshAuthSock) {
        warnings.push(
            "sshPrivateKey: not set and SSH_AUTH_SOCK is empty — `pulumi up` cannot log in; run " +
                "`pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519` or start ssh-agent",
        );
    }

    const operations = resolveOperationsConfig(
        {
            upgradeWorkerBatch: get("upgradeWorkerBatch"),
            etcdSnapshotDir: get("etcdSnapshotDir"),
            etcdSnapshotRetain: get("etcdSnapshotRetain"),
            etcdSnapshotSchedule: get("etcdSnapshotSchedule"),
        },
        workers.length,
        errors,
        warnings,
    );

    const clusterValid = errors.length === 0 && controlPlaneEndpoint !== undefined;
    const istio = resolveIstioConfig(
        {
            istioEnabled: get("istioEnabled"),
            istioMode: get("istioMode"),
            istioVersion: get("istioVersion"),
            istioGateway: get("istioGateway"),
            meshNamespaces: get("meshNamespaces"),
            istioValues: get("istioValues"),
            istioMeshCheck: get("istioMeshCheck"),
            istioCniTaint: get("istioCniTaint"),
        },
        version.version,
    );
    errors.push(...istio.errors);
    warnings.push(...istio.warnings);
    const cilium = resolveCiliumConfig(
        {
            ciliumVersion: get("ciliumVersion"),
            ciliumCliVersion: get("ciliumCliVersion"),
            hubbleRelay: get("hubbleRelay"),
            hubbleUi: get("hubbleUi"),
            ciliumRoutingMode: get("ciliumRoutingMode"),
            ciliumNativeRoutingCidr: get("ciliumNativeRoutingCidr"),
            ciliumPodCidrMaskSize: get("ciliumPodCidrMaskSize"),
            ciliumValues: get("ciliumValues"),
        },
        clusterValid && controlPlaneEndpoint
            ? {
                  clusterName,
                  apiServerHost: controlPlaneEndpoint.host,
                  apiServerPort: controlPlaneEndpoint.port,
                  podSubnet,
                  serviceSubnet,
                  nodeCount: nodes.length,
                  hasSchedulableNode: workers.length > 0 || schedulableControlPlane,
                  startupTaintKeys: istio.config?.cniTaint ? [ISTIO_CNI_TAINT.key] : [],
              }
            : undefined,
        istio.mode,
    );
    errors.push(...cilium.errors);
    warnings.push(...cilium.warnings);

    if (errors.length > 0 || !controlPlaneEndpoint || !version.version || !cilium.config) {
        return { errors, warnings };
    }
    return {
        config: {
            cilium: cilium.config,
            operations,
            ...(istio.config ? { istio: istio.config } : {}),
            clusterName,
            kubernetesVersion: version.version,
            podSubnet,
            serviceSubnet,
            controlPlaneEndpoint,
            ...(kubeVip ? { kubeVip } : {}),
            schedulableControlPlane,
            nodes,
            sshUser,
        },
        errors,
        warnings,
    };
}
