/**
 * homelab: bare Debian/Ubuntu lab hosts → a kubeadm Kubernetes cluster without kube-proxy, with Cilium as its
 * kube-proxy replacement and Istio (istio-cni chained after Cilium).
 *
 * The bootstrap story, in the order the engine runs it:
 *   1. Read and validate the stack config — nothing is registered when it is wrong.
 *   2. Mint the bootstrap token and the certificate key.
 *   3. The primary (first) control plane: preflight, prepare, [kube-vip,] `kubeadm init --upload-certs` (no kube-proxy),
 *      credentials.
 *   4. The other control planes, one at a time: certificates uploaded again, a fresh token, `kubeadm join --control-plane`.
 *   5. The workers, in parallel: preflight and prepare right away, then a fresh token and `kubeadm join`.
 *   6. Day 2 on the running cluster: etcd snapshots, and the upgrade chain that moves every node to kubernetesVersion in
 *      kubeadm's order (a no-op when they already run it).
 *   7. A Kubernetes provider from the admin kubeconfig.
 *   8. Cilium as kube-proxy replacement (Helm), verified on every node once all have joined.
 *   9. Istio with istio-cni chained after Cilium, its namespaces meshed, smoke-tested.
 *
 * `pulumi destroy` (and a node dropped from `nodes`) runs it backwards: Istio, Cilium, then each node's leave (drain,
 * etcd member, Node object, from the primary) and reset — workers first, then the control planes last-to-first.
 */
import * as pulumi from "@pulumi/pulumi";
import * as kubernetes from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { loadStackConfig } from "./components/config/stack";
import { Cilium } from "./components/cilium";
import { Istio, ISTIO_CNI_TAINT } from "./components/istio";
import { ClusterUpgrade, KubeadmNode, type ClusterSettings, type HostIdentity } from "./components/kubeadm";
import { EtcdSnapshots } from "./components/etcd";
import { connectionFor, sshTarget } from "./components/remote";
import type { HostRef } from "./components/remote/stage";
import { nodeAddress, type NodeConfig } from "./components/config";

// 1. Config.
const { cluster: config, sshPrivateKey } = loadStackConfig();
const auth = { privateKey: sshPrivateKey };
const endpoint = `${config.controlPlaneEndpoint.host}:${config.controlPlaneEndpoint.port}`;
const settings: ClusterSettings = {
    kubernetesVersion: config.kubernetesVersion,
    clusterName: config.clusterName,
    controlPlaneEndpoint: endpoint,
    endpointHost: config.controlPlaneEndpoint.host,
    podSubnet: config.podSubnet,
    serviceSubnet: config.serviceSubnet,
    schedulableControlPlane: config.schedulableControlPlane,
    // Opt-in: nodes wait, tainted, until istio-cni runs on them; istiod's untaint controller lifts the taint.
    startupTaints: config.istio?.cniTaint ? [ISTIO_CNI_TAINT] : [],
    ...(config.kubeVip ? { kubeVip: config.kubeVip } : {}),
};

// 2. Bootstrap token in kubeadm's [a-z0-9]{6}.[a-z0-9]{16} form; the secret half comes from RandomPassword (secret).
const tokenId = new random.RandomString("bootstrap-token-id", { length: 6, upper: false, special: false });
const tokenSecret = new random.RandomPassword("bootstrap-token-secret", { length: 16, upper: false, special: false });
const bootstrapToken = pulumi.secret(pulumi.interpolate`${tokenId.result}.${tokenSecret.result}`);
// The key the control-plane certificates are uploaded with: 64 hex characters, from digits plus "abcdef" as the only
// "special" characters. RandomPassword, not RandomId: a RandomId's resource id is the key in base64, in plain text.
const certificateKeyPassword = new random.RandomPassword("certificate-key", {
    length: 64,
    upper: false,
    lower: false,
    numeric: true,
    special: true,
    overrideSpecial: "abcdef",
});
const certificateKey = pulumi.secret(certificateKeyPassword.result);

// 3. The primary control plane: the first one in `nodes`. It must stay first (a fresh node put before it would try to
// init; its init refuses when the endpoint already answers).
const [first, ...otherControlPlaneConfigs] = config.nodes.filter((n) => n.role === "control-plane");
const controlPlaneConnection = connectionFor(first, auth);
const controlPlane = new KubeadmNode(first.name, {
    nodeName: first.name,
    mode: "init",
    connection: controlPlaneConnection,
    sshTarget: sshTarget(first),
    nodeIp: nodeAddress(first),
    cluster: settings,
    bootstrapToken,
    certificateKey,
});

// 4. The other control planes join one at a time (each adds an etcd member while the others are healthy); on destroy
// each is torn down before the one before it.
const otherControlPlanes: KubeadmNode[] = [];
for (const node of otherControlPlaneConfigs) {
    const previous = otherControlPlanes.at(-1) ?? controlPlane;
    const peers: pulumi.Output<HostIdentity>[] = [controlPlane, ...otherControlPlanes].map((n) => n.identity);
    otherControlPlanes.push(
        new KubeadmNode(node.name, {
            nodeName: node.name,
            mode: "join",
            role: "control-plane",
            connection: connectionFor(node, auth),
            sshTarget: sshTarget(node),
            nodeIp: nodeAddress(node),
            cluster: settings,
            bootstrapToken,
            certificateKey,
            joinSource: controlPlane.joinSource,
            joinAfter: previous === controlPlane ? [] : [previous.ready],
            peerIdentities: peers,
            leaveFrom: controlPlaneConnection,
            membershipAfter: [previous.leave],
        }),
    );
}
const controlPlanes = [controlPlane, ...otherControlPlanes];

// 5. Workers join in parallel; each checks its identity against the nodes declared before it. On destroy they are torn
// down before every control plane.
const workers: KubeadmNode[] = [];
for (const node of config.nodes.filter((n) => n.role === "worker")) {
    const peers: pulumi.Output<HostIdentity>[] = [...controlPlanes, ...workers].map((w) => w.identity);
    workers.push(
        new KubeadmNode(node.name, {
            nodeName: node.name,
            mode: "join",
            connection: connectionFor(node, auth),
            sshTarget: sshTarget(node),
            nodeIp: nodeAddress(node),
            cluster: settings,
            bootstrapToken,
            joinSource: controlPlane.joinSource,
            peerIdentities: peers,
            leaveFrom: controlPlaneConnection,
            membershipAfter: controlPlanes.map((n) => n.leave),
        }),
    );
}
const allNodes = [...controlPlanes, ...workers];

// 6. Day 2: etcd snapshots (on demand, before upgrades, optionally on a timer) and the upgrade chain: the primary,
// the other control planes one at a time, then the workers in batches.
const hostOf = (node: NodeConfig, member: KubeadmNode): HostRef => ({
    nodeName: node.name,
    connection: connectionFor(node, auth),
    sshTarget: sshTarget(node),
    ready: member.ready,
});
const primary = hostOf(first, controlPlane);
const etcdSnapshots = new EtcdSnapshots("etcd-snapshot", {
    controlPlane: primary,
    dir: config.operations.etcdSnapshotDir,
    retain: config.operations.etcdSnapshotRetain,
    schedule: config.operations.etcdSnapshotSchedule,
});
const workerConfigs = config.nodes.filter((n) => n.role === "worker");
const upgrade = new ClusterUpgrade("upgrade", {
    kubernetesVersion: config.kubernetesVersion,
    nodes: {
        primary,
        otherControlPlanes: otherControlPlaneConfigs.map((node, i) => hostOf(node, otherControlPlanes[i])),
        workers: workerConfigs.map((node, i) => hostOf(node, workers[i])),
    },
    workerBatch: config.operations.upgradeWorkerBatch,
    after: [etcdSnapshots.installed],
});

// 7. The Kubernetes provider for everything installed into the cluster.
export const kubeconfig = pulumi.secret(controlPlane.kubeconfig ?? pulumi.output(""));
const provider = new kubernetes.Provider(
    "cluster",
    { kubeconfig, enableServerSideApply: true },
    { dependsOn: [controlPlane.ready] },
);

// 8. Cilium: installed as soon as the API server is up, verified once every node has joined; uninstalled before any
// node leaves.
const cilium = new Cilium(
    "cilium",
    {
        config: config.cilium,
        provider,
        controlPlane: { connection: controlPlaneConnection, sshTarget: sshTarget(first), initialised: controlPlane.ready },
        nodesReady: allNodes.map((n) => n.ready),
        nodesLeave: allNodes.map((n) => n.leave),
        nodeNames: config.nodes.map((n) => n.name),
    },
);

// 9. Istio, once Cilium is ready on every node (istio-cni waits for Cilium's conflist).
const istio = config.istio
    ? new Istio("istio", {
          config: config.istio,
          provider,
          ciliumReady: cilium.ready,
          controlPlane: { connection: controlPlaneConnection, sshTarget: sshTarget(first) },
          // The smoke test's throwaway pod runs the pause image, already on every node as containerd's sandbox image.
          probeImage: "registry.k8s.io/pause:3.10",
      })
    : undefined;

export const clusterName = config.clusterName;
export const controlPlaneEndpoint = endpoint;
export const kubernetesVersion = config.kubernetesVersion;
export const controlPlaneNode = controlPlane.nodeName;
export const otherControlPlaneNodes = otherControlPlanes.map((n) => n.nodeName);
export const workerNodes = workers.map((w) => w.nodeName);
export const ciliumChartVersion = cilium.chartVersion;
export const etcdSnapshotPath = etcdSnapshots.snapshotPath;
export const preUpgradeEtcdSnapshot = upgrade.preUpgradeSnapshot;
export const istioMode = config.istio?.mode ?? "off";
export const meshNamespaces = istio ? istio.meshNamespaces : [];
