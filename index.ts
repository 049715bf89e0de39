/**
 * homelab: bare Debian/Ubuntu lab hosts → a kubeadm Kubernetes cluster without kube-proxy, with Cilium as its
 * kube-proxy replacement and Istio (istio-cni chained after Cilium).
 *
 * The bootstrap story, in the order the engine runs it:
 *   1. Read and validate the stack config — nothing is registered when it is wrong.
 *   2. Mint the bootstrap token.
 *   3. The first control plane: preflight, prepare, `kubeadm init` (no kube-proxy), credentials.
 *   4. The workers, in parallel: preflight and prepare right away, then a fresh token and `kubeadm join`.
 *   5. A Kubernetes provider from the admin kubeconfig.
 *   6. Cilium as kube-proxy replacement (Helm), verified on every node once all have joined.
 *   7. Istio with istio-cni chained after Cilium, its namespaces meshed, smoke-tested.
 */
import * as pulumi from "@pulumi/pulumi";
import * as kubernetes from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { loadStackConfig } from "./components/config/stack";
import { Cilium } from "./components/cilium";
import { Istio, ISTIO_CNI_TAINT } from "./components/istio";
import { KubeadmNode, type ClusterSettings, type HostIdentity } from "./components/kubeadm";
import { connectionFor, sshTarget } from "./components/remote";
import { nodeAddress } from "./components/config";

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
};

// 2. Bootstrap token in kubeadm's [a-z0-9]{6}.[a-z0-9]{16} form; the secret half comes from RandomPassword (secret).
const tokenId = new random.RandomString("bootstrap-token-id", { length: 6, upper: false, special: false });
const tokenSecret = new random.RandomPassword("bootstrap-token-secret", { length: 16, upper: false, special: false });
const bootstrapToken = pulumi.secret(pulumi.interpolate`${tokenId.result}.${tokenSecret.result}`);

// 3. The first control plane.
const [first] = config.nodes.filter((n) => n.role === "control-plane");
const controlPlaneConnection = connectionFor(first, auth);
const controlPlane = new KubeadmNode(first.name, {
    nodeName: first.name,
    mode: "init",
    connection: controlPlaneConnection,
    sshTarget: sshTarget(first),
    nodeIp: nodeAddress(first),
    cluster: settings,
    bootstrapToken,
});

// 4. Workers join in parallel; each checks its identity against the nodes declared before it.
const workers: KubeadmNode[] = [];
for (const node of config.nodes.filter((n) => n.role === "worker")) {
    const peers: pulumi.Output<HostIdentity>[] = [controlPlane, ...workers].map((w) => w.identity);
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
        }),
    );
}

// 5. The Kubernetes provider for everything installed into the cluster.
export const kubeconfig = pulumi.secret(controlPlane.kubeconfig ?? pulumi.output(""));
const provider = new kubernetes.Provider(
    "cluster",
    { kubeconfig, enableServerSideApply: true },
    { dependsOn: [controlPlane.ready] },
);

// 6. Cilium: installed as soon as the API server is up, verified once every node has joined.
const cilium = new Cilium(
    "cilium",
    {
        config: config.cilium,
        provider,
        controlPlane: { connection: controlPlaneConnection, sshTarget: sshTarget(first), initialised: controlPlane.ready },
        nodesReady: [controlPlane.ready, ...workers.map((w) => w.ready)],
        nodeNames: config.nodes.map((n) => n.name),
    },
);

// 7. Istio, once Cilium is ready on every node (istio-cni waits for Cilium's conflist).
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
export const workerNodes = workers.map((w) => w.nodeName);
export const ciliumChartVersion = cilium.chartVersion;
export const istioMode = config.istio?.mode ?? "off";
export const meshNamespaces = istio ? istio.meshNamespaces : [];
