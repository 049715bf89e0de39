import { test } from "node:test";
import assert from "node:assert/strict";
import * as YAML from "yaml";
import { KUBE_VIP_MANIFEST, kubeVipManifest } from "../../components/kubeadm";

interface Pod {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string };
    spec: {
        hostNetwork: boolean;
        hostAliases: { ip: string; hostnames: string[] }[];
        containers: { image: string; args: string[]; env: { name: string; value?: string }[]; securityContext: unknown; volumeMounts: { mountPath: string }[] }[];
        volumes: { hostPath: { path: string } }[];
    };
}

const VIP = { address: "192.0.2.100", version: "v1.2.3" };
const parse = (text: string): Pod => YAML.parse(text) as Pod;
const env = (pod: Pod): Record<string, string | undefined> =>
    Object.fromEntries(pod.spec.containers[0].env.map((e) => [e.name, e.value]));

test("a static pod in kube-system on the host network, at the pinned image", () => {
    const pod = parse(kubeVipManifest(VIP, "admin.conf"));
    assert.equal(KUBE_VIP_MANIFEST, "/etc/kubernetes/manifests/kube-vip.yaml");
    assert.deepEqual([pod.apiVersion, pod.kind, pod.metadata.name, pod.metadata.namespace], ["v1", "Pod", "kube-vip", "kube-system"]);
    assert.equal(pod.spec.hostNetwork, true);
    assert.equal(pod.spec.containers[0].image, "ghcr.io/kube-vip/kube-vip:v1.2.3");
    assert.deepEqual(pod.spec.containers[0].args, ["manager"]);
    assert.deepEqual(pod.spec.hostAliases, [{ ip: "127.0.0.1", hostnames: ["kubernetes"] }]);
});

test("ARP, control-plane load balancing of the API server only, with leader election", () => {
    const vars = env(parse(kubeVipManifest(VIP, "admin.conf")));
    assert.equal(vars.address, "192.0.2.100");
    assert.equal(vars.port, "6443");
    assert.equal(vars.vip_arp, "true");
    assert.equal(vars.cp_enable, "true");
    assert.equal(vars.svc_enable, "false", "Services are Cilium's");
    assert.equal(vars.vip_leaderelection, "true");
    assert.equal("vip_interface" in vars, false, "no interface: kube-vip picks the default route's");
    assert.equal(env(parse(kubeVipManifest({ ...VIP, interface: "eth1" }, "admin.conf"))).vip_interface, "eth1");
});

test("the mounted kubeconfig is the one asked for, always seen as admin.conf inside the pod", () => {
    for (const conf of ["admin.conf", "super-admin.conf"] as const) {
        const pod = parse(kubeVipManifest(VIP, conf));
        assert.deepEqual(pod.spec.volumes.map((v) => v.hostPath.path), [`/etc/kubernetes/${conf}`]);
        assert.deepEqual(pod.spec.containers[0].volumeMounts.map((m) => m.mountPath), ["/etc/kubernetes/admin.conf"]);
    }
    assert.notEqual(kubeVipManifest(VIP, "admin.conf"), kubeVipManifest(VIP, "super-admin.conf"));
    assert.equal(kubeVipManifest(VIP, "admin.conf"), kubeVipManifest({ ...VIP }, "admin.conf"), "deterministic");
});
