/**
 * Cilium's bad-input table: every Cilium validation rule, an input that breaks it, and the message it must produce,
 * on top of a valid two-node lab. Shared by the tests and the reliability report (see tests/config/bad-inputs.ts).
 */
import type { RawConfig } from "../../components/config";
import { ED25519, good, type BadInput } from "../config/bad-inputs";

const single = JSON.stringify([{ name: "cp1", host: "192.0.2.10", role: "control-plane", hostKey: ED25519 }]);
const three = JSON.stringify([
    { name: "cp1", host: "192.0.2.10", role: "control-plane", hostKey: ED25519 },
    { name: "worker1", host: "192.0.2.11", role: "worker", hostKey: ED25519 },
    { name: "worker2", host: "192.0.2.12", role: "worker", hostKey: ED25519 },
]);
const lab = (raw: RawConfig): RawConfig => ({ ...good, ...raw });

/** The Cilium keys. */
export const CILIUM_BAD_INPUTS: readonly BadInput[] = [
    { rule: "chart version", raw: lab({ ciliumVersion: "latest" }), message: /^ciliumVersion: "latest" is not a chart version — use major\.minor\.patch, e\.g\. 1\.18\.0$/ },
    { rule: "CLI version", raw: lab({ ciliumCliVersion: "0.18.9" }), message: /^ciliumCliVersion: "0\.18\.9" is not a cilium-cli release tag — use e\.g\. v0\.18\.9$/ },
    { rule: "hubbleRelay not boolean", raw: lab({ hubbleRelay: "yes" }), message: /^hubbleRelay: "yes" — use true or false$/ },
    { rule: "routing mode", raw: lab({ ciliumRoutingMode: "bgp" }), message: /^ciliumRoutingMode: "bgp" — use tunnel/ },
    { rule: "native without CIDR", raw: lab({ ciliumRoutingMode: "native" }), message: /^ciliumNativeRoutingCidr: native routing needs the CIDR/ },
    { rule: "malformed native CIDR", raw: lab({ ciliumRoutingMode: "native", ciliumNativeRoutingCidr: "10.244.1.0/16" }), message: /^ciliumNativeRoutingCidr: "10\.244\.1\.0\/16" has host bits set below the prefix — use 10\.244\.0\.0\/16$/ },
    { rule: "mask size not a number", raw: lab({ ciliumPodCidrMaskSize: "/24" }), message: /^ciliumPodCidrMaskSize: "\/24" — use the prefix length/ },
    { rule: "ciliumValues not YAML", raw: lab({ ciliumValues: "a: [" }), message: /^ciliumValues: not valid YAML\/JSON/ },
    { rule: "ciliumValues not a mapping", raw: lab({ ciliumValues: "- a" }), message: /^ciliumValues: must be a YAML\/JSON mapping of chart values/ },
    { rule: "istioEnabled not boolean", raw: lab({ istioEnabled: "on" }), message: /^istioEnabled: "on" — use true or false$/ },
    { rule: "istioMode", raw: lab({ istioMode: "mesh" }), message: /^istioMode: "mesh" — use sidecar or ambient$/ },
    { rule: "override breaks chaining", raw: lab({ ciliumValues: "cni: {exclusive: true}" }), message: /^ciliumValues\.cni\.exclusive: must be false while istioEnabled is true/ },
    { rule: "override breaks ambient", raw: lab({ istioMode: "ambient", ciliumValues: "bpf: {masquerade: true}" }), message: /^ciliumValues\.bpf\.masquerade: must be false with istioMode ambient/ },
    { rule: "override: too many operators", raw: lab({ nodes: single, ciliumValues: "operator: {replicas: 2}" }), message: /^ciliumValues\.operator\.replicas: 2 replicas on 1 node\(s\)/ },
    { rule: "cluster name too long for Cilium", raw: lab({ clusterName: "a-very-long-homelab-cluster-name-x" }), message: /^clusterName: "a-very-long-homelab-cluster-name-x" is longer than the 32 characters Cilium allows/ },
    { rule: "hubble on a tainted single node", raw: lab({ nodes: single, schedulableControlPlane: "false", hubbleRelay: "true" }), message: /^hubbleRelay\/hubbleUi: .* set schedulableControlPlane to true/ },
    {
        rule: "override: upgradeCompatibility not a minor string (semverCompare fails the render)",
        raw: lab({ ciliumValues: "upgradeCompatibility: 1.18" }),
        message: /^ciliumValues\.upgradeCompatibility: 1\.18 — use the Cilium minor this cluster was first installed at, as a string, e\.g\. "1\.18"$/,
    },
    { rule: "override turns kube-proxy replacement off", raw: lab({ ciliumValues: "kubeProxyReplacement: false" }), message: /^ciliumValues\.kubeProxyReplacement: must stay true — kubeadm ran without kube-proxy/ },
    { rule: "override: API server auto-detected", raw: lab({ ciliumValues: "k8sServiceHost: auto" }), message: /^ciliumValues\.k8sServiceHost: must be the API server address \(controlPlaneEndpoint\), not "auto" — remove the override$/ },
    { rule: "override: API server is a ClusterIP", raw: lab({ ciliumValues: "k8sServiceHost: 10.96.0.1" }), message: /^ciliumValues\.k8sServiceHost: 10\.96\.0\.1 is a ClusterIP in serviceSubnet; without kube-proxy only Cilium could serve it/ },
    { rule: "override: malformed pod pool", raw: lab({ ciliumValues: "ipam: {operator: {clusterPoolIPv4PodCIDRList: [10.244.0.0]}}" }), message: /^ciliumValues\.ipam\.operator\.clusterPoolIPv4PodCIDRList: "10\.244\.0\.0" is not in a\.b\.c\.d\/n form$/ },
    { rule: "override: pod pool overlaps services", raw: lab({ ciliumValues: "ipam: {operator: {clusterPoolIPv4PodCIDRList: [10.96.0.0/16]}}" }), message: /^ciliumValues\.ipam\.operator\.clusterPoolIPv4PodCIDRList: 10\.96\.0\.0\/16 overlaps serviceSubnet 10\.96\.0\.0\/12/ },
    { rule: "mask size out of range", raw: lab({ ciliumPodCidrMaskSize: "30" }), message: /^ciliumPodCidrMaskSize: 30 must be larger than podSubnet's \/16 and at most 28/ },
    { rule: "mask size leaves too few blocks", raw: lab({ nodes: three, podSubnet: "10.244.0.0/24", ciliumPodCidrMaskSize: "25" }), message: /^ciliumPodCidrMaskSize: \/25 blocks of 10\.244\.0\.0\/24 give fewer than 3 nodes one each — use a smaller mask size$/ },
    { rule: "native CIDR misses the pods", raw: lab({ ciliumRoutingMode: "native", ciliumNativeRoutingCidr: "10.245.0.0/16" }), message: /^ciliumNativeRoutingCidr: 10\.245\.0\.0\/16 does not contain podSubnet 10\.244\.0\.0\/16 — pod traffic would be masqueraded$/ },
    { rule: "override: unknown routing mode", raw: lab({ ciliumValues: "routingMode: bgp" }), message: /^ciliumValues\.routingMode: "bgp" — use tunnel or native \(ciliumRoutingMode\)$/ },
    { rule: "relay without Hubble", raw: lab({ hubbleRelay: "true", ciliumValues: "hubble: {enabled: false}" }), message: /^hubbleRelay: needs Hubble itself — remove ciliumValues\.hubble\.enabled=false$/ },
    { rule: "UI without relay", raw: lab({ hubbleUi: "true" }), message: /^hubbleUi: needs hubbleRelay=true \(the UI reads flows from the relay\)$/ },
    { rule: "override: socket LB outside the host namespace", raw: lab({ ciliumValues: "socketLB: {hostNamespaceOnly: false}" }), message: /^ciliumValues\.socketLB\.hostNamespaceOnly: must be true while istioEnabled is true/ },
];
