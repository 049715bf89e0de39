/**
 * The cluster keys' bad-input table: every validation rule of components/config, an input that breaks it, and the
 * message (key + fix) it must produce. Shared by the tests (tests/config/validate.test.ts) and the reliability report
 * (tools/reliability.ts), which also proves every message template of the validation code is hit by one of them.
 */
import type { RawConfig } from "../../components/config";

/** One bad input: the rule it breaks, the raw stack config, and the message it must produce. */
export interface BadInput {
    readonly rule: string;
    readonly raw: RawConfig;
    readonly message: RegExp;
}

export const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRzXbNm6n+HXQR52zAYPUHlzj1nzBJZEwDuyfdjKpI+";

/** The `nodes` value for a list of node entries. */
export function nodes(list: readonly Record<string, unknown>[]): string {
    return JSON.stringify(list);
}
export const cp = { name: "cp1", host: "192.0.2.10", role: "control-plane", hostKey: ED25519 };
export const w1 = { name: "worker1", host: "192.0.2.11", role: "worker", hostKey: ED25519 };
export const cp2 = { name: "cp2", host: "192.0.2.21", role: "control-plane", hostKey: ED25519 };
export const cp3 = { name: "cp3", host: "192.0.2.22", role: "control-plane", hostKey: ED25519 };
/** A valid lab (one control plane, one worker) the examples break one key of. */
export const good: RawConfig = { nodes: nodes([cp, w1]) };

/** The cluster keys: nodes, subnets, endpoint, version, names. */
export const CLUSTER_BAD_INPUTS: readonly BadInput[] = [
    { rule: "nodes missing", raw: {}, message: /^nodes: missing — list the lab hosts/ },
    { rule: "nodes not YAML", raw: { nodes: "[{name: cp1" }, message: /^nodes: not valid YAML\/JSON .* — e\.g\. pulumi config set nodes/ },
    { rule: "nodes not a list", raw: { nodes: "name: cp1" }, message: /^nodes: must be a non-empty array/ },
    { rule: "node not a mapping", raw: { nodes: nodes([cp]).replace("]", ',"worker1"]') }, message: /^nodes\[1\]: must be a mapping with name, host and role/ },
    { rule: "unknown node field", raw: { nodes: nodes([{ ...cp, hostname: "x" }]) }, message: /^nodes\[0\]\.hostname: unknown field — use one of name, host, role/ },
    { rule: "unknown role", raw: { nodes: nodes([cp, { ...w1, role: "master" }]) }, message: /^nodes\[1\]\.role: unknown role "master" — use control-plane or worker$/ },
    { rule: "missing role", raw: { nodes: nodes([cp, { name: "w", host: "192.0.2.20" }]) }, message: /^nodes\[1\]\.role: missing — use control-plane or worker$/ },
    // Also what removing the last control plane from nodes looks like: refused before anything is registered.
    { rule: "zero control planes", raw: { nodes: nodes([w1]) }, message: /^nodes: no node has role "control-plane" — mark one host \(or three, for HA\) as control-plane; the first one runs kubeadm init$/ },
    { rule: "HA without an endpoint", raw: { nodes: nodes([cp, cp2, cp3]) }, message: /^controlPlaneEndpoint: not set, so it is 192\.0\.2\.10, control plane cp1's own address — with 3 control planes the API must stay reachable when any one is down: set kubeVipAddress to a free address on their network \(the program runs kube-vip\), or set controlPlaneEndpoint to a DNS name or load balancer/ },
    { rule: "HA endpoint is one control plane", raw: { nodes: nodes([cp, cp2, cp3]), controlPlaneEndpoint: "192.0.2.21:6443" }, message: /^controlPlaneEndpoint: is 192\.0\.2\.21, control plane cp2's own address — with 3 control planes/ },
    { rule: "kube-vip address not IPv4", raw: { ...good, kubeVipAddress: "vip.lab" }, message: /^kubeVipAddress: "vip\.lab" is not an IPv4 address — use a free address on the control planes' network/ },
    { rule: "kube-vip address is a node's", raw: { nodes: nodes([cp, cp2, cp3]), kubeVipAddress: "192.0.2.22" }, message: /^kubeVipAddress: 192\.0\.2\.22 is node cp3's address — the virtual IP must be an address no host uses: pick a free one on the same network$/ },
    { rule: "kube-vip address in podSubnet", raw: { ...good, kubeVipAddress: "10.244.0.5" }, message: /^kubeVipAddress: 10\.244\.0\.5 lies inside podSubnet 10\.244\.0\.0\/16 — use an address on the nodes' network, outside podSubnet$/ },
    { rule: "kube-vip address in serviceSubnet", raw: { ...good, kubeVipAddress: "10.96.0.10" }, message: /^kubeVipAddress: 10\.96\.0\.10 lies inside serviceSubnet 10\.96\.0\.0\/12/ },
    { rule: "kube-vip and another endpoint", raw: { ...good, kubeVipAddress: "192.0.2.100", controlPlaneEndpoint: "k8s.lab.example" }, message: /^controlPlaneEndpoint: "k8s\.lab\.example" is not the kube-vip address — with kubeVipAddress the endpoint is 192\.0\.2\.100:6443 .*: leave controlPlaneEndpoint empty$/ },
    { rule: "kube-vip interface malformed", raw: { ...good, kubeVipAddress: "192.0.2.100", kubeVipInterface: "eth 0" }, message: /^kubeVipInterface: "eth 0" is not a network interface name — use the name `ip -br link` shows/ },
    { rule: "kube-vip interface without address", raw: { ...good, kubeVipInterface: "eth0" }, message: /^kubeVipInterface: set without kubeVipAddress — set kubeVipAddress too, or unset kubeVipInterface$/ },
    { rule: "kube-vip version malformed", raw: { ...good, kubeVipVersion: "latest" }, message: /^kubeVipVersion: "latest" is not a kube-vip release tag — use e\.g\. v\d+\.\d+\.\d+$/ },
    { rule: "duplicate names", raw: { nodes: nodes([cp, { ...w1, name: "cp1" }]) }, message: /^nodes: name "cp1" is used by more than one node — node names must be unique$/ },
    { rule: "duplicate hosts", raw: { nodes: nodes([cp, { ...w1, host: "192.0.2.10" }]) }, message: /^nodes: host 192\.0\.2\.10:22 is listed more than once/ },
    { rule: "duplicate node IPs", raw: { nodes: nodes([cp, { ...w1, nodeIp: "192.0.2.10" }]) }, message: /^nodes: node address 192\.0\.2\.10 is used by more than one node — set a distinct nodeIp/ },
    { rule: "invalid node name", raw: { nodes: nodes([{ ...cp, name: "CP_1" }]) }, message: /^nodes\[0\]\.name: "CP_1" is not a valid Kubernetes node name/ },
    { rule: "malformed host", raw: { nodes: nodes([{ ...cp, host: "192.0.2.300" }]) }, message: /^nodes\[0\]\.host: "192\.0\.2\.300" is neither an IPv4 address nor a DNS name/ },
    { rule: "malformed nodeIp", raw: { nodes: nodes([{ ...cp, nodeIp: "10.0.0" }]) }, message: /^nodes\[0\]\.nodeIp: "10\.0\.0" is not an IPv4 address/ },
    { rule: "bad port", raw: { nodes: nodes([{ ...cp, port: 70000 }]) }, message: /^nodes\[0\]\.port: "70000" is not a TCP port — use an integer 1–65535/ },
    { rule: "non-numeric port", raw: { nodes: nodes([{ ...cp, port: "ssh" }]) }, message: /^nodes\[0\]\.port: "ssh" is not a TCP port/ },
    { rule: "hostKey without key", raw: { nodes: nodes([{ ...cp, hostKey: "ssh-ed25519" }]) }, message: /^nodes\[0\]\.hostKey: is not "<type> <base64-key>" — paste the key as printed by `ssh-keyscan/ },
    { rule: "hostKey unknown type", raw: { nodes: nodes([{ ...cp, hostKey: "ssh-foo AAAA" }]) }, message: /^nodes\[0\]\.hostKey: has unknown key type "ssh-foo"/ },
    { rule: "hostKey not base64", raw: { nodes: nodes([{ ...cp, hostKey: "ssh-ed25519 not*base64" }]) }, message: /^nodes\[0\]\.hostKey: has a key that is not valid base64/ },
    { rule: "hostKey type mismatch", raw: { nodes: nodes([{ ...cp, hostKey: ED25519.replace("ssh-ed25519", "ssh-rsa") }]) }, message: /^nodes\[0\]\.hostKey: declares "ssh-rsa" but the key blob is "ssh-ed25519"/ },
    { rule: "malformed podSubnet", raw: { ...good, podSubnet: "10.244.0.0" }, message: /^podSubnet: "10\.244\.0\.0" is not in a\.b\.c\.d\/n form — use an IPv4 CIDR/ },
    { rule: "podSubnet address not IPv4", raw: { ...good, podSubnet: "10.244.0.300/16" }, message: /^podSubnet: "10\.244\.0\.300\/16" has "10\.244\.0\.300", which is not an IPv4 address — use an IPv4 CIDR such as 10\.244\.0\.0\/16$/ },
    { rule: "podSubnet host bits", raw: { ...good, podSubnet: "10.244.1.0/16" }, message: /^podSubnet: "10\.244\.1\.0\/16" has host bits set below the prefix — use 10\.244\.0\.0\/16$/ },
    { rule: "serviceSubnet bad prefix", raw: { ...good, serviceSubnet: "10.96.0.0/33" }, message: /^serviceSubnet: "10\.96\.0\.0\/33" has prefix \/33; an IPv4 prefix is 0–32/ },
    { rule: "podSubnet too small", raw: { ...good, podSubnet: "10.244.0.0/25" }, message: /^podSubnet: 10\.244\.0\.0\/25 is smaller than one \/24 per node/ },
    { rule: "serviceSubnet too large", raw: { ...good, serviceSubnet: "10.96.0.0/11" }, message: /^serviceSubnet: 10\.96\.0\.0\/11 is larger than the API server accepts \(a \/12 at most\)/ },
    { rule: "node name missing", raw: { nodes: nodes([{ host: "192.0.2.10", role: "control-plane" }]) }, message: /^nodes\[0\]\.name: missing — give each node a unique Kubernetes node name/ },
    { rule: "node host missing", raw: { nodes: nodes([{ name: "cp1", role: "control-plane" }]) }, message: /^nodes\[0\]\.host: missing — set the host's SSH address/ },
    { rule: "field not a string", raw: { nodes: nodes([{ ...cp, host: ["192.0.2.10"] }]) }, message: /^nodes\[0\]\.host: must be a string — quote the value$/ },
    { rule: "endpoint host invalid", raw: { ...good, controlPlaneEndpoint: "-bad-.example:6443" }, message: /^controlPlaneEndpoint: "-bad-\.example:6443" has host "-bad-\.example", which is neither an IPv4 address nor a DNS name/ },
    { rule: "subnets overlap", raw: { ...good, podSubnet: "10.0.0.0/8" }, message: /^podSubnet\/serviceSubnet: 10\.0\.0\.0\/8 and 10\.96\.0\.0\/12 overlap — pick disjoint blocks/ },
    { rule: "podSubnet contains a node", raw: { ...good, podSubnet: "192.0.2.0/24" }, message: /^podSubnet: 192\.0\.2\.0\/24 contains node cp1's address 192\.0\.2\.10 — choose a podSubnet that no lab host uses/ },
    { rule: "serviceSubnet contains a node", raw: { ...good, serviceSubnet: "192.0.2.0/24" }, message: /^serviceSubnet: 192\.0\.2\.0\/24 contains node worker1's address 192\.0\.2\.11/ },
    { rule: "endpoint inside serviceSubnet", raw: { ...good, controlPlaneEndpoint: "10.96.0.1:6443" }, message: /^controlPlaneEndpoint: 10\.96\.0\.1 lies inside serviceSubnet — use an address outside it$/ },
    { rule: "malformed endpoint", raw: { ...good, controlPlaneEndpoint: "https://k8s:6443" }, message: /^controlPlaneEndpoint: "https:\/\/k8s:6443" is not "host" or "host:port"/ },
    { rule: "endpoint bad port", raw: { ...good, controlPlaneEndpoint: "k8s.lab.example:0" }, message: /^controlPlaneEndpoint: "k8s\.lab\.example:0" has port 0; use 1–65535/ },
    { rule: "version not exact", raw: { ...good, kubernetesVersion: "1.33" }, message: /^kubernetesVersion: "1\.33" is not an exact Kubernetes release — use major\.minor\.patch, e\.g\. 1\.33\.10/ },
    { rule: "pre-release version", raw: { ...good, kubernetesVersion: "1.34.0-rc.1" }, message: /^kubernetesVersion: "1\.34\.0-rc\.1" is not an exact Kubernetes release/ },
    { rule: "version too old for v1beta4", raw: { ...good, kubernetesVersion: "1.30.14" }, message: /^kubernetesVersion: 1\.30\.14 is not supported — kubeadm reads the v1beta4 config this program renders from 1\.31 on; use 1\.33\.x$/ },
    { rule: "bad clusterName", raw: { ...good, clusterName: "Home Lab" }, message: /^clusterName: "Home Lab" must be a lowercase DNS label/ },
    { rule: "bad sshUser", raw: { ...good, sshUser: "bad user" }, message: /^sshUser: "bad user" is not a valid login name/ },
    { rule: "bad schedulableControlPlane", raw: { ...good, schedulableControlPlane: "yes" }, message: /^schedulableControlPlane: "yes" — use true, false or auto/ },
];

/** The day-2 keys: upgrade batches and etcd snapshots (components/config/operations.ts). */
export const OPERATIONS_BAD_INPUTS: readonly BadInput[] = [
    { rule: "batch zero", raw: { ...good, upgradeWorkerBatch: "0" }, message: /^upgradeWorkerBatch: "0" — use a whole number from 1 to 100 \(workers drained and upgraded at once/ },
    { rule: "batch not a number", raw: { ...good, upgradeWorkerBatch: "all" }, message: /^upgradeWorkerBatch: "all" — use a whole number from 1 to 100/ },
    { rule: "relative snapshot dir", raw: { ...good, etcdSnapshotDir: "backups/etcd" }, message: /^etcdSnapshotDir: "backups\/etcd" — use an absolute directory .* e\.g\. \/var\/lib\/homelab\/etcd-snapshots$/ },
    { rule: "snapshot dir with ..", raw: { ...good, etcdSnapshotDir: "/var/lib/../etc" }, message: /^etcdSnapshotDir: "\/var\/lib\/\.\.\/etc" — use an absolute directory .*\(no \.\.\)/ },
    { rule: "snapshot dir with a space", raw: { ...good, etcdSnapshotDir: "/srv/etcd backups" }, message: /^etcdSnapshotDir: "\/srv\/etcd backups" — use an absolute directory/ },
    { rule: "snapshot dir wiped by reset", raw: { ...good, etcdSnapshotDir: "/var/lib/etcd/snapshots" }, message: /^etcdSnapshotDir: \/var\/lib\/etcd\/snapshots lies in a directory kubeadm reset empties — keep snapshots elsewhere/ },
    { rule: "snapshot dir in /etc/kubernetes", raw: { ...good, etcdSnapshotDir: "/etc/kubernetes" }, message: /^etcdSnapshotDir: \/etc\/kubernetes lies in a directory kubeadm reset empties/ },
    { rule: "retain zero", raw: { ...good, etcdSnapshotRetain: "0" }, message: /^etcdSnapshotRetain: "0" — use a whole number from 1 to 1000 \(snapshots kept/ },
    { rule: "retain negative", raw: { ...good, etcdSnapshotRetain: "-3" }, message: /^etcdSnapshotRetain: "-3" — use a whole number from 1 to 1000/ },
    { rule: "schedule with a quote", raw: { ...good, etcdSnapshotSchedule: "daily'; rm -rf /" }, message: /^etcdSnapshotSchedule: "daily'; rm -rf \/" is not a systemd OnCalendar expression — use e\.g\. daily/ },
    { rule: "schedule with a newline", raw: { ...good, etcdSnapshotSchedule: "daily\nExecStart=/bin/evil" }, message: /^etcdSnapshotSchedule: "daily\nExecStart=\/bin\/evil" is not a systemd OnCalendar expression/ },
];
