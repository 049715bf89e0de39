import { test } from "node:test";
import assert from "node:assert/strict";
import * as YAML from "yaml";
import { CONTROL_PLANE_TAINT, CRI_SOCKET, nodeTaints, renderInitConfig, renderJoinConfig, type InitConfigInput } from "../../components/kubeadm";

const input: InitConfigInput = {
    nodeName: "cp1",
    nodeIp: "192.0.2.10",
    kubernetesVersion: "1.33.10",
    clusterName: "homelab-dev",
    controlPlaneEndpoint: "k8s.lab.example:6443",
    endpointHost: "k8s.lab.example",
    podSubnet: "10.244.0.0/16",
    serviceSubnet: "10.96.0.0/12",
    schedulableControlPlane: false,
    token: "abcdef.0123456789abcdef",
    certificateKey: "0123456789abcdef".repeat(4),
};

type Doc = Record<string, unknown> & { kind: string; apiVersion: string };
function docs(yaml: string): Doc[] {
    return YAML.parseAllDocuments(yaml).map((d) => d.toJS() as Doc);
}
function kind(all: Doc[], name: string): Doc {
    const found = all.find((d) => d.kind === name);
    assert.ok(found, `no ${name} document`);
    return found;
}

test("init config: current kubeadm API and the three documents kubeadm init --config takes", () => {
    const all = docs(renderInitConfig(input));
    assert.deepEqual(
        all.map((d) => `${d.apiVersion}/${d.kind}`),
        [
            "kubeadm.k8s.io/v1beta4/InitConfiguration",
            "kubeadm.k8s.io/v1beta4/ClusterConfiguration",
            "kubelet.config.k8s.io/v1beta1/KubeletConfiguration",
        ],
    );
});

test("init config: kube-proxy is skipped at init and disabled for later upgrades", () => {
    const all = docs(renderInitConfig(input));
    assert.deepEqual(kind(all, "InitConfiguration").skipPhases, ["addon/kube-proxy"]);
    assert.deepEqual(kind(all, "ClusterConfiguration").proxy, { disabled: true });
});

test("init config: cluster settings come from config", () => {
    const cluster = kind(docs(renderInitConfig(input)), "ClusterConfiguration");
    assert.equal(cluster.kubernetesVersion, "v1.33.10");
    assert.equal(cluster.clusterName, "homelab-dev");
    assert.equal(cluster.controlPlaneEndpoint, "k8s.lab.example:6443");
    assert.deepEqual(cluster.networking, { podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12", dnsDomain: "cluster.local" });
    assert.deepEqual((cluster.apiServer as { certSANs: string[] }).certSANs, ["k8s.lab.example", "192.0.2.10"]);
});

test("init config: node registration, node IP, bootstrap token, systemd cgroups", () => {
    const all = docs(renderInitConfig(input));
    const init = kind(all, "InitConfiguration") as Doc & {
        nodeRegistration: Record<string, unknown>;
        bootstrapTokens: { token: string; ttl: string; usages: string[] }[];
        localAPIEndpoint: { advertiseAddress: string };
    };
    assert.equal(init.nodeRegistration.name, "cp1");
    assert.equal(init.nodeRegistration.criSocket, CRI_SOCKET);
    assert.deepEqual(init.nodeRegistration.kubeletExtraArgs, [{ name: "node-ip", value: "192.0.2.10" }]);
    assert.equal(init.localAPIEndpoint.advertiseAddress, "192.0.2.10");
    assert.equal(init.bootstrapTokens[0].token, "abcdef.0123456789abcdef");
    assert.equal(init.bootstrapTokens[0].ttl, "1h0m0s");
    assert.deepEqual(init.bootstrapTokens[0].usages, ["signing", "authentication"]);
    assert.equal(kind(all, "KubeletConfiguration").cgroupDriver, "systemd");
});

test("init config: the control-plane taint stays by default and is removed when schedulable", () => {
    const tainted = kind(docs(renderInitConfig(input)), "InitConfiguration").nodeRegistration as Record<string, unknown>;
    assert.equal("taints" in tainted, false, "omitting taints lets kubeadm apply the control-plane taint");
    const open = kind(docs(renderInitConfig({ ...input, schedulableControlPlane: true })), "InitConfiguration")
        .nodeRegistration as Record<string, unknown>;
    assert.deepEqual(open.taints, [], "an empty list means no taints in v1beta4");
});

test("init config: without a node IP kubeadm picks the address itself", () => {
    const init = kind(docs(renderInitConfig({ ...input, nodeIp: undefined })), "InitConfiguration");
    assert.equal("localAPIEndpoint" in init, false);
    assert.equal("kubeletExtraArgs" in (init.nodeRegistration as object), false);
});

test("init config: rendering is deterministic and every setting changes the bytes", () => {
    assert.equal(renderInitConfig(input), renderInitConfig({ ...input }));
    const variants: Partial<InitConfigInput>[] = [
        { kubernetesVersion: "1.33.9" },
        { podSubnet: "10.245.0.0/16" },
        { serviceSubnet: "10.112.0.0/12" },
        { controlPlaneEndpoint: "192.0.2.10:6443" },
        { clusterName: "other" },
        { schedulableControlPlane: true },
        { nodeIp: "192.0.2.99" },
    ];
    const rendered = new Set(variants.map((v) => renderInitConfig({ ...input, ...v })));
    rendered.add(renderInitConfig(input));
    assert.equal(rendered.size, variants.length + 1);
});

test("join config: discovery through the bootstrap token pinned to the CA hash", () => {
    const [join] = docs(
        renderJoinConfig({
            nodeName: "worker1",
            nodeIp: "192.0.2.11",
            apiServerEndpoint: "192.0.2.10:6443",
            token: "abcdef.0123456789abcdef",
            caCertHash: "sha256:" + "a".repeat(64),
        }),
    ) as (Doc & { discovery: { bootstrapToken: Record<string, unknown> }; nodeRegistration: Record<string, unknown> })[];
    assert.equal(`${join.apiVersion}/${join.kind}`, "kubeadm.k8s.io/v1beta4/JoinConfiguration");
    assert.deepEqual(join.discovery.bootstrapToken, {
        apiServerEndpoint: "192.0.2.10:6443",
        token: "abcdef.0123456789abcdef",
        caCertHashes: ["sha256:" + "a".repeat(64)],
    });
    assert.equal("unsafeSkipCAVerification" in join.discovery.bootstrapToken, false);
    assert.equal(join.nodeRegistration.name, "worker1");
    assert.deepEqual(join.nodeRegistration.kubeletExtraArgs, [{ name: "node-ip", value: "192.0.2.11" }]);
});

test("startup taints (Istio's opt-in cni.istio.io/not-ready flow) keep kubeadm's default taints", () => {
    const taint = { key: "cni.istio.io/not-ready", effect: "NoSchedule" };
    assert.deepEqual(nodeTaints(true, false, [taint]), [CONTROL_PLANE_TAINT, taint], "a list replaces kubeadm's default, so it is spelled out");
    assert.deepEqual(nodeTaints(true, true, [taint]), [taint]);
    assert.deepEqual(nodeTaints(false, false, [taint]), [taint]);
    assert.equal(nodeTaints(false, false, []), undefined, "workers keep kubeadm's default (none)");
    const init = kind(docs(renderInitConfig({ ...input, startupTaints: [taint] })), "InitConfiguration").nodeRegistration as Record<string, unknown>;
    assert.deepEqual(init.taints, [CONTROL_PLANE_TAINT, taint]);
    const [join] = docs(
        renderJoinConfig({ nodeName: "w1", apiServerEndpoint: "192.0.2.10:6443", token: "abcdef.0123456789abcdef", caCertHash: "sha256:00", startupTaints: [taint] }),
    );
    assert.deepEqual((join.nodeRegistration as Record<string, unknown>).taints, [taint]);
});

test("init config: the certificate key the uploaded control-plane certificates are encrypted with", () => {
    const init = docs(renderInitConfig(input)).find((d) => d.kind === "InitConfiguration");
    assert.equal(init?.certificateKey, input.certificateKey);
    assert.notEqual(renderInitConfig(input), renderInitConfig({ ...input, certificateKey: "f".repeat(64) }));
});

test("join config: a control plane joins with its certificate key, its own API endpoint and the control-plane taint", () => {
    const base = { nodeName: "cp2", nodeIp: "192.0.2.20", apiServerEndpoint: "192.0.2.100:6443", token: input.token, caCertHash: `sha256:${"a".repeat(64)}` };
    const [join] = docs(renderJoinConfig({ ...base, controlPlane: { certificateKey: input.certificateKey, advertiseAddress: "192.0.2.20", schedulable: false } }));
    assert.deepEqual(join.controlPlane, {
        localAPIEndpoint: { advertiseAddress: "192.0.2.20", bindPort: 6443 },
        certificateKey: input.certificateKey,
    });
    // Absent taints: kubeadm's default, which for a control plane is node-role.kubernetes.io/control-plane:NoSchedule.
    assert.equal((join.nodeRegistration as Record<string, unknown>).taints, undefined);
    const [schedulable] = docs(renderJoinConfig({ ...base, controlPlane: { certificateKey: input.certificateKey, schedulable: true } }));
    assert.deepEqual((schedulable.nodeRegistration as Record<string, unknown>).taints, [], "schedulable: the default taint is replaced by none");
    assert.deepEqual(schedulable.controlPlane, { certificateKey: input.certificateKey }, "no node IP: kubeadm picks the advertise address");
    const [worker] = docs(renderJoinConfig(base));
    assert.equal(worker.controlPlane, undefined, "a worker has no controlPlane section");
});
